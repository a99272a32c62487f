/* A growable ring of queued job ids. */
#include <stdlib.h>
#include <string.h>

#include "daemon/jobq.h"

void
jobq_init(struct jobq *q)
{
	memset(q, 0, sizeof *q);
}

void
jobq_free(struct jobq *q)
{
	free(q->ring);
	memset(q, 0, sizeof *q);
}

static int
jobq_grow(struct jobq *q)
{
	size_t cap = q->cap ? q->cap * 2 : 1024, i;
	struct jobq_entry *ring = reallocarray(NULL, cap, sizeof *ring);

	if (ring == NULL)
		return -1;
	for (i = 0; i < q->len; i++)
		ring[i] = q->ring[(q->head + i) % q->cap];
	free(q->ring);
	q->ring = ring;
	q->head = 0;
	q->cap = cap;
	return 0;
}

int
jobq_push(struct jobq *q, uint64_t id, uint32_t attempt)
{
	if (q->len == q->cap && jobq_grow(q) == -1)
		return -1;
	q->ring[(q->head + q->len) % q->cap] =
	    (struct jobq_entry){.id = id, .attempt = attempt};
	q->len++;
	return 0;
}

int
jobq_pop(struct jobq *q, struct jobq_entry *out)
{
	if (q->len == 0)
		return -1;
	*out = q->ring[q->head];
	q->head = (q->head + 1) % q->cap;
	q->len--;
	return 0;
}
