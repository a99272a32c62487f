/* The choice of a worker for the next job, of a gang's workers, and of
 * when a cluster node claims. */
#include "core/sched.h"

int
sched_pick(const struct sched_worker *w, size_t n, size_t *cursor)
{
	size_t i, k;
	int best = -1;

	for (k = 0; k < n; k++) {
		i = (*cursor + k) % n;
		if (!w[i].ready || w[i].held || w[i].busy >= w[i].slots)
			continue;
		if (best == -1 || w[i].busy < w[best].busy)
			best = (int)i;
	}
	if (best != -1)
		*cursor = ((size_t)best + 1) % n;
	return best;
}

size_t
sched_gang_pick(const struct sched_worker *w, size_t n, size_t want,
		int *chosen)
{
	size_t i, k, got = 0;
	int best;

	/* want is a few workers: a pass per pick is cheaper than a sort. */
	while (got < want) {
		best = -1;
		for (i = 0; i < n; i++) {
			if (!w[i].ready || w[i].held)
				continue;
			for (k = 0; k < got && chosen[k] != (int)i; k++)
				;
			if (k < got)
				continue;
			if (best == -1 || w[i].busy < w[best].busy)
				best = (int)i;
		}
		if (best == -1)
			break;
		chosen[got++] = best;
	}
	return got;
}

int64_t
sched_claim_wait(uint32_t free, uint32_t all, int64_t since, int64_t now,
		 int64_t gather_ns)
{
	int64_t left;

	if ((uint64_t)free * 2 >= all)
		return 0;
	if (since == 0)
		return gather_ns;
	left = since + gather_ns - now;
	return left > 0 ? left : 0;
}
