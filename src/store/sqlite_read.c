/* The job store's reads of jobs: one by id, a page by a filter (one
 * statement for each combination of filters, made at first use), a
 * job's attempts, and the queued jobs counted by user. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/compat.h"
#include "store/sqlite.h"

int
sqlite_attempts(struct store_backend *st, uint64_t id,
		int (*fn)(void *, const struct store_attempt *), void *arg)
{
	sqlite3_stmt *s = st->stmt[ST_ATTEMPTS];
	struct store_attempt a;
	int rc;

	if (sqlite_begin(st) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&a, 0, sizeof a);
		a.attempt = (uint32_t)sqlite3_column_int64(s, 0);
		a.result.state = (enum job_state)sqlite3_column_int(s, 1);
		a.result.exit_code = sqlite3_column_type(s, 2) == SQLITE_NULL
					 ? -1
					 : sqlite3_column_int(s, 2);
		a.result.signal = sqlite3_column_int(s, 3);
		a.result.start_ns = sqlite3_column_int64(s, 4);
		a.result.end_ns = sqlite3_column_int64(s, 5);
		if (sqlite3_column_text(s, 6) != NULL)
			strlcpy(a.result.error,
				(const char *)sqlite3_column_text(s, 6),
				sizeof a.result.error);
		a.worker = sqlite3_column_type(s, 7) == SQLITE_NULL
			       ? -1
			       : sqlite3_column_int(s, 7);
		a.cpu = sqlite3_column_type(s, 8) == SQLITE_NULL
			    ? -1
			    : sqlite3_column_int(s, 8);
		if (fn(arg, &a) != 0)
			break;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? 0
		   : sqlite_fail(st, "attempts");
}

static char *
sqlite_dup_text(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t != NULL ? strdup((const char *)t) : NULL;
}

static char *
sqlite_dup_blob(sqlite3_stmt *s, int col, size_t *len)
{
	const void *b = sqlite3_column_blob(s, col);
	char *p;

	*len = (size_t)sqlite3_column_bytes(s, col);
	if ((p = malloc(*len + 1)) == NULL)
		return NULL;
	if (*len > 0)
		memcpy(p, b, *len);
	p[*len] = '\0';
	return p;
}

static void
sqlite_read_job(sqlite3_stmt *s, struct store_job *j)
{
	memset(j, 0, sizeof *j);
	j->id = (uint64_t)sqlite3_column_int64(s, 0);
	j->state = (enum job_state)sqlite3_column_int(s, 1);
	j->name = sqlite_dup_text(s, 2);
	j->spec.name = j->name;
	j->uid = (uid_t)sqlite3_column_int64(s, 3);
	j->gid = (gid_t)sqlite3_column_int64(s, 4);
	j->spec.argv = sqlite_dup_blob(s, 5, &j->spec.argv_len);
	j->spec.argc = (uint32_t)sqlite3_column_int(s, 6);
	j->spec.env = sqlite_dup_blob(s, 7, &j->spec.env_len);
	j->spec.envc = (uint32_t)sqlite3_column_int(s, 8);
	j->spec.cwd = sqlite_dup_text(s, 9);
	j->spec.timeout_ms = sqlite3_column_int64(s, 10);
	j->submit_ns = sqlite3_column_int64(s, 11);
	j->result.state = j->state;
	j->result.start_ns = sqlite3_column_int64(s, 12);
	j->result.end_ns = sqlite3_column_int64(s, 13);
	j->result.exit_code = sqlite3_column_type(s, 14) == SQLITE_NULL
				  ? -1
				  : sqlite3_column_int(s, 14);
	j->result.signal = sqlite3_column_int(s, 15);
	if (sqlite3_column_text(s, 16) != NULL)
		strlcpy(j->result.error,
			(const char *)sqlite3_column_text(s, 16),
			sizeof j->result.error);
	j->result.user_us = sqlite3_column_int64(s, 17);
	j->result.sys_us = sqlite3_column_int64(s, 18);
	j->result.maxrss_kb = sqlite3_column_int64(s, 19);
	j->worker = sqlite3_column_type(s, 20) == SQLITE_NULL
			? -1
			: sqlite3_column_int(s, 20);
	j->cpu = sqlite3_column_type(s, 21) == SQLITE_NULL
		     ? -1
		     : sqlite3_column_int(s, 21);
	j->attempt = (uint32_t)sqlite3_column_int64(s, 22);
	j->spec.queue = sqlite_dup_text(s, 23);
	j->spec.priority = sqlite3_column_int(s, 24);
	j->spec.start_at_ns = sqlite3_column_int64(s, 25);
	j->spec.retries = (uint32_t)sqlite3_column_int64(s, 26);
	j->spec.retry_delay_ms = sqlite3_column_int64(s, 27);
	j->spec.retry_on = (uint32_t)sqlite3_column_int64(s, 28);
	j->spec.after_mode = job_after_of(sqlite3_column_int(s, 29));
	j->spec.unique = sqlite_dup_text(s, 30);
	j->result.procs = (uint32_t)sqlite3_column_int64(s, 32);
	j->spec.mem = (uint64_t)sqlite3_column_int64(s, 33);
	j->spec.cpus = (uint32_t)sqlite3_column_int64(s, 34);
	j->adopted_ns = sqlite3_column_int64(s, 35);
	j->array_id = (uint64_t)sqlite3_column_int64(s, 36);
	j->array_index = (uint32_t)sqlite3_column_int64(s, 37);
	j->array_max = (uint32_t)sqlite3_column_int64(s, 38);
	j->spec.stdout_path = sqlite_dup_text(s, 39);
	j->spec.stderr_path = sqlite_dup_text(s, 40);
	j->spec.stdin_path = sqlite_dup_text(s, 41);
	j->spec.append = sqlite3_column_int(s, 42) != 0;
	j->spec.file_umask = sqlite3_column_int(s, 43);
	j->spec.res = sqlite_dup_text(s, 44);
	j->res_given = sqlite_dup_text(s, 45);
	j->spec.on_finish = sqlite_dup_text(s, 31);
}

enum store_result
sqlite_get(struct store_backend *st, uint64_t id, struct store_job *j)
{
	sqlite3_stmt *s = st->stmt[ST_GET];
	int rc;

	if (sqlite_begin(st) == -1)
		return STORE_FAILED;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		sqlite_read_job(s, j);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return sqlite_found(st, rc, "get job");
}

/* One statement per combination of filters, made at first use. */
static sqlite3_stmt *
sqlite_list_stmt(struct store_backend *st, const struct store_filter *f)
{
	unsigned mask = (f->state >= 0) | (f->uid >= 0) << 1 |
			(f->queue != NULL) << 2 | (f->name != NULL) << 3 |
			(f->before != 0) << 4 | (f->array != 0) << 5;
	char sql[1024];

	if (st->list[mask] != NULL)
		return st->list[mask];
	snprintf(sql, sizeof sql,
		 "SELECT " JOB_COLUMNS "WHERE 1%s%s%s%s%s%s "
		 "ORDER BY j.id DESC LIMIT ?1",
		 mask & 1 ? " AND j.state = ?2" : "",
		 mask & 2 ? " AND j.uid = ?3" : "",
		 mask & 4 ? " AND j.queue = ?4" : "",
		 mask & 8 ? " AND j.name = ?5" : "",
		 mask & 16 ? " AND j.id < ?6" : "",
		 mask & 32 ? " AND j.array_id = ?7" : "");
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &st->list[mask], NULL) != SQLITE_OK) {
		sqlite_fail(st, "list jobs");
		return NULL;
	}
	return st->list[mask];
}

int
sqlite_list(struct store_backend *st, const struct store_filter *f,
	    uint32_t limit, int (*fn)(void *, const struct store_job *),
	    void *arg)
{
	sqlite3_stmt *s;
	struct store_job j;
	int rc, stop = 0;

	if (sqlite_begin(st) == -1 || (s = sqlite_list_stmt(st, f)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, limit);
	if (f->state >= 0)
		sqlite3_bind_int(s, 2, f->state);
	if (f->uid >= 0)
		sqlite3_bind_int64(s, 3, f->uid);
	if (f->queue != NULL)
		sqlite3_bind_text(s, 4, f->queue, -1, SQLITE_STATIC);
	if (f->name != NULL)
		sqlite3_bind_text(s, 5, f->name, -1, SQLITE_STATIC);
	if (f->before != 0)
		sqlite3_bind_int64(s, 6, (int64_t)f->before);
	if (f->array != 0)
		sqlite3_bind_int64(s, 7, (int64_t)f->array);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		sqlite_read_job(s, &j);
		stop = fn(arg, &j);
		store_job_free(&j);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return stop || rc == SQLITE_DONE ? 0 : sqlite_fail(st, "list jobs");
}

int
sqlite_queued_per_user(struct store_backend *st,
		       int (*fn)(void *, uid_t, uint64_t), void *arg)
{
	sqlite3_stmt *s = st->stmt[ST_QUEUED_UID];
	int rc;

	if (sqlite_begin(st) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fn(arg, (uid_t)sqlite3_column_int64(s, 0),
		       (uint64_t)sqlite3_column_int64(s, 1)) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? 0
		   : sqlite_fail(st, "count queued jobs");
}
