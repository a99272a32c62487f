/*
 * A client's replies not yet sent: lines in a capped buffer, some
 * carrying descriptors (SCM_RIGHTS on the line's first byte, so that
 * they arrive with that line and no other), and where the loop turn's
 * replies began: a turn that cannot be stored takes its replies back,
 * descriptors with them.
 */
#ifndef FORQ_OUTBOX_H
#define FORQ_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buffer.h"

/* Lines with descriptors unsent at once; a line carries one or two. */
#define OUTBOX_FDS_MAX 8

struct outbox_pass {
	size_t offset; /* where in buf the line carrying them starts */
	int fds[2];
	int n;
};

struct outbox {
	struct buf buf;
	struct outbox_pass pass[OUTBOX_FDS_MAX];
	int npass;
	bool marked;    /* mark and mark_npass hold for this turn */
	size_t mark;    /* buf.len before this turn's lines */
	int mark_npass; /* npass then */
};

/* Room for max bytes of lines. */
void outbox_init(struct outbox *o, size_t max);
/* Closes the descriptors not sent and frees the buffer. */
void outbox_free(struct outbox *o);
/* Closes the descriptors not sent; the lines stay. */
void outbox_drop_fds(struct outbox *o);
/* Appends text and a newline; -1 (nothing appended) past max. */
int outbox_append(struct outbox *o, const char *text, size_t len);
/* Copies of fds (one or two) go with the next line appended; -1 if
 * OUTBOX_FDS_MAX lines with descriptors wait, or a copy failed. */
int outbox_attach(struct outbox *o, const int *fds, int n);
/* Sends what the socket takes: up to the next line with descriptors,
 * then that line with them. 0 (all sent, or the socket is full), -1 on
 * an error of the socket. */
int outbox_send(struct outbox *o, int fd);
/* Bytes not sent. */
size_t outbox_pending(const struct outbox *o);

/* This turn's lines begin here (only the first call of a turn counts). */
void outbox_mark(struct outbox *o);
/* The turn is over: the next line begins the next. */
void outbox_unmark(struct outbox *o);
/* Drops this turn's lines and closes their descriptors. */
void outbox_take_back(struct outbox *o);

#endif
