/* Client connections and the requests they carry. */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/control.h"
#include "daemon/request.h"
#include "daemon/supervisor.h"
#include "forq/protocol.h"
#include "version.h"

/* Stop reading a client's requests while this much reply is unsent. */
#define CLIENT_OUT_HIGH (256 * 1024)
#define CLIENT_OUT_MAX (64 * 1024 * 1024)

struct client {
	TAILQ_ENTRY(client) entry;
	struct supervisor *sv;
	struct ev_io io;
	struct buf in;
	struct buf out;
	struct ucred cred;
	bool hello;
	bool closing;    /* close once the output is flushed */
	bool discarding; /* skipping the rest of an overlong line */
};

static void control_on_event(struct ev_io *io, uint32_t events);

static void
control_close(struct client *c)
{
	struct supervisor *sv = c->sv;

	if (c->io.fd == -1)
		return;
	ev_del(&sv->loop, &c->io);
	close(c->io.fd);
	c->io.fd = -1;
	TAILQ_REMOVE(&sv->clients, c, entry);
	TAILQ_INSERT_TAIL(&sv->closed, c, entry);
	sv->nclients--;
}

void
control_reap(struct supervisor *sv)
{
	struct client *c;

	while ((c = TAILQ_FIRST(&sv->closed)) != NULL) {
		TAILQ_REMOVE(&sv->closed, c, entry);
		buf_free(&c->in);
		buf_free(&c->out);
		free(c);
	}
}

void
control_close_all(struct supervisor *sv)
{
	struct client *c;

	while ((c = TAILQ_FIRST(&sv->clients)) != NULL)
		control_close(c);
}

void
control_accept(struct supervisor *sv, int fd)
{
	socklen_t len = sizeof(struct ucred);
	struct client *c;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		log_warn("client");
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) == -1) {
		log_warn("SO_PEERCRED");
		close(fd);
		free(c);
		return;
	}
	c->sv = sv;
	/* One byte more than a line may hold, to tell "too long" apart. */
	buf_init(&c->in, sv->conf.request_line_max + 1);
	buf_init(&c->out, CLIENT_OUT_MAX);
	ev_io_set(&c->io, fd, control_on_event, c);
	if (ev_add(&sv->loop, &c->io, EPOLLIN) == -1) {
		log_warn("epoll_ctl");
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&sv->clients, c, entry);
	sv->nclients++;
	log_debug("client pid %d uid %d connected", (int)c->cred.pid,
		  (int)c->cred.uid);
}

static void
control_send(struct client *c, json_t *reply)
{
	char *text;
	size_t len;

	text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (text == NULL) {
		log_warnx("client pid %d: cannot encode reply",
			  (int)c->cred.pid);
		c->closing = true;
		return;
	}
	len = strlen(text);
	text[len] = '\n';
	if (buf_append(&c->out, text, len + 1) == -1) {
		log_warnx("client pid %d: reply backlog over %d bytes; "
			  "dropping the client",
			  (int)c->cred.pid, CLIENT_OUT_MAX);
		control_close(c);
	}
	free(text);
}

static json_t *
control_workers(struct supervisor *sv, json_t *id)
{
	const struct sv_worker *w;
	const struct sb_worker *sb;
	json_t *reply, *list, *item;
	int64_t now = clock_mono_ns(), beat;
	uint32_t i;

	list = json_array();
	for (i = 0; i < sv->workers_max; i++) {
		w = &sv->workers[i];
		sb = w->sb;
		if (!w->planned && w->pid == 0)
			continue;
		item = json_pack("{s:i, s:i, s:i, s:s, s:i}", "worker",
				 w->index, "pid", (int)w->pid, "cpu", w->cpu,
				 "state", sb_state_name(sb->state), "restarts",
				 (int)sb->restarts);
		if (w->pid != 0) {
			beat = sb_heartbeat(sb);
			json_object_set_new(item, "uptime_ms",
					    json_integer((now - w->started_ns) /
							 NS_PER_MS));
			json_object_set_new(item, "heartbeat_age_ms",
					    beat >= w->started_ns
						? json_integer((now - beat) /
							       NS_PER_MS)
						: json_null());
		} else {
			json_object_set_new(item, "uptime_ms", json_null());
			json_object_set_new(item, "heartbeat_age_ms",
					    json_null());
		}
		json_object_set_new(item, "retry_in_ms",
				    w->pid == 0 && w->retry_at_ns > now
					? json_integer((w->retry_at_ns - now) /
						       NS_PER_MS)
					: json_null());
		json_object_set_new(item, "last_exit",
				    sb->last_exit[0]
					? json_string(sb->last_exit)
					: json_null());
		json_object_set_new(item, "loops",
				    json_integer((json_int_t)sb->loops));
		json_array_append_new(list, item);
	}
	reply = reply_ok(id);
	json_object_set_new(reply, "workers", list);
	return reply;
}

static json_t *
control_dispatch(struct client *c, const struct request *req)
{
	struct supervisor *sv = c->sv;
	json_t *reply;

	if (req->op != REQ_HELLO && !c->hello)
		return reply_error(req->id, FORQ_ERR_HELLO_REQUIRED,
				   "send {\"op\":\"hello\",\"version\":1} "
				   "first");
	switch (req->op) {
	case REQ_HELLO:
		c->hello = true;
		reply = reply_ok(req->id);
		json_object_set_new(reply, "version",
				    json_integer(FORQ_PROTOCOL_VERSION));
		json_object_set_new(reply, "server", json_string("forqd"));
		json_object_set_new(reply, "server_version",
				    json_string(FORQ_VERSION));
		json_object_set_new(reply, "uid", json_integer(c->cred.uid));
		return reply;
	case REQ_PING:
		reply = reply_ok(req->id);
		json_object_set_new(reply, "pid", json_integer(getpid()));
		json_object_set_new(reply, "uptime_ms",
				    json_integer(
					(clock_mono_ns() - sv->started_ns) /
					NS_PER_MS));
		json_object_set_new(reply, "workers_ready",
				    json_integer(workers_ready(sv)));
		return reply;
	case REQ_WORKERS:
		return control_workers(sv, req->id);
	}
	return reply_error(req->id, FORQ_ERR_INTERNAL, "unhandled op");
}

static void
control_handle_line(struct client *c, const char *line, size_t len)
{
	struct request req;
	struct req_error err;

	if (request_decode(line, len, &req, &err) == -1) {
		control_send(c, reply_error(err.id, err.code, err.message));
		request_free(&req);
		return;
	}
	control_send(c, control_dispatch(c, &req));
	request_free(&req);
}

/* Drops input up to the end of an overlong line; true when done. */
static bool
control_discard(struct client *c)
{
	char *nl = buf_find(&c->in, '\n');

	if (nl == NULL) {
		c->in.len = 0;
		return false;
	}
	buf_consume(&c->in, (size_t)(nl - c->in.data) + 1);
	c->discarding = false;
	return true;
}

/* Handles every complete line buffered, unless replies back up. An
 * overlong line gets an error naming the limit and is skipped; the
 * connection carries on with the next line. */
static void
control_process(struct client *c)
{
	char msg[160];
	char *nl;
	size_t len;

	if (c->discarding && !control_discard(c))
		return;
	while (c->io.fd != -1 && c->out.len < CLIENT_OUT_HIGH) {
		nl = buf_find(&c->in, '\n');
		if (nl == NULL)
			break;
		len = (size_t)(nl - c->in.data);
		control_handle_line(c, c->in.data, len);
		buf_consume(&c->in, len + 1);
	}
	if (c->io.fd == -1 || c->in.len < c->in.max)
		return;
	/* The buffer holds request_line_max + 1 bytes and no newline. */
	snprintf(msg, sizeof msg,
		 "request line longer than request_line_max (%llu bytes)",
		 (unsigned long long)c->sv->conf.request_line_max);
	control_send(c, reply_limit(NULL, "request_line_max",
				    c->sv->conf.request_line_max, msg));
	log_info("client pid %d uid %d: %s", (int)c->cred.pid, (int)c->cred.uid,
		 msg);
	c->discarding = true;
	c->in.len = 0;
}

static void
control_update_events(struct client *c)
{
	uint32_t want = 0;

	if (c->io.fd == -1)
		return;
	if (c->closing && c->out.len == 0) {
		control_close(c);
		return;
	}
	if (c->out.len > 0)
		want |= EPOLLOUT;
	if (!c->closing && c->out.len < CLIENT_OUT_HIGH)
		want |= EPOLLIN;
	/* ev_mod ignores an unchanged set; an empty one is not allowed. */
	if (want == 0)
		want = EPOLLOUT;
	ev_mod(&c->sv->loop, &c->io, want);
}

static void
control_on_event(struct ev_io *io, uint32_t events)
{
	struct client *c = io->arg;
	ssize_t n;

	if (events & EPOLLOUT) {
		if (buf_write_fd(&c->out, io->fd) == -1 && errno != EAGAIN) {
			control_close(c);
			return;
		}
		control_process(c);
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = buf_read_fd(&c->in, io->fd);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			control_close(c);
			return;
		}
		control_process(c);
		/* The client is done sending: answer what it sent, then close.
		 */
		if (n == 0)
			c->closing = true;
		if (c->io.fd != -1 && c->out.len > 0 &&
		    buf_write_fd(&c->out, io->fd) == -1 && errno != EAGAIN) {
			control_close(c);
			return;
		}
	}
	control_update_events(c);
}
