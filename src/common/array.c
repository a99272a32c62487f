/* Growing arrays: see array.h. */
#include <stdlib.h>

#include "common/array.h"

int
array_reserve(void **items, size_t *cap, size_t n, size_t size)
{
	void *more;
	size_t next;

	if (n < *cap)
		return 0;
	next = *cap != 0 ? *cap * 2 : 64;
	if ((more = reallocarray(*items, next, size)) == NULL)
		return -1;
	*items = more;
	*cap = next;
	return 0;
}

void
array_emptied(void **items, size_t *cap, size_t keep)
{
	if (*cap <= keep)
		return;
	free(*items);
	*items = NULL;
	*cap = 0;
}

static int
array_id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
array_sort_ids(uint64_t *ids, size_t n)
{
	if (n > 1)
		qsort(ids, n, sizeof *ids, array_id_cmp);
}

bool
array_has_id(const uint64_t *ids, size_t n, uint64_t id)
{
	return n > 0 && bsearch(&id, ids, n, sizeof *ids, array_id_cmp) != NULL;
}
