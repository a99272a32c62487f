/*
 * Jobs on the workers' slots: handing queued jobs to free slots, the
 * starts that wait for the turn's commit, what workers report of them
 * (started, done), the slots of a worker that died, cancels and kills
 * of running jobs. The jobs' records are jobs.c's, the processes
 * workers.c's; this is the map between them.
 */
#ifndef FORQ_RUNNING_H
#define FORQ_RUNNING_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/cgroup.h"

struct access_policy;
struct adopted;
struct ch_slot;
struct ch_started;
struct conf;
struct jobs;
struct running;
struct shm;
struct store_job;
struct workers;

/* cpusets: a job may have CPUs of its own (--cpus), held to them. */
struct running *running_new(const struct conf *conf,
			    const struct access_policy *access,
			    const struct shm *shm, struct workers *workers,
			    struct jobs *jobs, struct adopted *adopted,
			    bool cpusets);
void running_free(struct running *r);

/* Hands queued jobs to free slots until one or the other runs out; a
 * job with CPUs of its own is held until the workers held for it are
 * free (core/sched.h). */
void running_dispatch(struct running *r);
/* A held job goes back to its queue before it is changed (cancelled,
 * re-prioritised): false if it is not held. */
bool running_unhold(struct running *r, uint64_t id);
/* After the turn's commit: the turn's dispatched jobs start if it
 * stored their running marks, else go back to the queue (true: some
 * did, so nothing more is dispatched this turn). */
bool running_starts_committed(struct running *r, bool committed);

/* The least busy ready worker with a free slot, or -1. */
int running_pick_worker(struct running *r);
/* The jobs this host may run at once now: the slots of its ready
 * workers, as slots_adapt allows them (engine/adapt.h). */
uint32_t running_room(const struct running *r);
/* Worker w's slots it may fill now. */
uint32_t running_slots(const struct running *r, int w);
/* slots_adapt's readings of the CPUs. */
int64_t running_next_deadline(const struct running *r);
void running_check(struct running *r, int64_t now_ns);
/* Runs a job's on-finish command cmd on worker w, as the job's user:
 * -1 if it does not fit a slot. */
int running_start_hook(struct running *r, int w, const struct store_job *job,
		       const char *cmd);

/* What workers report of their slots. */
void running_on_started(struct running *r, int w, const struct ch_started *st);
void running_on_done(struct running *r, int w, const struct ch_slot *done);
void running_worker_died(struct running *r, int w);
/* Worker w, taken on from a previous forqd, brought the jobs in its
 * slots: they are this forqd's now (its started and done messages
 * follow). */
void running_take_worker(struct running *r, int w);
/* An adopted job of slot s of worker w ended: the slot is free. */
void running_adopted_gone(struct running *r, int w, uint32_t s);

/* Where a running job is. */
struct running_where {
	int worker;
	int cpu;
	pid_t pid;        /* 0 until it has started */
	int64_t start_ns; /* CLOCK_REALTIME; 0 until it has started */
	bool taken_on;    /* it lived through a crash of forqd */
	uint32_t slot;
	/* What its cgroup's counters start from (its worker's copy). */
	struct cg_base cg_base;
};
bool running_find(const struct running *r, uint64_t id,
		  struct running_where *where);
/* Stops a running job as cancelled: false if it is not running (a held
 * one goes back to its queue, to be cancelled there). */
bool running_cancel(struct running *r, uint64_t id);
/* Ids of the jobs running in a queue (or RUNQ_ALL); *ids is malloc'd. */
int running_ids(const struct running *r, int queue, uint64_t **ids, size_t *n);
/* The jobs on worker w's slots (hooks too), up to cap. */
size_t running_on_worker(const struct running *r, int w, uint64_t *ids,
			 size_t cap);
uint32_t running_busy(const struct running *r);
/* How long worker w has had a job on it, all told (ns). */
int64_t running_busy_ns(const struct running *r, int w);
/* forqd stops with its jobs: each is stopped as a cancel stops it, and
 * queued again as interrupted. */
void running_interrupt_all(struct running *r);
/* forqd stops and leaves its jobs running: the workers that have some
 * are let go, to be taken on by the next forqd; jobs whose worker died
 * have nobody to keep them, and are stopped and queued again. Returns
 * how many workers were let go. */
uint32_t running_let_go(struct running *r);
/* Stop's last resort: no job may outlive forqd unrecorded. */
void running_kill_all(struct running *r);

#endif
