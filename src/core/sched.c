/* The choice of a worker for the next job. */
#include "core/sched.h"

int
sched_pick(const struct sched_worker *w, size_t n, size_t *cursor)
{
	size_t i, k;
	int best = -1;

	for (k = 0; k < n; k++) {
		i = (*cursor + k) % n;
		if (!w[i].ready || w[i].busy >= w[i].slots)
			continue;
		if (best == -1 || w[i].busy < w[best].busy)
			best = (int)i;
	}
	if (best != -1)
		*cursor = ((size_t)best + 1) % n;
	return best;
}
