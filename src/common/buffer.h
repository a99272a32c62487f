/* A growable byte buffer with a hard cap, for socket input and output. */
#ifndef FORQ_BUFFER_H
#define FORQ_BUFFER_H

#include <stddef.h>
#include <sys/types.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* -1 with errno ENOBUFS past the cap, ENOMEM if allocation fails. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_reserve(struct buf *b, size_t extra);
void buf_consume(struct buf *b, size_t len);
/* The first byte equal to c, or NULL (also when the buffer is empty). */
char *buf_find(const struct buf *b, int c);
/* read(2) into the spare room; returns what read returned. */
ssize_t buf_read_fd(struct buf *b, int fd);
/* write(2) the front; 0 when empty, -1 on error (EAGAIN included). */
ssize_t buf_write_fd(struct buf *b, int fd);

#endif
