/*
 * One log line per interval for a thing that may happen a million
 * times (a refused connection in a flood): the first is told at once,
 * the rest are counted and told as a number when the interval is over.
 */
#ifndef FORQ_RATELIMIT_H
#define FORQ_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	int64_t interval_ns;
	int64_t next_ns;     /* before this, events are only counted */
	uint64_t suppressed; /* counted since the last line */
};

void ratelimit_init(struct ratelimit *rl, int64_t interval_ns);
/* An event at now: true if it is to be told now. */
bool ratelimit_pass(struct ratelimit *rl, int64_t now_ns);
/* When the count held back is to be told; 0: nothing held back. */
int64_t ratelimit_due(const struct ratelimit *rl);
/* At or after ratelimit_due: how many were held back (then 0 again);
 * 0 before it. */
uint64_t ratelimit_flush(struct ratelimit *rl, int64_t now_ns);

#endif
