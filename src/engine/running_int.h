/*
 * The map of the workers' slots, shared by its four files. Calls go
 * down one way: running.c (the face: dispatch, the starts after the
 * commit, what workers report, finding and stopping running jobs) and
 * running_handover.c (a dead worker's slots, a taken-on worker's) call
 * running_gangs.c (jobs with CPUs of their own, held until their
 * workers are free) and running_slots.c (a slot filled, started after
 * the commit, released); running_gangs.c calls running_slots.c.
 * Nothing outside them includes this.
 */
#ifndef FORQ_RUNNING_INT_H
#define FORQ_RUNNING_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/jobs.h"

struct access_policy;
struct adapt;
struct adopted;
struct conf;
struct gangs;
struct sched_worker;
struct shm;
struct slot;
struct store_job;
struct workers;

/* A turn's starts past this give their room back once sent. */
#define RUNNING_STARTS_KEEP 4096

/* The supervisor's side of a slot it handed to a worker. */
struct run_slot {
	uint64_t job_id; /* 0: free */
	uint32_t attempt;
	bool hook; /* the job's on-finish command runs here, not the job */
	struct job_run run;
	bool cancel_sent;
	/* Stopped by forqd's stop: its end queues it again, unless it
	 * succeeded first. */
	bool interrupt;
	/* Its worker died and forqd watches its job (adopted.c): the slot
	 * stays taken, for the job's processes are in its cgroup. */
	bool adopted;
	bool gang; /* the job has the CPUs of the workers it holds */
	/* A job a worker taken on brought, which the store says is not
	 * running: stopped, and its end not recorded. */
	bool stray;
	bool taken_on; /* brought by a worker of a previous forqd */
};

/* An end recorded this turn, whose evidence goes after the commit. */
struct run_end {
	int worker;
	uint32_t slot;
	uint64_t job_id;
};

/* A slot filled this turn, to be started after the commit. */
struct run_start {
	int worker;
	uint32_t slot;
};

struct running {
	const struct conf *conf;
	const struct access_policy *access;
	const struct shm *shm;
	struct workers *workers;
	struct jobs *jobs;
	struct adopted *adopted;
	uint32_t nworkers;
	uint32_t nslots;        /* per worker */
	struct run_slot *slots; /* nworkers * nslots */
	uint32_t *busy;         /* per worker */
	struct adapt *adapt;    /* how many of its slots a worker may fill */
	/* Per worker: time with a job on it, and since when (monotonic). */
	int64_t *busy_ns, *busy_since;
	struct gangs *gangs;
	bool cpusets; /* a gang's CPUs can be held to it */
	size_t sched_cursor;
	uint64_t kernel_nproc; /* limit_nproc = kernel */
	/* Jobs dispatched this turn: their starts go out once the turn's
	 * commit has marked them running, never before. */
	struct run_start *starts;
	size_t nstarts, starts_cap;
	/* Ends recorded and not yet committed: the slot's last end stays
	 * the worker's evidence (struct slot_end) until the commit. */
	struct run_end *ended;
	size_t nended, ended_cap;
};

static inline struct run_slot *
running_slot(const struct running *r, int w, uint32_t s)
{
	return &r->slots[(size_t)w * r->nslots + s];
}

/* running_slots.c: a slot filled, started after the commit, released. */
void running_busy_add(struct running *r, int w, int delta);
void running_send(struct running *r, int w, uint16_t type, uint32_t slot,
		  uint64_t id);
size_t running_fill_hook(struct running *r, struct slot *slot,
			 const struct store_job *job, const char *cmd);
void running_view(const struct running *r, struct sched_worker *view);
uint32_t running_free_slot_of(const struct running *r, int w);
void running_end_recorded(struct running *r, int w, uint32_t s, uint64_t id);
void running_ends_committed(struct running *r);
void running_release(struct running *r, int w, uint32_t s, bool adopted);
void running_unstart(struct running *r, int w, uint32_t s);
int running_place(struct running *r, int w, struct store_job *job,
		  const struct job_run *run, bool gang);

/* running_gangs.c: jobs with CPUs of their own, waiting for them. */
void running_gang_give_back(struct running *r, size_t k);
int running_gangs_advance(struct running *r);
int running_take_gang(struct running *r, struct store_job *job,
		      const struct job_run *run);

#endif
