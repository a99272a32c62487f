/*
 * The SQLite backend of the job store, shared by its parts: sqlite.c
 * (the database, its schema, transactions and durability), sqlite_jobs.c
 * (the jobs: insert, state changes, reads, recovery, pruning) and
 * sqlite_sched.c (what the scheduler needs of jobs not started yet).
 * The store reaches it only through store_sqlite_ops.
 */
#ifndef FORQ_STORE_SQLITE_H
#define FORQ_STORE_SQLITE_H

#include <sqlite3.h>

#include "store/store.h"

/* The WHERE clauses on state keep to job_transition_allowed(): a final
 * state is recorded once and never left, whatever races a cancel, a
 * crash or a late message may run. */
enum sqlite_stmt {
	ST_ENV_FIND,
	ST_ENV_INSERT,
	ST_ENV_REF,
	ST_ENV_UNREF,
	ST_ENV_DROP,
	ST_INSERT,
	ST_UNIQUE_FIND,
	ST_RUNNING,
	ST_FINISH,
	ST_REQUEUE,
	ST_GET,
	ST_PENDING,
	ST_QUEUED_UID,
	ST_DUE,
	ST_EDIT,
	ST_PAUSE,
	ST_RESUME,
	ST_PAUSED,
	ST_UNFINISHED,
	ST_ATTEMPT_ADD,
	ST_ATTEMPT_COPY,
	ST_RETRY,
	ST_ATTEMPTS,
	ST_ATTEMPTS_DROP,
	ST_DEP_ADD,
	ST_DEPENDENTS,
	ST_DEP_STATES,
	ST_DEPS_DROP,
	ST_MOVE,
	ST_ARRAY_TASK,
	ST_ARRAY_IDS,
	ST_ARRAY_STATES,
	ST_PENDING_COUNTS,
	ST_WAITING_IDS,
	ST_RUNNING_IDS,
	ST_LOST,
	ST_PRUNE_AGE,
	ST_PRUNE_CUTOFF,
	ST_PRUNE_COUNT,
	ST_DELETE,
	ST_ENV_OF,
	ST_LAST_ID,
	ST_SET_LAST_ID,
	ST_ATTEMPT_LOST,
	ST_ADOPTED,
	ST_BEGIN,
	ST_COMMIT,
	ST_COUNT,
};

/* Prepared once at open, by index. */
extern const char *const sqlite_sql[ST_COUNT];

/* A whole job's columns, in the order sqlite_read.c reads them, and the
 * tables' join; a statement that reads jobs goes on with its WHERE. */
#define JOB_COLUMNS                                                            \
	"j.id, j.state, j.name, j.uid, j.gid, j.argv, j.argc, e.data, "        \
	"j.envc, "                                                             \
	"j.cwd, j.timeout_ms, j.submit_ns, j.start_ns, j.end_ns, "             \
	"j.exit_code, "                                                        \
	"j.signal, j.error, j.user_us, j.sys_us, j.maxrss_kb, j.worker, "      \
	"j.cpu, j.attempt, j.queue, j.priority, j.start_at_ns, j.retries, "    \
	"j.retry_delay_ms, j.retry_on, j.after_mode, j.unique_key, "           \
	"j.on_finish, j.procs, j.mem, j.cpus, j.adopted_ns, j.array_id, "      \
	"j.array_index, j.array_max, j.stdout_path, j.stderr_path, "           \
	"j.stdin_path, j.append, j.file_umask, j.res, j.res_given "            \
	"FROM jobs j JOIN envs e ON e.id = j.env_id "

struct store_backend {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	sqlite3_stmt *list[64]; /* sqlite_list's, by filter; made when used */
	sqlite3_stmt *clean[8]; /* sqlite_clean's, likewise */
	bool in_txn;
	bool lost_txn;     /* SQLite rolled back this turn's transaction */
	bool write_failed; /* a write of this turn failed: commit fails */
	int last_code;     /* SQLite's result code of the last failure */
	uint64_t last_id;  /* the highest id ever given; ids only grow */
	bool durable;      /* sqlite_sync makes commits durable */
	bool unsynced;     /* committed since the last sqlite_sync */
	int wal_fd;        /* for sqlite_sync; -1 until the first */
	char wal_path[4096 + 8];
	char dir_path[4096];
	char error[256];
};

/* Opens the turn's transaction unless one is open. Reads join it too:
 * a statement outside a transaction takes and drops the WAL's read
 * lock itself (three to five fcntl a time), and a wait for a batch
 * reads every job of it. A turn that only read commits nothing. */
int sqlite_begin(struct store_backend *st);
/* Fills st->error with "what: sqlite's message"; returns -1. */
int sqlite_fail(struct store_backend *st, const char *what);
/* Steps a statement that returns no row, and resets it. A failure
 * inside the turn's transaction fails the turn's commit. */
int sqlite_step_done(struct store_backend *st, sqlite3_stmt *s,
		     const char *what);
/* A one-row SELECT's step: a row is STORE_OK, none STORE_NO_MATCH,
 * anything else a failure of what. */
enum store_result sqlite_found(struct store_backend *st, int rc,
			       const char *what);
/* Steps an UPDATE of one job: STORE_NO_MATCH if it changed no row. */
enum store_result sqlite_update_one(struct store_backend *st, sqlite3_stmt *s,
				    const char *what);

/* The backend's side of struct store_ops (store.h). */
int sqlite_open(struct store_backend **be, const char *dir, bool durable,
		char *err, size_t errlen);
void sqlite_close(struct store_backend *be);
const char *sqlite_error(struct store_backend *be);
int sqlite_commit(struct store_backend *be);
int sqlite_sync(struct store_backend *be);
bool sqlite_unsynced(const struct store_backend *be);
void sqlite_rollback(struct store_backend *be);
bool sqlite_dirty(const struct store_backend *be);
bool sqlite_full(const struct store_backend *be);
int sqlite_insert_as(struct store_backend *be, const struct store_job *job);
enum store_result sqlite_forget(struct store_backend *be, uint64_t id);
int sqlite_insert(struct store_backend *be, const struct job_spec *specs,
		  size_t n, uid_t uid, gid_t gid, int64_t submit_ns,
		  uint64_t *ids, bool *existing);
enum store_result sqlite_unique_holder(struct store_backend *be, uid_t uid,
				       const char *key, uint64_t *id);
int sqlite_mark_running(struct store_backend *be, uint64_t id, int worker,
			int cpu, uint32_t attempt, int64_t start_ns,
			const char *res_given);
int sqlite_finish(struct store_backend *be, uint64_t id,
		  const struct job_result *result);
int sqlite_cancel(struct store_backend *be, uint64_t id, int64_t end_ns);
int sqlite_adopted(struct store_backend *be, uint64_t id, uint32_t attempt,
		   int64_t ns);
int sqlite_requeue(struct store_backend *be, uint64_t id, uint32_t attempt,
		   int64_t end_ns, const char *why);
enum store_result sqlite_retry(struct store_backend *be, uint64_t id,
			       const struct job_result *result, int worker,
			       int cpu, uint32_t next_attempt,
			       int64_t start_at_ns);
int sqlite_attempts(struct store_backend *be, uint64_t id,
		    int (*fn)(void *arg, const struct store_attempt *a),
		    void *arg);
enum store_result sqlite_get(struct store_backend *be, uint64_t id,
			     struct store_job *job);
int sqlite_list(struct store_backend *be, const struct store_filter *filter,
		uint32_t limit,
		int (*fn)(void *arg, const struct store_job *job), void *arg);
int sqlite_pending(struct store_backend *be,
		   int (*fn)(void *arg, const struct store_pending *job),
		   void *arg);
int sqlite_unfinished(struct store_backend *be, uid_t uid, const char *queue,
		      uint64_t **ids, size_t *n);
int sqlite_dependents(struct store_backend *be, uint64_t dep, uint64_t **ids,
		      size_t *n);
int sqlite_deps(struct store_backend *be, uint64_t job, uint64_t **ids,
		enum job_state **states, size_t *n);
enum store_result sqlite_array_task(struct store_backend *be, uint64_t array_id,
				    uint32_t index, uint64_t *id);
int sqlite_pending_counts(struct store_backend *be,
			  int (*fn)(void *arg, const char *queue,
				    enum job_state state, uint64_t n),
			  void *arg);
int sqlite_array_states(struct store_backend *be, uint64_t array_id,
			uint64_t counts[JOB_STATE_COUNT]);
int sqlite_array_ids(struct store_backend *be, uint64_t array_id,
		     uint64_t **ids, size_t *n);
enum store_result sqlite_move(struct store_backend *be, uint64_t id,
			      enum job_state from, enum job_state to);
int sqlite_waiting(struct store_backend *be, uint64_t **ids, size_t *n);
enum store_result sqlite_due(struct store_backend *be, uint64_t id,
			     int64_t now_ns);
enum store_result sqlite_edit(struct store_backend *be, uint64_t id,
			      const struct job_edit *e);
int sqlite_set_paused(struct store_backend *be, const char *queue, bool paused);
int sqlite_paused(struct store_backend *be,
		  int (*fn)(void *arg, const char *queue), void *arg);
int sqlite_queued_per_user(struct store_backend *be,
			   int (*fn)(void *arg, uid_t uid, uint64_t n),
			   void *arg);
int sqlite_recover(struct store_backend *be, uint32_t requeue_max,
		   int64_t now_ns, const uint64_t *keep, size_t nkeep,
		   struct store_recovery *rec);
int sqlite_clean(struct store_backend *be, const struct store_filter *filter,
		 int64_t end_before_ns, uint32_t max,
		 void (*fn)(void *arg, uint64_t id), void *arg);
int sqlite_prune(struct store_backend *be, int64_t end_before_ns,
		 uint64_t keep_count, uint32_t max,
		 void (*fn)(void *arg, uint64_t id), void *arg);

#endif
