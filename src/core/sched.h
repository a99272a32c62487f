/*
 * Which worker gets the next job: a pure function of the workers'
 * readiness and free slots, so it is unit-tested without processes.
 * The least busy ready worker wins; ties go round-robin from a cursor
 * so that equal workers share the work.
 */
#ifndef FORQ_SCHED_H
#define FORQ_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sched_worker {
	bool ready;
	uint32_t busy;  /* slots in use */
	uint32_t slots; /* slots in all */
};

/* The index of the chosen worker, or -1 if none has a free slot. */
int sched_pick(const struct sched_worker *workers, size_t n, size_t *cursor);

#endif
