/*
 * The supervisor's record of jobs that are not on a worker: the store's
 * side of a submission, the run queue and the heap of start times, the
 * per-user counts, the retry policy applied to an end, cancels of jobs
 * not running, and retention. Nothing here knows of workers or clients:
 * what follows a job's end is left on two worklists for the supervisor
 * to drain at the end of the turn.
 */
#ifndef FORQ_JOBS_H
#define FORQ_JOBS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/job.h"
#include "store/store.h"

struct conf;
struct jobs;
struct runq;
struct store;
struct store_filter;
struct store_job;

/* What the supervisor keeps of a job it started: where it came from,
 * and what to do if it fails. */
struct job_run {
	int queue; /* runq index */
	uid_t uid;
	int32_t priority;
	uint32_t retries;
	uint32_t retry_on; /* enum job_retry_on */
	int64_t retry_delay_ms;
	bool on_finish; /* it has a command to run once it has ended */
};

/* A final state recorded this turn. */
struct jobs_end {
	uint64_t id;
	int own_hook; /* 1 it has an on-finish command, 0 not, -1 unknown,
			 JOBS_NO_HOOKS none runs (another attempt follows) */
	struct job_result result;
};
#define JOBS_NO_HOOKS (-2)

struct om;
/* The jobs' metrics: how many are in each state, by queue (those not
 * started counted by the store), ended by state, submitted, and the
 * histograms of waits and runs; -1 if the store cannot count. */
int jobs_metrics(struct jobs *j, struct om *om);
/* Jobs that reached a final state since start. */
uint64_t jobs_ended_count(const struct jobs *j);

/* conf is read as it stands at each use (a reload changes it). */
struct jobs *jobs_new(const struct conf *conf, struct store *store);
void jobs_free(struct jobs *j);
/* At start: what a previous forqd left running is settled (the ends its
 * workers wrote while it was gone recorded; the jobs no adopted worker
 * holds queued again or lost; keep: those one holds, ascending), and
 * what is pending is loaded; -1 (logged) if the store cannot be read. */
int jobs_load(struct jobs *j, const uint64_t *keep, size_t nkeep);
/* A job a worker taken on holds: true, with its run record, if the
 * store has that attempt running; false if not (it was queued again or
 * ended meanwhile). */
bool jobs_adoptable(struct jobs *j, uint64_t id, uint32_t attempt,
		    struct job_run *run);
/* A running job's run record, from the store's (its queue by name). */
int jobs_running_run(struct jobs *j, const struct store_job *job,
		     struct job_run *run);
/* After a failed commit, and at start: the per-user queued counts and
 * the waiting jobs from the store (each waiting job is settled again). */
void jobs_recount(struct jobs *j);
/* After a reload: the conf's queues and their limits. */
int jobs_apply_queues(struct jobs *j);

/* ids and existing hold a place for each job, an array's for each of
 * its tasks (job_spec_tasks), in order. existing[t]: job t was not
 * stored, another holding its unique key stands for it (ids[t] is that
 * one's). */
int jobs_submit(struct jobs *j, const struct job_spec *specs, size_t n,
		uid_t uid, gid_t gid, uint64_t *ids, bool *existing);
/* A cluster node: its store keeps ended jobs until the cluster has
 * them, not by retention. */
void jobs_set_outbox(struct jobs *j);
/* A job this node claimed from the cluster: stored here, and queued
 * once the turn's commit has it (-1: it is not, and is given back). */
int jobs_claimed(struct jobs *j, const struct store_job *job);
/* After the turn's commit: the turn's submissions and releases join the
 * runq if it stored them (true if any did), else they are forgotten. */
bool jobs_turn_committed(struct jobs *j, bool committed);

/* The worklists: final states recorded (their waiters, hooks and
 * dependents are told), and waiting jobs to be settled. */
bool jobs_next_end(struct jobs *j, struct jobs_end *end);
bool jobs_next_unsettled(struct jobs *j, uint64_t *id);

enum jobs_take {
	JOBS_TAKEN,      /* *job and *run: it leaves the queue */
	JOBS_NONE,       /* nothing queued may start */
	JOBS_STORE_FAIL, /* the store failed; the entry stays queued */
};
/* The next queued job to start, skipping entries gone stale. */
enum jobs_take jobs_take(struct jobs *j, struct store_job *job,
			 struct job_run *run);
/* A taken job goes to a slot: its queue counts it running, and the
 * store marks it so (-1: it did not; it is queued again). */
int jobs_start(struct jobs *j, uint64_t id, uint32_t attempt,
	       const struct job_run *run, int worker, int cpu);
/* A taken job held to start later (a gang waiting for its workers):
 * its queue counts it running from now, so that the queue's parallel
 * limit still holds when it starts; jobs_left_slot undoes it. -1 if
 * memory runs out. */
int jobs_keep_slot(struct jobs *j, const struct job_run *run);
/* A taken job that will not run: failed with why (it is freed). */
void jobs_refuse(struct jobs *j, struct store_job *job, const char *why);
/* A job that left its slot unfinished goes back to its queue as
 * attempt, counted as queued again: -1 (logged) if memory runs out. */
int jobs_queue_again(struct jobs *j, uint64_t id, const struct job_run *run,
		     uint32_t attempt);
/* The same, for a job whose slot never forked it: nothing ran. */
void jobs_unrun(struct jobs *j, uint64_t id, uint32_t attempt,
		const struct job_run *run);
/* A job left its slot for good: its queue has room again. */
void jobs_left_slot(struct jobs *j, const struct job_run *run);

/* Records a final state; own_hook as in struct jobs_end. */
void jobs_record_final(struct jobs *j, uint64_t id, const struct job_result *r,
		       int own_hook);
/* A started job's end: its next attempt if its policy wants one, else
 * its final state. */
void jobs_ended(struct jobs *j, uint64_t id, uint32_t attempt,
		const struct job_run *run, int worker, int cpu,
		const struct job_result *r);
/* The end of a job, which forqd's own stop stopped if stopped: then it
 * is queued again as interrupted, unless it succeeded first. */
void jobs_ended_stopped(struct jobs *j, uint64_t id, uint32_t attempt,
			const struct job_run *run, int worker, int cpu,
			const struct job_result *r, bool stopped);
/* A job a crash interrupted: queued again while crash_requeue_max
 * allows, else lost. */
void jobs_interrupted(struct jobs *j, uint64_t id, uint32_t attempt,
		      const struct job_run *run, int worker, int cpu,
		      const char *why);

/* Waiting jobs: how many, and the two ways out of waiting. */
uint64_t jobs_waiting(const struct jobs *j);
void jobs_deps_met(struct jobs *j, const struct store_job *job);
void jobs_fail_waiting(struct jobs *j, const struct store_job *job,
		       const struct job_result *r);

enum jobs_cancel {
	JOBS_CANCELLED,   /* it was pending: now cancelled */
	JOBS_NOT_PENDING, /* it had started or ended: *state says which */
	JOBS_NO_SUCH_JOB,
	JOBS_CANCEL_FAIL, /* the store failed: nothing changed */
};
/* Holds a job not started (it keeps its place in the store, never its
 * entry in the runq or the due heap: those are skipped while it is
 * held). STORE_OK if it is held now (or was); STORE_NO_MATCH if it had
 * started or ended. */
enum store_result jobs_hold(struct jobs *j, const struct store_job *job);
/* A held job goes where it would be had it never been held: waiting
 * (its dependencies are settled at the end of the turn), scheduled, or
 * queued (in the runq once the turn's commit has stored it); *state
 * says which. STORE_NO_MATCH if it was not held. */
enum store_result jobs_release(struct jobs *j, const struct store_job *job,
			       enum job_state *state);
/* Cancels a job that has not started. */
enum jobs_cancel jobs_cancel(struct jobs *j, uint64_t id,
			     enum job_state *state);
/* A job not started, as read (job), changes as e says (forq set): a
 * queued or scheduled one is then queued or scheduled as its start time
 * says, in its queue and at its priority. STORE_NO_MATCH: it has
 * started or ended. */
enum store_result jobs_edit(struct jobs *j, const struct store_job *job,
			    const struct job_edit *e);
enum jobs_retry {
	JOBS_RETRIED,
	JOBS_RETRY_NOT_ENDED, /* it had not ended after all */
	JOBS_RETRY_KEY_HELD,  /* another job not ended holds its key */
	JOBS_RETRY_STORE_FAIL,
};
/* An ended job runs again as its next attempt (*holder: who holds its
 * unique key, for JOBS_RETRY_KEY_HELD). */
enum jobs_retry jobs_retry(struct jobs *j, const struct store_job *job,
			   uint64_t *holder);
/* Pauses or resumes a queue (or RUNQ_ALL), durably. */
int jobs_set_paused(struct jobs *j, int queue, bool paused);
/* A job's output files go (arg: the jobs). */
void jobs_remove_logs(void *arg, uint64_t id);
/* forq clean: up to max ended jobs, and their logs. */
int jobs_clean(struct jobs *j, const struct store_filter *f,
	       int64_t end_before_ns, uint32_t max);

/* The queues as they stand, for those who show them. */
/* Of those set aside for their [resources], the queue's. */
size_t jobs_aside_in(const struct jobs *j, int queue);
/* Jobs that may be taken: ready in the runq, or set aside for their
 * [resources]. */
size_t jobs_ready(const struct jobs *j);
const struct runq *jobs_runq(const struct jobs *j);
size_t jobs_scheduled(const struct jobs *j);
uint64_t jobs_queued_by(const struct jobs *j, uid_t uid);

/* Start times and retention: the next deadline (monotonic, 0: none),
 * and what is due. */
int64_t jobs_next_deadline(const struct jobs *j);
void jobs_check(struct jobs *j, int64_t now_ns);

/* Of each [resources] kind (the conf's order), how many a job claimed
 * from a cluster now could be given here: none of a kind a job here
 * waits for, less what the claimed jobs not taken yet ask. */
void jobs_res_left(struct jobs *j, uint32_t *left);
/* The GPUs (bits: indexes of [resources]' gpu) a job may not open:
 * all but those it was given (none for a job not taken, or ended). */
uint64_t jobs_res_gpu_deny(struct jobs *j, uint64_t id);
/* The environment of the [resources] a job taken was given
 * (CUDA_VISIBLE_DEVICES, FORQ_RES_<NAME>), NUL-separated: its bytes in
 * *used, its count in *n (0: none); -1 if it does not fit len. */
int jobs_res_env(struct jobs *j, uint64_t id, char *buf, size_t len,
		 size_t *used, uint32_t *n);

#endif
