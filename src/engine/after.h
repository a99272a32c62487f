/*
 * What follows a job's end: the jobs that wait for it (released,
 * cancelled with the reason, or left waiting) and its on-finish
 * commands, which workers run as the job's user.
 */
#ifndef FORQ_AFTER_H
#define FORQ_AFTER_H

#include <stdint.h>

struct access_policy;
struct after;
struct conf;
struct jobs;
struct running;
struct store;

struct after *after_new(const struct conf *conf,
			const struct access_policy *access, struct store *store,
			struct jobs *jobs, struct running *running);
void after_free(struct after *a);
/* A job reached its final state: its on-finish commands queue (own: 1
 * it has one, 0 not, -1 not known here, JOBS_NO_HOOKS none: it is not
 * its last end), its dependents are settled. */
void after_job_ended(struct after *a, uint64_t id, int own);
/* A waiting job whose dependencies may have changed: it goes on, is
 * cancelled with the reason, or waits on. */
void after_settle(struct after *a, uint64_t id);
/* On-finish commands go to free slots before jobs: few and short. */
void after_dispatch_hooks(struct after *a);
/* The store's copy of job id may go (a cluster's database has its end):
 * true if on-finish commands of it still wait here, and it goes once
 * the last has started; false if none do, and the caller lets it go. */
bool after_forget_later(struct after *a, uint64_t id);

#endif
