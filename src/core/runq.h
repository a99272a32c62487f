/*
 * The jobs ready to run, and which runs next: a pure structure that
 * the supervisor fills from the store and asks for the next job, so
 * that the scheduling policy is unit-tested without a daemon.
 *
 * Jobs wait in named queues; in a queue, each user's jobs form a heap,
 * higher priority first, then older (lower id) first. The next job is
 * the best head over every queue that is neither paused nor at its
 * parallelism limit: the higher priority; on a tie, the job of the
 * user with fewer jobs running in that queue, then of the user served
 * longest ago (so that one user's hundred thousand jobs do not starve
 * another's one, whatever the queue's parallelism); then the older.
 * A decision costs O(log n) in the jobs and a pass over the users with
 * ready jobs; it never scans the jobs.
 *
 * Entries are not removed when a job is cancelled, held or
 * re-prioritised: the supervisor checks each popped job against the
 * store and skips the stale ones (the heaps stay 16 bytes a job). It
 * says when an entry went stale and when it skipped one, so that the
 * counts of ready jobs leave the stale ones out.
 */
#ifndef FORQ_RUNQ_H
#define FORQ_RUNQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RUNQ_ALL (-1)

struct runq_job {
	uint64_t id;
	int32_t priority;
	uint32_t attempt;
};

struct runq_pick {
	struct runq_job job;
	int queue;
	uid_t uid;
};

struct runq_info {
	const char *name;  /* an array's queue: its parent's */
	int parent;        /* -1: a queue of the conf */
	uint32_t parallel; /* 0: no limit of its own */
	uint32_t running;
	size_t ready;
	bool paused;
};

struct runq;

struct runq *runq_new(void);
void runq_free(struct runq *q);
/* The queue's index, made if new (no limit, not paused); -1 when
 * memory runs out. Indexes stay valid for the runq's life. */
int runq_queue(struct runq *q, const char *name);
/* The queue of an array (key) with a limit of its own (parallel) in
 * queue parent: its jobs start only while both limits allow, count as
 * running in both, and pause with the parent. Made if new, or an idle
 * one of a finished array serves it; -1 when memory runs out. */
int runq_subqueue(struct runq *q, int parent, uint64_t key, uint32_t parallel);
/* Its index, or -1 if there is no such queue. */
int runq_find(const struct runq *q, const char *name);
size_t runq_queues(const struct runq *q);
void runq_set_parallel(struct runq *q, int queue, uint32_t parallel);
/* queue may be RUNQ_ALL: pauses or resumes the whole runq (each queue
 * keeps its own flag besides). */
void runq_set_paused(struct runq *q, int queue, bool paused);
bool runq_paused(const struct runq *q, int queue);
void runq_info(const struct runq *q, int queue, struct runq_info *info);
/* The conf's queue a queue stands for: itself, or an array's parent. */
int runq_conf_queue(const struct runq *q, int queue);

/* -1 only when memory runs out. */
int runq_push(struct runq *q, int queue, uid_t uid, const struct runq_job *job);
/* May a job of the queue start now (not paused, under its limits)? */
bool runq_may_start(const struct runq *q, int queue);
/* Takes the job that should run next: 0, or -1 if none may start now. */
int runq_pop(struct runq *q, struct runq_pick *pick);
/* A job of this queue and user started (-1: out of memory) or ended. */
int runq_started(struct runq *q, int queue, uid_t uid);
void runq_ended(struct runq *q, int queue, uid_t uid);
/* An entry of the queue went stale (its job was cancelled, held, or
 * queued again with another priority); one popped was skipped as
 * stale. A job held and released while its entry is still in: the
 * entry is good again and the new one is stale, so neither is said. */
void runq_went_stale(struct runq *q, int queue);
void runq_skipped(struct runq *q, int queue);
/* Jobs ready, over all queues; jobs running, over all queues. */
size_t runq_ready(const struct runq *q);
size_t runq_running(const struct runq *q);

#endif
