/* A client's replies not yet sent, and the descriptors some carry. */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "control/outbox.h"

/* What a buffer keeps once a big reply has gone. */
#define OUTBOX_KEEP (64 * 1024)

void
outbox_init(struct outbox *o, size_t max)
{
	memset(o, 0, sizeof *o);
	buf_init(&o->buf, max);
}

static void
outbox_close_pass(struct outbox_pass *p)
{
	close(p->fds[0]);
	if (p->n > 1)
		close(p->fds[1]);
}

void
outbox_drop_fds(struct outbox *o)
{
	int i;

	for (i = 0; i < o->npass; i++)
		outbox_close_pass(&o->pass[i]);
	o->npass = o->mark_npass = 0;
}

void
outbox_free(struct outbox *o)
{
	outbox_drop_fds(o);
	buf_free(&o->buf);
}

int
outbox_append(struct outbox *o, const char *text, size_t len)
{
	/* Room for both first: a line is appended whole or not at all. */
	if (buf_reserve(&o->buf, len + 1) == -1)
		return -1;
	(void)buf_append(&o->buf, text, len);
	(void)buf_append(&o->buf, "\n", 1);
	return 0;
}

int
outbox_attach(struct outbox *o, const int *fds, int n)
{
	struct outbox_pass *p;
	int i;

	if (o->npass == OUTBOX_FDS_MAX || n < 1 || n > 2)
		return -1;
	p = &o->pass[o->npass];
	p->offset = o->buf.len;
	for (i = 0; i < n; i++) {
		if ((p->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) == -1) {
			while (i-- > 0)
				close(p->fds[i]);
			return -1;
		}
	}
	p->n = n;
	o->npass++;
	return 0;
}

int
outbox_send(struct outbox *o, int fd)
{
	char control[CMSG_SPACE(2 * sizeof(int))];
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	struct outbox_pass *p;
	size_t len;
	ssize_t n;
	int i;

	while (o->buf.len > 0) {
		memset(&mh, 0, sizeof mh);
		p = o->npass > 0 ? &o->pass[0] : NULL;
		len = p != NULL && p->offset > 0 ? p->offset : o->buf.len;
		iov.iov_base = o->buf.data;
		iov.iov_len = len;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (p != NULL && p->offset == 0) {
			mh.msg_control = control;
			mh.msg_controllen = CMSG_SPACE(p->n * sizeof(int));
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(p->n * sizeof(int));
			memcpy(CMSG_DATA(cm), p->fds, p->n * sizeof(int));
		}
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (p != NULL && p->offset == 0) {
			outbox_close_pass(p);
			memmove(&o->pass[0], &o->pass[1],
				(size_t)--o->npass * sizeof o->pass[0]);
		}
		buf_consume(&o->buf, (size_t)n);
		buf_shrink(&o->buf, OUTBOX_KEEP);
		for (i = 0; i < o->npass; i++)
			o->pass[i].offset -= (size_t)n < o->pass[i].offset
						 ? (size_t)n
						 : o->pass[i].offset;
		if ((size_t)n < len)
			return 0;
	}
	return 0;
}

size_t
outbox_pending(const struct outbox *o)
{
	return o->buf.len;
}

void
outbox_mark(struct outbox *o)
{
	if (o->marked)
		return;
	o->marked = true;
	o->mark = o->buf.len;
	o->mark_npass = o->npass;
}

void
outbox_unmark(struct outbox *o)
{
	o->marked = false;
}

void
outbox_take_back(struct outbox *o)
{
	int i;

	if (!o->marked)
		return;
	for (i = o->mark_npass; i < o->npass; i++)
		outbox_close_pass(&o->pass[i]);
	o->npass = o->mark_npass;
	o->buf.len = o->mark;
}
