/*
 * Growing arrays that a loop turn fills and empties: room is made by
 * doubling, and a big one gives its room back once emptied, so that a
 * burst (a batch of 100,000 jobs) does not keep its memory for good.
 */
#ifndef FORQ_ARRAY_H
#define FORQ_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for item n of *items (each size bytes): -1 when memory runs
 * out, *items untouched. */
int array_reserve(void **items, size_t *cap, size_t n, size_t size);
/* *items was emptied: past keep items of room, it is freed. */
void array_emptied(void **items, size_t *cap, size_t keep);

/* Job ids: sorted ascending, and looked up in such a list. */
void array_sort_ids(uint64_t *ids, size_t n);
bool array_has_id(const uint64_t *ids, size_t n, uint64_t id);

#endif
