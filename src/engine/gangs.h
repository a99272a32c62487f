/*
 * The gangs: jobs with CPUs of their own (core/sched.h), each taken from
 * its queue and kept here, with the workers held for it, while those
 * workers empty; then it runs in a slot of the first of them, and the
 * others stay held, no slot of theirs used, until it ends. The running
 * map owns a struct gangs and asks it which workers are whose; what a
 * gang's start or return means for the store is the running map's.
 */
#ifndef FORQ_GANGS_H
#define FORQ_GANGS_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/jobs.h"
#include "store/store.h"

struct sched_worker;

/* A gang taken from the queue, waiting for its workers to empty. It is
 * still queued in the store: a crash forgets the hold, not the job. */
struct gang {
	struct store_job job;
	struct job_run run;
	uint32_t want; /* workers */
	uint32_t have; /* held for it so far */
};

struct gangs;

struct gangs *gangs_new(uint32_t nworkers);
/* Frees the jobs of the gangs still waiting. */
void gangs_free(struct gangs *g);
/* The gang (job id) worker w is held for, waiting or running; 0: none. */
uint64_t gangs_holder(const struct gangs *g, int w);
/* The workers held for gang id go back to everyone's use. */
void gangs_release(struct gangs *g, uint64_t id);
/* The lowest worker held for id, where it runs; -1: none. */
int gangs_first_worker(const struct gangs *g, uint64_t id);
/* Adds the CPUs of the workers held for id to set, as cpu_of(arg, w)
 * tells them (-1: none). */
void gangs_cpus(const struct gangs *g, uint64_t id, int (*cpu_of)(void *, int),
		void *arg, cpu_set_t *set);

/* Gangs waiting, in the order they were taken. */
size_t gangs_waiting(const struct gangs *g);
struct gang *gangs_at(struct gangs *g, size_t k);
/* The index of the waiting gang of job id, or -1. */
ptrdiff_t gangs_find(const struct gangs *g, uint64_t id);
/* Keeps job (now the gang's) waiting; -1 if every worker holds one. */
int gangs_add(struct gangs *g, const struct store_job *job,
	      const struct job_run *run);
/* Gang k stops waiting; *out is the caller's now. */
void gangs_remove(struct gangs *g, size_t k, struct gang *out);

/*
 * Holds more workers for waiting gang k, if it lacks some and some are
 * free. view is every worker as the scheduler sees it (held marks
 * included) and is updated with what changes here. True once the gang
 * holds all it wants and they are empty. A held worker that is not
 * ready (it died) is let go: another ready one may take its place.
 */
bool gangs_hold(struct gangs *g, size_t k, struct sched_worker *view);

#endif
