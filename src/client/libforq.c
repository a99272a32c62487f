/* libforq: connect, hello, request and reply over the JSON-lines socket. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buffer.h"
#include "forq/client.h"
#include "forq/protocol.h"

#define REPLY_LINE_MAX (256 * 1024 * 1024)

#define FORQ_FDS_MAX 16

struct forq_conn {
	int fd;
	long long next_id;
	struct buf in;
	int fds[FORQ_FDS_MAX];
	int nfds;
	/* The hello is sent with the first request, not waited for (one
	 * round trip less per connection): its reply, the first to come,
	 * is read before any other. Refused, every read says why. */
	bool hello_pending;
	bool hello_refused;
	struct forq_error hello_err;
};

static void forq_fail(struct forq_error *err, enum forq_error_kind kind,
		      const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
forq_fail(struct forq_error *err, enum forq_error_kind kind, const char *code,
	  const char *fmt, ...)
{
	va_list ap;

	err->kind = kind;
	strlcpy(err->code, code, sizeof err->code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

int
forq_error_exit_code(const struct forq_error *err)
{
	switch (err->kind) {
	case FORQ_E_NONE:
		return FORQ_EXIT_OK;
	case FORQ_E_CONNECT:
		return FORQ_EXIT_NOT_RUNNING;
	case FORQ_E_PROTOCOL:
		return FORQ_EXIT_PROTOCOL;
	case FORQ_E_SERVER:
		if (strcmp(err->code, FORQ_ERR_NOT_FOUND) == 0)
			return FORQ_EXIT_NO_SUCH_JOB;
		if (strcmp(err->code, FORQ_ERR_NOT_PERMITTED) == 0)
			return FORQ_EXIT_NOT_PERMITTED;
		if (strcmp(err->code, FORQ_ERR_NO_SPACE) == 0 ||
		    strcmp(err->code, FORQ_ERR_UNAVAILABLE) == 0)
			return FORQ_EXIT_TEMPFAIL;
		if (strcmp(err->code, FORQ_ERR_INTERNAL) == 0 ||
		    strcmp(err->code, FORQ_ERR_SHUTTING_DOWN) == 0)
			return FORQ_EXIT_FAILURE;
		return FORQ_EXIT_INVALID;
	case FORQ_E_IO:
		break;
	}
	return FORQ_EXIT_FAILURE;
}

static int
forq_write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* recvmsg into the buffer, keeping any descriptors that come along. */
static ssize_t
forq_receive(struct forq_conn *conn)
{
	char control[CMSG_SPACE(FORQ_FDS_MAX * sizeof(int))];
	struct msghdr mh = {0};
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t n;
	int fd;
	size_t i, nfd;

	if (buf_reserve(&conn->in, 65536) == -1)
		return -1;
	iov.iov_base = conn->in.data + conn->in.len;
	iov.iov_len = 65536;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = control;
	mh.msg_controllen = sizeof control;
	n = recvmsg(conn->fd, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n;
	conn->in.len += (size_t)n;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
			if (conn->nfds < FORQ_FDS_MAX)
				conn->fds[conn->nfds++] = fd;
			else
				close(fd);
		}
	}
	return n;
}

static json_t *forq_read_line(struct forq_conn *conn, struct forq_error *err);

json_t *
forq_read(struct forq_conn *conn, struct forq_error *err)
{
	json_t *msg;

	for (;;) {
		if (conn->hello_refused) {
			*err = conn->hello_err;
			return NULL;
		}
		if ((msg = forq_read_line(conn, err)) == NULL ||
		    !conn->hello_pending)
			return msg;
		/* Replies come in order: this one is the hello's (or an
		 * error about the connection itself, which has no id). */
		conn->hello_pending = false;
		if (forq_check_reply(msg, err) == NULL) {
			conn->hello_refused = true;
			conn->hello_err = *err;
			return NULL;
		}
		json_decref(msg);
	}
}

static json_t *
forq_read_line(struct forq_conn *conn, struct forq_error *err)
{
	json_error_t jerr;
	json_t *msg;
	char *nl;
	size_t len;
	ssize_t n;

	while ((nl = buf_find(&conn->in, '\n')) == NULL) {
		n = forq_receive(conn);
		if (n == 0) {
			forq_fail(err, FORQ_E_IO, "eof",
				  "forqd closed the connection");
			return NULL;
		}
		if (n == -1 && errno != EINTR) {
			forq_fail(err, FORQ_E_IO, "io",
				  "reading from forqd: %s", strerror(errno));
			return NULL;
		}
	}
	len = (size_t)(nl - conn->in.data);
	msg = json_loadb(conn->in.data, len, 0, &jerr);
	buf_consume(&conn->in, len + 1);
	if (!json_is_object(msg)) {
		json_decref(msg);
		forq_fail(err, FORQ_E_PROTOCOL, "protocol",
			  "forqd sent something that is not a JSON object");
		return NULL;
	}
	return msg;
}

int
forq_take_fd(struct forq_conn *conn)
{
	int fd;

	if (conn->nfds == 0)
		return -1;
	fd = conn->fds[0];
	memmove(conn->fds, conn->fds + 1, (size_t)--conn->nfds * sizeof(int));
	return fd;
}

int
forq_socket_fd(const struct forq_conn *conn)
{
	return conn->fd;
}

int
forq_pending(struct forq_conn *conn)
{
	return buf_find(&conn->in, '\n') != NULL;
}

json_t *
forq_check_reply(json_t *reply, struct forq_error *err)
{
	json_t *error;

	if (json_is_true(json_object_get(reply, "ok")))
		return reply;
	error = json_object_get(reply, "error");
	forq_fail(err, FORQ_E_SERVER,
		  json_string_value(json_object_get(error, "code")) != NULL
		      ? json_string_value(json_object_get(error, "code"))
		      : "unknown",
		  "%s",
		  json_string_value(json_object_get(error, "message")) != NULL
		      ? json_string_value(json_object_get(error, "message"))
		      : "forqd refused the request");
	json_decref(reply);
	return NULL;
}

/* A daemon that refused us may have said why before it closed: its
 * reason is what the caller hears, not the broken pipe. The usual
 * refusal answers the hello; others (too many connections) carry no id. */
static void
forq_hear_refusal(struct forq_conn *conn, struct forq_error *err)
{
	struct forq_error ignored;
	json_t *reply;

	reply = forq_read(conn, &ignored);
	if (reply == NULL) {
		if (conn->hello_refused)
			*err = conn->hello_err;
		return;
	}
	if (json_object_get(reply, "event") == NULL &&
	    json_object_get(reply, "id") == NULL) {
		if ((reply = forq_check_reply(reply, err)) == NULL)
			return;
	}
	json_decref(reply);
}

long long
forq_send(struct forq_conn *conn, const char *op, json_t *fields,
	  struct forq_error *err)
{
	json_t *req = fields != NULL ? fields : json_object();
	long long id = ++conn->next_id;
	char *text, *line;
	size_t len;
	int rc, saved;

	json_object_set_new(req, "op", json_string(op));
	json_object_set_new(req, "id", json_integer(id));
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	len = text != NULL ? strlen(text) : 0;
	/* The line and its newline in one write: one wake-up of forqd. */
	if (text == NULL || (line = realloc(text, len + 2)) == NULL) {
		free(text);
		forq_fail(err, FORQ_E_PROTOCOL, "encode",
			  "cannot encode the request");
		return -1;
	}
	line[len] = '\n';
	rc = forq_write_all(conn->fd, line, len + 1);
	saved = errno;
	free(line);
	if (rc == -1) {
		forq_fail(err, FORQ_E_IO, "io", "writing to forqd: %s",
			  strerror(saved));
		if (saved == EPIPE || saved == ECONNRESET)
			forq_hear_refusal(conn, err);
		return -1;
	}
	return id;
}

json_t *
forq_call(struct forq_conn *conn, const char *op, json_t *fields,
	  struct forq_error *err)
{
	json_t *reply, *rid;
	long long id;

	if ((id = forq_send(conn, op, fields, err)) == -1)
		return NULL;
	for (;;) {
		if ((reply = forq_read(conn, err)) == NULL)
			return NULL;
		/* Error replies to lines the daemon could not read carry no
		 * id; they still answer this request. Events are skipped. */
		rid = json_object_get(reply, "id");
		if (json_object_get(reply, "event") == NULL &&
		    (rid == NULL || json_integer_value(rid) == id))
			break;
		json_decref(reply);
	}
	return forq_check_reply(reply, err);
}

struct forq_conn *
forq_connect(const char *path, struct forq_error *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct forq_conn *conn;

	if (strlcpy(sun.sun_path, path, sizeof sun.sun_path) >=
	    sizeof sun.sun_path) {
		forq_fail(err, FORQ_E_CONNECT, "path",
			  "socket path too long: %s", path);
		return NULL;
	}
	if ((conn = calloc(1, sizeof *conn)) == NULL) {
		forq_fail(err, FORQ_E_IO, "nomem", "out of memory");
		return NULL;
	}
	buf_init(&conn->in, REPLY_LINE_MAX);
	conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn->fd == -1 ||
	    connect(conn->fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		/* Say what most likely helps: a missing daemon, or a socket
		 * this user may not open (not in its group). */
		forq_fail(err, FORQ_E_CONNECT, "connect",
			  "cannot connect to forqd at %s: %s (%s)", path,
			  strerror(errno),
			  errno == EACCES || errno == EPERM
			      ? "only members of the socket's group may use "
				"it"
			      : "is forqd running?");
		forq_close(conn);
		return NULL;
	}
	if (forq_send(conn, "hello",
		      json_pack("{s:i}", "version", FORQ_PROTOCOL_VERSION),
		      err) == -1) {
		forq_close(conn);
		return NULL;
	}
	conn->hello_pending = true;
	return conn;
}

void
forq_close(struct forq_conn *conn)
{
	if (conn == NULL)
		return;
	if (conn->fd != -1)
		close(conn->fd);
	while (conn->nfds > 0)
		close(conn->fds[--conn->nfds]);
	buf_free(&conn->in);
	free(conn);
}
