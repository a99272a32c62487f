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
