/*
 * The supervisor's side of the workers: forking them, seeing them die
 * through their pidfds, restarting them by the restart policy, killing
 * the hung, retiring the ones a reload no longer wants. What a worker
 * says of its jobs goes to callbacks: jobs are not known here.
 */
#ifndef FORQ_WORKERS_H
#define FORQ_WORKERS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/event.h"

struct cg_tree;
struct orphan_found;
struct ch_slot;
struct ch_started;
struct conf;
struct sb_worker;
struct shm;
struct workers;

struct workers_cb {
	void (*started)(void *arg, int w, const struct ch_started *st);
	void (*done)(void *arg, int w, const struct ch_slot *done);
	/* Worker w's process is gone; what it ran is to be settled. */
	void (*died)(void *arg, int w);
	void *arg;
};

/* One entry per CPU the machine can have; conf is read as it stands at
 * each use (a reload changes it). */
struct workers *workers_new(struct ev_loop *loop, struct shm *shm,
			    const struct cg_tree *cg, const struct conf *conf,
			    const struct workers_cb *cb);
void workers_free(struct workers *ws);
uint32_t workers_max(const struct workers *ws);
/* How many workers the CPU plan (the conf's cpus) wants: the most CPUs
 * one job may have. */
uint32_t workers_planned(const struct workers *ws);

/* A worker of a previous forqd, taken on (orphans.h): entry o->index is
 * it, planned for its CPU, ready. Before the first plan is applied. */
void workers_take(struct workers *ws, const struct orphan_found *o);
/* Worker w was taken on: not forqd's child, so the jobs it leaves if it
 * dies are no child of forqd's either. */
/* Worker index is a previous forqd's of another layout, draining
 * (draining.c): shown as such, and nothing started in its place until
 * workers_release_drain, when it is gone. */
void workers_hold_for_drain(struct workers *ws, int index, int cpu, pid_t pid);
void workers_release_drain(struct workers *ws, int index);
bool workers_foreign(const struct workers *ws, int w);

/* Makes the set of workers follow a CPU plan: keeps those whose CPU is
 * still wanted, retires the others gracefully, starts the new ones. */
void workers_apply_plan(struct workers *ws, const int *cpus, size_t n);
/* After a reload: the restart policy and the workers' config anew, the
 * new CPU plan, and held and failed workers get a fresh chance. */
void workers_reload(struct workers *ws, const int *cpus, size_t n);
/* Stop: every worker is told to retire, none restarts. */
void workers_retire_all(struct workers *ws);
/* forqd goes and leaves worker index with its jobs: it sees its channel
 * close and keeps them for the next forqd (worker/orphan.h). It is not
 * waited for, nor restarted. */
void workers_let_go(struct workers *ws, int index);
void workers_kill_all(struct workers *ws, const char *why);
/* Restarts due and hung workers (by heartbeat): the next deadline
 * (monotonic, 0: none), and what is due. */
int64_t workers_next_deadline(const struct workers *ws);
void workers_check(struct workers *ws, int64_t now_ns);
/* SIGCHLD for pid: true if it was a worker (now reaped). */
bool workers_reap_pid(struct workers *ws, pid_t pid);

uint32_t workers_live(const struct workers *ws);
uint32_t workers_ready(const struct workers *ws);
/* Every planned worker is up, or held back by its policy. */
bool workers_settled(const struct workers *ws, uint32_t *planned);
bool workers_is_ready(const struct workers *ws, int w);
int workers_cpu(const struct workers *ws, int w);

/* Queues a message to worker w; it goes with workers_flush_all. */
void workers_queue(struct workers *ws, int w, uint16_t type,
		   const void *payload, size_t len);
void workers_flush_all(struct workers *ws);
/* Worker w broke the protocol (why): it is killed and replaced. */
void workers_replace(struct workers *ws, int w, const char *why);

/* A worker as `forq workers` shows it. */
struct worker_view {
	int index;
	int cpu;
	pid_t pid; /* 0: no process */
	bool planned;
	int64_t started_ns;  /* monotonic */
	int64_t retry_at_ns; /* monotonic; 0: no restart pending */
	const struct sb_worker *sb;
};
void workers_view(const struct workers *ws, int w, struct worker_view *v);
/* How many times a worker in a crash loop was held, since start. */
uint64_t workers_crash_loops(const struct workers *ws);

#endif
