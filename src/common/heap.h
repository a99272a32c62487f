/*
 * A binary heap of fixed-size elements, ordered by a caller's "before"
 * function: push and pop cost O(log n), the top O(1). Grown by
 * doubling; used for the ready jobs of one user and for the timers of
 * delayed jobs.
 */
#ifndef FORQ_HEAP_H
#define FORQ_HEAP_H

#include <stdbool.h>
#include <stddef.h>

#define HEAP_ELEM_MAX 32

struct heap {
	unsigned char *v;
	size_t len;
	size_t cap;
	size_t size; /* of one element, at most HEAP_ELEM_MAX */
	bool (*before)(const void *a, const void *b);
};

void heap_init(struct heap *h, size_t size,
	       bool (*before)(const void *a, const void *b));
void heap_free(struct heap *h);
/* -1 only when memory runs out. */
int heap_push(struct heap *h, const void *elem);
/* Copies the first element out and removes it; -1 when empty. */
int heap_pop(struct heap *h, void *out);
/* The first element, or NULL when empty. */
const void *heap_top(const struct heap *h);

#endif
