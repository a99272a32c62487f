/*
 * What the jobs module's files share (jobs.c and the jobs_*.c beside
 * it): its state and the ways into its run queue and due heap. Not for
 * other modules: they go through jobs.h.
 */
#ifndef FORQ_JOBS_INT_H
#define FORQ_JOBS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buffer.h"
#include "common/heap.h"
#include "core/res.h"
#include "core/runq.h"
#include "engine/jobs.h"

/* A scheduled job in the due heap: at its CLOCK_REALTIME start. */
struct jobs_due {
	int64_t at_ns;
	uint64_t id;
};

/* A job queued by a client's request or released from waiting: it joins
 * the runq once the turn's commit has stored it, never before. */
struct runq_fresh {
	uint64_t id;
	int queue;
	uid_t uid;
	int32_t priority;
	uint32_t attempt;
};

struct jobs {
	const struct conf *conf;
	struct store *store;
	struct runq *runq; /* queued jobs, and the choice of the next */
	struct heap due;   /* scheduled jobs, soonest first */
	struct usercount_tree *queued_by_uid;
	uint64_t
	    nwaiting; /* jobs waiting for others (they live in the store) */
	int64_t next_prune_ns;
	/* A cluster node's store is an outbox: an ended job leaves it once
	 * the cluster has its end, never by retention. */
	bool outbox;
	struct runq_fresh *fresh;
	size_t nfresh, fresh_cap;
	/* The worklists: [head, n) is what is left to drain. */
	struct jobs_end *ends;
	size_t ends_head, nends, ends_cap;
	uint64_t *unsettled;
	size_t unsettled_head, nunsettled, unsettled_cap;
	/* [resources]: what running jobs were given, and the jobs taken
	 * from the runq that wait for theirs, oldest first (jobs_res.c). */
	struct res_pool pool;
	struct jobs_grant *grants;
	size_t ngrants, grants_cap;
	struct jobs_aside *aside;
	size_t naside, aside_cap;
	/* A cluster node's claimed jobs that ask for resources, until they
	 * are taken from the runq: what they ask is not left for the next
	 * claim (jobs_res_left). */
	struct jobs_grant *expected;
	size_t nexpected, expected_cap;
	/* What the metrics page tells (jobs_metrics.c). */
	uint64_t submitted;
	uint64_t ended[JOB_STATE_COUNT];
	struct jobs_qstats *qstats; /* by runq index of a conf's queue */
	size_t nqstats;
	/* The store's count of jobs waiting, scheduled or held, as samples,
	 * and when it was taken and what it cost (monotonic ns). */
	struct buf pending;
	int64_t pending_at_ns, pending_cost_ns;
};

/* The pending samples' text: a line per queue and state. */
#define JOBS_PENDING_TEXT_MAX (1u << 20)

/* jobs_metrics.c: how long a job waited before its first start, and
 * how long an attempt ran, in the histograms of its queue (an array's
 * limit's queue counts in its parent). */
void jobs_note_wait(struct jobs *j, int queue, const struct store_job *job);
void jobs_note_run(struct jobs *j, int queue, const struct job_result *r);

struct jobs_grant {
	uint64_t id;
	struct res_grant g;
};

struct jobs_aside {
	struct runq_pick e;
	struct res_grant want;
};

/* jobs_res.c: a job claimed from a cluster that asks for resources is
 * expected until it is taken (-1: out of memory). */
int jobs_res_expect(struct jobs *j, const struct store_job *job);
/* jobs_res.c: a job taken from the runq gets its resources now, or is
 * set aside until they are free (and so is every later job that needs
 * one of the same kinds, so that a large ask is not passed by small
 * ones forever). */
enum jobs_res {
	JOBS_RES_NONE,  /* it needs none */
	JOBS_RES_GIVEN, /* they are its own until it leaves */
	JOBS_RES_ASIDE, /* set aside: not free now */
	JOBS_RES_BAD,   /* it asks for what [resources] no longer has */
};
enum jobs_res jobs_res_claim(struct jobs *j, const struct store_job *job,
			     const struct runq_pick *e, char *why,
			     size_t whylen);
/* The oldest set-aside job whose resources are free now and whose queue
 * may start it: true, job (the store's) and e filled, resources given. */
bool jobs_res_next(struct jobs *j, struct store_job *job, struct runq_pick *e);
/* A job that leaves running, or is queued again: its resources go back
 * (none given: nothing happens). */
void jobs_res_release(struct jobs *j, uint64_t id);
/* What it was given, as the store keeps it; NULL if nothing. */
const char *jobs_res_given(struct jobs *j, uint64_t id, char *buf, size_t len);
/* A running job taken on after a restart: what the store says it was
 * given is its own again; -1 if that is not free (logged). */
int jobs_res_retake(struct jobs *j, uint64_t id, const char *given);

/* The queue a stored job names ("default" if none). */
const char *jobs_queue_name(const struct store_job *job);
/* The runq queue a job goes to: its queue's, or, for a task of an
 * array with a limit of tasks at once, the array's own under it. */
int jobs_queue_of(struct jobs *j, const char *queue, uint64_t array_id,
		  uint32_t array_max);
/* The same, of a stored job. */
int jobs_queue_of_job(struct jobs *j, const struct store_job *job);
/* The runq index of a queue named in the store or the conf; a name
 * the conf no longer declares gets a queue without limits. */
int jobs_queue_index(struct jobs *j, const char *name);
/* Into the run queue now: -1 only when memory runs out. */
int jobs_enqueue(struct jobs *j, int queue, uid_t uid, uint64_t id,
		 int32_t priority, uint32_t attempt);
/* Into the run queue once the turn's commit has stored it. */
int jobs_fresh(struct jobs *j, int queue, uid_t uid, uint64_t id,
	       int32_t priority, uint32_t attempt);
/* Into the heap of start times (CLOCK_REALTIME). */
int jobs_schedule(struct jobs *j, uint64_t id, int64_t at_ns);
/* A waiting job whose dependencies are to be looked at this turn. */
void jobs_push_unsettled(struct jobs *j, uint64_t id);
/* A final state recorded this turn, for its waiters and hooks. */
void jobs_push_end(struct jobs *j, uint64_t id, const struct job_result *r,
		   int own_hook);

#endif
