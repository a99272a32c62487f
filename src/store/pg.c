/*
 * A PostgreSQL connection on the event loop. libpq's connect and reset
 * are stepped by PQconnectPoll/PQresetPoll on the socket's readiness
 * (the socket may be another one after each step); once up, the
 * connection is non-blocking and in pipeline mode, and every statement
 * sent waits in a ring for its answer, which comes in the order sent.
 */
#include <sys/param.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/compat.h"
#include "common/event.h"
#include "store/pg.h"

#define PG_RETRY_FIRST_MS 100
#define PG_RETRY_MAX_MS 2000
/* Statements prepared on one connection at most; past them, a
 * statement is parsed and planned at each send, as any. */
#define PG_PREPARED_MAX 128

enum pg_state {
	PG_IDLE,       /* not started */
	PG_CONNECTING, /* a connect or reset is being stepped */
	PG_UP,
	PG_DOWN, /* waiting to try again */
};

/* A statement sent, or a sync point, waiting for its answer. */
struct pg_entry {
	bool sync;
	pg_cb cb;
	void *arg;
	PGresult *res; /* the last result it has had so far */
	int64_t sent_ns;
};

/* A statement prepared on this connection, named by its index. Every
 * statement forqd sends is a string constant, so its address names
 * it: it is parsed once a connection, not at each send. */
struct pg_prepared {
	const char *sql;
	bool failed; /* its preparation was refused: sent as text */
};

struct pg {
	struct ev_loop *loop;
	char *dsn;
	char app[64];
	const struct pg_hooks *hooks;
	void *arg;
	PGconn *conn;
	enum pg_state state;
	bool resetting; /* stepped by PQresetPoll, not PQconnectPoll */
	bool was_up;    /* down since: told once, not at each retry */
	struct ev_io io;
	bool io_added;
	struct ev_io timer_io;
	int timer;
	int64_t retry_ms;
	int64_t retry_at_ns;
	int64_t answer_timeout_ns;
	int64_t progress_ns; /* when the last answer came */
	struct pg_entry *q;  /* a ring: head is the oldest */
	size_t head, count, cap;
	struct pg_prepared prepared[PG_PREPARED_MAX];
	size_t nprepared; /* on this connection; 0 again at each */
	char why[256];
};

static void pg_io_cb(struct ev_io *io, uint32_t events);
static void pg_fail(struct pg *pg, const char *fmt, ...) __printflike(2, 3);

static void
pg_unwatch(struct pg *pg)
{
	if (pg->io_added)
		(void)ev_del(pg->loop, &pg->io); /* libpq may have closed it */
	pg->io_added = false;
}

/* The socket may be a new one after each connect step, so it is
 * watched afresh each time. */
static void
pg_watch(struct pg *pg, uint32_t events)
{
	int fd = PQsocket(pg->conn);

	if (pg->io_added && pg->io.fd == fd) {
		if (ev_mod(pg->loop, &pg->io, events) == 0)
			return;
	}
	pg_unwatch(pg);
	if (fd < 0) {
		pg_fail(pg, "no socket");
		return;
	}
	ev_io_set(&pg->io, fd, pg_io_cb, pg);
	if (ev_add(pg->loop, &pg->io, events) == -1) {
		pg_fail(pg, "epoll: %s", strerror(errno));
		return;
	}
	pg->io_added = true;
}

/* A deep pipeline is answered one statement after another: the server
 * is silent only if nothing came since the oldest was sent, or since
 * the last answer. */
static int64_t
pg_waiting_since(const struct pg *pg)
{
	int64_t sent = pg->q[pg->head].sent_ns;

	return pg->progress_ns > sent ? pg->progress_ns : sent;
}

static void
pg_arm(struct pg *pg)
{
	int64_t deadline = 0;

	if (pg->state == PG_DOWN)
		deadline = pg->retry_at_ns;
	else if (pg->count > 0 && pg->answer_timeout_ns > 0)
		deadline = pg_waiting_since(pg) + pg->answer_timeout_ns;
	(void)ev_timer_arm(pg->timer, deadline);
}

static struct pg_entry *
pg_push(struct pg *pg)
{
	struct pg_entry *more;
	size_t cap, i;

	if (pg->count == pg->cap) {
		cap = pg->cap == 0 ? 64 : pg->cap * 2;
		if ((more = calloc(cap, sizeof *more)) == NULL)
			return NULL;
		for (i = 0; i < pg->count; i++)
			more[i] = pg->q[(pg->head + i) % pg->cap];
		free(pg->q);
		pg->q = more;
		pg->cap = cap;
		pg->head = 0;
	}
	return &pg->q[(pg->head + pg->count++) % pg->cap];
}

static struct pg_entry
pg_pop(struct pg *pg)
{
	struct pg_entry e = pg->q[pg->head];

	pg->head = (pg->head + 1) % pg->cap;
	pg->count--;
	return e;
}

/* Everything in flight is answered "no answer", oldest first. */
static void
pg_fail_all(struct pg *pg)
{
	struct pg_entry e;

	while (pg->count > 0) {
		e = pg_pop(pg);
		if (e.res != NULL)
			PQclear(e.res);
		if (!e.sync)
			e.cb(e.arg, NULL, pg->why);
	}
}

static void
pg_fail(struct pg *pg, const char *fmt, ...)
{
	bool tell = pg->was_up || pg->state == PG_CONNECTING;
	char *nl;
	va_list ap;

	if (pg->state == PG_DOWN)
		return;
	va_start(ap, fmt);
	vsnprintf(pg->why, sizeof pg->why, fmt, ap);
	va_end(ap);
	while ((nl = strrchr(pg->why, '\n')) != NULL && nl[1] == '\0')
		*nl = '\0';
	for (nl = pg->why; (nl = strchr(nl, '\n')) != NULL;)
		*nl = ' ';
	pg_unwatch(pg);
	pg->state = PG_DOWN;
	pg->retry_at_ns = clock_mono_ns() + pg->retry_ms * NS_PER_MS;
	pg->retry_ms = MIN(pg->retry_ms * 2, PG_RETRY_MAX_MS);
	pg_arm(pg);
	pg_fail_all(pg);
	/* Each failed retry would say the same again: once is enough. */
	if (tell && pg->hooks->down != NULL && (pg->was_up || !pg->resetting))
		pg->hooks->down(pg->arg, pg->why);
	pg->was_up = false;
}

static void
pg_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void
pg_connected(struct pg *pg)
{
	PQsetNoticeProcessor(pg->conn, pg_notice, NULL);
	if (PQsetnonblocking(pg->conn, 1) == -1 ||
	    PQenterPipelineMode(pg->conn) != 1) {
		pg_fail(pg, "%s", PQerrorMessage(pg->conn));
		return;
	}
	pg->state = PG_UP;
	pg->was_up = true;
	pg->nprepared = 0; /* a new session has none */
	pg->why[0] = '\0';
	pg->retry_ms = PG_RETRY_FIRST_MS;
	pg_watch(pg, EPOLLIN);
	pg_arm(pg);
	if (pg->state == PG_UP && pg->hooks->up != NULL)
		pg->hooks->up(pg->arg);
}

static void
pg_step(struct pg *pg)
{
	PostgresPollingStatusType st;

	st = pg->resetting ? PQresetPoll(pg->conn) : PQconnectPoll(pg->conn);
	switch (st) {
	case PGRES_POLLING_READING:
		pg_watch(pg, EPOLLIN);
		break;
	case PGRES_POLLING_WRITING:
		pg_watch(pg, EPOLLOUT);
		break;
	case PGRES_POLLING_OK:
		pg_connected(pg);
		break;
	default:
		pg_fail(pg, "%s", PQerrorMessage(pg->conn));
		break;
	}
}

static void
pg_connect(struct pg *pg)
{
	/* Statements are short and many: compiling one (JIT) would cost
	 * more than running it (2.4 s for a batch of 8,000 submissions).
	 * Given before the dsn, whose own options win. */
	const char *keys[] = {"options", "dbname", "application_name", NULL};
	const char *values[] = {"-c jit=off", pg->dsn, pg->app, NULL};

	pg->state = PG_CONNECTING;
	if (pg->conn != NULL) {
		pg->resetting = true;
		if (PQresetStart(pg->conn) == 0) {
			pg_fail(pg, "%s", PQerrorMessage(pg->conn));
			return;
		}
	} else {
		pg->resetting = false;
		pg->conn = PQconnectStartParams(keys, values, 1);
		if (pg->conn == NULL) {
			pg_fail(pg, "out of memory");
			return;
		}
		if (PQstatus(pg->conn) == CONNECTION_BAD) {
			pg_fail(pg, "%s", PQerrorMessage(pg->conn));
			return;
		}
	}
	/* As libpq's documentation says: begin as if the last poll had
	 * asked for writing. */
	pg_watch(pg, EPOLLOUT);
}

static void
pg_flush(struct pg *pg)
{
	switch (PQflush(pg->conn)) {
	case 0:
		pg_watch(pg, EPOLLIN);
		break;
	case 1:
		pg_watch(pg, EPOLLIN | EPOLLOUT);
		break;
	default:
		pg_fail(pg, "%s", PQerrorMessage(pg->conn));
		break;
	}
}

static void
pg_notifies(struct pg *pg)
{
	PGnotify *n;

	while ((n = PQnotifies(pg->conn)) != NULL) {
		if (pg->hooks->notify != NULL)
			pg->hooks->notify(pg->arg, n->relname, n->extra);
		PQfreemem(n);
	}
}

/* Hands each finished answer to its callback, in the order sent. */
static void
pg_results(struct pg *pg)
{
	struct pg_entry *e, done;
	PGresult *res;

	while (pg->state == PG_UP && pg->count > 0 && !PQisBusy(pg->conn)) {
		e = &pg->q[pg->head];
		res = PQgetResult(pg->conn);
		if (e->sync) {
			if (res == NULL)
				break;
			if (PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
				PQclear(res);
				pg_fail(pg, "the server's answers are out of "
					    "step");
				return;
			}
			PQclear(res);
			(void)pg_pop(pg);
			continue;
		}
		if (res != NULL) {
			if (e->res != NULL)
				PQclear(e->res);
			e->res = res;
			continue;
		}
		if (e->res == NULL)
			break;
		done = pg_pop(pg);
		pg->progress_ns = clock_mono_ns();
		done.cb(done.arg, done.res, NULL);
		PQclear(done.res);
	}
	if (pg->state == PG_UP)
		pg_arm(pg);
}

static void
pg_io_cb(struct ev_io *io, uint32_t events)
{
	struct pg *pg = io->arg;

	if (pg->state == PG_CONNECTING) {
		pg_step(pg);
		return;
	}
	if (pg->state != PG_UP)
		return;
	if (events & EPOLLOUT) {
		pg_flush(pg);
		if (pg->state != PG_UP)
			return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		if (PQconsumeInput(pg->conn) == 0) {
			pg_fail(pg, "%s", PQerrorMessage(pg->conn));
			return;
		}
		pg_results(pg);
		if (pg->state == PG_UP)
			pg_notifies(pg);
	}
}

static void
pg_timer_cb(struct ev_io *io, uint32_t events)
{
	struct pg *pg = io->arg;
	int64_t now = clock_mono_ns();

	(void)events;
	ev_timer_drain(pg->timer);
	if (pg->state == PG_DOWN && now >= pg->retry_at_ns) {
		pg_connect(pg);
	} else if (pg->state == PG_UP && pg->count > 0 &&
		   pg->answer_timeout_ns > 0 &&
		   now >= pg_waiting_since(pg) + pg->answer_timeout_ns) {
		pg_fail(pg, "no answer from the server for %lldms",
			(long long)(pg->answer_timeout_ns / NS_PER_MS));
	} else {
		pg_arm(pg);
	}
}

struct pg *
pg_new(struct ev_loop *loop, const char *dsn, const char *app,
       int64_t answer_timeout_ms, const struct pg_hooks *hooks, void *arg)
{
	struct pg *pg;

	if ((pg = calloc(1, sizeof *pg)) == NULL)
		return NULL;
	if ((pg->dsn = strdup(dsn)) == NULL ||
	    (pg->timer = ev_timer_open()) == -1) {
		free(pg->dsn);
		free(pg);
		return NULL;
	}
	ev_io_set(&pg->timer_io, pg->timer, pg_timer_cb, pg);
	if (ev_add(loop, &pg->timer_io, EPOLLIN) == -1) {
		close(pg->timer);
		free(pg->dsn);
		free(pg);
		return NULL;
	}
	pg->loop = loop;
	strlcpy(pg->app, app, sizeof pg->app);
	pg->hooks = hooks;
	pg->arg = arg;
	pg->answer_timeout_ns = answer_timeout_ms * NS_PER_MS;
	pg->retry_ms = PG_RETRY_FIRST_MS;
	strlcpy(pg->why, "not connected yet", sizeof pg->why);
	return pg;
}

void
pg_free(struct pg *pg)
{
	if (pg == NULL)
		return;
	pg_unwatch(pg);
	(void)ev_del(pg->loop, &pg->timer_io);
	close(pg->timer);
	while (pg->count > 0) {
		struct pg_entry e = pg_pop(pg);

		if (e.res != NULL)
			PQclear(e.res);
	}
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	free(pg->q);
	free(pg->dsn);
	free(pg);
}

void
pg_start(struct pg *pg)
{
	if (pg->state == PG_IDLE)
		pg_connect(pg);
}

bool
pg_is_up(const struct pg *pg)
{
	return pg->state == PG_UP;
}

const char *
pg_why(const struct pg *pg)
{
	return pg->state == PG_UP ? "" : pg->why;
}

size_t
pg_in_flight(const struct pg *pg)
{
	return pg->count;
}

static void
pg_prepare_done(void *arg, const PGresult *res, const char *err)
{
	struct pg_prepared *p = arg;

	(void)err;
	/* Not prepared: the statements after it in the pipeline failed
	 * with it; from now on it goes as text. */
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		p->failed = true;
}

/* The index of sql's prepared statement, prepared now if it is new;
 * -1 if it goes as text; -2 if the connection failed. */
static int
pg_prepared(struct pg *pg, const char *sql, int n)
{
	struct pg_prepared *p;
	struct pg_entry *e;
	char name[16];
	size_t i;

	for (i = 0; i < pg->nprepared; i++) {
		if (pg->prepared[i].sql == sql)
			return pg->prepared[i].failed ? -1 : (int)i;
	}
	if (pg->nprepared == PG_PREPARED_MAX)
		return -1;
	p = &pg->prepared[pg->nprepared];
	snprintf(name, sizeof name, "forq_%zu", pg->nprepared);
	if (PQsendPrepare(pg->conn, name, sql, n, NULL) == 0) {
		pg_fail(pg, "%s", PQerrorMessage(pg->conn));
		return -2;
	}
	if ((e = pg_push(pg)) == NULL) {
		/* Its answer would have nowhere to go: start again. */
		pg_fail(pg, "out of memory");
		return -2;
	}
	*p = (struct pg_prepared){.sql = sql};
	*e = (struct pg_entry){.cb = pg_prepare_done,
			       .arg = p,
			       .sent_ns = clock_mono_ns()};
	return (int)pg->nprepared++;
}

static int
pg_send_as(struct pg *pg, const char *sql, int n, const char *const *values,
	   pg_cb cb, void *arg, bool prepare)
{
	struct pg_entry *e;
	char name[16];
	int k = -1, rc;

	if (pg->state != PG_UP)
		return -1;
	if (prepare && (k = pg_prepared(pg, sql, n)) == -2)
		return -1;
	if (k >= 0) {
		snprintf(name, sizeof name, "forq_%d", k);
		rc = PQsendQueryPrepared(pg->conn, name, n, values, NULL, NULL,
					 0);
	} else {
		rc = PQsendQueryParams(pg->conn, sql, n, NULL, values, NULL,
				       NULL, 0);
	}
	if (rc == 0) {
		pg_fail(pg, "%s", PQerrorMessage(pg->conn));
		return -1;
	}
	if ((e = pg_push(pg)) == NULL) {
		/* Its answer would have nowhere to go: start again. */
		pg_fail(pg, "out of memory");
		return -1;
	}
	*e =
	    (struct pg_entry){.cb = cb, .arg = arg, .sent_ns = clock_mono_ns()};
	return 0;
}

int
pg_send(struct pg *pg, const char *sql, int n, const char *const *values,
	pg_cb cb, void *arg)
{
	return pg_send_as(pg, sql, n, values, cb, arg, true);
}

int
pg_send_unprepared(struct pg *pg, const char *sql, int n,
		   const char *const *values, pg_cb cb, void *arg)
{
	return pg_send_as(pg, sql, n, values, cb, arg, false);
}

int
pg_sync(struct pg *pg)
{
	struct pg_entry *e;

	if (pg->state != PG_UP)
		return -1;
	if (PQpipelineSync(pg->conn) == 0) {
		pg_fail(pg, "%s", PQerrorMessage(pg->conn));
		return -1;
	}
	if ((e = pg_push(pg)) == NULL) {
		pg_fail(pg, "out of memory");
		return -1;
	}
	*e = (struct pg_entry){.sync = true, .sent_ns = clock_mono_ns()};
	pg_arm(pg);
	pg_flush(pg);
	return pg->state == PG_UP ? 0 : -1;
}

const char *
pg_sqlstate(const PGresult *res)
{
	const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return s != NULL ? s : "";
}

const char *
pg_result_why(const PGresult *res)
{
	const char *s = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED)
		return "an earlier statement of its batch failed";
	return s != NULL ? s : PQresStatus(PQresultStatus(res));
}
