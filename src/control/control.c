/* Client connections and the requests they carry. */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#if defined(__SANITIZE_ADDRESS__)
/* AddressSanitizer's own allocator (sanitizer/allocator_interface.h,
 * not installed with every compiler). */
void __sanitizer_purge_allocator(void);
#elif defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/clock.h"
#include "common/ratelimit.h"
#include "common/units.h"
#include "common/log.h"
#include "core/access.h"
#include "core/conf.h"
#include "core/request.h"
#include "control/control.h"
#include "control/outbox.h"
#include "forq/protocol.h"

/* Stop reading a client's requests while this much reply is unsent. */
#define CLIENT_OUT_HIGH (256 * 1024)
/* Lines of one client handled in one loop turn: a client pipelining
 * requests waits for the next turn, the others do not wait for it. */
#define CLIENT_LINES_PER_TURN 32
/* What a buffer keeps once a big line has gone. */
#define CLIENT_BUF_KEEP (64 * 1024)

struct client {
	TAILQ_ENTRY(client) entry;
	TAILQ_ENTRY(client) dirty_entry;
	struct control *ctl;
	struct ev_io io;
	struct buf in;
	struct outbox out;
	struct ucred cred;
	gid_t *groups; /* SO_PEERGROUPS: supplementary groups */
	size_t ngroups;
	TAILQ_ENTRY(client) timed_entry;
	int64_t line_start_ns; /* when the pending request began */
	bool timed;            /* on ctl->timed: request_timeout applies */
	TAILQ_ENTRY(client) idle_entry;
	int64_t active_ns; /* its last request or read reply */
	bool on_idle;      /* on ctl->idle: client_idle_timeout applies */
	bool dirty;        /* has output to send at the end of the turn */
	bool hello;
	bool closing;    /* close once the output is flushed */
	bool discarding; /* skipping the rest of an overlong line */
};

TAILQ_HEAD(client_list, client);

struct control {
	struct ev_loop *loop;
	const struct conf *conf;
	const struct access_policy *access;
	struct control_cb cb;
	struct client_list clients;
	struct client_list closed; /* freed after the loop turn */
	struct client_list timed;  /* mid-request, oldest line first */
	struct client_list idle; /* after hello, least recently active first */
	/* Clients with replies to send at the end of the turn. */
	TAILQ_HEAD(, client) dirty;
	uint32_t nclients;
	/* A request this large was handled this turn: its decoding and
	 * its jobs' specs took memory that malloc keeps once freed (a
	 * batch of 100,000 jobs: some 250 MB of RSS), with the little
	 * that stays allocated scattered over it. */
	bool trim;
	struct ratelimit refusals; /* "refused" lines: one a second */
	char refused_last[256];
};

/* A request line this long has its memory given back to the system
 * at the end of its turn. */
#define CONTROL_TRIM_BYTES (64 * 1024)

static void control_on_event(struct ev_io *io, uint32_t events);

const struct ucred *
control_cred(const struct client *c)
{
	return &c->cred;
}

void
control_peer(const struct client *c, struct access_peer *out)
{
	out->uid = c->cred.uid;
	out->gid = c->cred.gid;
	out->groups = c->groups;
	out->ngroups = c->ngroups;
}

/* request_timeout runs while a client owes us something: its hello, the
 * rest of a request line, or reading the last reply of a closing
 * connection. Every client has the same timeout, so the list is in
 * deadline order. */
static void
control_time(struct client *c)
{
	struct control *ctl = c->ctl;
	bool want = c->io.fd != -1 &&
		    (!c->hello || c->in.len > 0 || c->discarding || c->closing);

	if (want == c->timed)
		return;
	if (want) {
		c->line_start_ns = clock_mono_ns();
		TAILQ_INSERT_TAIL(&ctl->timed, c, timed_entry);
	} else {
		TAILQ_REMOVE(&ctl->timed, c, timed_entry);
	}
	c->timed = want;
}

static void
control_untime(struct client *c)
{
	if (c->timed) {
		TAILQ_REMOVE(&c->ctl->timed, c, timed_entry);
		c->timed = false;
	}
}

/* A client did something: client_idle_timeout starts again. Every
 * client has the same timeout, so the list is in deadline order. */
static void
control_active(struct client *c)
{
	struct control *ctl = c->ctl;

	if (c->on_idle)
		TAILQ_REMOVE(&ctl->idle, c, idle_entry);
	c->on_idle = c->io.fd != -1 && c->hello && !c->closing;
	c->active_ns = clock_mono_ns();
	if (c->on_idle)
		TAILQ_INSERT_TAIL(&ctl->idle, c, idle_entry);
}

static void
control_unidle(struct client *c)
{
	if (c->on_idle) {
		TAILQ_REMOVE(&c->ctl->idle, c, idle_entry);
		c->on_idle = false;
	}
}

static void
control_close(struct client *c)
{
	struct control *ctl = c->ctl;

	if (c->io.fd == -1)
		return;
	ctl->cb.gone(ctl->cb.arg, c);
	control_untime(c);
	control_unidle(c);
	ev_del(ctl->loop, &c->io);
	close(c->io.fd);
	c->io.fd = -1;
	outbox_drop_fds(&c->out);
	if (c->dirty) {
		TAILQ_REMOVE(&c->ctl->dirty, c, dirty_entry);
		c->dirty = false;
	}
	TAILQ_REMOVE(&ctl->clients, c, entry);
	TAILQ_INSERT_TAIL(&ctl->closed, c, entry);
	ctl->nclients--;
}

void
control_close_all(struct control *ctl)
{
	struct client *c;

	while ((c = TAILQ_FIRST(&ctl->clients)) != NULL)
		control_close(c);
}

/* The peer's supplementary groups as they were at connect time. */
static gid_t *
control_peer_groups(int fd, size_t *n)
{
	socklen_t len = 32 * sizeof(gid_t);
	gid_t *groups = NULL, *more;
	int tries;

	*n = 0;
	for (tries = 0; tries < 2; tries++) {
		if ((more = realloc(groups, len > 0 ? len : 1)) == NULL)
			break;
		groups = more;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) ==
		    0) {
			*n = len / sizeof(gid_t);
			return groups;
		}
		if (errno != ERANGE)
			break;
	}
	log_warn("SO_PEERGROUPS");
	free(groups);
	return NULL;
}

/* Tells a client it may not stay, and why, and closes it at once: a
 * fresh socket's buffer takes the short reply, and a flood of refused
 * connections must not hold descriptors. One log line a second; the
 * rest are counted (control_check tells the count). */
static void
control_refuse_with(struct client *c, json_t *reply, const char *why)
{
	struct control *ctl = c->ctl;
	char *text = json_dumps(reply, JSON_COMPACT);
	size_t len;

	json_decref(reply);
	snprintf(ctl->refused_last, sizeof ctl->refused_last,
		 "uid %d (pid %d): %s", (int)c->cred.uid, (int)c->cred.pid,
		 why);
	if (ratelimit_pass(&ctl->refusals, clock_mono_ns()))
		log_warnx("refused %s", ctl->refused_last);
	if (text != NULL) {
		len = strlen(text);
		text[len] = '\n';
		(void)!send(c->io.fd, text, len + 1,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		free(text);
	}
	control_close(c);
}

static void
control_tell_refusals(struct control *ctl, int64_t now)
{
	uint64_t n = ratelimit_flush(&ctl->refusals, now);

	if (n > 0)
		log_warnx("refused %llu more connections in the last second "
			  "(the last: %s)",
			  (unsigned long long)n, ctl->refused_last);
}

static int
control_refuse(struct client *c)
{
	struct control *ctl = c->ctl;
	struct access_peer peer;
	const struct client *o;
	const char *key;
	char msg[256];
	uint32_t mine = 0, limit;
	bool admin;

	/* A user's own forqd serves that user alone, whatever the socket's
	 * mode says. */
	if (geteuid() != 0 && c->cred.uid != geteuid()) {
		snprintf(msg, sizeof msg, "this forqd serves uid %d only",
			 (int)geteuid());
		control_refuse_with(c,
				    reply_error(NULL, FORQ_ERR_NOT_PERMITTED,
						"this forqd serves its own "
						"user only"),
				    msg);
		return -1;
	}
	control_peer(c, &peer);
	if (access_may_connect(ctl->access, &peer, &key) == -1) {
		snprintf(msg, sizeof msg, "uid %d may not use this forqd (%s)",
			 (int)c->cred.uid, key);
		control_refuse_with(c,
				    reply_error(NULL, FORQ_ERR_NOT_PERMITTED,
						msg),
				    msg);
		return -1;
	}
	/* The last connections_reserved are kept for root and admin_group,
	 * so that an admin always gets in, as PostgreSQL keeps
	 * superuser_reserved_connections. */
	admin = access_is_admin(ctl->access, &peer);
	limit = ctl->conf->connections_max;
	if (!admin)
		limit -= ctl->conf->connections_reserved < limit
			     ? ctl->conf->connections_reserved
			     : limit - 1;
	if (ctl->nclients > limit) {
		if (admin || limit == ctl->conf->connections_max)
			snprintf(msg, sizeof msg,
				 "%u connections open, connections_max is %u",
				 ctl->nclients - 1, ctl->conf->connections_max);
		else
			snprintf(msg, sizeof msg,
				 "%u connections open, connections_max is %u, "
				 "of which connections_reserved (%u) are kept "
				 "for root and admin_group",
				 ctl->nclients - 1, ctl->conf->connections_max,
				 ctl->conf->connections_max - limit);
		control_refuse_with(c,
				    reply_limit(NULL, "connections_max",
						ctl->conf->connections_max,
						msg),
				    msg);
		return -1;
	}
	TAILQ_FOREACH (o, &ctl->clients, entry)
		mine += o->cred.uid == c->cred.uid && !o->closing;
	if (mine > ctl->conf->connections_per_user_max) {
		snprintf(msg, sizeof msg,
			 "uid %d has %u connections open, "
			 "connections_per_user_max is %u",
			 (int)c->cred.uid, mine - 1,
			 ctl->conf->connections_per_user_max);
		control_refuse_with(c,
				    reply_limit(NULL,
						"connections_per_user_max",
						ctl->conf
						    ->connections_per_user_max,
						msg),
				    msg);
		return -1;
	}
	return 0;
}

void
control_accept(struct control *ctl, int fd)
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
	c->ctl = ctl;
	/* One byte more than a line may hold, to tell "too long" apart. */
	buf_init(&c->in, ctl->conf->request_line_max + 1);
	outbox_init(&c->out, ctl->conf->client_backlog_max);
	ev_io_set(&c->io, fd, control_on_event, c);
	if (ev_add(ctl->loop, &c->io, EPOLLIN) == -1) {
		log_warn("epoll_ctl");
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&ctl->clients, c, entry);
	ctl->nclients++;
	c->groups = control_peer_groups(fd, &c->ngroups);
	if (control_refuse(c) == 0)
		log_debug("client pid %d uid %d connected", (int)c->cred.pid,
			  (int)c->cred.uid);
	control_time(c);
}

static void
control_mark_dirty(struct client *c)
{
	if (!c->dirty && c->io.fd != -1) {
		c->dirty = true;
		TAILQ_INSERT_TAIL(&c->ctl->dirty, c, dirty_entry);
	}
}

void
control_push(struct client *c, json_t *msg)
{
	char *text;

	if (c->io.fd == -1) {
		json_decref(msg);
		return;
	}
	/* Where this turn's replies begin: they are taken back if the
	 * turn cannot be stored. */
	outbox_mark(&c->out);
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (text == NULL) {
		log_warnx("client pid %d: cannot encode reply",
			  (int)c->cred.pid);
		c->closing = true;
		return;
	}
	if (outbox_append(&c->out, text, strlen(text)) == -1) {
		log_warnx("client pid %d uid %d: %zu bytes of replies unread, "
			  "client_backlog_max is %zu; dropping the client",
			  (int)c->cred.pid, (int)c->cred.uid,
			  outbox_pending(&c->out),
			  (size_t)c->ctl->conf->client_backlog_max);
		free(text);
		control_close(c);
		return;
	}
	free(text);
	control_mark_dirty(c);
}

int
control_push_fds(struct client *c, json_t *msg, const int *fds, int n)
{
	outbox_mark(&c->out);
	if (outbox_attach(&c->out, fds, n) == -1) {
		json_decref(msg);
		return -1;
	}
	control_push(c, msg);
	return 0;
}

static void
control_handle_line(struct client *c, const char *line, size_t len)
{
	struct request req;
	struct req_error err;
	json_t *reply;

	if (len >= CONTROL_TRIM_BYTES)
		c->ctl->trim = true;
	if (request_decode(line, len, &req, &err) == -1) {
		control_push(c, reply_error(err.id, err.code, err.message));
		request_free(&req);
		return;
	}
	if (req.op != REQ_HELLO && !c->hello) {
		reply =
		    reply_error(req.id, FORQ_ERR_HELLO_REQUIRED,
				"send {\"op\":\"hello\",\"version\":1} first");
	} else {
		c->hello = true;
		reply = c->ctl->cb.request(c->ctl->cb.arg, c, &req);
	}
	if (reply != NULL)
		control_push(c, reply);
	request_free(&req);
}

/* Drops input up to the end of an overlong line; true when done. */
static bool
control_discard(struct client *c)
{
	char *nl = buf_find(&c->in, '\n');

	if (nl == NULL) {
		buf_clear(&c->in);
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
	int lines = 0;

	if (c->discarding && !control_discard(c))
		return;
	while (c->io.fd != -1 && outbox_pending(&c->out) < CLIENT_OUT_HIGH &&
	       lines++ < CLIENT_LINES_PER_TURN) {
		nl = buf_find(&c->in, '\n');
		if (nl == NULL)
			break;
		len = (size_t)(nl - c->in.data);
		control_handle_line(c, c->in.data, len);
		buf_consume(&c->in, len + 1);
		/* The next request's clock starts with its first byte. */
		control_untime(c);
		if (c->io.fd != -1)
			control_active(c);
	}
	if (c->io.fd == -1)
		return;
	/* A big line's room goes back once it is handled. */
	buf_shrink(&c->in, CLIENT_BUF_KEEP);
	if (c->in.len < c->in.max)
		return;
	/* The buffer holds request_line_max + 1 bytes and no newline. */
	snprintf(msg, sizeof msg,
		 "request line longer than request_line_max (%llu bytes)",
		 (unsigned long long)c->ctl->conf->request_line_max);
	control_push(c, reply_limit(NULL, "request_line_max",
				    c->ctl->conf->request_line_max, msg));
	log_info("client pid %d uid %d: %s", (int)c->cred.pid, (int)c->cred.uid,
		 msg);
	c->discarding = true;
	buf_clear(&c->in);
}

static void
control_update_events(struct client *c)
{
	uint32_t want = 0;

	if (c->io.fd == -1)
		return;
	if (c->closing && outbox_pending(&c->out) == 0) {
		control_close(c);
		return;
	}
	/* Writable wakes us for pending output, and for lines held back
	 * while replies were pending (they are answered next turn, so that
	 * their acknowledgements follow their own commit). */
	if (!c->dirty &&
	    (outbox_pending(&c->out) > 0 || buf_find(&c->in, '\n') != NULL))
		want |= EPOLLOUT;
	/* Not more input while lines wait for a turn or replies are not
	 * read: a client that does not keep up holds up only itself. */
	if (!c->closing && outbox_pending(&c->out) < CLIENT_OUT_HIGH &&
	    buf_find(&c->in, '\n') == NULL)
		want |= EPOLLIN;
	/* ev_mod ignores an unchanged set; an empty one is not allowed. */
	if (want == 0)
		want = EPOLLOUT;
	ev_mod(c->ctl->loop, &c->io, want);
}

static void
control_on_event(struct ev_io *io, uint32_t events)
{
	struct client *c = io->arg;
	ssize_t n;

	if ((events & EPOLLOUT) && !c->dirty) {
		if (outbox_send(&c->out, c->io.fd) == -1) {
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
	}
	control_update_events(c);
	control_time(c);
}

int64_t
control_next_deadline(const struct control *ctl)
{
	const struct client *c = TAILQ_FIRST(&ctl->timed);
	int64_t at = c == NULL ? 0
			       : c->line_start_ns +
				     ctl->conf->request_timeout_ms * NS_PER_MS;
	int64_t told = ratelimit_due(&ctl->refusals), idle;

	if (told != 0 && (at == 0 || told < at))
		at = told;
	if ((c = TAILQ_FIRST(&ctl->idle)) != NULL) {
		idle = c->active_ns +
		       ctl->conf->client_idle_timeout_ms * NS_PER_MS;
		if (at == 0 || idle < at)
			at = idle;
	}
	return at;
}

/* A limit ends the connection: it is told which, then closed once it
 * has read that (or request_timeout has passed). */
static void
control_tell_and_close(struct client *c, const char *limit,
		       unsigned long long max, const char *msg)
{
	log_info("client pid %d uid %d: %s", (int)c->cred.pid, (int)c->cred.uid,
		 msg);
	control_push(c, reply_limit(NULL, limit, max, msg));
	c->closing = true;
	control_update_events(c);
	control_time(c);
}

/* Connections idle past client_idle_timeout are told so and closed;
 * one that waits for a job, or has replies or a request in flight, is
 * not idle. */
static void
control_check_idle(struct control *ctl, int64_t now_ns)
{
	char msg[160], limit[32];
	struct client *c;

	while ((c = TAILQ_FIRST(&ctl->idle)) != NULL &&
	       c->active_ns + ctl->conf->client_idle_timeout_ms * NS_PER_MS <=
		   now_ns) {
		if (ctl->cb.waiting(ctl->cb.arg, c) ||
		    outbox_pending(&c->out) > 0 || c->in.len > 0 || c->dirty) {
			control_active(c);
			continue;
		}
		control_unidle(c);
		units_format_duration(ctl->conf->client_idle_timeout_ms, limit,
				      sizeof limit);
		snprintf(msg, sizeof msg,
			 "idle for client_idle_timeout (%s); closing", limit);
		control_tell_and_close(c, "client_idle_timeout",
				       (unsigned long long)
					   ctl->conf->client_idle_timeout_ms,
				       msg);
	}
}

void
control_check(struct control *ctl, int64_t now_ns)
{
	char msg[160], limit[32];
	struct client *c;

	control_tell_refusals(ctl, now_ns);
	control_check_idle(ctl, now_ns);
	while ((c = TAILQ_FIRST(&ctl->timed)) != NULL &&
	       c->line_start_ns + ctl->conf->request_timeout_ms * NS_PER_MS <=
		   now_ns) {
		control_untime(c);
		if (c->closing) {
			/* It does not even read why it is being closed. */
			control_close(c);
			continue;
		}
		units_format_duration(ctl->conf->request_timeout_ms, limit,
				      sizeof limit);
		snprintf(msg, sizeof msg,
			 "%s within request_timeout (%s); closing",
			 c->hello ? "request line not completed" : "no hello",
			 limit);
		buf_clear(&c->in);
		c->discarding = false;
		control_tell_and_close(c, "request_timeout",
				       (unsigned long long)
					   ctl->conf->request_timeout_ms,
				       msg);
	}
}

/* The turn could not be stored: its replies are taken back, and the
 * client is told so in their place, then closed. */
static void
control_take_back(struct client *c, const char *why, bool no_space)
{
	char *text;
	json_t *reply;

	outbox_take_back(&c->out);
	reply =
	    reply_error(NULL, no_space ? FORQ_ERR_NO_SPACE : FORQ_ERR_INTERNAL,
			why);
	text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (text == NULL || outbox_append(&c->out, text, strlen(text)) == -1)
		log_warnx("client pid %d: cannot tell it", (int)c->cred.pid);
	free(text);
	log_warnx("client pid %d: its requests of this turn could not be "
		  "stored; told so",
		  (int)c->cred.pid);
	c->closing = true;
}

bool
control_replies_due(const struct control *ctl)
{
	return !TAILQ_EMPTY(&ctl->dirty);
}

void
control_end_turn(struct control *ctl, const char *failure, bool no_space)
{
	char why[512];
	struct client *c;

	if (failure != NULL)
		snprintf(why, sizeof why,
			 "forqd could not store what it was asked (%s); "
			 "nothing of it was kept: %s",
			 failure,
			 no_space ? "retry once the state directory has room"
				  : "retry later");

	while ((c = TAILQ_FIRST(&ctl->dirty)) != NULL) {
		TAILQ_REMOVE(&ctl->dirty, c, dirty_entry);
		c->dirty = false;
		if (failure != NULL)
			control_take_back(c, why, no_space);
		outbox_unmark(&c->out);
		if (outbox_send(&c->out, c->io.fd) == -1) {
			control_close(c);
			continue;
		}
		control_update_events(c);
		/* One told it is closing must read that within the limit. */
		control_time(c);
	}
	while ((c = TAILQ_FIRST(&ctl->closed)) != NULL) {
		TAILQ_REMOVE(&ctl->closed, c, entry);
		free(c->groups);
		buf_free(&c->in);
		outbox_free(&c->out);
		free(c);
	}
	/* Given back once the turn is over and all of it is freed. */
	if (ctl->trim) {
		ctl->trim = false;
#if defined(__SANITIZE_ADDRESS__)
		__sanitizer_purge_allocator();
#elif defined(__GLIBC__)
		malloc_trim(0);
#endif
	}
}

struct control *
control_new(struct ev_loop *loop, const struct conf *conf,
	    const struct access_policy *access, const struct control_cb *cb)
{
	struct control *ctl;

	if ((ctl = calloc(1, sizeof *ctl)) == NULL)
		return NULL;
	ctl->loop = loop;
	ctl->conf = conf;
	ctl->access = access;
	ctl->cb = *cb;
	TAILQ_INIT(&ctl->clients);
	TAILQ_INIT(&ctl->closed);
	TAILQ_INIT(&ctl->timed);
	TAILQ_INIT(&ctl->idle);
	TAILQ_INIT(&ctl->dirty);
	ratelimit_init(&ctl->refusals, NS_PER_SEC);
	return ctl;
}

void
control_free(struct control *ctl)
{
	if (ctl == NULL)
		return;
	control_close_all(ctl);
	control_end_turn(ctl, NULL, false);
	free(ctl);
}
