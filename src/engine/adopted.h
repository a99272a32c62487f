/*
 * Jobs whose worker died under them: forqd, as the child subreaper that
 * inherited them, watches each to its end through a pidfd (or SIGCHLD),
 * enforces its timeout and its cancel, and records how it ended.
 */
#ifndef FORQ_ADOPTED_H
#define FORQ_ADOPTED_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/cgroup.h"
#include "common/event.h"

struct adopted;
struct cg_tree;
struct conf;
struct job_run;
struct jobs;

/* What is known of a job whose worker died while it ran. */
struct adopted_job {
	uint64_t id;
	uint32_t attempt;
	const struct job_run *run;
	pid_t pid;
	int worker;
	int cpu;
	int64_t start_ns; /* CLOCK_REALTIME */
	int64_t timeout_ms;
	uint32_t slot;          /* its slot, whose cgroup holds its processes */
	bool cancel;            /* a cancel was sent before its worker died */
	bool interrupt;         /* stopped by forqd's stop: queued again */
	uint64_t mem;           /* its memory limit; 0: none */
	struct cg_base cg_base; /* its cgroup's counts start from these */
};

/* A job that cannot be watched to its end (its worker, not forqd's
 * child, died): its process group and its slot's cgroup are killed. */
void adopted_kill(struct adopted *a, int worker, uint32_t slot, pid_t pid);

/* An adopted job has ended and its slot's cgroup is empty again. */
typedef void adopted_gone_fn(void *arg, int worker, uint32_t slot);

struct adopted *adopted_new(struct ev_loop *loop, const struct conf *conf,
			    const struct cg_tree *cg, struct jobs *jobs,
			    adopted_gone_fn *gone, void *arg);
void adopted_free(struct adopted *a);
/* Watches the job from now on (true), or records it lost when it was
 * gone already (false). */
bool adopted_take(struct adopted *a, const struct adopted_job *job);
/* Cancels an adopted job: true if id is one. */
bool adopted_cancel(struct adopted *a, uint64_t id);
/* The nearest timeout or kill (monotonic), or 0. */
int64_t adopted_next_deadline(const struct adopted *a);
void adopted_check(struct adopted *a, int64_t now_ns);
size_t adopted_count(const struct adopted *a);
/* Appends the ids of adopted jobs of a queue (or RUNQ_ALL), up to cap. */
void adopted_ids(const struct adopted *a, int queue, uint64_t *ids, size_t *n,
		 size_t cap);
/* SIGCHLD for pid: true if it was an adopted job (now reaped). */
bool adopted_reap_pid(struct adopted *a, pid_t pid);
/* forqd stops: each job TERM now, KILL after kill_grace, and queued
 * again as interrupted unless it succeeded meanwhile. */
void adopted_stop_all(struct adopted *a);
void adopted_kill_all(struct adopted *a);
/* After the loop turn: frees what was reaped during it. */
void adopted_end_turn(struct adopted *a);

#endif
