/*
 * The requests that change jobs: submit, cancel, hold, release, retry,
 * set (priority, queue, start time, timeout, name) and clean.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/units.h"
#include "control/control.h"
#include "ops/ops_common.h"
#include "engine/draining.h"
#include "ops/ops_jobs.h"
#include "core/request.h"
#include "core/access.h"
#include "core/conf.h"
#include "core/runq.h"
#include "store/store.h"
#include "engine/jobs.h"
#include "engine/running.h"
#include "control/watch.h"
#include "engine/workers.h"
#include "forq/protocol.h"

/* The jobs it waits for must exist, and be the client's own unless the
 * client is an admin. Only jobs that exist can be named, so no cycle
 * can form. */
static json_t *
ops_check_after(struct ops *ops, struct client *c, const struct request *req,
		const struct job_spec *spec, size_t i)
{
	struct store_job dep;
	uint32_t k;
	enum store_result found;
	bool mine;

	for (k = 0; k < spec->nafter; k++) {
		if ((found = store_get(ops->d.store, spec->after[k], &dep)) ==
		    STORE_FAILED)
			return ops_store_error(ops, req);
		if (found == STORE_NO_MATCH)
			return ops_error(req, FORQ_ERR_NOT_FOUND,
					 "job %zu: --after %llu: no such job",
					 i + 1,
					 (unsigned long long)spec->after[k]);
		mine = ops_may_touch(ops, c, &dep);
		store_job_free(&dep);
		if (!mine)
			return ops_error(req, FORQ_ERR_NOT_PERMITTED,
					 "job %zu: --after %llu: another "
					 "user's job",
					 i + 1,
					 (unsigned long long)spec->after[k]);
	}
	return NULL;
}

/* A memory limit is a cgroup's: never taken and then ignored. */
static json_t *
ops_check_mem(struct ops *ops, const struct request *req,
	      const struct job_spec *spec, size_t i)
{
	char want[32], max[32];

	if (spec->mem == 0)
		return NULL;
	units_format_size(spec->mem, want, sizeof want);
	if (!ops->d.cgroups)
		return ops_error(req, FORQ_ERR_UNSUPPORTED,
				 "job %zu: --mem %s needs job cgroups, and "
				 "this forqd has none (see its log at start)",
				 i + 1, want);
	if (ops->d.conf->mem_max != 0 && spec->mem > ops->d.conf->mem_max) {
		units_format_size(ops->d.conf->mem_max, max, sizeof max);
		return ops_limit(req, "mem_max", ops->d.conf->mem_max,
				 "job %zu: --mem %s is over mem_max (%s)",
				 i + 1, want, max);
	}
	return NULL;
}

/* A job's CPUs are whole workers' (a gang): it may ask for no more than
 * there are, and only where a cpuset holds it to them. */
static json_t *
ops_check_cpus(struct ops *ops, const struct request *req,
	       const struct job_spec *spec, size_t i)
{
	uint32_t have = workers_planned(ops->d.workers);

	if (spec->cpus <= 1)
		return NULL;
	if (spec->cpus > have)
		return ops_limit(req, "workers", have,
				 "job %zu: --cpus %u is over workers (%u): "
				 "this forqd runs jobs on %u CPU%s, one worker "
				 "each",
				 i + 1, spec->cpus, have, have,
				 have == 1 ? "" : "s");
	if (!ops->d.cpusets)
		return ops_error(req, FORQ_ERR_UNSUPPORTED,
				 "job %zu: --cpus %u needs job cgroups with "
				 "the cpuset controller, and this forqd has "
				 "none (see its log at start)",
				 i + 1, spec->cpus);
	return NULL;
}

/* What it asks of [resources] must be there, and no more than there
 * is. */
static json_t *
ops_check_res(struct ops *ops, const struct request *req,
	      const struct job_spec *spec, size_t i)
{
	struct res_grant g;
	char why[256];
	int rc;

	if (spec->res == NULL ||
	    (rc = res_ask_parse(&ops->d.conf->res, spec->res, &g, why,
				sizeof why)) == 0)
		return NULL;
	if (rc == -2)
		return ops_error(req, FORQ_ERR_LIMIT,
				 "job %zu: res %s ([resources] of %s)", i + 1,
				 why, conf_name(ops->d.conf));
	return ops_error(req, FORQ_ERR_BAD_REQUEST, "job %zu: res: %s", i + 1,
			 why);
}

/* The job's queue must be declared; what the job leaves out, the
 * queue's section gives. */
static json_t *
ops_queue_defaults(struct ops *ops, const struct request *req,
		   struct job_spec *spec, size_t i)
{
	const char *name = spec->queue != NULL ? spec->queue : "default";
	const struct conf_queue *q = conf_queue_find(ops->d.conf, name);
	json_t *err;

	if (q == NULL)
		return ops_error(req, FORQ_ERR_UNKNOWN_QUEUE,
				 "job %zu: no queue named \"%s\" in %s", i + 1,
				 name, conf_name(ops->d.conf));
	if (!spec->has_priority)
		spec->priority = q->priority;
	if (!spec->has_timeout)
		spec->timeout_ms = q->timeout_ms;
	if (!spec->has_retries)
		spec->retries = q->retries;
	if (!spec->has_retry_delay)
		spec->retry_delay_ms = q->retry_delay_ms;
	if (!spec->has_mem)
		spec->mem = q->mem;
	if (!spec->has_cpus)
		spec->cpus = q->cpus;
	if (spec->cpus == 0)
		spec->cpus = 1;
	if (spec->res == NULL && q->res[0] != '\0' &&
	    (spec->res = strdup(q->res)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	/* A cluster node checks them against every node's (opsc_submit). */
	if (ops->d.cluster != NULL)
		return NULL;
	if ((err = ops_check_mem(ops, req, spec, i)) != NULL ||
	    (err = ops_check_res(ops, req, spec, i)) != NULL)
		return err;
	return ops_check_cpus(ops, req, spec, i);
}

static json_t *
ops_user_paths(struct ops *ops, const struct request *req,
	       struct job_spec *specs, size_t n, uid_t uid)
{
	struct passwd *pw = NULL;
	char **paths[2], *p;
	size_t i, k;

	for (i = 0; i < n; i++) {
		paths[0] = &specs[i].stdout_path;
		paths[1] = &specs[i].stderr_path;
		for (k = 0; k < 2; k++) {
			if (*paths[k] == NULL ||
			    strstr(*paths[k], "%u") == NULL)
				continue;
			if (pw == NULL && (pw = getpwuid(uid)) == NULL)
				return ops_error(req, FORQ_ERR_BAD_REQUEST,
						 "job %zu: %%u: uid %d has no "
						 "name here",
						 i + 1, (int)uid);
			if ((p = job_path_user(*paths[k], pw->pw_name)) == NULL)
				return ops_error(req, FORQ_ERR_INTERNAL,
						 "out of memory");
			free(*paths[k]);
			*paths[k] = p;
		}
	}
	(void)ops;
	return NULL;
}

json_t *
ops_submit_specs(struct ops *ops, struct client *c, const struct request *req,
		 struct job_spec **out, size_t *count)
{
	const json_t *jobs = json_object_get(req->root, "jobs");
	const json_t *defaults = json_object_get(req->root, "defaults");
	const struct ucred *cred = control_cred(c);
	struct job_spec *specs;
	struct job_error err;
	json_t *reply;
	uint64_t queued;
	size_t n, i, tasks = 0;

	if (ops->intake == OPS_STOPPING)
		return ops_error(req, FORQ_ERR_SHUTTING_DOWN,
				 "forqd is stopping and takes no new jobs");
	if (!json_is_array(jobs) || json_array_size(jobs) == 0)
		return ops_error(req, FORQ_ERR_BAD_REQUEST,
				 "\"jobs\" must be a non-empty array of jobs");
	if (defaults != NULL && !json_is_object(defaults))
		return ops_error(req, FORQ_ERR_BAD_REQUEST,
				 "\"defaults\" must be an object");
	n = json_array_size(jobs);
	if (n > ops->d.limits->batch_max)
		return ops_limit(req, "batch_max", ops->d.limits->batch_max,
				 "%zu jobs in one request, over batch_max (%u)",
				 n, ops->d.limits->batch_max);
	if (ops->intake == OPS_FULL)
		return ops_error(req, FORQ_ERR_NO_SPACE,
				 "%s is full: no job was queued; retry once "
				 "there is room",
				 ops->d.conf->state_dir);
	if (!ops->d.access->allow_root_jobs && cred->uid == 0 && geteuid() == 0)
		return ops_error(req, FORQ_ERR_NOT_PERMITTED,
				 "jobs may not run as root here "
				 "(allow_root_jobs = no); submit them as "
				 "another user");
	if ((specs = calloc(n, sizeof *specs)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	for (i = 0; i < n; i++) {
		if (job_spec_from_json(json_array_get(jobs, i), defaults,
				       ops->d.limits, &specs[i], &err) == 0) {
			if ((reply = ops_queue_defaults(ops, req, &specs[i],
							i)) != NULL)
				goto fail;
			continue;
		}
		reply = err.limit != NULL
			    ? ops_limit(req, err.limit, err.max, "job %zu: %s",
					i + 1, err.message)
			    : ops_error(req, err.code, "job %zu: %s", i + 1,
					err.message);
		goto fail;
	}
	/* %u is the submitter's name, looked up here and now. */
	if ((reply = ops_user_paths(ops, req, specs, n, cred->uid)) != NULL)
		goto fail;
	/* An array's tasks count as jobs, each. */
	for (i = 0; i < n; i++)
		tasks += job_spec_tasks(&specs[i]);
	if (tasks > ops->d.limits->batch_max) {
		reply = ops_limit(req, "batch_max", ops->d.limits->batch_max,
				  "%zu jobs in one request, over batch_max "
				  "(%u)",
				  tasks, ops->d.limits->batch_max);
		goto fail;
	}
	queued = jobs_queued_by(ops->d.jobs, cred->uid);
	if (queued + tasks > ops->d.conf->queued_max_per_user) {
		reply = ops_limit(req, "queued_max_per_user",
				  ops->d.conf->queued_max_per_user,
				  "%llu jobs of uid %d queued; %zu more would "
				  "pass queued_max_per_user (%u)",
				  (unsigned long long)queued, (int)cred->uid,
				  tasks, ops->d.conf->queued_max_per_user);
		goto fail;
	}
	*out = specs;
	*count = n;
	return NULL;
fail:
	ops_specs_free(specs, n);
	return reply;
}

void
ops_specs_free(struct job_spec *specs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		job_spec_free(&specs[i]);
	free(specs);
}

json_t *
ops_arrays_json(const struct job_spec *specs, size_t n, const uint64_t *ids)
{
	json_t *arrays = json_array();
	size_t k, t;

	for (k = 0, t = 0; k < n; t += job_spec_tasks(&specs[k]), k++) {
		if (specs[k].array.n > 0)
			json_array_append_new(arrays,
					      json_pack("{s:I, s:I}", "id",
							(json_int_t)ids[t],
							"tasks",
							(json_int_t)specs[k]
							    .array.n));
	}
	return arrays;
}

json_t *
ops_submit(struct ops *ops, struct client *c, const struct request *req)
{
	const struct ucred *cred = control_cred(c);
	struct job_spec *specs;
	json_t *reply, *ids_json, *held;
	uint64_t *ids;
	bool *existing;
	size_t n, k, tasks = 0;

	if ((reply = ops_submit_specs(ops, c, req, &specs, &n)) != NULL)
		return reply;
	for (k = 0; k < n; k++) {
		if ((reply = ops_check_after(ops, c, req, &specs[k], k)) !=
		    NULL) {
			ops_specs_free(specs, n);
			return reply;
		}
		tasks += job_spec_tasks(&specs[k]);
	}
	ids = calloc(tasks, sizeof *ids);
	existing = calloc(tasks, sizeof *existing);
	if (ids == NULL || existing == NULL) {
		reply = ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (jobs_submit(ops->d.jobs, specs, n, cred->uid, cred->gid, ids,
			existing) == -1) {
		reply = ops_error(req, FORQ_ERR_INTERNAL,
				  "the job store refused the jobs: %s",
				  store_error(ops->d.store));
		goto out;
	}
	reply = reply_ok(req->id);
	ids_json = json_array();
	for (k = 0; k < tasks; k++)
		json_array_append_new(ids_json,
				      json_integer((json_int_t)ids[k]));
	json_object_set_new(reply, "ids", ids_json);
	/* The ids that stand for a job not stored: a job not ended held
	 * its unique key. */
	held = json_array();
	for (k = 0; k < tasks; k++) {
		if (existing[k])
			json_array_append_new(held,
					      json_integer((json_int_t)ids[k]));
	}
	json_object_set_new(reply, "existing", held);
	json_object_set_new(reply, "arrays", ops_arrays_json(specs, n, ids));
	log_debug("uid %d submitted %zu jobs, first %llu", (int)cred->uid,
		  tasks, (unsigned long long)ids[0]);
out:
	ops_specs_free(specs, n);
	free(ids);
	free(existing);
	return reply;
}

/* forq clean: ended jobs and their logs, a bounded batch a request so
 * that the loop never stalls; "more" asks the client to come again. */

json_t *
ops_clean_filter(struct ops *ops, struct client *c, const struct request *req,
		 struct store_filter *f, int64_t *before)
{
	const json_t *state = json_object_get(req->root, "state");
	const json_t *older = json_object_get(req->root, "older_than_ms");
	enum job_state s;

	*f = (struct store_filter){.state = -1, .uid = -1};
	*before = 0;
	if (state != NULL && !json_is_null(state)) {
		if (!json_is_string(state) ||
		    job_state_parse(json_string_value(state), &s) == -1 ||
		    !job_state_final(s))
			return ops_error(req, FORQ_ERR_BAD_REQUEST,
					 "\"state\" must be one of succeeded, "
					 "failed, timed_out, cancelled, lost: "
					 "only ended jobs are cleaned");
		f->state = (int)s;
	}
	if (older != NULL && !json_is_null(older)) {
		if (!json_is_integer(older) || json_integer_value(older) < 0)
			return ops_error(req, FORQ_ERR_BAD_REQUEST,
					 "\"older_than_ms\" must be an integer "
					 "of 0 or more");
		*before =
		    clock_real_ns() - json_integer_value(older) * NS_PER_MS;
	}
	return ops_whose(ops, c, req, &f->uid);
}

json_t *
ops_clean(struct ops *ops, struct client *c, const struct request *req)
{
	struct store_filter f;
	int64_t before;
	json_t *reply;
	int n;

	if ((reply = ops_clean_filter(ops, c, req, &f, &before)) != NULL)
		return reply;
	if ((n = jobs_clean(ops->d.jobs, &f, before, CLEAN_BATCH)) == -1)
		return ops_store_error(ops, req);
	reply = reply_ok(req->id);
	json_object_set_new(reply, "removed", json_integer(n));
	json_object_set_new(reply, "more", json_boolean(n == CLEAN_BATCH));
	return reply;
}

/* forq retry of an array's id: each of its tasks that has ended runs
 * again (an array has no unique key); "tasks" says how many. */
static json_t *
ops_retry_array(struct ops *ops, const struct request *req, uint64_t id)
{
	struct store_job job;
	json_t *reply;
	uint64_t *ids, holder;
	size_t n, k, again = 0;
	enum jobs_retry rc = JOBS_RETRIED;

	if (store_array_ids(ops->d.store, id, &ids, &n) == -1)
		return ops_store_error(ops, req);
	for (k = 0; k < n && rc != JOBS_RETRY_STORE_FAIL; k++) {
		if (store_get(ops->d.store, ids[k], &job) != STORE_OK)
			continue;
		if (job_state_final(job.state) &&
		    (rc = jobs_retry(ops->d.jobs, &job, &holder)) ==
			JOBS_RETRIED)
			again++;
		store_job_free(&job);
	}
	free(ids);
	if (rc == JOBS_RETRY_STORE_FAIL)
		return ops_store_error(ops, req);
	if (again == 0)
		return ops_error(req, FORQ_ERR_NOT_ENDED,
				 "no task of array %llu has ended; only an "
				 "ended task runs again",
				 (unsigned long long)id);
	reply = reply_ok(req->id);
	json_object_set_new(reply, "tasks", json_integer((json_int_t)again));
	return reply;
}

/* forq retry: a job that has ended runs again, as its next attempt. */
json_t *
ops_retry(struct ops *ops, struct client *c, const struct request *req)
{
	struct store_job job;
	struct req_error err;
	json_t *reply;
	uint32_t attempt;
	uint64_t id, holder = 0;
	enum jobs_retry rc;

	if (request_job_id(req, "job", &id, &err) == -1)
		return ops_req_error(&err);
	if (ops->intake == OPS_FULL)
		return ops_error(req, FORQ_ERR_NO_SPACE,
				 "%s is full: the job was not queued again",
				 ops->d.conf->state_dir);
	if ((reply = ops_get_own_job(ops, c, req, id, &job, "run again")) !=
	    NULL)
		return reply;
	if (job.array_id == id) {
		store_job_free(&job);
		return ops_retry_array(ops, req, id);
	}
	attempt = job.attempt;
	rc = job_state_final(job.state) ? jobs_retry(ops->d.jobs, &job, &holder)
					: JOBS_RETRY_NOT_ENDED;
	if (rc == JOBS_RETRY_KEY_HELD)
		reply = ops_error(req, FORQ_ERR_DUPLICATE,
				  "job %llu holds the unique key \"%s\" now; "
				  "job %llu does not run again beside it",
				  (unsigned long long)holder, job.spec.unique,
				  (unsigned long long)id);
	store_job_free(&job);
	if (reply != NULL)
		return reply;
	if (rc == JOBS_RETRY_STORE_FAIL)
		return ops_store_error(ops, req);
	if (rc == JOBS_RETRY_NOT_ENDED)
		return ops_error(req, FORQ_ERR_NOT_ENDED,
				 "job %llu has not ended; only an ended job "
				 "runs again",
				 (unsigned long long)id);
	reply = reply_ok(req->id);
	json_object_set_new(reply, "attempt", json_integer(attempt + 2));
	return reply;
}

/* What a request about several jobs does to one of them: its item
 * gets "state" (and "error" if nothing was done to it); job is NULL if
 * the store has no such job, mine false if the client may not touch
 * it. -1 if the store failed. */
typedef int (*ops_each_fn)(struct ops *ops, uint64_t id,
			   const struct store_job *job, bool mine,
			   json_t *item);

static void
ops_item_refused(json_t *item, const char *code)
{
	json_object_set_new(item, "state", json_null());
	json_object_set_new(item, "error", json_string(code));
}

/* A task's item names it as users do: "task": "41_7". */
static void
ops_item_task(json_t *item, const struct store_job *job)
{
	char task[48];

	snprintf(task, sizeof task, "%llu_%u",
		 (unsigned long long)job->array_id, job->array_index);
	json_object_set_new(item, "task", json_string(task));
}

/* Cancel, hold, release: each job named, in order, one item each. */
static json_t *
ops_each_job(struct ops *ops, struct client *c, const struct request *req,
	     ops_each_fn fn)
{
	struct req_error err;
	struct store_job job;
	json_t *reply, *list, *item;
	uint64_t *ids;
	size_t n, i;
	enum store_result found;
	int rc;

	if (request_job_ids(req, "jobs", &ids, &n, ops->d.limits->batch_max,
			    &err) == -1)
		return ops_req_error(&err);
	list = json_array();
	for (i = 0; i < n; i++) {
		item = json_pack("{s:I}", "id", (json_int_t)ids[i]);
		/* Whose it is must be known before anything is done to it. */
		if ((found = store_get(ops->d.store, ids[i], &job)) ==
		    STORE_FAILED) {
			rc = -1;
		} else {
			rc =
			    fn(ops, ids[i], found == STORE_OK ? &job : NULL,
			       found != STORE_OK || ops_may_touch(ops, c, &job),
			       item);
			if (found == STORE_OK && job.array_id != 0)
				ops_item_task(item, &job);
			if (found == STORE_OK)
				store_job_free(&job);
		}
		if (rc == -1) {
			json_decref(item);
			json_decref(list);
			free(ids);
			return ops_store_error(ops, req);
		}
		json_array_append_new(list, item);
	}
	free(ids);
	reply = reply_ok(req->id);
	json_object_set_new(reply, "jobs", list);
	return reply;
}

static int
ops_cancel_one(struct ops *ops, uint64_t id, const struct store_job *job,
	       bool mine, json_t *item)
{
	enum job_state state;
	enum jobs_cancel cancel;
	bool stopping;

	if (!mine) {
		ops_item_refused(item, FORQ_ERR_NOT_PERMITTED);
		json_object_set_new(item, "stopping", json_false());
		return 0;
	}
	/* A running job is stopped by its worker (or by forqd, if
	 * adopted); its end comes later. */
	stopping = running_cancel(ops->d.running, id) ||
		   draining_cancel(ops->d.draining, id);
	if (stopping) {
		state = JOB_RUNNING;
		cancel = JOBS_NOT_PENDING;
	} else {
		cancel = jobs_cancel(ops->d.jobs, id, &state);
	}
	if (cancel == JOBS_CANCEL_FAIL)
		return -1;
	if (cancel == JOBS_NO_SUCH_JOB)
		ops_item_refused(item, FORQ_ERR_NOT_FOUND);
	else
		json_object_set_new(item, "state",
				    json_string(job_state_name(state)));
	json_object_set_new(item, "stopping", json_boolean(stopping));
	(void)job;
	return 0;
}

json_t *
ops_cancel(struct ops *ops, struct client *c, const struct request *req)
{
	return ops_each_job(ops, c, req, ops_cancel_one);
}

/* Hold and release: a job that is not there, or not the client's, is
 * refused (true). */
static bool
ops_item_not_yours(json_t *item, const struct store_job *job, bool mine)
{
	if (job != NULL && mine)
		return false;
	ops_item_refused(item, job == NULL ? FORQ_ERR_NOT_FOUND
					   : FORQ_ERR_NOT_PERMITTED);
	return true;
}

/* The state it went to (rc STORE_OK), or the one it stays in and why
 * (STORE_NO_MATCH: code); -1 if the store failed. */
static int
ops_item_moved(json_t *item, enum store_result rc, enum job_state now,
	       const struct store_job *job, const char *code)
{
	if (rc == STORE_FAILED)
		return -1;
	json_object_set_new(item, "state",
			    json_string(job_state_name(
				rc == STORE_OK ? now : job->state)));
	if (rc == STORE_NO_MATCH)
		json_object_set_new(item, "error", json_string(code));
	return 0;
}

static int
ops_hold_one(struct ops *ops, uint64_t id, const struct store_job *job,
	     bool mine, json_t *item)
{
	if (ops_item_not_yours(item, job, mine))
		return 0;
	/* A gang kept for its workers goes back to its queue first: held,
	 * it keeps none. */
	running_unhold(ops->d.running, id);
	return ops_item_moved(item, jobs_hold(ops->d.jobs, job), JOB_HELD, job,
			      FORQ_ERR_NOT_PENDING);
}

json_t *
ops_hold(struct ops *ops, struct client *c, const struct request *req)
{
	return ops_each_job(ops, c, req, ops_hold_one);
}

static int
ops_release_one(struct ops *ops, uint64_t id, const struct store_job *job,
		bool mine, json_t *item)
{
	enum job_state state = JOB_HELD;
	enum store_result rc;

	(void)id;
	if (ops_item_not_yours(item, job, mine))
		return 0;
	rc = jobs_release(ops->d.jobs, job, &state);
	return ops_item_moved(item, rc, state, job, FORQ_ERR_NOT_HELD);
}

json_t *
ops_release(struct ops *ops, struct client *c, const struct request *req)
{
	return ops_each_job(ops, c, req, ops_release_one);
}

json_t *
ops_set(struct ops *ops, struct client *c, const struct request *req)
{
	struct store_job job;
	struct req_error err;
	struct job_edit e;
	json_t *reply;
	uint64_t id;
	enum store_result rc;

	if (request_job_id(req, "job", &id, &err) == -1)
		return ops_req_error(&err);
	if ((reply = ops_edit_of(ops, req, &e)) != NULL)
		return reply;
	if ((reply = ops_get_own_job(ops, c, req, id, &job, "change")) !=
	    NULL) {
		job_edit_free(&e);
		return reply;
	}
	/* A gang held for its workers is queued again first (its row
	 * stays as read): its place follows the change. */
	running_unhold(ops->d.running, id);
	rc = job_state_pending(job.state) ? jobs_edit(ops->d.jobs, &job, &e)
					  : STORE_NO_MATCH;
	store_job_free(&job);
	job_edit_free(&e);
	if (rc == STORE_FAILED)
		return ops_store_error(ops, req);
	if (rc == STORE_NO_MATCH)
		return ops_error(req, FORQ_ERR_NOT_PENDING,
				 "job %llu has started already; only a job "
				 "not yet started is changed",
				 (unsigned long long)id);
	return reply_ok(req->id);
}
