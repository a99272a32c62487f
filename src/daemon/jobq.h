/* The in-memory queue of job ids waiting for a slot: FIFO, 16 bytes a
 * job, grown by doubling. The store holds everything else. */
#ifndef FORQ_JOBQ_H
#define FORQ_JOBQ_H

#include <stddef.h>
#include <stdint.h>

struct jobq_entry {
	uint64_t id;
	uint32_t attempt;
};

struct jobq {
	struct jobq_entry *ring;
	size_t head;
	size_t len;
	size_t cap;
};

void jobq_init(struct jobq *q);
void jobq_free(struct jobq *q);
int jobq_push(struct jobq *q, uint64_t id, uint32_t attempt);
int jobq_pop(struct jobq *q, struct jobq_entry *out);

#endif
