/* A binary heap of fixed-size elements. */
#include <stdlib.h>
#include <string.h>

#include "common/heap.h"

#define AT(h, i) ((h)->v + (i) * (h)->size)

void
heap_init(struct heap *h, size_t size,
	  bool (*before)(const void *a, const void *b))
{
	memset(h, 0, sizeof *h);
	h->size = size;
	h->before = before;
}

void
heap_free(struct heap *h)
{
	free(h->v);
	h->v = NULL;
	h->len = h->cap = 0;
}

static void
heap_swap(struct heap *h, size_t a, size_t b)
{
	unsigned char t[HEAP_ELEM_MAX];

	memcpy(t, AT(h, a), h->size);
	memcpy(AT(h, a), AT(h, b), h->size);
	memcpy(AT(h, b), t, h->size);
}

int
heap_push(struct heap *h, const void *elem)
{
	unsigned char *v;
	size_t i, parent, cap;

	if (h->len == h->cap) {
		cap = h->cap != 0 ? h->cap * 2 : 8;
		if ((v = reallocarray(h->v, cap, h->size)) == NULL)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	i = h->len++;
	memcpy(AT(h, i), elem, h->size);
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!h->before(AT(h, i), AT(h, parent)))
			break;
		heap_swap(h, i, parent);
		i = parent;
	}
	return 0;
}

int
heap_pop(struct heap *h, void *out)
{
	size_t i = 0, l, r, first;

	if (h->len == 0)
		return -1;
	memcpy(out, AT(h, 0), h->size);
	if (--h->len > 0)
		memcpy(AT(h, 0), AT(h, h->len), h->size);
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		first = i;
		if (l < h->len && h->before(AT(h, l), AT(h, first)))
			first = l;
		if (r < h->len && h->before(AT(h, r), AT(h, first)))
			first = r;
		if (first == i)
			break;
		heap_swap(h, i, first);
		i = first;
	}
	/* Give memory back once the heap has shrunk to a quarter. */
	if (h->cap > 64 && h->len < h->cap / 4) {
		unsigned char *v = reallocarray(h->v, h->cap / 2, h->size);

		if (v != NULL) {
			h->v = v;
			h->cap /= 2;
		}
	}
	return 0;
}

const void *
heap_top(const struct heap *h)
{
	return h->len > 0 ? h->v : NULL;
}
