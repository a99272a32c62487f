/* libforq: connect, hello, request and reply over the JSON-lines socket. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buffer.h"
#include "forq/client.h"
#include "forq/protocol.h"

#define REPLY_LINE_MAX (256 * 1024 * 1024)

struct forq_conn {
	int fd;
	long long next_id;
	struct buf in;
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

/* Reads one line from the daemon and parses it. */
static json_t *
forq_read_reply(struct forq_conn *conn, struct forq_error *err)
{
	json_error_t jerr;
	json_t *msg;
	char *nl;
	size_t len;
	ssize_t n;

	while ((nl = buf_find(&conn->in, '\n')) == NULL) {
		n = buf_read_fd(&conn->in, conn->fd);
		if (n == 0) {
			forq_fail(err, FORQ_E_IO, "eof",
				  "forqd closed the "
				  "connection");
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

json_t *
forq_call(struct forq_conn *conn, const char *op, json_t *fields,
	  struct forq_error *err)
{
	json_t *req = fields != NULL ? fields : json_object();
	json_t *reply, *error;
	long long id = ++conn->next_id;
	char *text;
	int rc;

	json_object_set_new(req, "op", json_string(op));
	json_object_set_new(req, "id", json_integer(id));
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL) {
		forq_fail(err, FORQ_E_PROTOCOL, "encode",
			  "cannot encode the request");
		return NULL;
	}
	rc = forq_write_all(conn->fd, text, strlen(text));
	free(text);
	if (rc == -1 || forq_write_all(conn->fd, "\n", 1) == -1) {
		forq_fail(err, FORQ_E_IO, "io", "writing to forqd: %s",
			  strerror(errno));
		return NULL;
	}
	for (;;) {
		if ((reply = forq_read_reply(conn, err)) == NULL)
			return NULL;
		/* Error replies to lines the daemon could not read carry no
		 * id; they still answer this request. */
		if (json_integer_value(json_object_get(reply, "id")) == id ||
		    json_object_get(reply, "id") == NULL)
			break;
		json_decref(reply);
	}
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

struct forq_conn *
forq_connect(const char *path, struct forq_error *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct forq_conn *conn;
	json_t *reply;

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
		forq_fail(err, FORQ_E_CONNECT, "connect",
			  "cannot connect to forqd at %s: %s (is forqd "
			  "running?)",
			  path, strerror(errno));
		forq_close(conn);
		return NULL;
	}
	reply = forq_call(conn, "hello",
			  json_pack("{s:i}", "version", FORQ_PROTOCOL_VERSION),
			  err);
	if (reply == NULL) {
		forq_close(conn);
		return NULL;
	}
	json_decref(reply);
	return conn;
}

void
forq_close(struct forq_conn *conn)
{
	if (conn == NULL)
		return;
	if (conn->fd != -1)
		close(conn->fd);
	buf_free(&conn->in);
	free(conn);
}
