/*
 * A growable byte buffer with a hard cap, for socket input and output.
 * Consuming from the front moves a pointer, not the bytes, and a search
 * resumes where the last one stopped, so a long stream of small lines,
 * or one huge line arriving in small reads, costs linear time.
 */
#ifndef FORQ_BUFFER_H
#define FORQ_BUFFER_H

#include <stddef.h>
#include <sys/types.h>

struct buf {
	char *data;     /* the first unconsumed byte */
	size_t len;     /* bytes from data */
	char *base;     /* the allocation */
	size_t cap;     /* its size */
	size_t max;     /* len never passes this */
	size_t scanned; /* bytes from data known not to hold the delimiter */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Room for extra more bytes after data + len. -1 with errno ENOBUFS
 * past the cap, ENOMEM if allocation fails. */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
void buf_consume(struct buf *b, size_t len);
void buf_clear(struct buf *b);
/* The first byte equal to c, or NULL (also when the buffer is empty).
 * Remembers how far it looked: use one delimiter per buffer. */
char *buf_find(struct buf *b, int c);
/* Gives back the room past keep bytes that a big line or reply made,
 * once the live bytes fit in keep; the allocation goes when empty. */
void buf_shrink(struct buf *b, size_t keep);
/* read(2) into the spare room; returns what read returned. */
ssize_t buf_read_fd(struct buf *b, int fd);
/* write(2) the front; 0 when empty, -1 on error (EAGAIN included). */
ssize_t buf_write_fd(struct buf *b, int fd);

#endif
