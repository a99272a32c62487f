/*
 * Workers of a previous forqd whose layout this one does not speak (an
 * upgrade across a change of the channel or shared-memory layout): not
 * taken on, but drained. Each runs its jobs to their end, writing each
 * end to STATE/ends and saying so on its connection (ipc/orphan.h);
 * this module records the ends, holds the worker's index (no worker is
 * started on its CPU meanwhile) and gives it back once the worker is
 * gone. A job whose end never came (its worker killed) is killed
 * through its slot's cgroup and queued again.
 */
#ifndef FORQ_DRAINING_H
#define FORQ_DRAINING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/event.h"

struct cg_tree;
struct conf;
struct jobs;
struct orphan_found;
struct workers;

struct draining *draining_new(struct ev_loop *loop, const struct conf *conf,
			      const struct cg_tree *cg, struct jobs *jobs,
			      struct workers *workers);
void draining_free(struct draining *d);
/* A worker orphans.c found draining: its connection and job list are
 * taken (o->chan, o->jobs). Its jobs count in their queues as running.
 * After jobs_load, which left them running. */
void draining_add(struct draining *d, struct orphan_found *o);
/* After the turn's commit: the end files it recorded may go. */
void draining_committed(struct draining *d, bool committed);
/* Jobs still running on draining workers. */
size_t draining_jobs(const struct draining *d);
/* The jobs draining worker index runs, up to cap. */
size_t draining_on_worker(const struct draining *d, int index, uint64_t *ids,
			  size_t cap);
/* Draining workers still alive. */
size_t draining_workers(const struct draining *d);
/* A cancel of a job one runs: TERM to its slot's processes, KILL after
 * kill_grace, and its end recorded as cancelled. False if none runs it. */
bool draining_cancel(struct draining *d, uint64_t id);
/* The next KILL due (monotonic; 0: none), and those due now. */
int64_t draining_next_deadline(const struct draining *d);
void draining_check(struct draining *d, int64_t now);
/* forqd stops with its jobs (OPS_STOP_KILL): each draining worker is
 * told to end (TERM: it kills its jobs), which are queued again. */
void draining_end_all(struct draining *d, bool hard);
/* forqd goes and leaves them draining, for the next to ask again. */
void draining_leave_all(struct draining *d);

#endif
