/*
 * What users change of jobs not started, and ask of ended ones: hold,
 * release, cancel, edit (forq set), retry. Each changes the store
 * first; the run queue and the due heap follow, their old entries left
 * to be skipped as stale.
 */
#include <stdlib.h>

#include "common/clock.h"
#include "common/log.h"
#include "core/runq.h"
#include "core/usercount.h"
#include "store/store.h"
#include "engine/jobs.h"
#include "engine/jobs_int.h"

/* A queued job's entry in the runq is to be skipped now. */
static void
jobs_went_stale(struct jobs *j, const struct store_job *job)
{
	int q;

	if (job->state == JOB_QUEUED && (q = jobs_queue_of_job(j, job)) != -1)
		runq_went_stale(j->runq, q);
}

enum store_result
jobs_hold(struct jobs *j, const struct store_job *job)
{
	enum store_result rc;

	if (job->state == JOB_HELD)
		return STORE_OK;
	if (!job_state_pending(job->state))
		return STORE_NO_MATCH;
	if ((rc = store_move(j->store, job->id, job->state, JOB_HELD)) ==
	    STORE_OK) {
		if (job->state == JOB_WAITING)
			j->nwaiting--;
		jobs_went_stale(j, job);
		log_info("job %llu: held", (unsigned long long)job->id);
	}
	return rc;
}

enum store_result
jobs_release(struct jobs *j, const struct store_job *job, enum job_state *state)
{
	enum job_state *dep_states;
	enum store_result rc;
	uint64_t *deps;
	size_t ndeps;
	int q = 0;

	if (job->state != JOB_HELD)
		return STORE_NO_MATCH;
	/* A stored job's dependencies are the store's, not its spec's. */
	if (store_deps(j->store, job->id, &deps, &dep_states, &ndeps) == -1)
		return STORE_FAILED;
	free(deps);
	free(dep_states);
	*state = ndeps > 0
		     ? JOB_WAITING
		     : job_pending_state(&job->spec, clock_real_ns(), false);
	if (*state == JOB_QUEUED && (q = jobs_queue_of_job(j, job)) == -1)
		return STORE_FAILED;
	if ((rc = store_move(j->store, job->id, JOB_HELD, *state)) != STORE_OK)
		return rc;
	log_info("job %llu: released, %s", (unsigned long long)job->id,
		 job_state_name(*state));
	switch (*state) {
	case JOB_WAITING:
		j->nwaiting++;
		jobs_push_unsettled(j, job->id);
		return STORE_OK;
	case JOB_SCHEDULED:
		return jobs_schedule(j, job->id, job->spec.start_at_ns) == -1
			   ? STORE_FAILED
			   : STORE_OK;
	default:
		return jobs_fresh(j, q, job->uid, job->id, job->spec.priority,
				  job->attempt) == -1
			   ? STORE_FAILED
			   : STORE_OK;
	}
}

enum jobs_cancel
jobs_cancel(struct jobs *j, uint64_t id, enum job_state *state)
{
	struct store_job job;
	struct job_result r;
	enum store_result found;
	uid_t uid;

	if ((found = store_get(j->store, id, &job)) != STORE_OK)
		return found == STORE_NO_MATCH ? JOBS_NO_SUCH_JOB
					       : JOBS_CANCEL_FAIL;
	*state = job.state;
	uid = job.uid;
	if (!job_state_pending(*state)) {
		store_job_free(&job);
		return JOBS_NOT_PENDING;
	}
	r = (struct job_result){.state = JOB_CANCELLED,
				.exit_code = -1,
				.end_ns = clock_real_ns()};
	/* Fails closed: a cancel not stored changes nothing. */
	if (store_cancel(j->store, id, r.end_ns) == -1) {
		log_warnx("store: cancel of job %llu: %s",
			  (unsigned long long)id, store_error(j->store));
		store_job_free(&job);
		return JOBS_CANCEL_FAIL;
	}
	jobs_went_stale(j, &job);
	store_job_free(&job);
	if (*state == JOB_WAITING)
		j->nwaiting--;
	/* Its entry stays in the runq or the due heap; dispatch and the
	 * timer skip it. */
	usercount_add(j->queued_by_uid, uid, -1);
	jobs_push_end(j, id, &r, -1);
	*state = JOB_CANCELLED;
	return JOBS_CANCELLED;
}

enum store_result
jobs_edit(struct jobs *j, const struct store_job *job, const struct job_edit *e)
{
	enum job_state next = job->state;
	enum store_result rc;
	int64_t start = job->spec.start_at_ns;
	int32_t prio = job->spec.priority;
	const char *queue = jobs_queue_name(job);
	bool was_queued = job->state == JOB_QUEUED, moved;
	int old_q = -1, q;

	if (e->fields & JOB_EDIT_START)
		start = e->start_at_ns;
	if (e->fields & JOB_EDIT_PRIORITY)
		prio = e->priority;
	if (e->fields & JOB_EDIT_QUEUE)
		queue = e->queue;
	if ((q = jobs_queue_of(j, queue, job->array_id, job->array_max)) ==
		-1 ||
	    (was_queued && (old_q = jobs_queue_of_job(j, job)) == -1))
		return STORE_FAILED;
	/* A new start time may queue a scheduled job or schedule a queued
	 * one; held and waiting jobs keep theirs for their release. */
	if (job->state == JOB_QUEUED || job->state == JOB_SCHEDULED)
		next = start > clock_real_ns() ? JOB_SCHEDULED : JOB_QUEUED;
	if ((rc = store_edit(j->store, job->id, e)) != STORE_OK ||
	    (next != job->state &&
	     (rc = store_move(j->store, job->id, job->state, next)) !=
		 STORE_OK))
		return rc;
	/* The entries it had stay where they are, skipped as stale (in the
	 * runq: its queue or priority no longer the store's; in the due
	 * heap: its state or start time). */
	moved = next != JOB_QUEUED || q != old_q || prio != job->spec.priority;
	if (was_queued && moved)
		runq_went_stale(j->runq, old_q);
	if (next == JOB_SCHEDULED &&
	    (job->state != JOB_SCHEDULED || start != job->spec.start_at_ns))
		return jobs_schedule(j, job->id, start) == -1 ? STORE_FAILED
							      : STORE_OK;
	if (next == JOB_QUEUED && (!was_queued || moved))
		return jobs_fresh(j, q, job->uid, job->id, prio,
				  job->attempt) == -1
			   ? STORE_FAILED
			   : STORE_OK;
	return STORE_OK;
}

enum jobs_retry
jobs_retry(struct jobs *j, const struct store_job *job, uint64_t *holder)
{
	enum store_result found;
	int q;

	/* Its key may be another's by now. */
	if (job->spec.unique != NULL &&
	    (found = store_unique_holder(j->store, job->uid, job->spec.unique,
					 holder)) != STORE_NO_MATCH)
		return found == STORE_OK ? JOBS_RETRY_KEY_HELD
					 : JOBS_RETRY_STORE_FAIL;
	if ((found = store_retry(j->store, job->id, NULL, -1, -1,
				 job->attempt + 1, 0)) != STORE_OK)
		return found == STORE_NO_MATCH ? JOBS_RETRY_NOT_ENDED
					       : JOBS_RETRY_STORE_FAIL;
	q = jobs_queue_of_job(j, job);
	if (q == -1 ||
	    jobs_fresh(j, q, job->uid, job->id, job->spec.priority,
		       job->attempt + 1) == -1 ||
	    usercount_add(j->queued_by_uid, job->uid, 1) == -1) {
		log_warn("job %llu: queue", (unsigned long long)job->id);
		return JOBS_RETRY_STORE_FAIL;
	}
	log_info("job %llu: run again by request, attempt %u",
		 (unsigned long long)job->id, job->attempt + 2);
	return JOBS_RETRIED;
}
