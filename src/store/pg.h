/*
 * One connection to PostgreSQL, driven by the caller's event loop and
 * never blocking it: libpq's asynchronous calls, in pipeline mode, so
 * that a turn's statements go out together and their answers come back
 * in order, each to the callback it was sent with. A lost connection is
 * made again by itself (with a growing pause), and whoever owns it is
 * told both ways; a server that stops answering counts as lost after
 * answer_timeout.
 */
#ifndef FORQ_PG_H
#define FORQ_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct ev_loop;
struct pg;

/* What a connection tells its owner; arg as given to pg_new. */
struct pg_hooks {
	/* Connected, again or for the first time: what was sent before
	 * was answered or failed, nothing is in flight. */
	void (*up)(void *arg);
	/* Lost, or a connect failed (why says how); it is tried again. */
	void (*down)(void *arg, const char *why);
	/* A NOTIFY on a channel this connection LISTENs on. */
	void (*notify)(void *arg, const char *channel, const char *payload);
};

/*
 * A statement's answer: res its result (PGRES_COMMAND_OK, TUPLES_OK,
 * FATAL_ERROR, PIPELINE_ABORTED when an earlier statement of its batch
 * failed), or NULL when no answer came: the connection was lost after
 * it was sent (err says so), so a write may or may not have been done.
 * res is freed when the callback returns.
 */
typedef void (*pg_cb)(void *arg, const PGresult *res, const char *err);

struct pg *pg_new(struct ev_loop *loop, const char *dsn, const char *app,
		  int64_t answer_timeout_ms, const struct pg_hooks *hooks,
		  void *arg);
/* Closes it; what is in flight is not called back. */
void pg_free(struct pg *pg);
/* Starts connecting (the first time; later ones are its own). */
void pg_start(struct pg *pg);
bool pg_is_up(const struct pg *pg);
/* Why it is down, or "" while up. */
const char *pg_why(const struct pg *pg);
/* Statements sent and not yet answered. */
size_t pg_in_flight(const struct pg *pg);

/* Sends one statement with text parameters (values[i] NULL: SQL NULL);
 * its answer comes to cb once the batch it belongs to is closed by
 * pg_sync. -1 if the connection is not up (cb is not called). sql is a
 * string constant: it is prepared once a connection, known by its
 * address. */
int pg_send(struct pg *pg, const char *sql, int n, const char *const *values,
	    pg_cb cb, void *arg);
/* As pg_send, but planned for its values at each call, never kept: for
 * a statement whose right plan depends on them and on how long its
 * tables are by then. PostgreSQL plans a prepared statement for its
 * values its first five calls, then keeps a plan made for any values
 * if that seems no dearer; for a look-up of an array of ids made while
 * the table was short, that plan reads the table whole at every call
 * however long it grows (2.8 ms a look-up at 5,000 ended jobs). */
int pg_send_unprepared(struct pg *pg, const char *sql, int n,
		       const char *const *values, pg_cb cb, void *arg);
/* Closes the batch: the statements since the last one form one
 * transaction unless they say BEGIN and COMMIT themselves, and go out. */
int pg_sync(struct pg *pg);

/* For the owner's tests of a result: the SQLSTATE, or "". */
const char *pg_sqlstate(const PGresult *res);
/* A one-line account of a failed result. */
const char *pg_result_why(const PGresult *res);

#endif
