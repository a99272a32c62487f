/* A growable byte buffer with a hard cap. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buffer.h"

#define BUF_MIN 4096

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
buf_reserve(struct buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra) {
		errno = ENOBUFS;
		return -1;
	}
	want = b->len + extra;
	if (want <= b->cap)
		return 0;
	cap = b->cap < BUF_MIN ? BUF_MIN : b->cap;
	if (cap > b->max)
		cap = b->max;
	while (cap < want)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
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
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + len, b->len - len);
	b->len -= len;
}

char *
buf_find(const struct buf *b, int c)
{
	if (b->len == 0)
		return NULL;
	return memchr(b->data, c, b->len);
}

ssize_t
buf_read_fd(struct buf *b, int fd)
{
	size_t room = b->max - b->len;
	ssize_t n;

	if (room > BUF_MIN)
		room = BUF_MIN;
	if (room == 0) {
		errno = ENOBUFS;
		return -1;
	}
	if (buf_reserve(b, room) == -1)
		return -1;
	n = read(fd, b->data + b->len, room);
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
