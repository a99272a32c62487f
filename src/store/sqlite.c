/* The SQLite backend of the job store: the database, its schema and
 * transactions. */
#include <sys/param.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/compat.h"
#include "store/sqlite.h"

static const char sqlite_schema[] =
    "CREATE TABLE envs("
    "  id INTEGER PRIMARY KEY,"
    "  hash INTEGER NOT NULL,"
    "  refs INTEGER NOT NULL,"
    "  data BLOB NOT NULL);"
    "CREATE INDEX envs_hash ON envs(hash);"
    "CREATE TABLE jobs("
    "  id INTEGER PRIMARY KEY,"
    "  state INTEGER NOT NULL,"
    "  name TEXT,"
    "  uid INTEGER NOT NULL,"
    "  gid INTEGER NOT NULL,"
    "  argv BLOB NOT NULL,"
    "  argc INTEGER NOT NULL,"
    "  env_id INTEGER NOT NULL,"
    "  envc INTEGER NOT NULL,"
    "  cwd TEXT NOT NULL,"
    "  timeout_ms INTEGER NOT NULL,"
    "  submit_ns INTEGER NOT NULL,"
    "  start_ns INTEGER,"
    "  end_ns INTEGER,"
    "  exit_code INTEGER,"
    "  signal INTEGER,"
    "  error TEXT,"
    "  user_us INTEGER,"
    "  sys_us INTEGER,"
    "  maxrss_kb INTEGER,"
    "  worker INTEGER,"
    "  cpu INTEGER,"
    "  attempt INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_state ON jobs(state, id);"
    "CREATE INDEX jobs_final_end ON jobs(end_ns) WHERE state >= 2;"
    "CREATE INDEX jobs_final_id ON jobs(id) WHERE state >= 2;";

static const char store_schema_v2[] =
    "CREATE INDEX jobs_uid ON jobs(uid, id);"
    "CREATE INDEX jobs_uid_state ON jobs(uid, state, id);";

/* 2 -> 3: queues, priorities, delayed starts, retries (the attempts
 * before the last, one row each), dependencies, unique keys (one job
 * not ended per user and key) and on-finish commands; the final states
 * move up to make room for scheduled (2) and waiting (3), so that
 * "final" stays "state >= 4" for the partial indexes. */
static const char store_schema_v3[] =
    "ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';"
    "ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN start_at_ns INTEGER;"
    "DROP INDEX jobs_final_end;"
    "DROP INDEX jobs_final_id;"
    "UPDATE jobs SET state = state + 2 WHERE state >= 2;"
    "CREATE INDEX jobs_final_end ON jobs(end_ns) WHERE state >= 4;"
    "CREATE INDEX jobs_final_id ON jobs(id) WHERE state >= 4;"
    "CREATE INDEX jobs_queue ON jobs(queue, id);"
    "CREATE INDEX jobs_name ON jobs(name, id) WHERE name IS NOT NULL;"
    "CREATE TABLE paused(queue TEXT PRIMARY KEY) WITHOUT ROWID;"
    "ALTER TABLE jobs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN retry_delay_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN retry_on INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE attempts("
    "  job INTEGER NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  exit_code INTEGER,"
    "  signal INTEGER,"
    "  start_ns INTEGER,"
    "  end_ns INTEGER,"
    "  error TEXT,"
    "  worker INTEGER,"
    "  cpu INTEGER,"
    "  PRIMARY KEY (job, attempt)) WITHOUT ROWID;"
    "ALTER TABLE jobs ADD COLUMN after_any INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE deps("
    "  job INTEGER NOT NULL,"
    "  dep INTEGER NOT NULL,"
    "  PRIMARY KEY (job, dep)) WITHOUT ROWID;"
    "CREATE INDEX deps_dep ON deps(dep, job);"
    "ALTER TABLE jobs ADD COLUMN unique_key TEXT;"
    "CREATE UNIQUE INDEX jobs_unique ON jobs(uid, unique_key) "
    "  WHERE unique_key IS NOT NULL AND state < 4;"
    "ALTER TABLE jobs ADD COLUMN on_finish TEXT;";

/* 3 -> 4: ids only grow. The jobs table's key alone would hand out the
 * id of a deleted newest job again; meta.last_id remembers the highest
 * id ever given. Jobs a crash recovery marked lost kept end_ns = 0,
 * which made them the first to be pruned: they end now instead. */
static const char store_schema_v4[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) "
    "  WITHOUT ROWID;"
    "INSERT INTO meta VALUES ('last_id', "
    "  (SELECT coalesce(max(id), 0) FROM jobs));"
    "UPDATE jobs SET end_ns = CAST((julianday('now') - 2440587.5) * "
    "  86400000000000.0 AS INTEGER) "
    "  WHERE state = 8 AND coalesce(end_ns, 0) = 0;";

/* 4 -> 5: with job cgroups, the most processes a job had at once. */
static const char store_schema_v5[] =
    "ALTER TABLE jobs ADD COLUMN procs INTEGER;";

/* 5 -> 6: a job's memory limit (--mem). */
static const char store_schema_v6[] =
    "ALTER TABLE jobs ADD COLUMN mem INTEGER NOT NULL DEFAULT 0;";

/* 6 -> 7: the CPUs a job asks for (--cpus). */
static const char store_schema_v7[] =
    "ALTER TABLE jobs ADD COLUMN cpus INTEGER NOT NULL DEFAULT 1;";

/* 7 -> 8: what a job waits for of its dependencies, now one of three
 * (--after-fail); 0 and 1 keep their meaning. */
static const char store_schema_v8[] =
    "ALTER TABLE jobs RENAME COLUMN after_any TO after_mode;";

/* 8 -> 9: when a job's attempt was taken on by a next forqd, as it ran
 * on through a restart (forq status says so after its end too). */
static const char store_schema_v9[] =
    "ALTER TABLE jobs ADD COLUMN adopted_ns INTEGER;";

/* 9 -> 10: held (4) joins the states not ended; the final states move
 * up one, in the attempts too, so that "final" is "state >= 5" for the
 * partial indexes and a held job keeps its unique key. */
static const char store_schema_v10[] =
    "DROP INDEX jobs_final_end;"
    "DROP INDEX jobs_final_id;"
    "DROP INDEX jobs_unique;"
    "UPDATE jobs SET state = state + 1 WHERE state >= 4;"
    "UPDATE attempts SET state = state + 1 WHERE state >= 4;"
    "CREATE INDEX jobs_final_end ON jobs(end_ns) WHERE state >= 5;"
    "CREATE INDEX jobs_final_id ON jobs(id) WHERE state >= 5;"
    "CREATE UNIQUE INDEX jobs_unique ON jobs(uid, unique_key) "
    "  WHERE unique_key IS NOT NULL AND state < 5;";

/* 10 -> 11: job arrays: each task a job, with its array (the id of its
 * first task), its index and the array's limit of tasks at once. */
static const char store_schema_v11[] =
    "ALTER TABLE jobs ADD COLUMN array_id INTEGER;"
    "ALTER TABLE jobs ADD COLUMN array_index INTEGER;"
    "ALTER TABLE jobs ADD COLUMN array_max INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX jobs_array ON jobs(array_id, array_index) "
    "  WHERE array_id IS NOT NULL;";

/* 11 -> 12: where a job's output goes and its input comes from, as the
 * user asked (--stdout, --stderr, --stdin, --append, --umask). */
static const char store_schema_v12[] =
    "ALTER TABLE jobs ADD COLUMN stdout_path TEXT;"
    "ALTER TABLE jobs ADD COLUMN stderr_path TEXT;"
    "ALTER TABLE jobs ADD COLUMN stdin_path TEXT;"
    "ALTER TABLE jobs ADD COLUMN append INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN file_umask INTEGER NOT NULL DEFAULT -1;";

/* 12 -> 13: the [resources] a job needs, and those it was given while
 * it runs (kept for a next forqd that takes it on). */
static const char store_schema_v13[] =
    "ALTER TABLE jobs ADD COLUMN res TEXT;"
    "ALTER TABLE jobs ADD COLUMN res_given TEXT;";

_Static_assert(JOB_SCHEDULED == 2 && JOB_WAITING == 3 && JOB_HELD == 4 &&
		   JOB_SUCCEEDED == 5 && JOB_LOST == 9,
	       "the store's SQL spells these states as numbers");

static int sqlite_open_wal(struct store_backend *st);

/* Notes a failure's code; SQLite may have rolled the transaction back
 * itself (a full disk, an I/O error), which fails the whole turn. */
static void
sqlite_failed(struct store_backend *st)
{
	st->last_code = sqlite3_extended_errcode(st->db);
	if (st->in_txn && sqlite3_get_autocommit(st->db)) {
		st->in_txn = false;
		st->lost_txn = true;
	}
}

int
sqlite_fail(struct store_backend *st, const char *what)
{
	snprintf(st->error, sizeof st->error, "%s: %s", what,
		 sqlite3_errmsg(st->db));
	sqlite_failed(st);
	return -1;
}

const char *
sqlite_error(struct store_backend *st)
{
	return st->error;
}

static int
sqlite_exec(struct store_backend *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(st->error, sizeof st->error, "%s",
			 msg != NULL ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		sqlite_failed(st);
		return -1;
	}
	return 0;
}

/* The value of a PRAGMA that reads one number, as "user_version". */
static int
sqlite_pragma_int(struct store_backend *st, const char *name, int *value)
{
	char sql[64];
	sqlite3_stmt *s;
	int rc;

	snprintf(sql, sizeof sql, "PRAGMA %s", name);
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return sqlite_fail(st, name);
	rc = sqlite3_step(s);
	*value = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : sqlite_fail(st, name);
}

/* Version 0 is a new file. A later schema adds a step here that moves
 * version N to N+1, inside the same transaction. */
static int
sqlite_migrate(struct store_backend *st)
{
	char sql[64];
	int version;

	if (sqlite_pragma_int(st, "user_version", &version) == -1)
		return -1;
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(st->error, sizeof st->error,
			 "the store has schema version %d, newer than this "
			 "forqd's "
			 "%d",
			 version, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (sqlite_exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (version == 0 && sqlite_exec(st, sqlite_schema) == -1)
		goto fail;
	/* 1 -> 2: a user lists only their own jobs, by index. */
	if (version < 2 && sqlite_exec(st, store_schema_v2) == -1)
		goto fail;
	if (version < 3 && sqlite_exec(st, store_schema_v3) == -1)
		goto fail;
	if (version < 4 && sqlite_exec(st, store_schema_v4) == -1)
		goto fail;
	if (version < 5 && sqlite_exec(st, store_schema_v5) == -1)
		goto fail;
	if (version < 6 && sqlite_exec(st, store_schema_v6) == -1)
		goto fail;
	if (version < 7 && sqlite_exec(st, store_schema_v7) == -1)
		goto fail;
	if (version < 8 && sqlite_exec(st, store_schema_v8) == -1)
		goto fail;
	if (version < 9 && sqlite_exec(st, store_schema_v9) == -1)
		goto fail;
	if (version < 10 && sqlite_exec(st, store_schema_v10) == -1)
		goto fail;
	if (version < 11 && sqlite_exec(st, store_schema_v11) == -1)
		goto fail;
	if (version < 12 && sqlite_exec(st, store_schema_v12) == -1)
		goto fail;
	if (version < 13 && sqlite_exec(st, store_schema_v13) == -1)
		goto fail;
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
		 STORE_SCHEMA_VERSION);
	if (sqlite_exec(st, sql) == -1 || sqlite_exec(st, "COMMIT") == -1)
		goto fail;
	return 0;
fail:
	sqlite_exec(st, "ROLLBACK");
	return -1;
}

/* The highest id ever given: the greater of what meta remembers and
 * what the jobs table holds. */
static int
sqlite_load_last_id(struct store_backend *st)
{
	sqlite3_stmt *s = st->stmt[ST_LAST_ID];
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		st->last_id = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : sqlite_fail(st, "last id");
}

static int
sqlite_private(const char *db, char *err, size_t errlen)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	char path[4096 + 8];
	struct stat st;
	size_t i;

	for (i = 0; i < nitems(suffixes); i++) {
		snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
		if (lstat(path, &st) == -1) {
			if (errno == ENOENT)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s is not a plain file", path);
			return -1;
		}
		if ((st.st_mode & 077) != 0 && chmod(path, 0600) == -1) {
			snprintf(err, errlen, "chmod %s: %s", path,
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* A commit that makes the WAL longer makes fdatasync write the file's
 * size as well: on a virtio disk, 24 KiB appended and synced took
 * 240-310 us at the median and 0.4-1.5 ms at p99, written within the
 * file 130-150 us and 0.25 ms. SQLite writes the WAL from its start
 * again after each checkpoint, so a daemon that has run a while writes
 * within it; zeros to a checkpoint's length make that so from the
 * first commit. A reader takes frames only up to the first whose
 * checksum fails: zeros past the last frame are never taken for one.
 * Only a speed-up: where the disk has no room, the WAL stays as it was. */
static void
sqlite_presize_wal(struct store_backend *st)
{
	static const char zeros[65536];
	int page, frames, fd;
	off_t want, at;
	ssize_t n;
	struct stat sb;

	if (sqlite_pragma_int(st, "page_size", &page) == -1 ||
	    sqlite_pragma_int(st, "wal_autocheckpoint", &frames) == -1 ||
	    frames <= 0)
		return;
	/* The header, a checkpoint's frames and a turn's more. */
	want = 32 + (off_t)(frames + 64) * (page + 24);
	if ((fd = open(st->wal_path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &sb) == -1 || sb.st_size >= want) {
		close(fd);
		return;
	}
	for (at = sb.st_size; at < want; at += n) {
		n = pwrite(fd, zeros,
			   (size_t)MIN(want - at, (off_t)sizeof zeros), at);
		if (n <= 0)
			break;
	}
	if (at < want || fdatasync(fd) == -1)
		(void)ftruncate(fd, sb.st_size);
	close(fd);
}

int
sqlite_open(struct store_backend **out, const char *dir, bool durable,
	    char *err, size_t errlen)
{
	struct store_backend *st;
	char path[4096];
	int i;

	if ((st = calloc(1, sizeof *st)) == NULL) {
		snprintf(err, errlen, "store: %s", strerror(errno));
		return -1;
	}
	st->wal_fd = -1;
	snprintf(path, sizeof path, "%s/jobs.db", dir);
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 st->db != NULL ? sqlite3_errmsg(st->db)
					: "cannot open");
		sqlite_close(st);
		return -1;
	}
	/* Every job's environment is in there: the store is forqd's alone,
	 * also when an older forqd made it with a wider mode. */
	if (sqlite_private(path, err, errlen) == -1) {
		sqlite_close(st);
		return -1;
	}
	/* Commits are written, not synced: sqlite_sync makes them durable,
	 * so that what a turn starts need not wait for the disk, only what
	 * it acknowledges. */
	st->durable = durable;
	snprintf(st->wal_path, sizeof st->wal_path, "%s-wal", path);
	snprintf(st->dir_path, sizeof st->dir_path, "%s", dir);
	if (sqlite_exec(st, "PRAGMA journal_mode = WAL") == -1 ||
	    sqlite_exec(st, "PRAGMA synchronous = NORMAL") == -1 ||
	    sqlite_exec(st, "PRAGMA busy_timeout = 0") == -1 ||
	    sqlite_migrate(st) == -1)
		goto fail;
	for (i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, sqlite_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
				       NULL) != SQLITE_OK) {
			sqlite_fail(st, sqlite_sql[i]);
			goto fail;
		}
	}
	if (sqlite_load_last_id(st) == -1)
		goto fail;
	/* Its descriptor for sqlite_sync, from the start: one less to make
	 * (and to count) later. */
	if (durable && sqlite_open_wal(st) == -1 && errno != ENOENT)
		goto fail;
	if (durable && st->wal_fd != -1)
		sqlite_presize_wal(st);
	*out = st;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, st->error);
	sqlite_close(st);
	return -1;
}

void
sqlite_close(struct store_backend *st)
{
	int i;

	if (st == NULL)
		return;
	if (st->in_txn)
		sqlite_exec(st, "ROLLBACK");
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	for (i = 0; i < (int)nitems(st->list); i++)
		sqlite3_finalize(st->list[i]);
	for (i = 0; i < (int)nitems(st->clean); i++)
		sqlite3_finalize(st->clean[i]);
	sqlite3_close(st->db);
	if (st->wal_fd != -1)
		close(st->wal_fd);
	free(st);
}

int
sqlite_begin(struct store_backend *st)
{
	if (st->in_txn)
		return 0;
	if (sqlite_step_done(st, st->stmt[ST_BEGIN], "begin") == -1)
		return -1;
	st->in_txn = true;
	return 0;
}

bool
sqlite_dirty(const struct store_backend *st)
{
	return st->in_txn &&
	       sqlite3_txn_state(st->db, NULL) == SQLITE_TXN_WRITE;
}

int
sqlite_commit(struct store_backend *st)
{
	char error[sizeof st->error];
	bool wrote;
	int code;

	if (!st->in_txn && !st->lost_txn)
		return 0;
	/* A change that could not be written fails the whole turn. */
	if (!st->lost_txn && !st->write_failed) {
		/* A turn that only read has nothing to sync. */
		wrote = sqlite3_txn_state(st->db, NULL) == SQLITE_TXN_WRITE;
		if (sqlite_step_done(st, st->stmt[ST_COMMIT], "commit") == 0) {
			st->in_txn = false;
			st->unsynced |= wrote;
			return 0;
		}
	}
	st->in_txn = st->lost_txn = st->write_failed = false;
	/* Keep the first error: it is the one to report. */
	code = st->last_code;
	memcpy(error, st->error, sizeof error);
	if (!sqlite3_get_autocommit(st->db))
		sqlite_exec(st, "ROLLBACK");
	st->last_code = code;
	memcpy(st->error, error, sizeof error);
	return -1;
}

/* The WAL, for sqlite_sync; and its name made durable in the directory. */
static int
sqlite_open_wal(struct store_backend *st)
{
	int dir;

	if ((st->wal_fd =
		 open(st->wal_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(st->error, sizeof st->error, "%s: %s", st->wal_path,
			 strerror(errno));
		return -1;
	}
	if ((dir = open(st->dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
		-1 ||
	    fsync(dir) == -1) {
		snprintf(st->error, sizeof st->error, "fsync %s: %s",
			 st->dir_path, strerror(errno));
		if (dir != -1)
			close(dir);
		return -1;
	}
	close(dir);
	return 0;
}

int
sqlite_sync(struct store_backend *st)
{
	if (!st->unsynced || !st->durable)
		return 0;
	if (st->wal_fd == -1 && sqlite_open_wal(st) == -1)
		return -1;
	if (fdatasync(st->wal_fd) == -1) {
		snprintf(st->error, sizeof st->error, "fdatasync %s: %s",
			 st->wal_path, strerror(errno));
		return -1;
	}
	st->unsynced = false;
	return 0;
}

bool
sqlite_unsynced(const struct store_backend *st)
{
	return st->unsynced && st->durable;
}

bool
sqlite_full(const struct store_backend *st)
{
	return st->last_code == SQLITE_FULL ||
	       (st->last_code & 0xff) == SQLITE_IOERR;
}

void
sqlite_rollback(struct store_backend *st)
{
	st->write_failed = false;
	if (!st->in_txn)
		return;
	st->in_txn = false;
	sqlite_exec(st, "ROLLBACK");
}

/* Runs a statement that returns no rows, then resets it. */
int
sqlite_step_done(struct store_backend *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		st->write_failed = st->in_txn;
		return sqlite_fail(st, what);
	}
	return 0;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .error = sqlite_error,
    .commit = sqlite_commit,
    .sync = sqlite_sync,
    .unsynced = sqlite_unsynced,
    .rollback = sqlite_rollback,
    .dirty = sqlite_dirty,
    .full = sqlite_full,
    .insert = sqlite_insert,
    .insert_as = sqlite_insert_as,
    .forget = sqlite_forget,
    .unique_holder = sqlite_unique_holder,
    .mark_running = sqlite_mark_running,
    .finish = sqlite_finish,
    .cancel = sqlite_cancel,
    .adopted = sqlite_adopted,
    .requeue = sqlite_requeue,
    .retry = sqlite_retry,
    .attempts = sqlite_attempts,
    .get = sqlite_get,
    .list = sqlite_list,
    .pending = sqlite_pending,
    .unfinished = sqlite_unfinished,
    .dependents = sqlite_dependents,
    .deps = sqlite_deps,
    .move = sqlite_move,
    .array_task = sqlite_array_task,
    .array_ids = sqlite_array_ids,
    .array_states = sqlite_array_states,
    .pending_counts = sqlite_pending_counts,
    .waiting = sqlite_waiting,
    .due = sqlite_due,
    .edit = sqlite_edit,
    .set_paused = sqlite_set_paused,
    .paused = sqlite_paused,
    .queued_per_user = sqlite_queued_per_user,
    .recover = sqlite_recover,
    .clean = sqlite_clean,
    .prune = sqlite_prune,
};
