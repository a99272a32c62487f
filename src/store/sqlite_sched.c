/* The job store's side of the scheduler: the jobs not started yet
 * (queued, scheduled, waiting, and what they wait for), start times,
 * priorities and pauses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/compat.h"
#include "store/sqlite.h"

int
sqlite_pending(struct store_backend *st,
	       int (*fn)(void *, const struct store_pending *), void *arg)
{
	sqlite3_stmt *s = st->stmt[ST_PENDING];
	struct store_pending p;
	int rc;

	if (sqlite_begin(st) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		p.id = (uint64_t)sqlite3_column_int64(s, 0);
		p.state = (enum job_state)sqlite3_column_int(s, 1);
		p.attempt = (uint32_t)sqlite3_column_int64(s, 2);
		p.uid = (uid_t)sqlite3_column_int64(s, 3);
		p.queue = (const char *)sqlite3_column_text(s, 4);
		p.priority = sqlite3_column_int(s, 5);
		p.start_at_ns = sqlite3_column_int64(s, 6);
		p.array_id = (uint64_t)sqlite3_column_int64(s, 7);
		p.array_max = (uint32_t)sqlite3_column_int64(s, 8);
		if (p.queue == NULL)
			p.queue = "default";
		if (fn(arg, &p) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? 0
		   : sqlite_fail(st, "pending jobs");
}

enum store_result
sqlite_found(struct store_backend *st, int rc, const char *what)
{
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return STORE_NO_MATCH;
	sqlite_fail(st, what);
	return STORE_FAILED;
}

/* Steps an UPDATE of one job: STORE_NO_MATCH if it changed no row. */
enum store_result
sqlite_update_one(struct store_backend *st, sqlite3_stmt *s, const char *what)
{
	if (sqlite_step_done(st, s, what) == -1)
		return STORE_FAILED;
	return sqlite3_changes(st->db) > 0 ? STORE_OK : STORE_NO_MATCH;
}

int
sqlite_unfinished(struct store_backend *st, uid_t uid, const char *queue,
		  uint64_t **ids, size_t *n)
{
	sqlite3_stmt *s = st->stmt[ST_UNFINISHED];
	const unsigned char *q;
	uint64_t *more;
	size_t cap = 64;
	int rc;

	if (sqlite_begin(st) == -1)
		return -1;
	*n = 0;
	if ((*ids = calloc(cap, sizeof **ids)) == NULL)
		goto oom;
	sqlite3_bind_int64(s, 1, uid);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		q = sqlite3_column_text(s, 1);
		if (queue != NULL &&
		    (q == NULL || strcmp((const char *)q, queue) != 0))
			continue;
		if (*n == cap) {
			cap *= 2;
			if ((more = reallocarray(*ids, cap, sizeof *more)) ==
			    NULL) {
				sqlite3_reset(s);
				goto oom;
			}
			*ids = more;
		}
		(*ids)[(*n)++] = (uint64_t)sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		return sqlite_fail(st, "unfinished jobs");
	}
	return 0;
oom:
	free(*ids);
	*ids = NULL;
	snprintf(st->error, sizeof st->error, "out of memory");
	return -1;
}

/* Collects the first column of a statement's rows as ids. */
static int
sqlite_collect_ids(struct store_backend *st, sqlite3_stmt *s, uint64_t **ids,
		   enum job_state **states, size_t *n, const char *what)
{
	size_t cap = 0;
	uint64_t *more;
	enum job_state *smore;
	int rc;

	if (sqlite_begin(st) == -1)
		return -1;
	*ids = NULL;
	if (states != NULL)
		*states = NULL;
	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap != 0 ? cap * 2 : 16;
			if ((more = reallocarray(*ids, cap, sizeof *more)) ==
			    NULL)
				goto oom;
			*ids = more;
			if (states != NULL) {
				if ((smore = reallocarray(*states, cap,
							  sizeof *smore)) ==
				    NULL)
					goto oom;
				*states = smore;
			}
		}
		(*ids)[*n] = (uint64_t)sqlite3_column_int64(s, 0);
		if (states != NULL)
			(*states)[*n] =
			    (enum job_state)sqlite3_column_int(s, 1);
		(*n)++;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE)
		return 0;
	sqlite_fail(st, what);
	goto fail;
oom:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	snprintf(st->error, sizeof st->error, "out of memory");
fail:
	free(*ids);
	*ids = NULL;
	if (states != NULL) {
		free(*states);
		*states = NULL;
	}
	*n = 0;
	return -1;
}

int
sqlite_dependents(struct store_backend *st, uint64_t dep, uint64_t **ids,
		  size_t *n)
{
	sqlite3_stmt *s = st->stmt[ST_DEPENDENTS];

	sqlite3_bind_int64(s, 1, (int64_t)dep);
	return sqlite_collect_ids(st, s, ids, NULL, n, "dependents");
}

int
sqlite_deps(struct store_backend *st, uint64_t job, uint64_t **ids,
	    enum job_state **states, size_t *n)
{
	sqlite3_stmt *s = st->stmt[ST_DEP_STATES];

	sqlite3_bind_int64(s, 1, (int64_t)job);
	return sqlite_collect_ids(st, s, ids, states, n, "dependencies");
}

enum store_result
sqlite_move(struct store_backend *st, uint64_t id, enum job_state from,
	    enum job_state to)
{
	sqlite3_stmt *s = st->stmt[ST_MOVE];

	if (sqlite_begin(st) == -1)
		return STORE_FAILED;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite3_bind_int(s, 2, (int)from);
	sqlite3_bind_int(s, 3, (int)to);
	return sqlite_update_one(st, s, "move a job not started");
}

enum store_result
sqlite_array_task(struct store_backend *st, uint64_t array_id, uint32_t index,
		  uint64_t *id)
{
	sqlite3_stmt *s = st->stmt[ST_ARRAY_TASK];
	int rc;

	if (sqlite_begin(st) == -1)
		return STORE_FAILED;
	sqlite3_bind_int64(s, 1, (int64_t)array_id);
	sqlite3_bind_int64(s, 2, index);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*id = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return sqlite_found(st, rc, "find a task");
}

int
sqlite_array_states(struct store_backend *st, uint64_t array_id,
		    uint64_t counts[JOB_STATE_COUNT])
{
	sqlite3_stmt *s = st->stmt[ST_ARRAY_STATES];
	int rc, state;

	if (sqlite_begin(st) == -1)
		return -1;
	memset(counts, 0, JOB_STATE_COUNT * sizeof *counts);
	sqlite3_bind_int64(s, 1, (int64_t)array_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		state = sqlite3_column_int(s, 0);
		if (state >= 0 && state < JOB_STATE_COUNT)
			counts[state] = (uint64_t)sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0
				 : sqlite_fail(st, "count an array's tasks");
}

int
sqlite_pending_counts(struct store_backend *st,
		      int (*fn)(void *arg, const char *queue,
				enum job_state state, uint64_t n),
		      void *arg)
{
	sqlite3_stmt *s = st->stmt[ST_PENDING_COUNTS];
	int rc;

	if (sqlite_begin(st) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fn(arg, (const char *)sqlite3_column_text(s, 0),
		       (enum job_state)sqlite3_column_int(s, 1),
		       (uint64_t)sqlite3_column_int64(s, 2)) == -1) {
			sqlite3_reset(s);
			return -1;
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : sqlite_fail(st, "count pending jobs");
}

int
sqlite_array_ids(struct store_backend *st, uint64_t array_id, uint64_t **ids,
		 size_t *n)
{
	sqlite3_stmt *s = st->stmt[ST_ARRAY_IDS];

	sqlite3_bind_int64(s, 1, (int64_t)array_id);
	return sqlite_collect_ids(st, s, ids, NULL, n, "an array's tasks");
}

int
sqlite_waiting(struct store_backend *st, uint64_t **ids, size_t *n)
{
	return sqlite_collect_ids(st, st->stmt[ST_WAITING_IDS], ids, NULL, n,
				  "waiting jobs");
}

enum store_result
sqlite_due(struct store_backend *st, uint64_t id, int64_t now_ns)
{
	sqlite3_stmt *s = st->stmt[ST_DUE];

	if (sqlite_begin(st) == -1)
		return STORE_FAILED;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite3_bind_int64(s, 2, now_ns);
	return sqlite_update_one(st, s, "queue scheduled job");
}

enum store_result
sqlite_edit(struct store_backend *st, uint64_t id, const struct job_edit *e)
{
	sqlite3_stmt *s = st->stmt[ST_EDIT];

	if (sqlite_begin(st) == -1)
		return STORE_FAILED;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite3_bind_int(s, 2, (int)e->fields);
	sqlite3_bind_int(s, 3, e->priority);
	if (e->queue != NULL)
		sqlite3_bind_text(s, 4, e->queue, -1, SQLITE_STATIC);
	if (e->start_at_ns > 0)
		sqlite3_bind_int64(s, 5, e->start_at_ns);
	sqlite3_bind_int64(s, 6, e->timeout_ms);
	if (e->name != NULL)
		sqlite3_bind_text(s, 7, e->name, -1, SQLITE_STATIC);
	return sqlite_update_one(st, s, "change a job not started");
}

int
sqlite_set_paused(struct store_backend *st, const char *queue, bool paused)
{
	sqlite3_stmt *s = st->stmt[paused ? ST_PAUSE : ST_RESUME];

	if (sqlite_begin(st) == -1)
		return -1;
	sqlite3_bind_text(s, 1, queue, -1, SQLITE_TRANSIENT);
	return sqlite_step_done(st, s, paused ? "pause" : "resume");
}

int
sqlite_paused(struct store_backend *st, int (*fn)(void *, const char *),
	      void *arg)
{
	sqlite3_stmt *s = st->stmt[ST_PAUSED];
	int rc;

	if (sqlite_begin(st) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fn(arg, (const char *)sqlite3_column_text(s, 0)) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? 0
		   : sqlite_fail(st, "paused queues");
}
