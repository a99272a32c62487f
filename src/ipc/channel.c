/* Framing and validation of supervisor <-> worker messages. */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc/channel.h"
#include "common/compat.h"

static const struct ch_kind {
	uint16_t type;
	const char *name;
	enum ch_direction dir;
	size_t size;
} ch_kinds[] = {
    {CH_S_CONFIG, "config", CH_TO_WORKER, sizeof(struct ch_config)},
    {CH_S_RETIRE, "retire", CH_TO_WORKER, 0},
    {CH_S_RUN, "run", CH_TO_WORKER, sizeof(struct ch_slot)},
    {CH_S_CANCEL, "cancel", CH_TO_WORKER, sizeof(struct ch_slot)},
    {CH_S_ADOPT, "adopt", CH_TO_WORKER, sizeof(struct ch_adopt)},
    {CH_W_READY, "ready", CH_TO_SUPERVISOR, sizeof(struct ch_ready)},
    {CH_W_STARTED, "started", CH_TO_SUPERVISOR, sizeof(struct ch_started)},
    {CH_W_DONE, "done", CH_TO_SUPERVISOR, sizeof(struct ch_slot)},
};

static const struct ch_kind *
ch_kind(uint16_t type)
{
	size_t i;

	for (i = 0; i < nitems(ch_kinds); i++) {
		if (ch_kinds[i].type == type)
			return &ch_kinds[i];
	}
	return NULL;
}

const char *
ch_type_name(uint16_t type)
{
	const struct ch_kind *k = ch_kind(type);

	return k != NULL ? k->name : "unknown";
}

void
ch_reader_init(struct ch_reader *r)
{
	r->len = 0;
}

size_t
ch_reader_feed(struct ch_reader *r, const void *data, size_t len)
{
	size_t room = sizeof r->buf - r->len;

	if (len > room)
		len = room;
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return len;
}

ssize_t
ch_reader_fill(struct ch_reader *r, int fd)
{
	size_t room = sizeof r->buf - r->len;
	ssize_t n;

	if (room == 0) {
		errno = ENOBUFS;
		return -1;
	}
	n = read(fd, r->buf + r->len, room);
	if (n > 0)
		r->len += (size_t)n;
	return n;
}

ssize_t
ch_reader_fill_fd(struct ch_reader *r, int fd, int *passed)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	size_t room = sizeof r->buf - r->len;
	struct iovec iov = {.iov_base = r->buf + r->len, .iov_len = room};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof ctl.buf};
	struct cmsghdr *c;
	ssize_t n;
	int got;

	if (room == 0) {
		errno = ENOBUFS;
		return -1;
	}
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n;
	r->len += (size_t)n;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len != CMSG_LEN(sizeof(int)))
			continue;
		memcpy(&got, CMSG_DATA(c), sizeof got);
		if (*passed != -1)
			close(*passed);
		*passed = got;
	}
	return n;
}

int
ch_send_fd(int sock, uint16_t type, const void *payload, size_t len, int passed)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	unsigned char frame[sizeof(struct ch_header) + CH_PAYLOAD_MAX];
	struct iovec iov = {.iov_base = frame};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof ctl.buf};
	struct cmsghdr *c;
	ssize_t n;

	if ((iov.iov_len =
		 ch_encode(frame, sizeof frame, type, payload, len)) == 0) {
		errno = EINVAL;
		return -1;
	}
	memset(&ctl, 0, sizeof ctl);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &passed, sizeof passed);
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != iov.iov_len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

enum ch_status
ch_next(struct ch_reader *r, enum ch_direction dir, struct ch_msg *msg,
	char *why, size_t whylen)
{
	const struct ch_kind *kind;
	struct ch_header hdr;
	size_t total;

	if (r->len < sizeof hdr)
		return CH_NEED_MORE;
	memcpy(&hdr, r->buf, sizeof hdr);
	if (hdr.version != CH_VERSION) {
		snprintf(why, whylen, "protocol version %u, expected %u",
			 hdr.version, CH_VERSION);
		return CH_ERROR;
	}
	kind = ch_kind(hdr.type);
	if (kind == NULL || kind->dir != dir) {
		snprintf(why, whylen, "unexpected message type %u", hdr.type);
		return CH_ERROR;
	}
	if (hdr.len != kind->size || hdr.flags != 0) {
		snprintf(why, whylen,
			 "%s message of %u bytes (flags %u), expected %zu",
			 kind->name, hdr.len, hdr.flags, kind->size);
		return CH_ERROR;
	}
	total = sizeof hdr + hdr.len;
	if (r->len < total)
		return CH_NEED_MORE;
	msg->hdr = hdr;
	memcpy(msg->payload, r->buf + sizeof hdr, hdr.len);
	memmove(r->buf, r->buf + total, r->len - total);
	r->len -= total;
	return CH_MESSAGE;
}

size_t
ch_encode(void *out, size_t outlen, uint16_t type, const void *payload,
	  size_t len)
{
	const struct ch_kind *kind = ch_kind(type);
	struct ch_header hdr = {.len = (uint32_t)len,
				.type = type,
				.version = CH_VERSION};

	if (kind == NULL || kind->size != len || outlen < sizeof hdr + len)
		return 0;
	memcpy(out, &hdr, sizeof hdr);
	if (len > 0)
		memcpy((char *)out + sizeof hdr, payload, len);
	return sizeof hdr + len;
}

int
ch_queue(struct buf *out, uint16_t type, const void *payload, size_t len)
{
	unsigned char frame[sizeof(struct ch_header) + CH_PAYLOAD_MAX];
	size_t n;

	n = ch_encode(frame, sizeof frame, type, payload, len);
	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	return buf_append(out, frame, n);
}
