/*
 * Inside the job store, shared by its parts: store.c (the database,
 * its schema, transactions and the redo list that carries acknowledged
 * changes over a failed commit), store_jobs.c (the jobs: insert, state
 * changes, reads, recovery, pruning) and store_sched.c (what the
 * scheduler needs of jobs not started yet).
 */
#ifndef FORQ_STORE_IMPL_H
#define FORQ_STORE_IMPL_H

#include <sqlite3.h>

#include "store/store.h"

/* The WHERE clauses on state keep to job_transition_allowed(): a final
 * state is recorded once and never left, whatever races a cancel, a
 * crash or a late message may run. */
enum store_stmt {
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
	ST_SET_PRIORITY,
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
	ST_RELEASE,
	ST_WAITING_IDS,
	ST_RUNNING_IDS,
	ST_LOST,
	ST_PRUNE_AGE,
	ST_PRUNE_CUTOFF,
	ST_PRUNE_COUNT,
	ST_DELETE,
	ST_LAST_ID,
	ST_SET_LAST_ID,
	ST_ATTEMPT_LOST,
	ST_COUNT,
};

/* Prepared once at open, by index. */
extern const char *const store_sql[ST_COUNT];

/* A change to a job already acknowledged, kept until its transaction
 * commits: when a commit fails (a full disk), these are applied again
 * in the next transaction, so no job's start or end is forgotten. */
enum redo_op {
	REDO_FINISH,
	REDO_REQUEUE,
	REDO_RETRY, /* result: the attempt that ended; start_ns: when next */
};

struct redo {
	enum redo_op op;
	uint64_t id;
	int worker;
	int cpu;
	uint32_t attempt;
	int64_t start_ns;
	struct job_result result;
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	sqlite3_stmt *list[32]; /* store_list's, by filter; made when used */
	sqlite3_stmt *clean[8]; /* store_clean's, likewise */
	bool in_txn;
	bool lost_txn;     /* SQLite rolled back this turn's transaction */
	bool write_failed; /* a write of this turn failed: commit fails */
	bool replaying;
	struct redo *redo;
	size_t nredo;
	size_t redo_cap;
	int last_code;    /* SQLite's result code of the last failure */
	uint64_t last_id; /* the highest id ever given; ids only grow */
	bool durable;     /* store_sync makes commits durable */
	bool unsynced;    /* committed since the last store_sync */
	int wal_fd;       /* for store_sync; -1 until the first */
	char wal_path[4096 + 8];
	char dir_path[4096];
	char error[256];
};

/* Opens the turn's transaction unless one is open. */
int store_begin(struct store *st);
/* Fills st->error with "what: sqlite's message"; returns -1. */
int store_fail(struct store *st, const char *what);
/* Steps a statement that returns no row, and resets it. A failure
 * inside the turn's transaction fails the turn's commit. */
int store_step_done(struct store *st, sqlite3_stmt *s, const char *what);
/* Steps an UPDATE of one job: 0 if it changed a row, 1 if none. */
int store_update_one(struct store *st, sqlite3_stmt *s, const char *what);
/* Keeps a change until its transaction commits (see struct redo). */
int store_remember(struct store *st, const struct redo *r);

#endif
