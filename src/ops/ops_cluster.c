/*
 * The requests of a cluster node, which its shared queue answers: here
 * the dispatch, and those that change the queue: cancel, hold,
 * release, retry, set, clean, pause, resume and drain;
 * ops_cluster_submit.c has submit, ops_cluster_read.c those that read
 * it. As there, each answers in a later turn through an owed reply, in
 * the one-host reply's shape.
 */
#include <sys/param.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/compat.h"
#include "common/log.h"
#include "common/units.h"
#include "core/conf.h"
#include "core/job.h"
#include "core/request.h"
#include "core/res.h"
#include "store/store.h"
#include "cluster/cluster.h"
#include "cluster/node.h"
#include "control/control.h"
#include "control/later.h"
#include "ops/ops_cluster.h"
#include "ops/ops_cluster_read.h"
#include "ops/ops_common.h"
#include "ops/ops_jobs.h"
#include "forq/protocol.h"

/* The names of the tasks a request named, by id, set in its object by
 * opsc_handle for the handler's items (a client's own is dropped). */
#define OPSC_TASKS "_forq_tasks"

/* --- cancel, hold, release ------------------------------------------ */

/* One job's item in, and the reply once every job has answered. */
static void
opsc_item_done(struct ask *a, json_t *item, const char *err)
{
	json_t *reply;

	if (err != NULL && !a->failed) {
		a->failed = true;
		a->done = opsc_db_error(a, err);
	}
	json_array_append_new(a->acc, item);
	if (--a->left > 0)
		return;
	if (a->failed) {
		reply = a->done;
		a->done = NULL;
		opsc_ask_answer(a, reply);
		return;
	}
	reply = reply_ok(later_req_id(a->reply));
	json_object_set(reply, "jobs", a->acc);
	opsc_ask_answer(a, reply);
}

/* The item of the job the next answer is about: answers come in the
 * order the changes were sent. */
static json_t *
opsc_item(const struct ask *a)
{
	uint64_t id = a->ids[a->nids - a->left];
	json_t *item = json_pack("{s:I}", "id", (json_int_t)id), *name;
	char key[24];

	/* A task named by the request (opsc_handle), as one host names it. */
	snprintf(key, sizeof key, "%llu", (unsigned long long)id);
	name = json_object_get(json_object_get(a->req, OPSC_TASKS), key);
	if (json_is_string(name))
		json_object_set(item, "task", name);
	return item;
}

static void
opsc_item_error(json_t *item, const char *code)
{
	json_object_set_new(item, "state", json_null());
	json_object_set_new(item, "error", json_string(code));
}

static void
opsc_cancelled(void *arg, enum cluster_outcome how, int64_t n, const char *err)
{
	struct ask *a = arg;
	json_t *item = opsc_item(a);

	(void)n;
	switch (how) {
	case CLUSTER_DONE:
		json_object_set_new(item, "state", json_string("queued"));
		json_object_set_new(item, "stopping", json_false());
		break;
	case CLUSTER_ASKED:
		json_object_set_new(item, "state", json_string("running"));
		json_object_set_new(item, "stopping", json_true());
		break;
	case CLUSTER_NOT_PENDING:
		json_object_set_new(item, "state", json_string("ended"));
		json_object_set_new(item, "stopping", json_false());
		break;
	default:
		opsc_item_error(item, FORQ_ERR_NOT_FOUND);
		json_object_set_new(item, "stopping", json_false());
		break;
	}
	opsc_item_done(a, item, err);
}

/* hold and release: the job's state now, or why it is not held or
 * released (in the state it is in). */
static void
opsc_held(void *arg, enum cluster_outcome how, int64_t n, const char *err)
{
	struct ask *a = arg;
	json_t *item = opsc_item(a);

	switch (how) {
	case CLUSTER_DONE:
	case CLUSTER_NOT_PENDING:
	case CLUSTER_NOT_HELD:
		json_object_set_new(item, "state",
				    json_string(
					job_state_name((enum job_state)n)));
		if (how != CLUSTER_DONE)
			json_object_set_new(item, "error",
					    json_string(
						how == CLUSTER_NOT_HELD
						    ? FORQ_ERR_NOT_HELD
						    : FORQ_ERR_NOT_PENDING));
		break;
	default:
		opsc_item_error(item, FORQ_ERR_NOT_FOUND);
		break;
	}
	opsc_item_done(a, item, err);
}

typedef int opsc_change_fn(struct cluster *cl, uint64_t id, int64_t uid,
			   cluster_change_fn *fn, void *arg);

/* A change of each job named, in order; one reply once all have
 * answered. Another user's job is not found, as far as this user can
 * tell. */
static json_t *
opsc_each(struct ops *ops, struct client *c, const struct request *req,
	  opsc_change_fn *change, cluster_change_fn *answered)
{
	struct req_error err;
	struct ask *a;
	uint64_t *ids;
	size_t n, i;

	if (request_job_ids(req, "jobs", &ids, &n, ops->d.limits->batch_max,
			    &err) == -1)
		return ops_req_error(&err);
	if ((a = opsc_ask_new(ops, c, req)) == NULL) {
		free(ids);
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	a->ids = ids;
	a->nids = n;
	a->left = n;
	a->acc = json_array();
	for (i = 0; i < n; i++) {
		if (change(ops->d.cluster, ids[i],
			   a->admin ? -1 : (int64_t)a->uid, answered, a) == -1)
			answered(a, CLUSTER_FAILED, 0,
				 "it cannot be reached now");
	}
	return NULL;
}

/* --- retry, set, clean ----------------------------------------------- */

/* Retry and set: as on one host, only the job's owner or root. */
static int64_t
opsc_owner_or_root(const struct ask *a)
{
	return a->uid == 0 ? -1 : (int64_t)a->uid;
}

static json_t *
opsc_change_error(struct ask *a, enum cluster_outcome how, const char *err)
{
	if (how == CLUSTER_NO_SUCH_JOB)
		return opsc_ask_error(a, FORQ_ERR_NOT_FOUND,
				      "no such job: %llu (or another user's)",
				      (unsigned long long)a->id);
	return opsc_db_error(a, err);
}

static void
opsc_retried(void *arg, enum cluster_outcome how, int64_t n, const char *err)
{
	struct ask *a = arg;
	json_t *reply;

	switch (how) {
	case CLUSTER_DONE:
		reply = reply_ok(later_req_id(a->reply));
		/* As one host says it: counted from 1, the one now queued. */
		json_object_set_new(reply, "attempt", json_integer(n + 1));
		break;
	case CLUSTER_NOT_PENDING:
		reply =
		    opsc_ask_error(a, FORQ_ERR_NOT_ENDED,
				   "job %llu has not ended; only an ended job "
				   "runs again",
				   (unsigned long long)a->id);
		break;
	case CLUSTER_KEY_HELD:
		reply = opsc_ask_error(a, FORQ_ERR_DUPLICATE,
				       "a job not ended holds the unique key "
				       "of job "
				       "%llu now; job %llu does not run again "
				       "beside it",
				       (unsigned long long)a->id,
				       (unsigned long long)a->id);
		break;
	default:
		reply = opsc_change_error(a, how, err);
		break;
	}
	opsc_ask_answer(a, reply);
}

/* One task of an array retried: the reply once all have answered. */
static void
opsc_task_retried(void *arg, enum cluster_outcome how, int64_t n,
		  const char *err)
{
	struct ask *a = arg;
	json_t *reply;

	(void)n;
	if (how == CLUSTER_DONE)
		a->nids++;
	else if (how == CLUSTER_FAILED && !a->failed) {
		a->failed = true;
		a->done = opsc_db_error(a, err);
	}
	if (--a->left > 0)
		return;
	if (a->failed) {
		reply = a->done;
		a->done = NULL;
	} else if (a->nids == 0) {
		reply = opsc_ask_error(a, FORQ_ERR_NOT_ENDED,
				       "no task of array %llu has ended; only "
				       "an ended task runs again",
				       (unsigned long long)a->id);
	} else {
		reply = reply_ok(later_req_id(a->reply));
		json_object_set_new(reply, "tasks",
				    json_integer((json_int_t)a->nids));
	}
	opsc_ask_answer(a, reply);
}

/* An array's id: each of its tasks that has ended runs again, as on
 * one host ("tasks" says how many); any other job, a task named by its
 * own id too, itself. */
static void
opsc_retry_of(void *arg, const struct cluster_task *t, size_t n,
	      const char *err)
{
	struct ask *a = arg;
	struct cluster *cl = a->ops->d.cluster;
	size_t i;

	if (err != NULL) {
		opsc_ask_answer(a, opsc_db_error(a, err));
		return;
	}
	if (n == 0 || t[0].array != a->id) {
		if (cluster_retry(cl, a->id, opsc_owner_or_root(a),
				  opsc_retried, a) == -1)
			opsc_retried(a, CLUSTER_FAILED, 0,
				     "it cannot be reached now");
		return;
	}
	a->left = n;
	a->nids = 0;
	for (i = 0; i < n; i++) {
		if (cluster_retry(cl, t[i].id, opsc_owner_or_root(a),
				  opsc_task_retried, a) == -1)
			opsc_task_retried(a, CLUSTER_FAILED, 0,
					  "it cannot be reached now");
	}
}

static json_t *
opsc_retry(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	struct ask *a;
	uint64_t id;
	int64_t every = -1;

	if (request_job_id(req, "job", &id, &err) == -1)
		return ops_req_error(&err);
	if ((a = opsc_ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	a->id = id;
	if (cluster_tasks(ops->d.cluster, &id, &every, 1, opsc_retry_of, a) ==
	    -1)
		opsc_retry_of(a, NULL, 0, "it cannot be reached now");
	return NULL;
}

static void
opsc_priority_set(void *arg, enum cluster_outcome how, int64_t n,
		  const char *err)
{
	struct ask *a = arg;

	(void)n;
	if (how == CLUSTER_DONE)
		opsc_ask_answer(a, reply_ok(later_req_id(a->reply)));
	else if (how == CLUSTER_NOT_PENDING)
		opsc_ask_answer(a, opsc_ask_error(a, FORQ_ERR_NOT_PENDING,
						  "job %llu has been claimed "
						  "by a node "
						  "or has ended; only a job "
						  "not yet "
						  "claimed is changed",
						  (unsigned long long)a->id));
	else
		opsc_ask_answer(a, opsc_change_error(a, how, err));
}

static json_t *
opsc_set(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	struct job_edit e;
	struct ask *a;
	json_t *reply;
	uint64_t id;

	if (request_job_id(req, "job", &id, &err) == -1)
		return ops_req_error(&err);
	if ((reply = ops_edit_of(ops, req, &e)) != NULL)
		return reply;
	if ((a = opsc_ask_new(ops, c, req)) == NULL) {
		job_edit_free(&e);
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	a->id = id;
	/* The queue, timeout and name are in the signed spec: it is
	 * signed anew (cluster_edit). */
	if (cluster_edit(ops->d.cluster, id, opsc_owner_or_root(a), &e,
			 opsc_priority_set, a) == -1)
		opsc_priority_set(a, CLUSTER_FAILED, 0,
				  "it cannot be reached now");
	job_edit_free(&e);
	return NULL;
}

static void
opsc_cleaned(void *arg, enum cluster_outcome how, int64_t n, const char *err)
{
	struct ask *a = arg;
	json_t *reply;

	if (how != CLUSTER_DONE) {
		opsc_ask_answer(a, opsc_change_error(a, CLUSTER_FAILED, err));
		return;
	}
	reply = reply_ok(later_req_id(a->reply));
	json_object_set_new(reply, "removed", json_integer(n));
	json_object_set_new(reply, "more", json_boolean(n == CLEAN_BATCH));
	opsc_ask_answer(a, reply);
}

static json_t *
opsc_clean(struct ops *ops, struct client *c, const struct request *req)
{
	struct store_filter f;
	struct ask *a;
	int64_t before;
	json_t *reply;

	if ((reply = ops_clean_filter(ops, c, req, &f, &before)) != NULL)
		return reply;
	if ((a = opsc_ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	if (cluster_clean(ops->d.cluster, f.state, f.uid, before, CLEAN_BATCH,
			  opsc_cleaned, a) == -1)
		opsc_cleaned(a, CLUSTER_FAILED, 0, "it cannot be reached now");
	return NULL;
}

/* --- pause, resume, drain -------------------------------------------- */

static void
opsc_paused(void *arg, enum cluster_outcome how, int64_t n, const char *err)
{
	struct ask *a = arg;
	const char *queue;

	(void)n;
	if (how != CLUSTER_DONE) {
		opsc_ask_answer(a, opsc_change_error(a, CLUSTER_FAILED, err));
		return;
	}
	if (!a->drain) {
		opsc_ask_answer(a, reply_ok(later_req_id(a->reply)));
		return;
	}
	/* Drain: the reply comes when what the nodes claimed of it has
	 * ended (a pause stops the claims, not what was claimed). */
	queue = json_string_value(json_object_get(a->req, "queue"));
	a->acc = json_array();
	if (cluster_unfinished(a->ops->d.cluster, -1, queue, true,
			       opsc_wait_mine, a) == -1)
		opsc_wait_mine(a, NULL, 0, "it cannot be reached now");
}

static json_t *
opsc_pause(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	const char *queue;
	struct ask *a;
	bool events;

	if (!ops_is_admin(ops, c))
		return ops_error(req, FORQ_ERR_NOT_PERMITTED,
				 "only root or admin_group may %s queues",
				 request_op_name(req->op));
	if (request_string(req, "queue", &queue, &err) == -1 ||
	    request_bool(req, "events", &events, &err) == -1)
		return ops_req_error(&err);
	if (queue != NULL && conf_queue_find(ops->d.conf, queue) == NULL)
		return ops_error(req, FORQ_ERR_UNKNOWN_QUEUE,
				 "no queue named \"%s\"", queue);
	if ((a = opsc_ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	a->events = events;
	a->drain = req->op == REQ_DRAIN;
	if (cluster_pause(ops->d.cluster, queue, req->op != REQ_RESUME,
			  opsc_paused, a) == -1)
		opsc_paused(a, CLUSTER_FAILED, 0, "it cannot be reached now");
	return NULL;
}

/* Every request a cluster node takes, its tasks named by id: its shared
 * queue answers those about jobs. */
static json_t *
opsc_dispatch(struct ops *ops, struct client *c, const struct request *req)
{
	switch (req->op) {
	case REQ_SUBMIT:
		return opsc_submit(ops, c, req);
	case REQ_STATUS:
		return opsc_status(ops, c, req);
	case REQ_LIST:
		return opsc_list(ops, c, req);
	case REQ_WAIT:
		return opsc_wait(ops, c, req);
	case REQ_CANCEL:
		return opsc_each(ops, c, req, cluster_cancel, opsc_cancelled);
	case REQ_HOLD:
		return opsc_each(ops, c, req, cluster_hold, opsc_held);
	case REQ_RELEASE:
		return opsc_each(ops, c, req, cluster_release, opsc_held);
	case REQ_LOGS:
		return opsc_logs(ops, c, req);
	case REQ_QUEUES:
		return opsc_queues(ops, c, req);
	case REQ_RETRY:
		return opsc_retry(ops, c, req);
	case REQ_SET:
		return opsc_set(ops, c, req);
	case REQ_CLEAN:
		return opsc_clean(ops, c, req);
	case REQ_PAUSE:
	case REQ_RESUME:
	case REQ_DRAIN:
		return opsc_pause(ops, c, req);
	default:
		return ops_error(req, FORQ_ERR_UNSUPPORTED,
				 "%s: not kept across a cluster yet",
				 request_op_name(req->op));
	}
}

/* --- tasks --------------------------------------------------------- */

/*
 * Tasks by name, as on one host (ops_resolve_tasks): "41_7" in "job" or
 * "jobs" is that task; an array's id in "jobs" stands for all its
 * tasks (an id that is no array's stays itself). The database says,
 * in one round trip, before the request is served.
 */
struct opsc_names {
	uint64_t *arrays;
	int64_t *indexes; /* -1: every task of the array */
	size_t n, cap;
};

static int
opsc_name_add(struct opsc_names *nm, uint64_t array, int64_t index)
{
	if (array_reserve((void **)&nm->arrays, &nm->cap, nm->n,
			  sizeof *nm->arrays) == -1)
		return -1;
	nm->indexes = realloc(nm->indexes, nm->cap * sizeof *nm->indexes);
	if (nm->indexes == NULL)
		return -1;
	nm->arrays[nm->n] = array;
	nm->indexes[nm->n++] = index;
	return 0;
}

static void
opsc_names_free(struct opsc_names *nm)
{
	free(nm->arrays);
	free(nm->indexes);
}

/* A name of the request's: a task's ("41_7"), or (in "jobs") an id that
 * may be an array's; 1 if it is neither, 0 if added. */
static int
opsc_name_of(struct opsc_names *nm, const json_t *v, bool list, int *bad)
{
	uint64_t array;
	uint32_t index;

	if (json_is_string(v)) {
		if (jobarray_task_parse(json_string_value(v), &array, &index) ==
		    -1) {
			*bad = 1;
			return 1;
		}
		return opsc_name_add(nm, array, index);
	}
	if (list && json_is_integer(v) && json_integer_value(v) > 0)
		return opsc_name_add(nm, (uint64_t)json_integer_value(v), -1);
	return 1;
}

/* The ids found for name k: the rows come in the order of the names
 * (cluster_tasks), so one pass over them serves every name, *at the
 * first row not yet looked at. */
static size_t
opsc_found(const struct cluster_task *t, size_t n, size_t k, size_t *at,
	   size_t *first)
{
	size_t count = 0;

	while (*at < n && t[*at].which < k)
		(*at)++;
	*first = *at;
	while (*at < n && t[*at].which == k) {
		(*at)++;
		count++;
	}
	return count;
}

/* The tasks found, by id, as their replies' items name them ("41_7"),
 * kept with the request for its handler (OPSC_TASKS). */
static void
opsc_task_names(json_t *req, const struct cluster_task *t, size_t n)
{
	json_t *names = json_object();
	char id[24], name[48];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "%llu", (unsigned long long)t[i].id);
		snprintf(name, sizeof name, "%llu_%u",
			 (unsigned long long)t[i].array, t[i].index);
		json_object_set_new(names, id, json_string(name));
	}
	json_object_set_new(req, OPSC_TASKS, names);
}

/* A task named that the database does not have: the answer. */
static void
opsc_no_task(struct ask *a, const json_t *name)
{
	uint64_t array = 0;
	uint32_t index = 0;

	(void)jobarray_task_parse(json_string_value(name), &array, &index);
	opsc_ask_answer(a, opsc_ask_error(a, FORQ_ERR_NOT_FOUND,
					  "no task %u of array %llu", index,
					  (unsigned long long)array));
}

static void
opsc_named(void *arg, const struct cluster_task *t, size_t n, const char *err)
{
	struct ask *a = arg;
	json_t *one = json_object_get(a->req, "job");
	json_t *many = json_object_get(a->req, "jobs"), *out, *v, *reply;
	struct request req;
	struct client *c;
	size_t k = 0, at = 0, i, j, first = 0, count;

	if (err != NULL) {
		opsc_ask_answer(a, opsc_db_error(a, err));
		return;
	}
	if (json_is_string(one)) {
		if (opsc_found(t, n, k++, &at, &first) == 0) {
			opsc_no_task(a, one);
			return;
		}
		json_object_set_new(a->req, "job",
				    json_integer((json_int_t)t[first].id));
	}
	if (a->op != REQ_SUBMIT && json_is_array(many)) {
		out = json_array();
		json_array_foreach(many, i, v)
		{
			if (!json_is_string(v) &&
			    !(json_is_integer(v) &&
			      json_integer_value(v) > 0)) {
				json_array_append(out, v);
				continue;
			}
			count = opsc_found(t, n, k++, &at, &first);
			if (count == 0 && json_is_string(v)) {
				json_decref(out);
				opsc_no_task(a, v);
				return;
			}
			if (count == 0)
				json_array_append(out, v);
			for (j = first; j < first + count; j++)
				json_array_append_new(out,
						      json_integer(
							  (json_int_t)t[j].id));
		}
		json_object_set_new(a->req, "jobs", out);
	}
	opsc_task_names(a->req, t, n);
	if ((c = later_client(a->reply)) == NULL) {
		opsc_ask_answer(a, NULL);
		return;
	}
	req = (struct request){.op = a->op,
			       .root = a->req,
			       .id = json_object_get(a->req, "id")};
	if ((reply = opsc_dispatch(a->ops, c, &req)) != NULL) {
		opsc_ask_answer(a, reply);
		return;
	}
	/* Served: its own reply is owed, or was sent. */
	later_drop(a->ops->d.later, a->reply);
	a->reply = NULL;
	opsc_ask_answer(a, NULL);
}

json_t *
opsc_handle(struct ops *ops, struct client *c, const struct request *req)
{
	json_t *one = json_object_get(req->root, "job");
	json_t *many = json_object_get(req->root, "jobs"), *v;
	struct opsc_names nm = {0};
	struct ask *a;
	size_t i;
	int bad = 0, rc = 0;

	/* Only this node names tasks for a request's handler. */
	json_object_del(req->root, OPSC_TASKS);
	if (req->op != REQ_SUBMIT) {
		if (one != NULL)
			rc |= opsc_name_of(&nm, one, false, &bad) == -1;
		if (json_is_array(many)) {
			json_array_foreach(many, i, v) rc |=
			    opsc_name_of(&nm, v, true, &bad) == -1;
		}
	}
	if (rc != 0 || bad) {
		opsc_names_free(&nm);
		return rc != 0
			   ? ops_error(req, FORQ_ERR_INTERNAL, "out of memory")
			   : ops_error(req, FORQ_ERR_BAD_REQUEST,
				       "a job is named by its id, or a "
				       "task as ARRAY_INDEX (41_7)");
	}
	if (nm.n == 0)
		return opsc_dispatch(ops, c, req);
	if ((a = opsc_ask_new(ops, c, req)) == NULL) {
		opsc_names_free(&nm);
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	a->op = req->op;
	if (cluster_tasks(ops->d.cluster, nm.arrays, nm.indexes, nm.n,
			  opsc_named, a) == -1)
		opsc_named(a, NULL, 0, "it cannot be reached now");
	opsc_names_free(&nm);
	return NULL;
}
