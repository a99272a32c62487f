/*
 * Inside the supervisor's side of jobs, shared by its three parts:
 * jobs.c (queues, dispatch, ends, cancels, retention), jobs_after.c
 * (dependents and on-finish commands of a job that ended) and
 * jobs_orphans.c (the jobs of a worker that died).
 */
#ifndef FORQ_JOBS_IMPL_H
#define FORQ_JOBS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct supervisor;
struct sv_worker;
struct sv_slot;
struct job_run;
struct job_result;

/* jobs.c */
/* Into the run queue now: -1 only when memory runs out. */
int jobs_enqueue(struct supervisor *sv, int queue, uid_t uid, uint64_t id,
		 int32_t priority, uint32_t attempt);
/* Into the run queue once the turn's commit has stored it. */
int jobs_fresh(struct supervisor *sv, int queue, uid_t uid, uint64_t id,
	       int32_t priority, uint32_t attempt);
/* A job that left a slot unfinished back into its queue as attempt,
 * counted as queued again: -1 (logged) when memory runs out. */
int jobs_queue_again(struct supervisor *sv, uint64_t id,
		     const struct job_run *run, uint32_t attempt);
/* Into the heap of start times (CLOCK_REALTIME). */
int jobs_schedule(struct supervisor *sv, uint64_t id, int64_t at_ns);
/* Records a final state and tells whoever waits for it; own_hook: 1
 * the job has an on-finish command, 0 not, -1 not known here. */
void jobs_record_final(struct supervisor *sv, uint64_t id,
		       const struct job_result *r, int own_hook);
/* A started job's end: its next attempt if its policy wants one, else
 * its final state. */
void jobs_ended(struct supervisor *sv, uint64_t id, uint32_t attempt,
		const struct job_run *run, int worker, int cpu,
		const struct job_result *r);
/* A job a crash interrupted: queued again while crash_requeue_max
 * allows, else lost. */
void jobs_interrupted(struct supervisor *sv, const struct sv_slot *s,
		      int worker, int cpu, const char *why);
struct slot;
struct store_job;
/* What every slot says beside its command: who runs it, with which
 * umask and limits, and how it is stopped. */
void jobs_fill_common(struct supervisor *sv, struct slot *slot,
		      const struct store_job *job);
/* The least busy ready worker with a free slot, or NULL. */
struct sv_worker *jobs_pick_worker(struct supervisor *sv);
void jobs_send(struct sv_worker *w, uint16_t type, uint32_t slot, uint64_t id);
/* The slot's job left it; it ended unless adopted (it runs on). */
void jobs_free_slot(struct sv_worker *w, uint32_t s, bool adopted);

/* jobs_after.c */
void jobs_settle_one(struct supervisor *sv, uint64_t id);
void jobs_settle_dependents(struct supervisor *sv, uint64_t ended);
void jobs_hooks_for(struct supervisor *sv, uint64_t id, int own);
void jobs_dispatch_hooks(struct supervisor *sv);
void jobs_hook_ended(struct supervisor *sv, uint64_t id,
		     const struct job_result *r);

/* jobs_orphans.c */
/* Cancels an adopted job: true if id is one. */
bool jobs_orphans_cancel(struct supervisor *sv, uint64_t id);
/* The nearest timeout or kill of an adopted job (monotonic), or 0. */
int64_t jobs_orphans_deadline(const struct supervisor *sv);
void jobs_orphans_check(struct supervisor *sv, int64_t now);
/* Appends the ids of adopted jobs of a queue (or RUNQ_ALL), up to cap. */
void jobs_orphans_ids(const struct supervisor *sv, int queue, uint64_t *ids,
		      size_t *n, size_t cap);
void jobs_orphans_kill_all(struct supervisor *sv);
void jobs_orphans_free(struct supervisor *sv);

#endif
