/* The job store's jobs: insert, state changes, recovery and pruning,
 * each one prepared statement (their SQL is here for the whole store).
 * Reads of jobs are in sqlite_read.c; what the scheduler reads and sets
 * of jobs not started yet is in sqlite_sched.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/compat.h"
#include "store/sqlite.h"

const char *const sqlite_sql[ST_COUNT] = {
    [ST_ENV_FIND] = "SELECT id FROM envs WHERE hash = ?1 AND data = ?2",
    [ST_ENV_INSERT] = "INSERT INTO envs(hash, refs, data) VALUES (?1, ?2, ?3)",
    [ST_ENV_REF] = "UPDATE envs SET refs = refs + ?2 WHERE id = ?1",
    [ST_ENV_UNREF] = "UPDATE envs SET refs = refs - ?2 WHERE id = ?1 "
		     "RETURNING refs",
    [ST_ENV_DROP] = "DELETE FROM envs WHERE id = ?1",
    [ST_INSERT] =
	"INSERT INTO jobs(id, state, name, uid, gid, argv, argc, "
	"env_id, envc, cwd, timeout_ms, submit_ns, queue, priority, "
	"start_at_ns, retries, retry_delay_ms, retry_on, after_mode, "
	"unique_key, on_finish, mem, cpus, array_id, array_index, array_max, "
	"stdout_path, stderr_path, stdin_path, append, file_umask, res) "
	"VALUES (?21, ?11, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?12, ?13, "
	"?14, ?15, ?16, ?17, ?18, ?19, ?20, ?22, ?23, ?24, ?25, ?26, ?27, ?28, "
	"?29, ?30, ?31, ?32)",
    [ST_UNIQUE_FIND] = "SELECT id FROM jobs WHERE uid = ?1 AND "
		       "unique_key = ?2 AND state < 5",
    [ST_RUNNING] = "UPDATE jobs SET state = 1, worker = ?2, cpu = ?3, "
		   "attempt = ?4, start_ns = ?5, adopted_ns = NULL, "
		   "res_given = ?6 WHERE id = ?1 AND state = 0",
    [ST_FINISH] = "UPDATE jobs SET state = ?2, exit_code = ?3, signal = ?4, "
		  "start_ns = coalesce(?5, start_ns), end_ns = ?6, "
		  "error = ?7, user_us = ?8, sys_us = ?9, maxrss_kb = ?10, "
		  "procs = ?11 "
		  "WHERE id = ?1 AND state < 5",
    [ST_REQUEUE] = "UPDATE jobs SET state = 0, attempt = ?2, worker = NULL, "
		   "cpu = NULL, adopted_ns = NULL WHERE id = ?1 AND state = 1",
    [ST_GET] = "SELECT " JOB_COLUMNS "WHERE j.id = ?1",
    [ST_PENDING] = "SELECT id, state, attempt, uid, queue, priority, "
		   "start_at_ns, array_id, array_max FROM jobs WHERE state IN "
		   "(0, 2) ORDER BY id",
    [ST_QUEUED_UID] = "SELECT uid, count(*) FROM jobs "
		      "WHERE state IN (0, 2, 3, 4) GROUP BY uid",
    /* An entry from before a cancel and a retry may come before the
     * job's current start time: it then changes nothing. */
    [ST_DUE] = "UPDATE jobs SET state = 0 WHERE id = ?1 AND state = 2 AND "
	       "coalesce(start_at_ns, 0) <= ?2",
    [ST_EDIT] =
	"UPDATE jobs SET priority = CASE WHEN ?2 & 1 THEN ?3 ELSE "
	"priority END, queue = CASE WHEN ?2 & 2 THEN ?4 ELSE queue END, "
	"start_at_ns = CASE WHEN ?2 & 4 THEN ?5 ELSE start_at_ns END, "
	"timeout_ms = CASE WHEN ?2 & 8 THEN ?6 ELSE timeout_ms END, "
	"name = CASE WHEN ?2 & 16 THEN ?7 ELSE name END "
	"WHERE id = ?1 AND state IN (0, 2, 3, 4)",
    [ST_PAUSE] = "INSERT OR IGNORE INTO paused(queue) VALUES (?1)",
    [ST_RESUME] = "DELETE FROM paused WHERE queue = ?1",
    [ST_PAUSED] = "SELECT queue FROM paused",
    [ST_ATTEMPT_ADD] = "INSERT OR REPLACE INTO attempts(job, attempt, "
		       "state, exit_code, signal, start_ns, end_ns, error, "
		       "worker, cpu) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
		       "?9, ?10)",
    [ST_ATTEMPT_COPY] = "INSERT OR REPLACE INTO attempts(job, attempt, "
			"state, exit_code, signal, start_ns, end_ns, error, "
			"worker, cpu) SELECT id, attempt, state, exit_code, "
			"signal, start_ns, end_ns, error, worker, cpu FROM "
			"jobs WHERE id = ?1 AND state >= 5",
    [ST_RETRY] = "UPDATE jobs SET state = ?2, attempt = ?3, "
		 "start_at_ns = ?4, start_ns = NULL, end_ns = NULL, "
		 "exit_code = NULL, signal = NULL, error = NULL, user_us = "
		 "NULL, sys_us = NULL, maxrss_kb = NULL, procs = NULL, "
		 "worker = NULL, cpu = "
		 "NULL WHERE id = ?1 AND (state = 1 OR state >= 5)",
    [ST_ATTEMPTS] = "SELECT attempt, state, exit_code, signal, start_ns, "
		    "end_ns, error, worker, cpu FROM attempts WHERE job = ?1 "
		    "ORDER BY attempt",
    [ST_ATTEMPTS_DROP] = "DELETE FROM attempts WHERE job = ?1",
    [ST_DEP_ADD] = "INSERT OR IGNORE INTO deps(job, dep) VALUES (?1, ?2)",
    [ST_DEPENDENTS] = "SELECT job FROM deps WHERE dep = ?1",
    [ST_DEP_STATES] = "SELECT d.dep, j.state FROM deps d JOIN jobs j ON "
		      "j.id = d.dep WHERE d.job = ?1 ORDER BY d.dep",
    [ST_DEPS_DROP] = "DELETE FROM deps WHERE job = ?1",
    [ST_MOVE] = "UPDATE jobs SET state = ?3 WHERE id = ?1 AND state = ?2",
    [ST_WAITING_IDS] = "SELECT id FROM jobs WHERE state = 3",
    [ST_ARRAY_TASK] = "SELECT id FROM jobs WHERE array_id = ?1 AND "
		      "array_index = ?2",
    [ST_ARRAY_STATES] = "SELECT state, count(*) FROM jobs WHERE array_id = "
			"?1 GROUP BY state",
    /* Through jobs_state: as long as the jobs in these states (the
     * caller keeps it for a while: jobs_metrics.c). */
    [ST_PENDING_COUNTS] = "SELECT queue, state, count(*) FROM jobs "
			  "WHERE state BETWEEN 2 AND 4 GROUP BY 1, 2 "
			  "ORDER BY 1, 2",
    [ST_ARRAY_IDS] = "SELECT id FROM jobs WHERE array_id = ?1 ORDER BY "
		     "array_index",
    [ST_UNFINISHED] = "SELECT id, queue FROM jobs WHERE uid = ?1 AND "
		      "state < 5 ORDER BY id",
    /* Queued again while under crash_requeue_max (?1), or under its
     * own retries if it is to be retried when lost (retry_on & 8). */
    [ST_RUNNING_IDS] = "SELECT id, attempt, attempt < max(?1, CASE WHEN "
		       "retry_on & 8 THEN retries ELSE 0 END) FROM jobs "
		       "WHERE state = 1",
    [ST_LOST] = "UPDATE jobs SET state = 9, end_ns = ?2, error = ?3 "
		"WHERE id = ?1 AND state < 5",
    /* A running attempt that will not report its end: kept as lost
     * among the attempts before the job runs again. */
    [ST_ATTEMPT_LOST] = "INSERT OR REPLACE INTO attempts(job, attempt, "
			"state, start_ns, end_ns, error, worker, cpu) SELECT "
			"id, attempt, 9, start_ns, ?2, ?3, worker, cpu FROM "
			"jobs WHERE id = ?1 AND state = 1",
    /* That attempt runs on in a worker a next forqd took on. */
    [ST_ADOPTED] = "UPDATE jobs SET adopted_ns = coalesce(adopted_ns, ?3) "
		   "WHERE id = ?1 AND attempt = ?2 AND state = 1",
    [ST_LAST_ID] = "SELECT max((SELECT coalesce(max(id), 0) FROM jobs), "
		   "coalesce((SELECT value FROM meta WHERE key = 'last_id'), "
		   "0))",
    [ST_SET_LAST_ID] = "UPDATE meta SET value = ?1 WHERE key = 'last_id' "
		       "AND value < ?1",
    [ST_PRUNE_AGE] = "SELECT id, env_id FROM jobs WHERE state >= 5 AND "
		     "end_ns > 0 AND end_ns < ?1 ORDER BY end_ns LIMIT ?2",
    [ST_PRUNE_CUTOFF] = "SELECT id FROM jobs WHERE state >= 5 "
			"ORDER BY id DESC LIMIT 1 OFFSET ?1",
    [ST_PRUNE_COUNT] = "SELECT id, env_id FROM jobs WHERE state >= 5 AND "
		       "id <= ?1 ORDER BY id LIMIT ?2",
    [ST_DELETE] = "DELETE FROM jobs WHERE id = ?1",
    [ST_ENV_OF] = "SELECT env_id FROM jobs WHERE id = ?1",
    /* Every turn has one: parsed once, not at each. */
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
};

static uint64_t
sqlite_hash(const char *data, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037);
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* Environments repeat (a batch shares one): stored once, counted. */
static int
sqlite_env_ref(struct store_backend *st, const char *env, size_t len,
	       size_t refs, int64_t *env_id)
{
	sqlite3_stmt *s = st->stmt[ST_ENV_FIND];
	int64_t hash = (int64_t)sqlite_hash(env, len);
	int rc;

	sqlite3_bind_int64(s, 1, hash);
	sqlite3_bind_blob(s, 2, env, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*env_id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqlite_fail(st, "find env");
	if (*env_id != 0) {
		s = st->stmt[ST_ENV_REF];
		sqlite3_bind_int64(s, 1, *env_id);
		sqlite3_bind_int64(s, 2, (int64_t)refs);
		return sqlite_step_done(st, s, "ref env");
	}
	s = st->stmt[ST_ENV_INSERT];
	sqlite3_bind_int64(s, 1, hash);
	sqlite3_bind_int64(s, 2, (int64_t)refs);
	sqlite3_bind_blob(s, 3, env, (int)len, SQLITE_STATIC);
	if (sqlite_step_done(st, s, "insert env") == -1)
		return -1;
	*env_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static int
sqlite_insert_deps(struct store_backend *st, uint64_t id,
		   const struct job_spec *j)
{
	sqlite3_stmt *s = st->stmt[ST_DEP_ADD];
	uint32_t k;

	for (k = 0; k < j->nafter; k++) {
		sqlite3_bind_int64(s, 1, (int64_t)id);
		sqlite3_bind_int64(s, 2, (int64_t)j->after[k]);
		if (sqlite_step_done(st, s, "insert dependency") == -1)
			return -1;
	}
	return 0;
}

/* Drops count references to an environment, and it with the last. */
static int
sqlite_env_unref(struct store_backend *st, int64_t env_id, size_t count)
{
	sqlite3_stmt *s = st->stmt[ST_ENV_UNREF];
	int rc, refs;

	sqlite3_bind_int64(s, 1, env_id);
	sqlite3_bind_int64(s, 2, (int64_t)count);
	rc = sqlite3_step(s);
	refs = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 1;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqlite_fail(st, "unref env");
	if (refs > 0)
		return 0;
	s = st->stmt[ST_ENV_DROP];
	sqlite3_bind_int64(s, 1, env_id);
	return sqlite_step_done(st, s, "drop env");
}

enum store_result
sqlite_unique_holder(struct store_backend *st, uid_t uid, const char *key,
		     uint64_t *id)
{
	sqlite3_stmt *s = st->stmt[ST_UNIQUE_FIND];
	int rc;

	if (sqlite_begin(st) == -1)
		return STORE_FAILED;
	sqlite3_bind_int64(s, 1, uid);
	sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return sqlite_found(st, rc, "find unique key");
}

/* One row: job j (task index of its array, array_id the array's first
 * task; 0: not of an array), under env_id. */
static int
sqlite_insert_row(struct store_backend *st, const struct job_spec *j, uid_t uid,
		  gid_t gid, int64_t submit_ns, int64_t env_id, uint64_t id,
		  uint64_t array_id, uint32_t index)
{
	sqlite3_stmt *s = st->stmt[ST_INSERT];

	if (j->unique != NULL)
		sqlite3_bind_text(s, 19, j->unique, -1, SQLITE_STATIC);
	if (j->name != NULL)
		sqlite3_bind_text(s, 1, j->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, gid);
	sqlite3_bind_blob(s, 4, j->argv, (int)j->argv_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, j->argc);
	sqlite3_bind_int64(s, 6, env_id);
	sqlite3_bind_int64(s, 7, j->envc);
	sqlite3_bind_text(s, 8, j->cwd, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, j->timeout_ms);
	sqlite3_bind_int64(s, 10, submit_ns);
	sqlite3_bind_int(s, 11, job_pending_state(j, submit_ns, j->hold));
	sqlite3_bind_int(s, 18, (int)j->after_mode);
	if (j->on_finish != NULL)
		sqlite3_bind_text(s, 20, j->on_finish, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 12, j->queue != NULL ? j->queue : "default", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(s, 13, j->priority);
	if (j->start_at_ns > 0)
		sqlite3_bind_int64(s, 14, j->start_at_ns);
	sqlite3_bind_int64(s, 15, j->retries);
	sqlite3_bind_int64(s, 16, j->retry_delay_ms);
	sqlite3_bind_int64(s, 17, j->retry_on);
	sqlite3_bind_int64(s, 21, (int64_t)id);
	sqlite3_bind_int64(s, 22, (int64_t)j->mem);
	sqlite3_bind_int64(s, 23, j->cpus > 1 ? j->cpus : 1);
	if (array_id != 0) {
		sqlite3_bind_int64(s, 24, (int64_t)array_id);
		sqlite3_bind_int64(s, 25, index);
	}
	sqlite3_bind_int64(s, 26, j->array.max);
	if (j->stdout_path != NULL)
		sqlite3_bind_text(s, 27, j->stdout_path, -1, SQLITE_STATIC);
	if (j->stderr_path != NULL)
		sqlite3_bind_text(s, 28, j->stderr_path, -1, SQLITE_STATIC);
	if (j->stdin_path != NULL)
		sqlite3_bind_text(s, 29, j->stdin_path, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 30, j->append);
	sqlite3_bind_int(s, 31, j->file_umask);
	if (j->res != NULL)
		sqlite3_bind_text(s, 32, j->res, -1, SQLITE_STATIC);
	if (sqlite_step_done(st, s, "insert job") == -1)
		return -1;
	return sqlite_insert_deps(st, id, j);
}

int
sqlite_insert(struct store_backend *st, const struct job_spec *specs, size_t n,
	      uid_t uid, gid_t gid, int64_t submit_ns, uint64_t *ids,
	      bool *existing)
{
	const struct job_spec *j;
	int64_t env_id = 0;
	uint64_t array_id;
	size_t i, same, skipped = 0, refs, t = 0, k;
	int rc;

	if (sqlite_begin(st) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		j = &specs[i];
		if (i == 0 || j->env_len != specs[i - 1].env_len ||
		    memcmp(j->env, specs[i - 1].env, j->env_len) != 0) {
			/* The run before counted jobs a key made needless. */
			if (skipped > 0 &&
			    sqlite_env_unref(st, env_id, skipped) == -1)
				return -1;
			skipped = 0;
			/* Count the rows of the run of jobs sharing this
			 * environment. */
			refs = job_spec_tasks(j);
			for (same = i + 1;
			     same < n && specs[same].env_len == j->env_len &&
			     memcmp(specs[same].env, j->env, j->env_len) == 0;
			     same++)
				refs += job_spec_tasks(&specs[same]);
			if (sqlite_env_ref(st, j->env, j->env_len, refs,
					   &env_id) == -1)
				return -1;
		}
		if (existing != NULL)
			existing[t] = false;
		/* A key still held by a job not ended: that job stands
		 * for this one (and for the earlier of the same batch).
		 * An array has no key. */
		if (j->unique != NULL) {
			if ((rc = sqlite_unique_holder(st, uid, j->unique,
						       &ids[t])) == -1)
				return -1;
			if (rc == 0) {
				if (existing != NULL)
					existing[t] = true;
				skipped++;
				t++;
				continue;
			}
		}
		/* A refused turn leaves a gap: its ids are not given again
		 * either. An array's tasks have ids in a row, the first
		 * the array's. */
		array_id = j->array.n > 0 ? st->last_id + 1 : 0;
		for (k = 0; k < job_spec_tasks(j); k++, t++) {
			ids[t] = ++st->last_id;
			if (existing != NULL)
				existing[t] = false;
			if (sqlite_insert_row(st, j, uid, gid, submit_ns,
					      env_id, ids[t], array_id,
					      j->array.n > 0 ? j->array.index[k]
							     : 0) == -1)
				return -1;
		}
	}
	if (skipped > 0 && sqlite_env_unref(st, env_id, skipped) == -1)
		return -1;
	return 0;
}

static int sqlite_delete(struct store_backend *st, int64_t id, int64_t env_id);

/* The cluster's id is not this store's to give: the last id given
 * stays what it was, or moves up to it, so that ids only grow. */
int
sqlite_insert_as(struct store_backend *st, const struct store_job *job)
{
	const struct job_spec *spec = &job->spec;
	uint64_t last = st->last_id, got, id = job->id;
	char sql[256];
	int rc;

	if (spec->unique != NULL || spec->nafter > 0) {
		snprintf(st->error, sizeof st->error,
			 "job %llu: a claimed job carries no unique key and "
			 "no dependency",
			 (unsigned long long)id);
		return -1;
	}
	if (sqlite_begin(st) == -1 ||
	    (rc = (int)sqlite_forget(st, id)) == STORE_FAILED)
		return -1;
	st->last_id = id - 1;
	rc = sqlite_insert(st, spec, 1, job->uid, job->gid, job->submit_ns,
			   &got, NULL);
	st->last_id = last > id ? last : id;
	if (rc == -1)
		return -1;
	if (job->attempt > 0 || job->array_id != 0) {
		snprintf(sql, sizeof sql,
			 "UPDATE jobs SET attempt = %u, array_id = %llu, "
			 "array_index = %u, array_max = %u WHERE id = %llu",
			 job->attempt, (unsigned long long)job->array_id,
			 job->array_index, job->array_max,
			 (unsigned long long)id);
		if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return sqlite_fail(st, "set the attempt");
	}
	return 0;
}

enum store_result
sqlite_forget(struct store_backend *st, uint64_t id)
{
	sqlite3_stmt *s = st->stmt[ST_ENV_OF];
	int64_t env_id;
	int rc;

	/* Twice a job on a cluster node (its claim, its end): prepared
	 * once, not parsed each time. */
	sqlite3_bind_int64(s, 1, (int64_t)id);
	rc = sqlite3_step(s);
	env_id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE)
		return STORE_NO_MATCH;
	if (rc != SQLITE_ROW)
		return (enum store_result)sqlite_fail(st,
						      "find a job to forget");
	if (sqlite_begin(st) == -1 ||
	    sqlite_delete(st, (int64_t)id, env_id) == -1)
		return STORE_FAILED;
	return STORE_OK;
}

static void sqlite_bind_result(sqlite3_stmt *s, int first,
			       const struct job_result *r);

int
sqlite_mark_running(struct store_backend *st, uint64_t id, int worker, int cpu,
		    uint32_t attempt, int64_t start_ns, const char *res_given)
{
	sqlite3_stmt *s = st->stmt[ST_RUNNING];

	/* Not kept for a redo: a job starts only after the commit that
	 * marks it running, so a failed commit means it did not start. */
	if (sqlite_begin(st) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite3_bind_int(s, 2, worker);
	sqlite3_bind_int(s, 3, cpu);
	sqlite3_bind_int64(s, 4, attempt);
	sqlite3_bind_int64(s, 5, start_ns);
	if (res_given != NULL)
		sqlite3_bind_text(s, 6, res_given, -1, SQLITE_STATIC);
	return sqlite_step_done(st, s, "mark running");
}

int
sqlite_finish(struct store_backend *st, uint64_t id, const struct job_result *r)
{
	sqlite3_stmt *s = st->stmt[ST_FINISH];

	if (sqlite_begin(st) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite_bind_result(s, 2, r);
	if (r->start_ns != 0) {
		sqlite3_bind_int64(s, 8, r->user_us);
		sqlite3_bind_int64(s, 9, r->sys_us);
		sqlite3_bind_int64(s, 10, r->maxrss_kb);
		if (r->procs > 0)
			sqlite3_bind_int64(s, 11, r->procs);
	}
	return sqlite_step_done(st, s, "finish job");
}

int
sqlite_cancel(struct store_backend *st, uint64_t id, int64_t end_ns)
{
	sqlite3_stmt *s = st->stmt[ST_FINISH];
	struct job_result r = {.state = JOB_CANCELLED, .end_ns = end_ns};

	/* Not kept for a redo: a cancel that cannot be stored is refused
	 * to its client, not carried out later. */
	if (sqlite_begin(st) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite_bind_result(s, 2, &r);
	return sqlite_step_done(st, s, "cancel job");
}

int
sqlite_adopted(struct store_backend *st, uint64_t id, uint32_t attempt,
	       int64_t ns)
{
	sqlite3_stmt *s = st->stmt[ST_ADOPTED];

	if (sqlite_begin(st) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite3_bind_int64(s, 2, attempt);
	sqlite3_bind_int64(s, 3, ns);
	return sqlite_step_done(st, s, "mark job adopted");
}

int
sqlite_requeue(struct store_backend *st, uint64_t id, uint32_t attempt,
	       int64_t end_ns, const char *why)
{
	sqlite3_stmt *s = st->stmt[ST_ATTEMPT_LOST];

	if (sqlite_begin(st) == -1)
		return -1;
	if (why != NULL) {
		sqlite3_bind_int64(s, 1, (int64_t)id);
		sqlite3_bind_int64(s, 2, end_ns);
		sqlite3_bind_text(s, 3, why, -1, SQLITE_TRANSIENT);
		if (sqlite_step_done(st, s, "record lost attempt") == -1)
			return -1;
	}
	s = st->stmt[ST_REQUEUE];
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite3_bind_int64(s, 2, attempt);
	return sqlite_step_done(st, s, "requeue job");
}

/* Binds a result's fields from column first on: state, exit_code,
 * signal, start_ns, end_ns, error. */
static void
sqlite_bind_result(sqlite3_stmt *s, int first, const struct job_result *r)
{
	sqlite3_bind_int(s, first, (int)r->state);
	if (r->signal == 0 && r->start_ns != 0)
		sqlite3_bind_int(s, first + 1, r->exit_code);
	if (r->signal != 0)
		sqlite3_bind_int(s, first + 2, r->signal);
	if (r->start_ns != 0)
		sqlite3_bind_int64(s, first + 3, r->start_ns);
	sqlite3_bind_int64(s, first + 4, r->end_ns);
	if (r->error[0] != '\0')
		sqlite3_bind_text(s, first + 5, r->error, -1, SQLITE_STATIC);
}

static int sqlite_retry_steps(struct store_backend *st, uint64_t id,
			      const struct job_result *result, int worker,
			      int cpu, uint32_t next_attempt,
			      int64_t start_at_ns);

enum store_result
sqlite_retry(struct store_backend *st, uint64_t id,
	     const struct job_result *result, int worker, int cpu,
	     uint32_t next_attempt, int64_t start_at_ns)
{
	if (sqlite_begin(st) == -1)
		return STORE_FAILED;
	if (sqlite_retry_steps(st, id, result, worker, cpu, next_attempt,
			       start_at_ns) == -1)
		return STORE_FAILED;
	return sqlite3_changes(st->db) > 0 ? STORE_OK : STORE_NO_MATCH;
}

static int
sqlite_retry_steps(struct store_backend *st, uint64_t id,
		   const struct job_result *result, int worker, int cpu,
		   uint32_t next_attempt, int64_t start_at_ns)
{
	sqlite3_stmt *s;

	if (result != NULL) {
		s = st->stmt[ST_ATTEMPT_ADD];
		sqlite3_bind_int64(s, 1, (int64_t)id);
		sqlite3_bind_int64(s, 2, next_attempt - 1);
		sqlite_bind_result(s, 3, result);
		if (worker >= 0) {
			sqlite3_bind_int(s, 9, worker);
			sqlite3_bind_int(s, 10, cpu);
		}
	} else {
		s = st->stmt[ST_ATTEMPT_COPY];
		sqlite3_bind_int64(s, 1, (int64_t)id);
	}
	if (sqlite_step_done(st, s, "record attempt") == -1)
		return -1;
	s = st->stmt[ST_RETRY];
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite3_bind_int(s, 2, start_at_ns != 0 ? JOB_SCHEDULED : JOB_QUEUED);
	sqlite3_bind_int64(s, 3, next_attempt);
	if (start_at_ns != 0)
		sqlite3_bind_int64(s, 4, start_at_ns);
	return sqlite_step_done(st, s, "retry job");
}

/* A job found running at start, and whether to queue it again. */
struct sqlite_interrupted {
	uint64_t id;
	uint32_t attempt;
	bool again;
};

int
sqlite_recover(struct store_backend *st, uint32_t requeue_max, int64_t now_ns,
	       const uint64_t *keep, size_t nkeep, struct store_recovery *rec)
{
	sqlite3_stmt *s = st->stmt[ST_RUNNING_IDS], *lost = st->stmt[ST_LOST];
	struct sqlite_interrupted *jobs = NULL, *more;
	size_t n = 0, cap = 0, i;
	char why[128];
	int rc;

	memset(rec, 0, sizeof *rec);
	/* Collect first: the statements below change what this one reads. */
	sqlite3_bind_int64(s, 1, requeue_max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((more = reallocarray(jobs, cap, sizeof *more)) ==
			    NULL) {
				free(jobs);
				sqlite3_reset(s);
				snprintf(st->error, sizeof st->error,
					 "out of memory");
				return -1;
			}
			jobs = more;
		}
		jobs[n].id = (uint64_t)sqlite3_column_int64(s, 0);
		if (array_has_id(keep, nkeep, jobs[n].id))
			continue;
		jobs[n].attempt = (uint32_t)sqlite3_column_int64(s, 1);
		jobs[n++].again = sqlite3_column_int(s, 2) != 0;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE) {
		free(jobs);
		return sqlite_fail(st, "running jobs");
	}
	for (i = 0; i < n && rc != -1; i++) {
		if (jobs[i].again) {
			rc = sqlite_requeue(st, jobs[i].id, jobs[i].attempt + 1,
					    now_ns,
					    "interrupted by a crash of forqd");
			rec->requeued++;
			continue;
		}
		if (sqlite_begin(st) == -1) {
			rc = -1;
			break;
		}
		snprintf(why, sizeof why,
			 "interrupted by a crash of forqd after %u attempts",
			 jobs[i].attempt + 1);
		sqlite3_bind_int64(lost, 1, (int64_t)jobs[i].id);
		/* Its end is now, so retention keeps it as long as any. */
		sqlite3_bind_int64(lost, 2, now_ns);
		sqlite3_bind_text(lost, 3, why, -1, SQLITE_TRANSIENT);
		rc = sqlite_step_done(st, lost, "mark lost");
		rec->lost++;
	}
	free(jobs);
	return rc == -1 ? -1 : 0;
}

static int
sqlite_delete(struct store_backend *st, int64_t id, int64_t env_id)
{
	sqlite3_stmt *s = st->stmt[ST_DELETE];

	sqlite3_bind_int64(s, 1, id);
	if (sqlite_step_done(st, s, "delete job") == -1)
		return -1;
	s = st->stmt[ST_ATTEMPTS_DROP];
	sqlite3_bind_int64(s, 1, id);
	if (sqlite_step_done(st, s, "delete attempts") == -1)
		return -1;
	s = st->stmt[ST_DEPS_DROP];
	sqlite3_bind_int64(s, 1, id);
	if (sqlite_step_done(st, s, "delete dependencies") == -1)
		return -1;
	return sqlite_env_unref(st, env_id, 1);
}

/* Collects (id, env_id) rows of a prune query, then deletes them. */
static int
sqlite_prune_with(struct store_backend *st, sqlite3_stmt *s, uint32_t max,
		  void (*fn)(void *, uint64_t), void *arg)
{
	int64_t(*rows)[2];
	int n = 0, i, rc;

	if ((rows = calloc(max > 0 ? max : 1, sizeof *rows)) == NULL)
		return -1;
	while ((uint32_t)n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		rows[n][0] = sqlite3_column_int64(s, 0);
		rows[n][1] = sqlite3_column_int64(s, 1);
		n++;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	/* Deleting the newest job must not free its id for the next. */
	if (n > 0 && sqlite_begin(st) == -1)
		n = -1;
	if (n > 0) {
		sqlite3_bind_int64(st->stmt[ST_SET_LAST_ID], 1,
				   (int64_t)st->last_id);
		if (sqlite_step_done(st, st->stmt[ST_SET_LAST_ID],
				     "keep the last id") == -1)
			n = -1;
	}
	for (i = 0; i < n; i++) {
		fn(arg, (uint64_t)rows[i][0]);
		if (sqlite_delete(st, rows[i][0], rows[i][1]) == -1) {
			n = -1;
			break;
		}
	}
	free(rows);
	return n;
}

int
sqlite_clean(struct store_backend *st, const struct store_filter *f,
	     int64_t end_before_ns, uint32_t max, void (*fn)(void *, uint64_t),
	     void *arg)
{
	unsigned mask =
	    (f->state >= 0) | (f->uid >= 0) << 1 | (end_before_ns > 0) << 2;
	sqlite3_stmt *s;
	char sql[256];

	if ((s = st->clean[mask]) == NULL) {
		snprintf(sql, sizeof sql,
			 "SELECT id, env_id FROM jobs WHERE state >= 5%s%s%s "
			 "ORDER BY id LIMIT ?1",
			 mask & 1 ? " AND state = ?2" : "",
			 mask & 2 ? " AND uid = ?3" : "",
			 mask & 4 ? " AND end_ns < ?4" : "");
		if (sqlite3_prepare_v3(st->db, sql, -1,
				       SQLITE_PREPARE_PERSISTENT,
				       &st->clean[mask], NULL) != SQLITE_OK)
			return sqlite_fail(st, "clean jobs");
		s = st->clean[mask];
	}
	sqlite3_bind_int64(s, 1, max);
	if (f->state >= 0)
		sqlite3_bind_int(s, 2, f->state);
	if (f->uid >= 0)
		sqlite3_bind_int64(s, 3, f->uid);
	if (end_before_ns > 0)
		sqlite3_bind_int64(s, 4, end_before_ns);
	return sqlite_prune_with(st, s, max, fn, arg);
}

int
sqlite_prune(struct store_backend *st, int64_t end_before_ns,
	     uint64_t keep_count, uint32_t max, void (*fn)(void *, uint64_t),
	     void *arg)
{
	sqlite3_stmt *s;
	int64_t cutoff = 0;
	int n = 0, m;

	if (end_before_ns > 0) {
		s = st->stmt[ST_PRUNE_AGE];
		sqlite3_bind_int64(s, 1, end_before_ns);
		sqlite3_bind_int64(s, 2, max);
		if ((n = sqlite_prune_with(st, s, max, fn, arg)) == -1)
			return -1;
	}
	if (keep_count == 0 || (uint32_t)n >= max)
		return n;
	s = st->stmt[ST_PRUNE_CUTOFF];
	sqlite3_bind_int64(s, 1, (int64_t)keep_count);
	if (sqlite3_step(s) == SQLITE_ROW)
		cutoff = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (cutoff == 0)
		return n;
	s = st->stmt[ST_PRUNE_COUNT];
	sqlite3_bind_int64(s, 1, cutoff);
	sqlite3_bind_int64(s, 2, max - (uint32_t)n);
	if ((m = sqlite_prune_with(st, s, max - (uint32_t)n, fn, arg)) == -1)
		return -1;
	return n + m;
}
