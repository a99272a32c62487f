/*
 * The requests of a cluster node that read the shared queue: status,
 * list, wait, queues, logs (ops_cluster.c takes every request, and has
 * those that change the queue). Each checks what it can at
 * once, asks the database, and answers in a later turn through an
 * owed reply (later.h), which a client that went away voids. The
 * reply's shape is the one-host reply's, with where the job runs.
 */
#include <sys/mman.h>

#include <limits.h>
#include <pwd.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/compat.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/job.h"
#include "core/request.h"
#include "store/store.h"
#include "cluster/cluster.h"
#include "control/control.h"
#include "control/later.h"
#include "ops/ops_cluster_read.h"
#include "ops/ops_common.h"
#include "ops/ops_jobs.h"
#include "ops/ops_queues.h"
#include "ops/ops_read.h"
#include "control/watch.h"
#include "forq/protocol.h"

struct ask *
opsc_ask_new(struct ops *ops, struct client *c, const struct request *req)
{
	struct ask *a;

	if ((a = calloc(1, sizeof *a)) == NULL)
		return NULL;
	if ((a->reply = later_add(ops->d.later, c, req->id)) == NULL) {
		free(a);
		return NULL;
	}
	a->ops = ops;
	a->req = json_incref(req->root);
	a->uid = control_cred(c)->uid;
	a->admin = ops_is_admin(ops, c);
	return a;
}

/* reply NULL: the token was answered another way. */
void
opsc_ask_answer(struct ask *a, json_t *reply)
{
	if (a->reply != NULL)
		later_answer(a->ops->d.later, a->reply, reply);
	json_decref(a->req);
	json_decref(a->acc);
	json_decref(a->done);
	free(a->ids);
	free(a->seen);
	free(a->byid);
	if (a->specs != NULL)
		ops_specs_free(a->specs, a->nspecs);
	free(a->user);
	free(a);
}

json_t *
opsc_ask_error(struct ask *a, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return reply_error(later_req_id(a->reply), code, msg);
}

json_t *
opsc_db_error(struct ask *a, const char *err)
{
	return opsc_ask_error(a, FORQ_ERR_UNAVAILABLE,
			      "the cluster's database: %s",
			      err != NULL ? err : "no answer");
}

bool
opsc_ask_may_touch(const struct ask *a, uid_t owner)
{
	return a->admin || owner == a->uid;
}

/* --- status -------------------------------------------------------- */

static json_t *
opsc_job_json(struct ask *a, const struct store_job *job, const char *node,
	      bool full)
{
	json_t *o = ops_job_json(a->ops, job, full);

	json_object_set_new(o, "node",
			    node != NULL ? json_string(node) : json_null());
	return o;
}

static void
opsc_status_array(void *arg, const uint64_t *counts, const char *err)
{
	struct ask *a = arg;
	json_t *reply;

	if (err != NULL) {
		opsc_ask_answer(a, opsc_db_error(a, err));
		return;
	}
	ops_array_json(json_object_get(a->done, "job"), counts);
	reply = a->done;
	a->done = NULL;
	opsc_ask_answer(a, reply);
}

static void
opsc_status_attempt(void *arg, const struct store_attempt *at, const char *node,
		    const char *err)
{
	struct ask *a = arg;
	json_t *list =
	    json_object_get(json_object_get(a->done, "job"), "attempts");
	json_t *reply;

	if (at != NULL) {
		(void)ops_attempt_one(list, at);
		json_object_set_new(json_array_get(list,
						   json_array_size(list) - 1),
				    "node",
				    node != NULL ? json_string(node)
						 : json_null());
		return;
	}
	if (err != NULL) {
		opsc_ask_answer(a, opsc_db_error(a, err));
		return;
	}
	/* An array's id: its tasks counted by state, once read. */
	if (a->head && cluster_array_states(a->ops->d.cluster, a->id,
					    opsc_status_array, a) == 0)
		return;
	reply = a->done;
	a->done = NULL;
	opsc_ask_answer(a, reply);
}

static void
opsc_status_job(void *arg, const struct store_job *job, const char *node,
		const char *err)
{
	struct ask *a = arg;
	json_t *reply;
	uint64_t id = a->id;

	if (err != NULL) {
		opsc_ask_answer(a, opsc_db_error(a, err));
		return;
	}
	if (job == NULL || !opsc_ask_may_touch(a, job->uid)) {
		opsc_ask_answer(a,
				job == NULL
				    ? opsc_ask_error(a, FORQ_ERR_NOT_FOUND,
						     "no job %llu",
						     (unsigned long long)id)
				    : opsc_ask_error(a, FORQ_ERR_NOT_PERMITTED,
						     "job %llu belongs to "
						     "another "
						     "user",
						     (unsigned long long)id));
		return;
	}
	reply = reply_ok(later_req_id(a->reply));
	json_object_set_new(reply, "job", opsc_job_json(a, job, node, true));
	/* Its attempts before, as one host shows them, once read. */
	a->done = reply;
	a->head = job->array_id == id;
	if (cluster_attempts(a->ops->d.cluster, id, opsc_status_attempt, a) ==
	    -1)
		opsc_status_attempt(a, NULL, NULL, "it cannot be reached now");
}

json_t *
opsc_status(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	struct ask *a;
	uint64_t id;

	if (request_job_id(req, "job", &id, &err) == -1)
		return ops_req_error(&err);
	if ((a = opsc_ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	a->id = id;
	if (cluster_get(ops->d.cluster, id, opsc_status_job, a) == -1)
		opsc_status_job(a, NULL, NULL, "it cannot be reached now");
	return NULL;
}

/* --- list ---------------------------------------------------------- */

static void
opsc_list_job(void *arg, const struct store_job *job, const char *node,
	      const char *err)
{
	struct ask *a = arg;
	json_t *reply;

	if (job != NULL) {
		json_array_append_new(a->acc,
				      opsc_job_json(a, job, node, false));
		return;
	}
	if (err != NULL) {
		opsc_ask_answer(a, opsc_db_error(a, err));
		return;
	}
	reply = reply_ok(later_req_id(a->reply));
	json_object_set(reply, "jobs", a->acc);
	json_object_set_new(reply, "more", json_false());
	opsc_ask_answer(a, reply);
}

json_t *
opsc_list(struct ops *ops, struct client *c, const struct request *req)
{
	struct store_filter f;
	struct ask *a;
	json_t *reply;
	uint32_t n;

	if ((reply = ops_list_filter(ops, c, req, &f, &n)) != NULL)
		return reply;
	if ((a = opsc_ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	a->acc = json_array();
	if (cluster_list(ops->d.cluster, &f, n, opsc_list_job, a) == -1)
		opsc_list_job(a, NULL, NULL, "it cannot be reached now");
	return NULL;
}

/* --- wait ---------------------------------------------------------- */

/* Once waited for, the jobs are looked at again: one that ended
 * between the first look and the wait is told to it now (its NOTIFY
 * came when nobody waited yet). */
static void
opsc_recheck(void *arg, uint64_t id, uid_t uid, const struct job_result *r,
	     const char *err)
{
	struct ops *ops = arg;

	(void)uid;
	(void)err;
	if (r != NULL && job_state_final(r->state))
		watch_job_final(ops->d.watch, id, r);
}

#define OPSC_RUNNING (UINT64_C(1) << 63)

/* One look at every job waited for: each must exist and be the
 * client's to see; those ended go in the reply, the wait is for the
 * others. */
/* The rows come in no order, as many as the ids: each finds its ids
 * by a binary search, not a pass over them all. */
static int
opsc_by_id(const void *x, const void *y, void *arg)
{
	const uint64_t *ids = arg;
	uint64_t a = ids[*(const size_t *)x] & ~OPSC_RUNNING;
	uint64_t b = ids[*(const size_t *)y] & ~OPSC_RUNNING;

	return a < b ? -1 : a > b;
}

/* The first place in byid of id, or nids if it is not there. */
static size_t
opsc_first_of(struct ask *a, uint64_t id)
{
	size_t lo = 0, hi = a->nids, mid;

	if (a->byid == NULL) {
		if ((a->byid = calloc(a->nids, sizeof *a->byid)) == NULL)
			return a->nids;
		for (mid = 0; mid < a->nids; mid++)
			a->byid[mid] = mid;
		qsort_r(a->byid, a->nids, sizeof *a->byid, opsc_by_id, a->ids);
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((a->ids[a->byid[mid]] & ~OPSC_RUNNING) < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
opsc_wait_job(void *arg, uint64_t job, uid_t owner, const struct job_result *r,
	      const char *err)
{
	struct ask *a = arg;
	struct ops *ops = a->ops;
	struct client *c;
	json_t *reply, *id;
	uint64_t *pending;
	size_t npending = 0, i, k;

	if (r != NULL) {
		if (!opsc_ask_may_touch(a, owner) && !a->failed) {
			a->failed = true;
			a->done =
			    opsc_ask_error(a, FORQ_ERR_NOT_PERMITTED,
					   "job %llu belongs to another user",
					   (unsigned long long)job);
		}
		if (job_state_final(r->state))
			json_array_append_new(a->acc, job_result_json(job, r));
		/* Named twice, waited for once. */
		for (i = opsc_first_of(a, job); i < a->nids; i++) {
			k = a->byid[i];
			if ((a->ids[k] & ~OPSC_RUNNING) != job)
				break;
			if (a->seen[k])
				continue;
			a->seen[k] = true;
			if (!job_state_final(r->state) && npending++ == 0)
				a->ids[k] |= OPSC_RUNNING;
		}
		return;
	}
	if (err != NULL && !a->failed) {
		a->failed = true;
		a->done = opsc_db_error(a, err);
	}
	for (i = 0; i < a->nids && !a->failed; i++) {
		if (!a->seen[i]) {
			a->failed = true;
			a->done =
			    opsc_ask_error(a, FORQ_ERR_NOT_FOUND, "no job %llu",
					   (unsigned long long)a->ids[i]);
		}
	}
	if (a->failed) {
		reply = a->done;
		a->done = NULL;
		opsc_ask_answer(a, reply);
		return;
	}
	c = later_client(a->reply);
	id = json_incref(later_req_id(a->reply));
	pending = a->ids;
	for (i = 0; i < a->nids; i++) {
		if (pending[i] & OPSC_RUNNING)
			pending[npending++] = pending[i] & ~OPSC_RUNNING;
	}
	if (c == NULL || npending == 0) {
		/* Gone, or nothing to wait for. */
		reply = c == NULL ? json_null() : reply_ok(id);
		if (c != NULL)
			json_object_set(reply, "jobs", a->acc);
		opsc_ask_answer(a, reply);
		json_decref(id);
		return;
	}
	later_drop(ops->d.later, a->reply);
	if (watch_add(ops->d.watch, c, id, WATCH_WAIT, a->events, pending,
		      npending, json_incref(a->acc)) == -1)
		control_push(c, reply_error(id, FORQ_ERR_INTERNAL,
					    "out of memory"));
	else
		(void)cluster_results_many(ops->d.cluster, pending, npending,
					   opsc_recheck, ops);
	json_decref(id);
	/* The watch answers now: the ask only goes. */
	a->reply = NULL;
	opsc_ask_answer(a, NULL);
}

/* wait --all, --queue: the client's jobs not ended now (those
 * submitted later are not waited for), then as for named jobs. */
void
opsc_wait_mine(void *arg, const uint64_t *ids, size_t n, const char *err)
{
	struct ask *a = arg;
	struct client *c = later_client(a->reply);
	json_t *msg;

	if (ids == NULL) {
		opsc_ask_answer(a, opsc_db_error(a, err));
		return;
	}
	if (n == 0) {
		msg = reply_ok(later_req_id(a->reply));
		json_object_set_new(msg, "jobs", json_array());
		opsc_ask_answer(a, msg);
		return;
	}
	if ((a->ids = calloc(n, sizeof *a->ids)) == NULL ||
	    (a->seen = calloc(n, sizeof *a->seen)) == NULL) {
		opsc_ask_answer(a, opsc_ask_error(a, FORQ_ERR_INTERNAL,
						  "out of memory"));
		return;
	}
	memcpy(a->ids, ids, n * sizeof *ids);
	a->nids = n;
	/* How many, first, as on one host: forq wait --all shows it. */
	if (a->events && c != NULL) {
		msg = json_object();
		json_object_set(msg, "id", later_req_id(a->reply));
		json_object_set_new(msg, "waiting",
				    json_integer((json_int_t)n));
		control_push(c, msg);
	}
	if (cluster_results_many(a->ops->d.cluster, a->ids, n, opsc_wait_job,
				 a) == -1)
		opsc_wait_job(a, 0, 0, NULL, "it cannot be reached now");
}

json_t *
opsc_wait(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	bool events, all;
	const char *queue;
	struct ask *a;
	uint64_t *ids;
	size_t n;

	if (request_bool(req, "events", &events, &err) == -1 ||
	    request_bool(req, "all", &all, &err) == -1 ||
	    request_string(req, "queue", &queue, &err) == -1)
		return ops_req_error(&err);
	if (queue != NULL && conf_queue_find(ops->d.conf, queue) == NULL)
		return ops_error(req, FORQ_ERR_UNKNOWN_QUEUE,
				 "no queue named \"%s\"", queue);
	if (all || queue != NULL) {
		if ((a = opsc_ask_new(ops, c, req)) == NULL)
			return ops_error(req, FORQ_ERR_INTERNAL,
					 "out of memory");
		a->events = events;
		a->acc = json_array();
		if (cluster_unfinished(ops->d.cluster, a->uid, queue, false,
				       opsc_wait_mine, a) == -1)
			opsc_wait_mine(a, NULL, 0, "it cannot be reached now");
		return NULL;
	}
	if (request_job_ids(req, "jobs", &ids, &n, ops->d.limits->batch_max,
			    &err) == -1)
		return ops_req_error(&err);
	if ((a = opsc_ask_new(ops, c, req)) == NULL ||
	    (a->seen = calloc(n > 0 ? n : 1, sizeof *a->seen)) == NULL) {
		if (a != NULL)
			opsc_ask_answer(a, json_null());
		free(ids);
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	a->ids = ids;
	a->nids = n;
	a->events = events;
	a->acc = json_array();
	if (cluster_results_many(ops->d.cluster, ids, n, opsc_wait_job, a) ==
	    -1)
		opsc_wait_job(a, 0, 0, NULL, "it cannot be reached now");
	return NULL;
}

/* --- queues -------------------------------------------------------- */

static void
opsc_queues_load(void *arg, const struct cluster_queue_load *q, size_t n,
		 const char *err)
{
	struct ask *a = arg;
	const struct conf *conf = a->ops->d.conf;
	const struct conf_queue *cq;
	json_t *reply, *list;
	uint64_t scheduled = 0;
	bool all_paused = false;
	size_t i, k;

	if (q == NULL) {
		opsc_ask_answer(a, opsc_db_error(a, err));
		return;
	}
	list = json_array();
	/* This node's queues, then those only others declare. */
	for (i = 0; i < conf->nqueues + n; i++) {
		const char *name;
		uint64_t queued = 0, running = 0;
		bool paused;

		if (i < conf->nqueues) {
			name = conf->queues[i].name;
		} else {
			name = q[i - conf->nqueues].queue;
			if (name[0] == '\0' ||
			    conf_queue_find(conf, name) != NULL)
				continue;
		}
		paused = false;
		for (k = 0; k < n; k++) {
			if (strcmp(q[k].queue, name) == 0) {
				queued = q[k].queued;
				running = q[k].running;
				paused = q[k].paused;
			}
		}
		cq = conf_queue_find(conf, name);
		json_array_append_new(list,
				      ops_queue_json(name, cq, queued, running,
						     paused,
						     cq != NULL ? cq->parallel
								: 0));
	}
	for (k = 0; k < n; k++) {
		scheduled += q[k].scheduled;
		all_paused |= q[k].queue[0] == '\0' && q[k].paused;
	}
	reply = reply_ok(later_req_id(a->reply));
	json_object_set_new(reply, "queues", list);
	json_object_set_new(reply, "paused", json_boolean(all_paused));
	json_object_set_new(reply, "scheduled",
			    json_integer((json_int_t)scheduled));
	opsc_ask_answer(a, reply);
}

/* forq queues on a cluster node: the load of every node, by queue. */
json_t *
opsc_queues(struct ops *ops, struct client *c, const struct request *req)
{
	struct ask *a;

	if ((a = opsc_ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	if (cluster_queues(ops->d.cluster, opsc_queues_load, a) == -1)
		opsc_queues_load(a, NULL, 0, "it cannot be reached now");
	return NULL;
}

/* --- logs ---------------------------------------------------------- */

/* A job's output on the node that ran it: the files of its own it
 * named (--stdout, --stderr), opened as its user is named here, or
 * the spool's. */
static void
opsc_logs_here(struct ops *ops, const struct store_job *job, const char *user,
	       bool create, int fds[2])
{
	static const char *const ext[] = {"out", "err"};
	struct store_job mine = *job;
	struct passwd *pw;
	int i;

	for (i = 0; i < 2; i++) {
		if ((i == 0 ? job->spec.stdout_path : job->spec.stderr_path) ==
		    NULL) {
			fds[i] = ops_open_log(ops, job->id, ext[i], create);
			continue;
		}
		/* Its uid here, which may not be the submitter's. */
		if ((pw = getpwnam(user)) == NULL) {
			fds[i] = -1;
			continue;
		}
		mine.uid = pw->pw_uid;
		mine.gid = pw->pw_gid;
		fds[i] = store_job_file_open(&mine, i, create);
	}
}

/* Where the whole output of a job that ran on another node is. */
static void
opsc_logs_where(const struct store_job *job, const struct cluster_output *o,
		char *buf, size_t len)
{
	char path[2][PATH_MAX + 32];
	const char *dir = o->state_dir != NULL && o->state_dir[0] != '\0'
			      ? o->state_dir
			      : "its state_dir";
	int i;

	for (i = 0; i < 2; i++) {
		if (store_job_file_path(job, i, path[i], sizeof path[i]) == -1)
			snprintf(path[i], sizeof path[i], "%s/logs/%llu.%s",
				 dir, (unsigned long long)job->id,
				 i == 0 ? "out" : "err");
	}
	snprintf(buf, len,
		 "job %llu ran on node %s: its whole output is there, in %s "
		 "and %s",
		 (unsigned long long)job->id, o->node, path[0], path[1]);
}

static void
opsc_logs_job(void *arg, const struct store_job *job,
	      const struct cluster_output *o, const char *err)
{
	struct ask *a = arg;
	struct ops *ops = a->ops;
	struct client *c = later_client(a->reply);
	bool final, follow = a->events;
	int fds[2] = {-1, -1};
	json_t *reply;
	char where[PATH_MAX + 128];

	if (err != NULL || job == NULL || !opsc_ask_may_touch(a, job->uid)) {
		opsc_ask_answer(a,
				err != NULL
				    ? opsc_ask_error(a, FORQ_ERR_UNAVAILABLE,
						     "the cluster's database: "
						     "%s",
						     err)
				: job == NULL
				    ? opsc_ask_error(a, FORQ_ERR_NOT_FOUND,
						     "no job %llu",
						     (unsigned long long)a->id)
				    : opsc_ask_error(a, FORQ_ERR_NOT_PERMITTED,
						     "job %llu belongs to "
						     "another "
						     "user",
						     (unsigned long long)
							 a->id));
		return;
	}
	final = job_state_final(job->state);
	reply = reply_ok(later_req_id(a->reply));
	json_object_set_new(reply, "job",
			    job_result_json(job->id, &job->result));
	json_object_set_new(reply, "final", json_boolean(final));
	json_object_set_new(reply, "node",
			    o->node != NULL ? json_string(o->node)
					    : json_null());
	if (o->node == NULL || o->ran_here) {
		/* Here, or nowhere yet: the files, as on one host. */
		opsc_logs_here(ops, job, o->user, follow && !final, fds);
	} else {
		if (follow && !final) {
			opsc_ask_answer(a,
					opsc_ask_error(a, FORQ_ERR_UNSUPPORTED,
						       "job %llu runs on node "
						       "%s: "
						       "follow it there",
						       (unsigned long long)
							   job->id,
						       o->node));
			return;
		}
		/* The last bytes the database kept, and where the rest is. */
		fds[0] = ops_memfd("forq-out", o->out, o->out_len);
		fds[1] = ops_memfd("forq-err", o->err, o->err_len);
		opsc_logs_where(job, o, where, sizeof where);
		snprintf(where + strlen(where), sizeof where - strlen(where),
			 "%s",
			 !final    ? " (it has not ended: nothing is kept yet)"
			 : o->kept ? " (here: the last 64 KiB of each)"
				   : "");
		json_object_set_new(reply, "elsewhere", json_string(where));
	}
	if (fds[0] == -1 || fds[1] == -1) {
		if (fds[0] != -1)
			close(fds[0]);
		if (fds[1] != -1)
			close(fds[1]);
		json_object_set_new(reply, "fds", json_integer(0));
		opsc_ask_answer(a, reply);
		return;
	}
	json_object_set_new(reply, "fds", json_integer(2));
	if (c != NULL && follow && !final &&
	    watch_add(ops->d.watch, c, later_req_id(a->reply), WATCH_FOLLOW,
		      true, &job->id, 1, json_array()) == -1)
		log_warnx("job %llu: cannot follow it: out of memory",
			  (unsigned long long)job->id);
	if (later_answer_fds(ops->d.later, a->reply, reply, fds, 2) == -1)
		log_warnx("job %llu: cannot pass its output files",
			  (unsigned long long)job->id);
	a->reply = NULL;
	close(fds[0]);
	close(fds[1]);
	opsc_ask_answer(a, NULL);
}

json_t *
opsc_logs(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	struct ask *a;
	bool follow;
	uint64_t id;

	if (request_job_id(req, "job", &id, &err) == -1 ||
	    request_bool(req, "follow", &follow, &err) == -1)
		return ops_req_error(&err);
	if ((a = opsc_ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	a->id = id;
	a->events = follow;
	if (cluster_output(ops->d.cluster, id, opsc_logs_job, a) == -1)
		opsc_logs_job(a, NULL, NULL, "it cannot be reached now");
	return NULL;
}
