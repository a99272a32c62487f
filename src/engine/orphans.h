/*
 * Workers a previous forqd left running jobs with (worker/orphan.h):
 * found at start by their sockets in STATE/workers, handed this forqd's
 * shared memory and taken on, each as the worker of the same index,
 * before any worker is forked or any job recovered. A worker of another
 * channel or shared-memory layout (an upgrade across a change of one) is
 * drained: it runs its jobs to their end for this forqd (draining.c). One
 * that answers neither way is told to end its jobs and waited for, so
 * that none runs beside its next attempt.
 */
#ifndef FORQ_ORPHANS_H
#define FORQ_ORPHANS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct shm;

/* A job a worker of another layout runs, to its end. */
struct orphan_job {
	uint64_t id;
	uint32_t attempt;
	uint32_t slot;
	pid_t pid;
};

struct orphan_found {
	int index;
	int cpu;
	pid_t pid;
	int chan;        /* its channel from now on; a drain's lines */
	uint32_t held;   /* the slots it brought */
	int64_t born_ns; /* CLOCK_REALTIME */
	/* Of another layout (an upgrade across a layout change): not
	 * taken on but drained; the jobs it runs (malloc'd). */
	bool drain;
	struct orphan_job *jobs;
	size_t njobs;
};

/* Takes on the workers that answer, up to max, into found: how many.
 * A worker of another layout is asked to drain instead (ipc/orphan.h).
 * Blocks for each up to a few seconds: forqd serves nobody yet. */
size_t orphans_adopt(const struct conf *conf, const struct shm *shm,
		     struct orphan_found *found, size_t max);

#endif
