/*
 * Workers a previous forqd left running jobs with (worker/orphan.h):
 * found at start by their sockets in STATE/workers, handed this forqd's
 * shared memory and taken on, each as the worker of the same index,
 * before any worker is forked or any job recovered. A worker that cannot
 * be taken on (another version of forq, another layout) is told to end
 * its jobs and waited for, so that none runs beside its next attempt.
 */
#ifndef FORQ_ORPHANS_H
#define FORQ_ORPHANS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct conf;
struct shm;

struct orphan_found {
	int index;
	int cpu;
	pid_t pid;
	int chan;        /* its channel from now on */
	uint32_t held;   /* the slots it brought */
	int64_t born_ns; /* CLOCK_REALTIME */
};

/* Takes on the workers that answer, up to max, into found: how many.
 * Blocks for each up to a few seconds: forqd serves nobody yet. */
size_t orphans_adopt(const struct conf *conf, const struct shm *shm,
		     struct orphan_found *found, size_t max);

#endif
