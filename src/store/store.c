/*
 * The job store, above its backends: the turn's commit contract and
 * the redo list. Every call goes through the backend's table; what a
 * backend cannot know (which changes were already acknowledged, and so
 * must outlive a failed commit) is kept here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/compat.h"
#include "core/metrics.h"
#include "store/store.h"

/* A change to a job already acknowledged, kept until its transaction
 * commits: when a commit fails (a full disk), these are applied again
 * in the next transaction, so no job's end is forgotten. */
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
	const struct store_ops *ops;
	struct store_backend *be;
	struct redo *redo;
	size_t nredo;
	size_t redo_cap;
	bool replaying;
	/* A failed commit's error and whether the disk was full: kept
	 * over the replay that follows, which may fail in its own way. */
	bool failed;
	bool failed_full;
	char error[256];
	/* Turns that wrote something: their commit, and the syncs. */
	struct hist commit_time;
	struct hist sync_time;
	int64_t sync_delay_ns;
	int64_t synced_ns; /* CLOCK_MONOTONIC of the last sync */
};

int
store_open(struct store **out, const char *dir, bool durable, char *err,
	   size_t errlen)
{
	struct store *st;

	if ((st = calloc(1, sizeof *st)) == NULL) {
		snprintf(err, errlen, "store: out of memory");
		return -1;
	}
	hist_init(&st->commit_time, &hist_commit_seconds);
	hist_init(&st->sync_time, &hist_commit_seconds);
	st->ops = &store_sqlite_ops;
	if (st->ops->open(&st->be, dir, durable, err, errlen) == -1) {
		free(st);
		return -1;
	}
	*out = st;
	return 0;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st->be);
	free(st->redo);
	free(st);
}

const char *
store_error(struct store *st)
{
	return st->failed ? st->error : st->ops->error(st->be);
}

bool
store_full(const struct store *st)
{
	return st->failed ? st->failed_full : st->ops->full(st->be);
}

void
store_rollback(struct store *st)
{
	st->ops->rollback(st->be);
}

static int
store_remember(struct store *st, const struct redo *r)
{
	struct redo *more;
	size_t cap;

	if (st->replaying)
		return 0;
	if (st->nredo == st->redo_cap) {
		cap = st->redo_cap == 0 ? 64 : st->redo_cap * 2;
		if ((more = reallocarray(st->redo, cap, sizeof *more)) == NULL)
			return -1;
		st->redo = more;
		st->redo_cap = cap;
	}
	st->redo[st->nredo++] = *r;
	return 0;
}

int
store_finish(struct store *st, uint64_t id, const struct job_result *result)
{
	struct redo r = {.op = REDO_FINISH, .id = id, .result = *result};

	if (store_remember(st, &r) == -1)
		return -1;
	return st->ops->finish(st->be, id, result);
}

int
store_requeue(struct store *st, uint64_t id, uint32_t attempt, int64_t end_ns,
	      const char *why)
{
	struct redo r = {.op = REDO_REQUEUE, .id = id, .attempt = attempt};

	r.result.end_ns = end_ns;
	if (why != NULL)
		strlcpy(r.result.error, why, sizeof r.result.error);
	if (store_remember(st, &r) == -1)
		return -1;
	return st->ops->requeue(st->be, id, attempt, end_ns, why);
}

enum store_result
store_retry(struct store *st, uint64_t id, const struct job_result *result,
	    int worker, int cpu, uint32_t next_attempt, int64_t start_at_ns)
{
	struct redo r = {.op = REDO_RETRY,
			 .id = id,
			 .worker = worker,
			 .cpu = cpu,
			 .attempt = next_attempt,
			 .start_ns = start_at_ns};

	/* A retry by request (no result) is acknowledged only once its
	 * commit succeeds: nothing to redo. */
	if (result != NULL) {
		r.result = *result;
		if (store_remember(st, &r) == -1)
			return STORE_FAILED;
	}
	return st->ops->retry(st->be, id, result, worker, cpu, next_attempt,
			      start_at_ns);
}

/* After a failed commit: the acknowledged changes, once more, in a new
 * transaction (the backend's updates are state-guarded, so applying one
 * twice changes nothing), so that reads see them and the next commit
 * carries them. */
static void
store_replay(struct store *st)
{
	const struct redo *r;
	size_t i;
	int rc = 0;

	st->replaying = true;
	for (i = 0; i < st->nredo && rc != -1; i++) {
		r = &st->redo[i];
		switch (r->op) {
		case REDO_FINISH:
			rc = store_finish(st, r->id, &r->result);
			break;
		case REDO_REQUEUE:
			rc = store_requeue(st, r->id, r->attempt,
					   r->result.end_ns,
					   r->result.error[0] != '\0'
					       ? r->result.error
					       : NULL);
			break;
		case REDO_RETRY:
			rc = store_retry(st, r->id, &r->result, r->worker,
					 r->cpu, r->attempt, r->start_ns);
			break;
		}
	}
	st->replaying = false;
}

int
store_commit(struct store *st)
{
	bool wrote = st->ops->dirty(st->be);
	int64_t t0 = clock_mono_ns();

	if (st->ops->commit(st->be) == 0) {
		if (wrote)
			hist_observe(&st->commit_time,
				     (double)(clock_mono_ns() - t0) / 1e9);
		st->nredo = 0;
		st->failed = false;
		return 0;
	}
	/* Keep the first error: it is the one to report. */
	st->failed = true;
	st->failed_full = st->ops->full(st->be);
	strlcpy(st->error, st->ops->error(st->be), sizeof st->error);
	if (st->nredo > 0)
		store_replay(st);
	return -1;
}

int
store_sync(struct store *st)
{
	bool due = st->ops->unsynced(st->be);
	int64_t t0 = clock_mono_ns();
	int rc = st->ops->sync(st->be);

	if (rc == 0 && due) {
		st->synced_ns = clock_mono_ns();
		hist_observe(&st->sync_time,
			     (double)(st->synced_ns - t0) / 1e9);
	}
	return rc;
}

void
store_set_sync_delay(struct store *st, int64_t delay_ms)
{
	st->sync_delay_ns = delay_ms * NS_PER_MS;
}

int
store_sync_due_ms(const struct store *st, int64_t now_ns)
{
	int64_t left;

	if (!st->ops->unsynced(st->be))
		return -1;
	left = st->synced_ns + st->sync_delay_ns - now_ns;
	return left <= 0 ? 0 : (int)((left + NS_PER_MS - 1) / NS_PER_MS);
}

void
store_metrics(const struct store *st, struct om *om)
{
	om_family(om, "forq_store_commit_seconds", OM_HISTOGRAM, "seconds",
		  "How long the store took to commit a turn that changed it.");
	om_hist(om, "forq_store_commit_seconds", NULL, 0, &st->commit_time);
	om_family(om, "forq_store_sync_seconds", OM_HISTOGRAM, "seconds",
		  "How long the store took to make its commits durable "
		  "(fdatasync; durability = full).");
	om_hist(om, "forq_store_sync_seconds", NULL, 0, &st->sync_time);
}

bool
store_unsynced(const struct store *st)
{
	return st->ops->unsynced(st->be);
}

bool
store_dirty(const struct store *st)
{
	return st->ops->dirty(st->be);
}

int
store_insert(struct store *st, const struct job_spec *specs, size_t n,
	     uid_t uid, gid_t gid, int64_t submit_ns, uint64_t *ids,
	     bool *existing)
{
	return st->ops->insert(st->be, specs, n, uid, gid, submit_ns, ids,
			       existing);
}

int
store_insert_as(struct store *st, const struct store_job *job)
{
	return st->ops->insert_as(st->be, job);
}

enum store_result
store_forget(struct store *st, uint64_t id)
{
	return st->ops->forget(st->be, id);
}

enum store_result
store_unique_holder(struct store *st, uid_t uid, const char *key, uint64_t *id)
{
	return st->ops->unique_holder(st->be, uid, key, id);
}

int
store_mark_running(struct store *st, uint64_t id, int worker, int cpu,
		   uint32_t attempt, int64_t start_ns, const char *res_given)
{
	return st->ops->mark_running(st->be, id, worker, cpu, attempt, start_ns,
				     res_given);
}

int
store_cancel(struct store *st, uint64_t id, int64_t end_ns)
{
	return st->ops->cancel(st->be, id, end_ns);
}

int
store_adopted(struct store *st, uint64_t id, uint32_t attempt, int64_t ns)
{
	return st->ops->adopted(st->be, id, attempt, ns);
}

int
store_attempts(struct store *st, uint64_t id,
	       int (*fn)(void *arg, const struct store_attempt *a), void *arg)
{
	return st->ops->attempts(st->be, id, fn, arg);
}

enum store_result
store_get(struct store *st, uint64_t id, struct store_job *job)
{
	return st->ops->get(st->be, id, job);
}

int
store_list(struct store *st, const struct store_filter *filter, uint32_t limit,
	   int (*fn)(void *arg, const struct store_job *job), void *arg)
{
	return st->ops->list(st->be, filter, limit, fn, arg);
}

int
store_pending(struct store *st,
	      int (*fn)(void *arg, const struct store_pending *job), void *arg)
{
	return st->ops->pending(st->be, fn, arg);
}

int
store_unfinished(struct store *st, uid_t uid, const char *queue, uint64_t **ids,
		 size_t *n)
{
	return st->ops->unfinished(st->be, uid, queue, ids, n);
}

int
store_dependents(struct store *st, uint64_t dep, uint64_t **ids, size_t *n)
{
	return st->ops->dependents(st->be, dep, ids, n);
}

int
store_deps(struct store *st, uint64_t job, uint64_t **ids,
	   enum job_state **states, size_t *n)
{
	return st->ops->deps(st->be, job, ids, states, n);
}

enum store_result
store_array_task(struct store *st, uint64_t array_id, uint32_t index,
		 uint64_t *id)
{
	return st->ops->array_task(st->be, array_id, index, id);
}

int
store_array_ids(struct store *st, uint64_t array_id, uint64_t **ids, size_t *n)
{
	return st->ops->array_ids(st->be, array_id, ids, n);
}

int
store_array_states(struct store *st, uint64_t array_id,
		   uint64_t counts[JOB_STATE_COUNT])
{
	return st->ops->array_states(st->be, array_id, counts);
}

int
store_pending_counts(struct store *st,
		     int (*fn)(void *arg, const char *queue,
			       enum job_state state, uint64_t n),
		     void *arg)
{
	return st->ops->pending_counts(st->be, fn, arg);
}

enum store_result
store_move(struct store *st, uint64_t id, enum job_state from,
	   enum job_state to)
{
	return st->ops->move(st->be, id, from, to);
}

int
store_waiting(struct store *st, uint64_t **ids, size_t *n)
{
	return st->ops->waiting(st->be, ids, n);
}

enum store_result
store_due(struct store *st, uint64_t id, int64_t now_ns)
{
	return st->ops->due(st->be, id, now_ns);
}

enum store_result
store_edit(struct store *st, uint64_t id, const struct job_edit *e)
{
	return st->ops->edit(st->be, id, e);
}

int
store_set_paused(struct store *st, const char *queue, bool paused)
{
	return st->ops->set_paused(st->be, queue, paused);
}

int
store_paused(struct store *st, int (*fn)(void *arg, const char *queue),
	     void *arg)
{
	return st->ops->paused(st->be, fn, arg);
}

int
store_queued_per_user(struct store *st,
		      int (*fn)(void *arg, uid_t uid, uint64_t n), void *arg)
{
	return st->ops->queued_per_user(st->be, fn, arg);
}

int
store_recover(struct store *st, uint32_t requeue_max, int64_t now_ns,
	      const uint64_t *keep, size_t nkeep, struct store_recovery *rec)
{
	return st->ops->recover(st->be, requeue_max, now_ns, keep, nkeep, rec);
}

int
store_clean(struct store *st, const struct store_filter *filter,
	    int64_t end_before_ns, uint32_t max,
	    void (*fn)(void *arg, uint64_t id), void *arg)
{
	return st->ops->clean(st->be, filter, end_before_ns, max, fn, arg);
}

int
store_prune(struct store *st, int64_t end_before_ns, uint64_t keep_count,
	    uint32_t max, void (*fn)(void *arg, uint64_t id), void *arg)
{
	return st->ops->prune(st->be, end_before_ns, keep_count, max, fn, arg);
}
