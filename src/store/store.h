/*
 * The job store: SQLite in WAL mode under the state directory, written
 * only by the supervisor. Writes of one loop turn share a transaction
 * that store_commit ends and store_sync makes durable, so concurrent
 * submitters share one fsync; nothing is acknowledged before it. Every query is
 * by key or by index: none scans all jobs.
 */
#ifndef FORQ_STORE_H
#define FORQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/job.h"

/* Bump with a migration in store.c's store_migrate(). */
#define STORE_SCHEMA_VERSION 13

struct store;

/* What a call about one job found, where "not there" is an answer and
 * not a failure. */
enum store_result {
	STORE_FAILED = -1,  /* store_error() says why */
	STORE_OK = 0,       /* found (and, for a change, changed) */
	STORE_NO_MATCH = 1, /* no such job, or not in the state it needs */
};

/* One job as stored; strings are owned and freed by store_job_free. */
struct store_job {
	uint64_t id;
	enum job_state state;
	char *name;
	uid_t uid;
	gid_t gid;
	struct job_spec spec; /* argv, env, cwd, name, timeout, queue,
				 priority, start_at */
	int64_t submit_ns;
	uint32_t attempt;
	int worker;
	int cpu;
	struct job_result result;
	int64_t adopted_ns; /* CLOCK_REALTIME; 0: this attempt was not */
	uint64_t array_id;  /* its array's first task; 0: not of an array */
	uint32_t array_index;
	uint32_t array_max; /* tasks of its array running at once; 0: any */
	char *res_given;    /* running: what of [resources] it was given */
};

struct store_recovery {
	uint64_t requeued;
	uint64_t lost;
};

int store_open(struct store **store, const char *dir, bool durable, char *err,
	       size_t errlen);
void store_close(struct store *store);
const char *store_error(struct store *store);

/* Ends this turn's transaction; -1 if the commit failed, or a write of
 * the turn did (then nothing of the turn is durable and the caller
 * must not acknowledge it; the changes already acknowledged, a job's
 * end, are carried into the next transaction). */
int store_commit(struct store *store);
/* Makes what was committed durable (durability = full): the commit
 * only writes, so that a turn's starts go out before the disk is done
 * (a crash of forqd keeps what was written; an (id, attempt) never runs
 * twice), while its acknowledgements wait for this. -1 if the disk
 * failed: what was committed may be lost. */
int store_sync(struct store *store);
/* Something committed is not yet synced. */
bool store_unsynced(const struct store *store);
/* What nothing owed to a client waits for (a job's start or end) is
 * made durable at most delay_ms after the last sync: many turns share
 * one fsync. */
void store_set_sync_delay(struct store *store, int64_t delay_ms);
/* Milliseconds until such a sync is due (0: now); -1: nothing to sync. */
int store_sync_due_ms(const struct store *store, int64_t now_ns);
void store_rollback(struct store *store);
bool store_dirty(const struct store *store);
/* The last failure was the disk's: full, or an I/O error writing. */
bool store_full(const struct store *store);

/* Attempt attempt of running job id runs on in a worker this forqd took
 * on from a previous one (at ns, CLOCK_REALTIME; the first time counts).
 * Not kept for a redo: a mark a failed commit loses costs only what
 * status says. */
int store_adopted(struct store *st, uint64_t id, uint32_t attempt, int64_t ns);
/* Stores jobs, one id each in ids (an array, one for each task, in a
 * row: the first is the array's id). A job whose unique key a job of
 * the same user not ended yet holds is not stored: its id is that
 * job's, and existing (when not NULL) says so. */
int store_insert(struct store *store, const struct job_spec *specs, size_t n,
		 uid_t uid, gid_t gid, int64_t submit_ns, uint64_t *ids,
		 bool *existing);
/* A job of a cluster's queue that this node claimed, stored under the
 * cluster's id and attempt (and, a task, its array's id, index and
 * limit), queued (spec without unique key or dependencies: the
 * cluster's database kept those). A stale row of the same id (an end
 * that was never recorded there) is replaced. */
int store_insert_as(struct store *store, const struct store_job *job);
/* A job is gone from this store (its record is the cluster's now):
 * STORE_NO_MATCH if there is no such job. */
enum store_result store_forget(struct store *store, uint64_t id);
/* The job not ended of this user that holds key: STORE_OK and *id. */
enum store_result store_unique_holder(struct store *store, uid_t uid,
				      const char *key, uint64_t *id);
/* res_given: the [resources] it was given (res_grant_format), or NULL. */
int store_mark_running(struct store *store, uint64_t id, int worker, int cpu,
		       uint32_t attempt, int64_t start_ns,
		       const char *res_given);
int store_finish(struct store *store, uint64_t id,
		 const struct job_result *result);
/* A job not started yet is cancelled at end_ns: 0, or -1 (and the
 * turn's commit fails; the cancel is not carried out later). */
int store_cancel(struct store *store, uint64_t id, int64_t end_ns);
/* A running job that will not report its end runs again as attempt;
 * the attempt before is kept as lost, ended at end_ns, with why (NULL:
 * it never started, and attempt is the same again). */
int store_requeue(struct store *store, uint64_t id, uint32_t attempt,
		  int64_t end_ns, const char *why);
/* Another attempt of a running job that ended with result (worker,
 * cpu: where it ran), or of a job that has ended (result NULL: its
 * recorded end): the attempt's end is kept in the attempts, and the
 * job is queued again as next_attempt, or scheduled for start_at_ns
 * when that is not 0 (STORE_NO_MATCH: the job was in neither state). */
enum store_result store_retry(struct store *store, uint64_t id,
			      const struct job_result *result, int worker,
			      int cpu, uint32_t next_attempt,
			      int64_t start_at_ns);

/* One attempt before a job's last (the last is the job's own). */
struct store_attempt {
	uint32_t attempt; /* 0: the first */
	struct job_result result;
	int worker;
	int cpu;
};

int store_attempts(struct store *store, uint64_t id,
		   int (*fn)(void *arg, const struct store_attempt *a),
		   void *arg);

enum store_result store_get(struct store *store, uint64_t id,
			    struct store_job *job);
void store_job_free(struct store_job *job);
/* A job's --stdout or --stderr file (which: 0 or 1), its pattern
 * expanded under the job's cwd: 0, or -1 if it names none or the path
 * does not fit len. */
int store_job_file_path(const struct store_job *job, int which, char *buf,
			size_t len);
/* That file opened for reading as the job's user opens it (created if
 * create, as the worker would), a plain file only, never blocking: -1
 * if it has none or it cannot be opened. */
int store_job_file_open(const struct store_job *job, int which, bool create);

/* What to list: state < 0 for any state, uid < 0 for any user, NULL
 * queue or name for any; before: only ids below it (0: any). */
struct store_filter {
	int state;
	int64_t uid;
	const char *queue;
	const char *name;
	uint64_t before;
	uint64_t array; /* its tasks only; 0: any job */
};

/* Newest first, by index whatever the filter. Calls fn for each; stops
 * early if fn returns non-zero. */
int store_list(struct store *store, const struct store_filter *filter,
	       uint32_t limit,
	       int (*fn)(void *arg, const struct store_job *job), void *arg);
/* A job not yet started, as the scheduler needs it. */
struct store_pending {
	uint64_t id;
	enum job_state state; /* queued or scheduled */
	uint32_t attempt;
	uid_t uid;
	const char *queue;
	int32_t priority;
	int64_t start_at_ns;
	uint64_t array_id; /* 0: not a task of an array */
	uint32_t array_max;
};

/* Every queued and scheduled job, oldest first. */
int store_pending(struct store *store,
		  int (*fn)(void *arg, const struct store_pending *job),
		  void *arg);
/* The ids of a user's jobs not ended yet (in one queue, unless NULL);
 * *ids is malloc'd. */
int store_unfinished(struct store *store, uid_t uid, const char *queue,
		     uint64_t **ids, size_t *n);
/* The jobs waiting for dep (some may have ended since). */
int store_dependents(struct store *store, uint64_t dep, uint64_t **ids,
		     size_t *n);
/* The jobs job waits for, and their states, by id; both malloc'd. */
int store_deps(struct store *store, uint64_t job, uint64_t **ids,
	       enum job_state **states, size_t *n);
/* A job not started moves from one pending state to another: waiting
 * on to queued or scheduled, into held and out of it; STORE_NO_MATCH
 * if it was not in from (it moved meanwhile). */
enum store_result store_move(struct store *store, uint64_t id,
			     enum job_state from, enum job_state to);
/* The task of an array (named by its first task's id) with that index;
 * and every task's id, by index (malloc'd; none: not an array's id). */
enum store_result store_array_task(struct store *store, uint64_t array_id,
				   uint32_t index, uint64_t *id);
int store_array_ids(struct store *store, uint64_t array_id, uint64_t **ids,
		    size_t *n);
/* How many of an array's tasks are in each state. */
int store_array_states(struct store *store, uint64_t array_id,
		       uint64_t counts[JOB_STATE_COUNT]);
/* How many jobs wait, are scheduled or held, by queue and state: fn
 * once for each pair there are any of (its -1 stops the count). */
int store_pending_counts(struct store *store,
			 int (*fn)(void *arg, const char *queue,
				   enum job_state state, uint64_t n),
			 void *arg);
struct om;
/* The store's metrics: how long its commits and syncs take. */
void store_metrics(const struct store *store, struct om *om);
/* Every waiting job's id; malloc'd. */
int store_waiting(struct store *store, uint64_t **ids, size_t *n);
/* A scheduled job's time has come (its start time is now_ns or
 * before): it is queued; STORE_NO_MATCH if it was not scheduled
 * (cancelled meanwhile) or is not yet due. */
enum store_result store_due(struct store *store, uint64_t id, int64_t now_ns);
/* A job not started (waiting, scheduled, queued, held) changes as e
 * says; its state stays (the caller moves it if its start time calls
 * for it). STORE_NO_MATCH if the job is past those states. */
enum store_result store_edit(struct store *store, uint64_t id,
			     const struct job_edit *e);
/* Paused queues ("*": all of them), kept across restarts. */
int store_set_paused(struct store *store, const char *queue, bool paused);
int store_paused(struct store *store, int (*fn)(void *arg, const char *queue),
		 void *arg);
/* How many jobs each user has queued (a scan: for recounting only). */
int store_queued_per_user(struct store *store,
			  int (*fn)(void *arg, uid_t uid, uint64_t n),
			  void *arg);
/* After a crash: running jobs are re-queued while their attempt count
 * is under requeue_max (or under their own retries when they are to be
 * retried after being lost), else marked lost; but not those in keep
 * (ascending: jobs that run on, held by a worker this forqd adopted). */
int store_recover(struct store *store, uint32_t requeue_max, int64_t now_ns,
		  const uint64_t *keep, size_t nkeep,
		  struct store_recovery *rec);
/* Deletes up to max ended jobs, oldest first, in the filter's state
 * (an ended one, or any) and of its uid (or any), that ended before
 * end_before_ns (unless 0); fn sees each id first (to remove its logs).
 * Returns how many were deleted: max means there may be more. */
int store_clean(struct store *store, const struct store_filter *filter,
		int64_t end_before_ns, uint32_t max,
		void (*fn)(void *arg, uint64_t id), void *arg);
/* Deletes up to max finished jobs that ended before end_before_ns or
 * fall outside the newest keep_count finished jobs (the count is a hard
 * bound on the store's size: it may take jobs younger than the age); fn sees
 * each id first (to remove its logs). Returns how many were deleted. */
int store_prune(struct store *store, int64_t end_before_ns, uint64_t keep_count,
		uint32_t max, void (*fn)(void *arg, uint64_t id), void *arg);

/*
 * A store backend: the table of what a database does for forq, filled
 * by each (SQLite now, PostgreSQL next), as Redis fills a
 * ConnectionType. The store (store.c) calls only through it, and keeps
 * above every backend the contract that nothing is acknowledged before
 * its commit and that a failed commit redoes what was acknowledged.
 * Each call has the meaning of the store_ function of the same name.
 */
struct store_backend;

struct store_ops {
	const char *name;
	int (*open)(struct store_backend **be, const char *dir, bool durable,
		    char *err, size_t errlen);
	void (*close)(struct store_backend *be);
	const char *(*error)(struct store_backend *be);
	int (*commit)(struct store_backend *be);
	int (*sync)(struct store_backend *be);
	bool (*unsynced)(const struct store_backend *be);
	void (*rollback)(struct store_backend *be);
	bool (*dirty)(const struct store_backend *be);
	bool (*full)(const struct store_backend *be);
	int (*insert)(struct store_backend *be, const struct job_spec *specs,
		      size_t n, uid_t uid, gid_t gid, int64_t submit_ns,
		      uint64_t *ids, bool *existing);
	int (*insert_as)(struct store_backend *be, const struct store_job *job);
	enum store_result (*forget)(struct store_backend *be, uint64_t id);
	enum store_result (*unique_holder)(struct store_backend *be, uid_t uid,
					   const char *key, uint64_t *id);
	int (*mark_running)(struct store_backend *be, uint64_t id, int worker,
			    int cpu, uint32_t attempt, int64_t start_ns,
			    const char *res_given);
	int (*finish)(struct store_backend *be, uint64_t id,
		      const struct job_result *result);
	int (*cancel)(struct store_backend *be, uint64_t id, int64_t end_ns);
	int (*adopted)(struct store_backend *be, uint64_t id, uint32_t attempt,
		       int64_t ns);
	int (*requeue)(struct store_backend *be, uint64_t id, uint32_t attempt,
		       int64_t end_ns, const char *why);
	enum store_result (*retry)(struct store_backend *be, uint64_t id,
				   const struct job_result *result, int worker,
				   int cpu, uint32_t next_attempt,
				   int64_t start_at_ns);
	int (*attempts)(struct store_backend *be, uint64_t id,
			int (*fn)(void *arg, const struct store_attempt *a),
			void *arg);
	enum store_result (*get)(struct store_backend *be, uint64_t id,
				 struct store_job *job);
	int (*list)(struct store_backend *be, const struct store_filter *filter,
		    uint32_t limit,
		    int (*fn)(void *arg, const struct store_job *job),
		    void *arg);
	int (*pending)(struct store_backend *be,
		       int (*fn)(void *arg, const struct store_pending *job),
		       void *arg);
	int (*unfinished)(struct store_backend *be, uid_t uid,
			  const char *queue, uint64_t **ids, size_t *n);
	int (*dependents)(struct store_backend *be, uint64_t dep,
			  uint64_t **ids, size_t *n);
	int (*deps)(struct store_backend *be, uint64_t job, uint64_t **ids,
		    enum job_state **states, size_t *n);
	enum store_result (*array_task)(struct store_backend *be,
					uint64_t array_id, uint32_t index,
					uint64_t *id);
	int (*array_ids)(struct store_backend *be, uint64_t array_id,
			 uint64_t **ids, size_t *n);
	int (*pending_counts)(struct store_backend *be,
			      int (*fn)(void *arg, const char *queue,
					enum job_state state, uint64_t n),
			      void *arg);
	int (*array_states)(struct store_backend *be, uint64_t array_id,
			    uint64_t counts[JOB_STATE_COUNT]);
	enum store_result (*move)(struct store_backend *be, uint64_t id,
				  enum job_state from, enum job_state to);
	int (*waiting)(struct store_backend *be, uint64_t **ids, size_t *n);
	enum store_result (*due)(struct store_backend *be, uint64_t id,
				 int64_t now_ns);
	enum store_result (*edit)(struct store_backend *be, uint64_t id,
				  const struct job_edit *e);
	int (*set_paused)(struct store_backend *be, const char *queue,
			  bool paused);
	int (*paused)(struct store_backend *be,
		      int (*fn)(void *arg, const char *queue), void *arg);
	int (*queued_per_user)(struct store_backend *be,
			       int (*fn)(void *arg, uid_t uid, uint64_t n),
			       void *arg);
	int (*recover)(struct store_backend *be, uint32_t requeue_max,
		       int64_t now_ns, const uint64_t *keep, size_t nkeep,
		       struct store_recovery *rec);
	int (*clean)(struct store_backend *be,
		     const struct store_filter *filter, int64_t end_before_ns,
		     uint32_t max, void (*fn)(void *arg, uint64_t id),
		     void *arg);
	int (*prune)(struct store_backend *be, int64_t end_before_ns,
		     uint64_t keep_count, uint32_t max,
		     void (*fn)(void *arg, uint64_t id), void *arg);
};

/* The backends there are. */
extern const struct store_ops store_sqlite_ops;

#endif
