/*
 * The supervisor's side of jobs not on a worker: accepting them into the
 * store and the run queue, handing the next one out, recording ends (or
 * next attempts). Scheduled starts and retention are jobs_time.c's.
 * What follows an end is left on worklists: the supervisor drains them
 * at the end of the turn (see jobs.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/heap.h"
#include "common/log.h"
#include "common/units.h"
#include "core/conf.h"
#include "core/runq.h"
#include "core/usercount.h"
#include "store/store.h"
#include "engine/jobs.h"
#include "engine/jobs_int.h"

/* A worklist's room is given back once this much of it has gone. */
#define JOBS_LIST_KEEP 4096

static bool
jobs_due_before(const void *a, const void *b)
{
	const struct jobs_due *x = a, *y = b;

	return x->at_ns != y->at_ns ? x->at_ns < y->at_ns : x->id < y->id;
}

/* A drained worklist starts over. */
static void
jobs_list_drained(void **items, size_t *head, size_t *n, size_t *cap)
{
	*head = *n = 0;
	array_emptied(items, cap, JOBS_LIST_KEEP);
}

void
jobs_push_end(struct jobs *j, uint64_t id, const struct job_result *r,
	      int own_hook)
{
	if (array_reserve((void **)&j->ends, &j->ends_cap, j->nends,
			  sizeof *j->ends) == -1) {
		log_warn("job %llu: its waiters and dependents",
			 (unsigned long long)id);
		return;
	}
	j->ends[j->nends++] =
	    (struct jobs_end){.id = id, .own_hook = own_hook, .result = *r};
	if (r->state < JOB_STATE_COUNT)
		j->ended[r->state]++;
}

void
jobs_push_unsettled(struct jobs *j, uint64_t id)
{
	if (array_reserve((void **)&j->unsettled, &j->unsettled_cap,
			  j->nunsettled, sizeof *j->unsettled) == -1) {
		log_warn("job %llu: its dependencies", (unsigned long long)id);
		return;
	}
	j->unsettled[j->nunsettled++] = id;
}

bool
jobs_next_end(struct jobs *j, struct jobs_end *end)
{
	if (j->ends_head == j->nends) {
		jobs_list_drained((void **)&j->ends, &j->ends_head, &j->nends,
				  &j->ends_cap);
		return false;
	}
	*end = j->ends[j->ends_head++];
	return true;
}

bool
jobs_next_unsettled(struct jobs *j, uint64_t *id)
{
	if (j->unsettled_head == j->nunsettled) {
		jobs_list_drained((void **)&j->unsettled, &j->unsettled_head,
				  &j->nunsettled, &j->unsettled_cap);
		return false;
	}
	*id = j->unsettled[j->unsettled_head++];
	return true;
}

const char *
jobs_queue_name(const struct store_job *job)
{
	return job->spec.queue != NULL ? job->spec.queue : "default";
}
/* The runq index of a queue named in the store or the conf; a name
 * the conf no longer declares gets a queue without limits. */
int
jobs_queue_index(struct jobs *j, const char *name)
{
	int i;

	if ((i = runq_find(j->runq, name)) != -1)
		return i;
	if ((i = runq_queue(j->runq, name)) == -1)
		return -1;
	log_warnx("queue \"%s\" holds jobs but is not in %s; its jobs run "
		  "without a limit of their own",
		  name, j->conf->path[0] != '\0' ? j->conf->path : "the conf");
	return i;
}

/* The runq queue a job goes to: its queue's, or, for a task of an
 * array with a limit of tasks at once, the array's own under it. */
int
jobs_queue_of(struct jobs *j, const char *queue, uint64_t array_id,
	      uint32_t array_max)
{
	int q = jobs_queue_index(j, queue);

	if (q == -1 || array_id == 0 || array_max == 0)
		return q;
	return runq_subqueue(j->runq, q, array_id, array_max);
}

int
jobs_queue_of_job(struct jobs *j, const struct store_job *job)
{
	return jobs_queue_of(j, jobs_queue_name(job), job->array_id,
			     job->array_max);
}

int
jobs_apply_queues(struct jobs *j)
{
	const struct conf_queue *cq;
	struct runq_info info;
	uint32_t i;
	int k;

	/* A queue the conf no longer declares keeps its jobs, without a
	 * limit of its own; an array's keeps its own. */
	for (k = 0; k < (int)runq_queues(j->runq); k++) {
		runq_info(j->runq, k, &info);
		if (info.parent == -1)
			runq_set_parallel(j->runq, k, 0);
	}
	for (i = 0; i < j->conf->nqueues; i++) {
		cq = &j->conf->queues[i];
		if ((k = runq_queue(j->runq, cq->name)) == -1)
			return -1;
		runq_set_parallel(j->runq, k, cq->parallel);
	}
	return 0;
}

/* Into the run queue now: -1 only when memory runs out. */
int
jobs_enqueue(struct jobs *j, int queue, uid_t uid, uint64_t id,
	     int32_t priority, uint32_t attempt)
{
	struct runq_job e = {.id = id,
			     .priority = priority,
			     .attempt = attempt};

	return runq_push(j->runq, queue, uid, &e);
}

/* Into the run queue once the turn's commit has stored it. */
int
jobs_fresh(struct jobs *j, int queue, uid_t uid, uint64_t id, int32_t priority,
	   uint32_t attempt)
{
	if (array_reserve((void **)&j->fresh, &j->fresh_cap, j->nfresh,
			  sizeof *j->fresh) == -1)
		return -1;
	j->fresh[j->nfresh++] = (struct runq_fresh){.id = id,
						    .queue = queue,
						    .uid = uid,
						    .priority = priority,
						    .attempt = attempt};
	return 0;
}

bool
jobs_turn_committed(struct jobs *j, bool committed)
{
	const struct runq_fresh *f;
	size_t i, n = j->nfresh;

	for (i = 0; committed && i < n; i++) {
		f = &j->fresh[i];
		if (jobs_enqueue(j, f->queue, f->uid, f->id, f->priority,
				 f->attempt) == -1)
			log_warn("job %llu: queue", (unsigned long long)f->id);
	}
	j->nfresh = 0;
	array_emptied((void **)&j->fresh, &j->fresh_cap, JOBS_LIST_KEEP);
	return committed && n > 0;
}

/* Into the heap of start times (CLOCK_REALTIME). */
int
jobs_schedule(struct jobs *j, uint64_t id, int64_t at_ns)
{
	struct jobs_due d = {.at_ns = at_ns, .id = id};

	return heap_push(&j->due, &d);
}

static int
jobs_count_user(void *arg, uid_t uid, uint64_t n)
{
	struct jobs *j = arg;

	return usercount_add(j->queued_by_uid, uid, (int64_t)n);
}

void
jobs_recount(struct jobs *j)
{
	usercount_clear(j->queued_by_uid);
	uint64_t *ids;
	size_t n, i;

	if (store_queued_per_user(j->store, jobs_count_user, j) == -1)
		log_warnx("store: %s", store_error(j->store));
	if (store_waiting(j->store, &ids, &n) == -1) {
		log_warnx("store: %s", store_error(j->store));
		return;
	}
	j->nwaiting = n;
	j->unsettled_head = j->nunsettled = 0;
	for (i = 0; i < n; i++)
		jobs_push_unsettled(j, ids[i]);
	free(ids);
}

struct jobs *
jobs_new(const struct conf *conf, struct store *store)
{
	struct jobs *j;

	if ((j = calloc(1, sizeof *j)) == NULL)
		return NULL;
	j->conf = conf;
	j->store = store;
	heap_init(&j->due, sizeof(struct jobs_due), jobs_due_before);
	buf_init(&j->pending, JOBS_PENDING_TEXT_MAX);
	if ((j->runq = runq_new()) == NULL || jobs_apply_queues(j) == -1 ||
	    (j->queued_by_uid = usercount_new()) == NULL) {
		jobs_free(j);
		return NULL;
	}
	return j;
}

void
jobs_free(struct jobs *j)
{
	if (j == NULL)
		return;
	runq_free(j->runq);
	heap_free(&j->due);
	free(j->fresh);
	free(j->ends);
	free(j->unsettled);
	free(j->grants);
	free(j->aside);
	free(j->expected);
	free(j->qstats);
	buf_free(&j->pending);
	usercount_free(j->queued_by_uid);
	free(j);
}

/* One job (or task) just stored as id, as store_insert decided: held
 * until released, waiting for other jobs, scheduled if later than
 * now, else queued once the turn's commit has it. */
static int
jobs_admit(struct jobs *j, const struct job_spec *spec, uid_t uid, uint64_t id,
	   uint64_t array_id, int64_t now)
{
	int q;

	switch (job_pending_state(spec, now, spec->hold)) {
	case JOB_HELD:
		return 0;
	case JOB_WAITING:
		j->nwaiting++;
		jobs_push_unsettled(j, id);
		return 0;
	case JOB_SCHEDULED:
		return jobs_schedule(j, id, spec->start_at_ns);
	default:
		if ((q = jobs_queue_of(j,
				       spec->queue != NULL ? spec->queue
							   : "default",
				       array_id, spec->array.max)) == -1)
			return -1;
		return jobs_fresh(j, q, uid, id, spec->priority, 0);
	}
}

int
jobs_submit(struct jobs *j, const struct job_spec *specs, size_t n, uid_t uid,
	    gid_t gid, uint64_t *ids, bool *existing)
{
	int64_t now = clock_real_ns();
	size_t i, k, t, tasks = 0, added = 0;

	if (store_insert(j->store, specs, n, uid, gid, now, ids, existing) ==
	    -1) {
		log_warnx("store: %s", store_error(j->store));
		return -1;
	}
	for (i = 0; i < n; i++)
		tasks += job_spec_tasks(&specs[i]);
	for (t = 0; t < tasks; t++)
		added += !existing[t];
	j->submitted += added;
	if (usercount_add(j->queued_by_uid, uid, (int64_t)added) == -1) {
		log_warn("queue counts");
		return -1;
	}
	for (i = 0, t = 0; i < n; i++) {
		for (k = 0; k < job_spec_tasks(&specs[i]); k++, t++) {
			if (existing[t])
				continue;
			if (jobs_admit(j, &specs[i], uid, ids[t],
				       specs[i].array.n > 0 ? ids[t - k] : 0,
				       now) == -1) {
				log_warn("queue");
				return -1;
			}
		}
	}
	return 0;
}

void
jobs_set_outbox(struct jobs *j)
{
	j->outbox = true;
}

int
jobs_claimed(struct jobs *j, const struct store_job *job)
{
	/* A task's array limit holds across the cluster (its claims); here
	 * it holds too, as on one host. */
	int q = jobs_queue_of_job(j, job);

	if (q == -1)
		return -1;
	if (store_insert_as(j->store, job) == -1) {
		log_warnx("job %llu: store: %s", (unsigned long long)job->id,
			  store_error(j->store));
		return -1;
	}
	if (jobs_res_expect(j, job) == -1 ||
	    usercount_add(j->queued_by_uid, job->uid, 1) == -1 ||
	    jobs_fresh(j, q, job->uid, job->id, job->spec.priority,
		       job->attempt) == -1) {
		log_warn("queue");
		return -1;
	}
	return 0;
}

/* Whoever waits for it is told as the worklist drains: clients, its
 * on-finish commands, and the jobs that depend on it. */
void
jobs_record_final(struct jobs *j, uint64_t id, const struct job_result *r,
		  int own_hook)
{
	if (store_finish(j->store, id, r) == -1)
		log_warnx("store: job %llu: %s", (unsigned long long)id,
			  store_error(j->store));
	jobs_push_end(j, id, r, own_hook);
}

/* A started job's end: another attempt if its retry policy wants one
 * for this end, else its final state. */
void
jobs_ended(struct jobs *j, uint64_t id, uint32_t attempt,
	   const struct job_run *run, int worker, int cpu,
	   const struct job_result *r)
{
	bool again = job_retry_wanted(r, run->retry_on, attempt, run->retries);
	int64_t delay_ms, at = 0;
	char what[64], wait[32];
	enum store_result found;

	jobs_note_run(j, run->queue, r);
	jobs_res_release(j, id);
	/* On a cluster node the end goes to the cluster, which queues the
	 * next attempt for any node to run; its on-finish commands wait
	 * for the last. */
	if (j->outbox) {
		jobs_record_final(j, id, r,
				  again ? JOBS_NO_HOOKS : run->on_finish);
		return;
	}
	if (!again) {
		jobs_record_final(j, id, r, run->on_finish);
		return;
	}
	delay_ms =
	    job_retry_delay_ms(run->retry_delay_ms, attempt, arc4random());
	if (delay_ms > 0)
		at = clock_real_ns() + delay_ms * NS_PER_MS;
	found = store_retry(j->store, id, r, worker, cpu, attempt + 1, at);
	if (found == STORE_OK &&
	    (at != 0 ? jobs_schedule(j, id, at)
		     : jobs_enqueue(j, run->queue, run->uid, id, run->priority,
				    attempt + 1)) == 0 &&
	    usercount_add(j->queued_by_uid, run->uid, 1) == 0) {
		if (r->state == JOB_FAILED && r->error[0] == '\0')
			job_describe_exit(r->exit_code, r->signal, what,
					  sizeof what);
		else
			strlcpy(what,
				r->error[0] != '\0' ? r->error
						    : job_state_name(r->state),
				sizeof what);
		units_format_duration(delay_ms, wait, sizeof wait);
		log_info("job %llu: attempt %u of %u %s; next in %s",
			 (unsigned long long)id, attempt + 1, run->retries + 1,
			 what, wait);
		return;
	}
	log_warnx("job %llu: cannot retry it: %s", (unsigned long long)id,
		  found == STORE_FAILED     ? store_error(j->store)
		  : found == STORE_NO_MATCH ? "it was not running"
					    : "out of memory");
	jobs_record_final(j, id, r, run->on_finish);
}

/* A job interrupted by a crash: queued again while its policy allows. */
void
jobs_interrupted(struct jobs *j, uint64_t id, uint32_t attempt,
		 const struct job_run *run, int worker, int cpu,
		 const char *why)
{
	struct job_result r = {.state = JOB_LOST, .exit_code = -1};

	if (attempt < j->conf->crash_requeue_max) {
		log_info("job %llu: %s; queued again (attempt %u)",
			 (unsigned long long)id, why, attempt + 2);
		if (store_requeue(j->store, id, attempt + 1, clock_real_ns(),
				  why) == -1 ||
		    jobs_queue_again(j, id, run, attempt + 1) == -1)
			log_warnx("job %llu: cannot queue it again",
				  (unsigned long long)id);
		return;
	}
	log_warnx("job %llu: %s; lost (crash_requeue_max %u)",
		  (unsigned long long)id, why, j->conf->crash_requeue_max);
	r.end_ns = clock_real_ns();
	snprintf(r.error, sizeof r.error, "%s", why);
	jobs_ended(j, id, attempt, run, worker, cpu, &r);
}

void
jobs_ended_stopped(struct jobs *j, uint64_t id, uint32_t attempt,
		   const struct job_run *run, int worker, int cpu,
		   const struct job_result *r, bool stopped)
{
	if (stopped && r->state != JOB_SUCCEEDED)
		jobs_interrupted(j, id, attempt, run, worker, cpu,
				 "stopped by forqd's stop");
	else
		jobs_ended(j, id, attempt, run, worker, cpu, r);
}

void
jobs_refuse(struct jobs *j, struct store_job *job, const char *why)
{
	struct job_result r = {.state = JOB_FAILED,
			       .exit_code = -1,
			       .end_ns = clock_real_ns()};

	snprintf(r.error, sizeof r.error, "%s", why);
	log_warnx("job %llu: %s", (unsigned long long)job->id, why);
	jobs_res_release(j, job->id);
	jobs_record_final(j, job->id, &r, job->spec.on_finish != NULL);
	store_job_free(job);
}

static void
jobs_run_of(const struct store_job *job, int queue, struct job_run *run)
{
	*run = (struct job_run){.queue = queue,
				.uid = job->uid,
				.priority = job->spec.priority,
				.retries = job->spec.retries,
				.retry_on = job->spec.retry_on,
				.retry_delay_ms = job->spec.retry_delay_ms,
				.on_finish = job->spec.on_finish != NULL};
}

int
jobs_running_run(struct jobs *j, const struct store_job *job,
		 struct job_run *run)
{
	int q = jobs_queue_of_job(j, job);

	if (q == -1)
		return -1;
	jobs_run_of(job, q, run);
	return 0;
}

bool
jobs_adoptable(struct jobs *j, uint64_t id, uint32_t attempt,
	       struct job_run *run)
{
	struct store_job job;
	bool held;

	if (store_get(j->store, id, &job) != STORE_OK)
		return false;
	held = job.state == JOB_RUNNING && job.attempt == attempt &&
	       jobs_running_run(j, &job, run) == 0;
	if (held && job.res_given != NULL)
		(void)jobs_res_retake(j, id, job.res_given);
	store_job_free(&job);
	if (held && store_adopted(j->store, id, attempt, clock_real_ns()) == -1)
		log_warnx("job %llu: cannot mark it taken on: %s",
			  (unsigned long long)id, store_error(j->store));
	return held;
}

/* Is the job's queue the runq's queue? (forq set moves jobs.) */
static bool
jobs_in_queue(struct jobs *j, const struct store_job *job, int queue)
{
	return jobs_queue_of_job(j, job) == queue;
}

enum jobs_take
jobs_take(struct jobs *j, struct store_job *job, struct job_run *run)
{
	struct runq_pick e;
	enum store_result found;
	char why[256];

	/* Jobs that waited for their resources go first, once free. */
	if (j->naside > 0 && jobs_res_next(j, job, &e)) {
		usercount_add(j->queued_by_uid, job->uid, -1);
		jobs_note_wait(j, e.queue, job);
		jobs_run_of(job, e.queue, run);
		return JOBS_TAKEN;
	}
	while (runq_pop(j->runq, &e) == 0) {
		found = store_get(j->store, e.job.id, job);
		if (found == STORE_FAILED) {
			log_warnx("store: %s", store_error(j->store));
			jobs_enqueue(j, e.queue, e.uid, e.job.id,
				     e.job.priority, e.job.attempt);
			return JOBS_STORE_FAIL;
		}
		/* Cancelled, held or pruned while it waited, or queued again
		 * with another priority, in another queue or as a later
		 * attempt (that entry is the one to take). */
		if (found == STORE_NO_MATCH || job->state != JOB_QUEUED ||
		    job->spec.priority != e.job.priority ||
		    job->attempt != e.job.attempt ||
		    !jobs_in_queue(j, job, e.queue)) {
			if (found == STORE_OK)
				store_job_free(job);
			runq_skipped(j->runq, e.queue);
			continue;
		}
		switch (jobs_res_claim(j, job, &e, why, sizeof why)) {
		case JOBS_RES_ASIDE:
			store_job_free(job);
			continue;
		case JOBS_RES_BAD:
			usercount_add(j->queued_by_uid, job->uid, -1);
			jobs_refuse(j, job, why);
			continue;
		default:
			break;
		}
		/* It leaves the queue, to run or to fail unrun. */
		usercount_add(j->queued_by_uid, job->uid, -1);
		jobs_note_wait(j, e.queue, job);
		jobs_run_of(job, e.queue, run);
		return JOBS_TAKEN;
	}
	return JOBS_NONE;
}

int
jobs_start(struct jobs *j, uint64_t id, uint32_t attempt,
	   const struct job_run *run, int worker, int cpu)
{
	if (runq_started(j->runq, run->queue, run->uid) == -1) {
		log_warn("queue");
		jobs_queue_again(j, id, run, attempt);
		return -1;
	}
	char given[512];

	if (store_mark_running(j->store, id, worker, cpu, attempt,
			       clock_real_ns(),
			       jobs_res_given(j, id, given, sizeof given)) ==
	    -1) {
		log_warnx("job %llu: cannot mark it running: %s",
			  (unsigned long long)id, store_error(j->store));
		jobs_left_slot(j, run);
		jobs_queue_again(j, id, run, attempt);
		return -1;
	}
	return 0;
}

int
jobs_keep_slot(struct jobs *j, const struct job_run *run)
{
	return runq_started(j->runq, run->queue, run->uid);
}

void
jobs_left_slot(struct jobs *j, const struct job_run *run)
{
	runq_ended(j->runq, run->queue, run->uid);
}

int
jobs_queue_again(struct jobs *j, uint64_t id, const struct job_run *run,
		 uint32_t attempt)
{
	jobs_res_release(j, id);
	if (jobs_enqueue(j, run->queue, run->uid, id, run->priority, attempt) ==
		-1 ||
	    usercount_add(j->queued_by_uid, run->uid, 1) == -1) {
		log_warn("job %llu: queue", (unsigned long long)id);
		return -1;
	}
	return 0;
}

void
jobs_unrun(struct jobs *j, uint64_t id, uint32_t attempt,
	   const struct job_run *run)
{
	store_requeue(j->store, id, attempt, 0, NULL);
	jobs_queue_again(j, id, run, attempt);
}

uint64_t
jobs_waiting(const struct jobs *j)
{
	return j->nwaiting;
}

/* Its release joins the runq after the turn's commit, as a submission
 * does. */
void
jobs_deps_met(struct jobs *j, const struct store_job *job)
{
	enum job_state next = job->spec.start_at_ns > clock_real_ns()
				  ? JOB_SCHEDULED
				  : JOB_QUEUED;
	int q;

	if (store_move(j->store, job->id, JOB_WAITING, next) != STORE_OK)
		return;
	j->nwaiting--;
	q = jobs_queue_of_job(j, job);
	if ((next == JOB_SCHEDULED
		 ? jobs_schedule(j, job->id, job->spec.start_at_ns)
	     : q == -1 ? -1
		       : jobs_fresh(j, q, job->uid, job->id, job->spec.priority,
				    job->attempt)) == -1)
		log_warn("job %llu: queue", (unsigned long long)job->id);
}

void
jobs_fail_waiting(struct jobs *j, const struct store_job *job,
		  const struct job_result *r)
{
	j->nwaiting--;
	usercount_add(j->queued_by_uid, job->uid, -1);
	jobs_record_final(j, job->id, r, job->spec.on_finish != NULL);
}

int
jobs_set_paused(struct jobs *j, int queue, bool paused)
{
	struct runq_info info;
	const char *name = "*";

	if (queue != RUNQ_ALL) {
		runq_info(j->runq, queue, &info);
		name = info.name;
	}
	if (store_set_paused(j->store, name, paused) == -1)
		return -1;
	runq_set_paused(j->runq, queue, paused);
	log_info("%s%s %s", queue == RUNQ_ALL ? "all queues" : "queue ",
		 queue == RUNQ_ALL ? "" : name, paused ? "paused" : "resumed");
	return 0;
}

size_t
jobs_ready(const struct jobs *j)
{
	return runq_ready(j->runq) + j->naside;
}

const struct runq *
jobs_runq(const struct jobs *j)
{
	return j->runq;
}

size_t
jobs_scheduled(const struct jobs *j)
{
	return j->due.len;
}

uint64_t
jobs_queued_by(const struct jobs *j, uid_t uid)
{
	return usercount_get(j->queued_by_uid, uid);
}
