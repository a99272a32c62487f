/*
 * Which worker gets the next job: a pure function of the workers'
 * readiness and free slots, so it is unit-tested without processes.
 * The least busy ready worker wins; ties go round-robin from a cursor
 * so that equal workers share the work.
 *
 * A job with CPUs of its own (--cpus N) takes N whole workers, a gang:
 * it is taken from the queue when its turn comes, and the workers it
 * will run on are held for it from then, so they start nothing new and
 * empty as their jobs end. Held workers are out of every other choice.
 * No job is backfilled onto them (forq does not know how long a job
 * runs), so one-CPU jobs that keep coming cannot starve a gang; the
 * workers not held keep running them.
 */
#ifndef FORQ_SCHED_H
#define FORQ_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sched_worker {
	bool ready;
	bool held;      /* a gang's, waiting or running: none of ours */
	uint32_t busy;  /* slots in use */
	uint32_t slots; /* slots in all */
};

/* The index of the chosen worker, or -1 if none has a free slot. */
int sched_pick(const struct sched_worker *workers, size_t n, size_t *cursor);

/* Up to want workers to hold for a gang, into chosen[]: ready, not
 * held, the least busy first (so the gang starts soonest), the lower
 * index on a tie. Returns how many. */
size_t sched_gang_pick(const struct sched_worker *workers, size_t n,
		       size_t want, int *chosen);

/*
 * How long a node's claim for free of its all slots waits yet (0: it
 * goes now), first put off at since (0: it was not) and now now, both
 * monotonic ns. Short jobs end one or two a turn, and a claim for each
 * end took two jobs, where each claim costs the database its plan's
 * start, a transaction and a round trip whatever it takes: so while
 * less than half the slots are free, it waits for more to come free,
 * gather_ns at most after the first. A node of one or two slots never
 * waits.
 */
int64_t sched_claim_wait(uint32_t free, uint32_t all, int64_t since,
			 int64_t now, int64_t gather_ns);

#endif
