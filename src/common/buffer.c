/* A growable byte buffer with a hard cap. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buffer.h"

#define BUF_MIN 4096
#define BUF_READ (64 * 1024) /* the most one buf_read_fd asks for */

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->base);
	buf_init(b, b->max);
}

int
buf_reserve(struct buf *b, size_t extra)
{
	size_t want, cap, front = (size_t)(b->data - b->base);
	char *p;

	if (extra > b->max || b->len > b->max - extra) {
		errno = ENOBUFS;
		return -1;
	}
	want = b->len + extra;
	if (front + want <= b->cap)
		return 0;
	/* Move the live bytes to the front before growing. */
	if (front > 0) {
		memmove(b->base, b->data, b->len);
		b->data = b->base;
		if (want <= b->cap)
			return 0;
	}
	cap = b->cap < BUF_MIN ? BUF_MIN : b->cap;
	if (cap > b->max)
		cap = b->max;
	while (cap < want)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	if ((p = realloc(b->base, cap)) == NULL)
		return -1;
	b->base = b->data = p;
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	if (buf_reserve(b, len) == -1)
		return -1;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

void
buf_consume(struct buf *b, size_t len)
{
	if (len >= b->len) {
		buf_clear(b);
		return;
	}
	b->data += len;
	b->len -= len;
	b->scanned = b->scanned > len ? b->scanned - len : 0;
}

void
buf_clear(struct buf *b)
{
	b->data = b->base;
	b->len = 0;
	b->scanned = 0;
}

void
buf_shrink(struct buf *b, size_t keep)
{
	char *p;

	if (b->cap <= keep || b->len > keep)
		return;
	if (b->len == 0) {
		free(b->base);
		b->base = b->data = NULL;
		b->cap = 0;
		b->scanned = 0;
		return;
	}
	memmove(b->base, b->data, b->len);
	b->data = b->base;
	if ((p = realloc(b->base, keep)) == NULL)
		return; /* the bigger block stays: still correct */
	b->base = b->data = p;
	b->cap = keep;
}

char *
buf_find(struct buf *b, int c)
{
	char *p;

	if (b->scanned >= b->len)
		return NULL;
	p = memchr(b->data + b->scanned, c, b->len - b->scanned);
	b->scanned = p != NULL ? (size_t)(p - b->data) : b->len;
	return p;
}

ssize_t
buf_read_fd(struct buf *b, int fd)
{
	size_t room = b->max - b->len, spare;
	ssize_t n;

	if (room == 0) {
		errno = ENOBUFS;
		return -1;
	}
	if (buf_reserve(b, room < BUF_MIN ? room : BUF_MIN) == -1)
		return -1;
	/* All the spare room there is, up to BUF_READ, in one read. */
	spare = b->cap - (size_t)(b->data - b->base) - b->len;
	if (spare > room)
		spare = room;
	if (spare > BUF_READ)
		spare = BUF_READ;
	n = read(fd, b->data + b->len, spare);
	if (n > 0)
		b->len += (size_t)n;
	return n;
}

ssize_t
buf_write_fd(struct buf *b, int fd)
{
	ssize_t n;

	if (b->len == 0)
		return 0;
	n = write(fd, b->data, b->len);
	if (n > 0)
		buf_consume(b, (size_t)n);
	return n;
}
