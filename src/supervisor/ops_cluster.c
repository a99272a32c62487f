/*
 * The requests of a cluster node that the shared queue answers:
 * submit, status, list, wait and cancel. Each checks what it can at
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

#include "common/array.h"
#include "common/compat.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/job.h"
#include "core/request.h"
#include "store/store.h"
#include "cluster/cluster.h"
#include "supervisor/control.h"
#include "supervisor/later.h"
#include "supervisor/ops_cluster.h"
#include "supervisor/ops_common.h"
#include "supervisor/ops_jobs.h"
#include "supervisor/ops_queues.h"
#include "supervisor/ops_read.h"
#include "supervisor/watch.h"
#include "forq/protocol.h"

/* What an answer from the database needs to be replied with. */
struct ask {
	struct ops *ops;
	struct later_reply *reply;
	json_t *req; /* the request's root, kept */
	uid_t uid;   /* the client's */
	bool admin;  /* it sees and acts on every job */
	size_t left; /* answers still to come */
	json_t *acc; /* what the answers so far made */
	json_t *done;
	uint64_t *ids;
	size_t nids;
	uint64_t id;  /* status: the job asked about */
	bool *seen;   /* wait: which of ids the database has */
	size_t *byid; /* wait: the indexes of ids, in the order of the ids */
	bool events;  /* wait: an event per job */
	bool drain;   /* pause: and wait for what runs */
	bool failed;
	/* submit with dependencies: the jobs, until those they wait for
	 * are found; who submits them. */
	struct job_spec *specs;
	size_t nspecs;
	gid_t gid;
	char *user;
};

static struct ask *
ask_new(struct ops *ops, struct client *c, const struct request *req)
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
static void
ask_answer(struct ask *a, json_t *reply)
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

static json_t *ask_error(struct ask *a, const char *code, const char *fmt, ...)
    __printflike(3, 4);

static json_t *
ask_error(struct ask *a, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return reply_error(later_req_id(a->reply), code, msg);
}

static bool
ask_may_touch(const struct ask *a, const struct store_job *job)
{
	return a->admin || job->uid == a->uid;
}

/* --- submit -------------------------------------------------------- */

static void
opsc_submitted(void *arg, const uint64_t *ids, const bool *existing, size_t n,
	       const char *err)
{
	struct ask *a = arg;
	json_t *reply, *list, *held;
	size_t i;

	if (ids == NULL) {
		ask_answer(a, ask_error(a, FORQ_ERR_UNAVAILABLE,
					"the cluster did not take the jobs: %s",
					err));
		return;
	}
	reply = reply_ok(later_req_id(a->reply));
	list = json_array();
	held = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(list, json_integer((json_int_t)ids[i]));
		if (existing[i])
			json_array_append_new(held,
					      json_integer((json_int_t)ids[i]));
	}
	json_object_set_new(reply, "ids", list);
	/* The ids that stand for a job not stored: a job not ended held
	 * its unique key. */
	json_object_set_new(reply, "existing", held);
	log_debug("uid %d submitted %zu jobs to the cluster, first %llu",
		  (int)a->uid, n, n > 0 ? (unsigned long long)ids[0] : 0ULL);
	ask_answer(a, reply);
}

static void
opsc_submit_send(struct ask *a)
{
	if (cluster_submit(a->ops->d.cluster, a->specs, a->nspecs, a->uid,
			   a->gid, a->user, opsc_submitted, a) == -1)
		opsc_submitted(a, NULL, NULL, 0,
			       "the database cannot be reached");
}

/* Which job of the batch names dep first, for the error. */
static size_t
opsc_naming(const struct ask *a, uint64_t dep)
{
	size_t i;
	uint32_t k;

	for (i = 0; i < a->nspecs; i++) {
		for (k = 0; k < a->specs[i].nafter; k++) {
			if (a->specs[i].after[k] == dep)
				return i + 1;
		}
	}
	return 0;
}

/* The jobs they wait for, as on one host: each must exist, and be the
 * client's own unless it is an admin; only jobs that exist can be
 * named, so no cycle can form. */
static void
opsc_dep_found(void *arg, const struct store_job *job, const char *node,
	       const char *err)
{
	struct ask *a = arg;
	size_t i;

	(void)node;
	if (job != NULL) {
		for (i = 0; i < a->nids && a->ids[i] != job->id; i++)
			;
		if (i < a->nids)
			a->seen[i] = true;
		if (!ask_may_touch(a, job) && a->done == NULL)
			a->done = ask_error(a, FORQ_ERR_NOT_PERMITTED,
					    "job %zu: --after %llu: another "
					    "user's job",
					    opsc_naming(a, job->id),
					    (unsigned long long)job->id);
		return;
	}
	if (err != NULL) {
		ask_answer(a, ask_error(a, FORQ_ERR_UNAVAILABLE,
					"the cluster's database: %s", err));
		return;
	}
	for (i = 0; a->done == NULL && i < a->nids; i++) {
		if (!a->seen[i])
			a->done =
			    ask_error(a, FORQ_ERR_NOT_FOUND,
				      "job %zu: --after %llu: no such job",
				      opsc_naming(a, a->ids[i]),
				      (unsigned long long)a->ids[i]);
	}
	if (a->done != NULL) {
		ask_answer(a, json_incref(a->done));
		return;
	}
	opsc_submit_send(a);
}

/* Every job the batch waits for, once each. */
static int
opsc_deps_of(struct ask *a)
{
	size_t i, k, cap = 0;
	uint32_t d;

	for (i = 0; i < a->nspecs; i++) {
		for (d = 0; d < a->specs[i].nafter; d++) {
			for (k = 0;
			     k < a->nids && a->ids[k] != a->specs[i].after[d];
			     k++)
				;
			if (k < a->nids)
				continue;
			if (array_reserve((void **)&a->ids, &cap, a->nids,
					  sizeof *a->ids) == -1)
				return -1;
			a->ids[a->nids++] = a->specs[i].after[d];
		}
	}
	if (a->nids > 0 && (a->seen = calloc(a->nids, sizeof *a->seen)) == NULL)
		return -1;
	return 0;
}

static json_t *
opsc_submit(struct ops *ops, struct client *c, const struct request *req)
{
	const struct ucred *cred = control_cred(c);
	struct job_spec *specs;
	struct passwd *pw;
	struct ask *a;
	json_t *reply;
	size_t n;

	if ((reply = ops_submit_specs(ops, c, req, &specs, &n)) != NULL)
		return reply;
	/* The node that runs it looks the name up: uids may differ. */
	if ((pw = getpwuid(cred->uid)) == NULL) {
		ops_specs_free(specs, n);
		return ops_error(req, FORQ_ERR_NOT_PERMITTED,
				 "uid %d has no name here, and a cluster runs "
				 "jobs as a user's name",
				 (int)cred->uid);
	}
	if ((a = ask_new(ops, c, req)) == NULL) {
		ops_specs_free(specs, n);
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	a->specs = specs;
	a->nspecs = n;
	a->gid = cred->gid;
	if ((a->user = strdup(pw->pw_name)) == NULL || opsc_deps_of(a) == -1) {
		ask_answer(a, ask_error(a, FORQ_ERR_INTERNAL, "out of memory"));
		return NULL;
	}
	if (a->nids == 0)
		opsc_submit_send(a);
	else if (cluster_get_many(ops->d.cluster, a->ids, a->nids,
				  opsc_dep_found, a) == -1)
		opsc_submitted(a, NULL, NULL, 0,
			       "the database cannot be reached");
	return NULL;
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
opsc_status_job(void *arg, const struct store_job *job, const char *node,
		const char *err)
{
	struct ask *a = arg;
	json_t *reply;
	uint64_t id = a->id;

	if (err != NULL) {
		ask_answer(a, ask_error(a, FORQ_ERR_UNAVAILABLE,
					"the cluster's database: %s", err));
		return;
	}
	if (job == NULL || !ask_may_touch(a, job)) {
		ask_answer(a,
			   job == NULL
			       ? ask_error(a, FORQ_ERR_NOT_FOUND, "no job %llu",
					   (unsigned long long)id)
			       : ask_error(a, FORQ_ERR_NOT_PERMITTED,
					   "job %llu belongs to another "
					   "user",
					   (unsigned long long)id));
		return;
	}
	reply = reply_ok(later_req_id(a->reply));
	json_object_set_new(reply, "job", opsc_job_json(a, job, node, true));
	ask_answer(a, reply);
}

static json_t *
opsc_status(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	struct ask *a;
	uint64_t id;

	if (request_job_id(req, "job", &id, &err) == -1)
		return ops_req_error(&err);
	if ((a = ask_new(ops, c, req)) == NULL)
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
		ask_answer(a, ask_error(a, FORQ_ERR_UNAVAILABLE,
					"the cluster's database: %s", err));
		return;
	}
	reply = reply_ok(later_req_id(a->reply));
	json_object_set(reply, "jobs", a->acc);
	json_object_set_new(reply, "more", json_false());
	ask_answer(a, reply);
}

static json_t *
opsc_list(struct ops *ops, struct client *c, const struct request *req)
{
	struct store_filter f;
	struct ask *a;
	json_t *reply;
	uint32_t n;

	if ((reply = ops_list_filter(ops, c, req, &f, &n)) != NULL)
		return reply;
	if ((a = ask_new(ops, c, req)) == NULL)
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
opsc_recheck(void *arg, const struct store_job *job, const char *node,
	     const char *err)
{
	struct ops *ops = arg;

	(void)node;
	(void)err;
	if (job != NULL && job_state_final(job->state))
		watch_job_final(ops->d.watch, job->id, &job->result);
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
opsc_wait_job(void *arg, const struct store_job *job, const char *node,
	      const char *err)
{
	struct ask *a = arg;
	struct ops *ops = a->ops;
	struct client *c;
	json_t *reply, *id;
	uint64_t *pending;
	size_t npending = 0, i, k;

	(void)node;
	if (job != NULL) {
		if (!ask_may_touch(a, job) && !a->failed) {
			a->failed = true;
			a->done = ask_error(a, FORQ_ERR_NOT_PERMITTED,
					    "job %llu belongs to another user",
					    (unsigned long long)job->id);
		}
		if (job_state_final(job->state))
			json_array_append_new(a->acc,
					      job_result_json(job->id,
							      &job->result));
		/* Named twice, waited for once. */
		for (i = opsc_first_of(a, job->id); i < a->nids; i++) {
			k = a->byid[i];
			if ((a->ids[k] & ~OPSC_RUNNING) != job->id)
				break;
			if (a->seen[k])
				continue;
			a->seen[k] = true;
			if (!job_state_final(job->state) && npending++ == 0)
				a->ids[k] |= OPSC_RUNNING;
		}
		return;
	}
	if (err != NULL && !a->failed) {
		a->failed = true;
		a->done = ask_error(a, FORQ_ERR_UNAVAILABLE,
				    "the cluster's database: %s", err);
	}
	for (i = 0; i < a->nids && !a->failed; i++) {
		if (!a->seen[i]) {
			a->failed = true;
			a->done =
			    ask_error(a, FORQ_ERR_NOT_FOUND, "no job %llu",
				      (unsigned long long)a->ids[i]);
		}
	}
	if (a->failed) {
		reply = a->done;
		a->done = NULL;
		ask_answer(a, reply);
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
		ask_answer(a, reply);
		json_decref(id);
		return;
	}
	later_drop(ops->d.later, a->reply);
	if (watch_add(ops->d.watch, c, id, WATCH_WAIT, a->events, pending,
		      npending, json_incref(a->acc)) == -1)
		control_push(c, reply_error(id, FORQ_ERR_INTERNAL,
					    "out of memory"));
	else
		(void)cluster_get_many(ops->d.cluster, pending, npending,
				       opsc_recheck, ops);
	json_decref(id);
	json_decref(a->req);
	json_decref(a->acc);
	free(a->ids);
	free(a->seen);
	free(a);
}

/* wait --all, --queue: the client's jobs not ended now (those
 * submitted later are not waited for), then as for named jobs. */
static void
opsc_wait_mine(void *arg, const uint64_t *ids, size_t n, const char *err)
{
	struct ask *a = arg;
	struct client *c = later_client(a->reply);
	json_t *msg;

	if (ids == NULL) {
		ask_answer(a, ask_error(a, FORQ_ERR_UNAVAILABLE,
					"the cluster's database: %s", err));
		return;
	}
	if (n == 0) {
		msg = reply_ok(later_req_id(a->reply));
		json_object_set_new(msg, "jobs", json_array());
		ask_answer(a, msg);
		return;
	}
	if ((a->ids = calloc(n, sizeof *a->ids)) == NULL ||
	    (a->seen = calloc(n, sizeof *a->seen)) == NULL) {
		ask_answer(a, ask_error(a, FORQ_ERR_INTERNAL, "out of memory"));
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
	if (cluster_get_many(a->ops->d.cluster, a->ids, n, opsc_wait_job, a) ==
	    -1)
		opsc_wait_job(a, NULL, NULL, "it cannot be reached now");
}

static json_t *
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
		if ((a = ask_new(ops, c, req)) == NULL)
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
	if ((a = ask_new(ops, c, req)) == NULL ||
	    (a->seen = calloc(n > 0 ? n : 1, sizeof *a->seen)) == NULL) {
		if (a != NULL)
			ask_answer(a, json_null());
		free(ids);
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	a->ids = ids;
	a->nids = n;
	a->events = events;
	a->acc = json_array();
	if (cluster_get_many(ops->d.cluster, ids, n, opsc_wait_job, a) == -1)
		opsc_wait_job(a, NULL, NULL, "it cannot be reached now");
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
		ask_answer(a, ask_error(a, FORQ_ERR_UNAVAILABLE,
					"the cluster's database: %s", err));
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
	ask_answer(a, reply);
}

/* forq queues on a cluster node: the load of every node, by queue. */
static json_t *
opsc_queues(struct ops *ops, struct client *c, const struct request *req)
{
	struct ask *a;

	if ((a = ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	if (cluster_queues(ops->d.cluster, opsc_queues_load, a) == -1)
		opsc_queues_load(a, NULL, 0, "it cannot be reached now");
	return NULL;
}

/* --- logs ---------------------------------------------------------- */

/* The bytes the database kept, as a file the client reads as it reads
 * a local one. */
static int
opsc_memfd(const char *name, const unsigned char *data, size_t len)
{
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC)) == -1)
		return -1;
	while (off < len && (n = write(fd, data + off, len - off)) > 0)
		off += (size_t)n;
	if (off < len || lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return -1;
	}
	return fd;
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

	if (err != NULL || job == NULL || !ask_may_touch(a, job)) {
		ask_answer(a,
			   err != NULL ? ask_error(a, FORQ_ERR_UNAVAILABLE,
						   "the cluster's database: "
						   "%s",
						   err)
			   : job == NULL
			       ? ask_error(a, FORQ_ERR_NOT_FOUND, "no job %llu",
					   (unsigned long long)a->id)
			       : ask_error(a, FORQ_ERR_NOT_PERMITTED,
					   "job %llu belongs to another "
					   "user",
					   (unsigned long long)a->id));
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
		fds[0] = ops_open_log(ops, job->id, "out", follow && !final);
		fds[1] = ops_open_log(ops, job->id, "err", follow && !final);
	} else {
		if (follow && !final) {
			ask_answer(a, ask_error(a, FORQ_ERR_UNSUPPORTED,
						"job %llu runs on node %s: "
						"follow it there",
						(unsigned long long)job->id,
						o->node));
			return;
		}
		/* The last bytes the database kept, and where the rest is. */
		fds[0] = opsc_memfd("forq-out", o->out, o->out_len);
		fds[1] = opsc_memfd("forq-err", o->err, o->err_len);
		snprintf(where, sizeof where,
			 "job %llu ran on node %s: its whole output is there, "
			 "in %s/logs/%llu.out and .err%s",
			 (unsigned long long)job->id, o->node,
			 o->state_dir != NULL && o->state_dir[0] != '\0'
			     ? o->state_dir
			     : "its state_dir",
			 (unsigned long long)job->id,
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
		ask_answer(a, reply);
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
	ask_answer(a, NULL);
}

static json_t *
opsc_logs(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	struct ask *a;
	bool follow;
	uint64_t id;

	if (request_job_id(req, "job", &id, &err) == -1 ||
	    request_bool(req, "follow", &follow, &err) == -1)
		return ops_req_error(&err);
	if ((a = ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	a->id = id;
	a->events = follow;
	if (cluster_output(ops->d.cluster, id, opsc_logs_job, a) == -1)
		opsc_logs_job(a, NULL, NULL, "it cannot be reached now");
	return NULL;
}

/* --- cancel -------------------------------------------------------- */

static void
opsc_cancelled(void *arg, enum cluster_outcome how, int64_t n, const char *err)
{
	struct ask *a = arg;
	size_t i = a->nids - a->left;
	json_t *item = json_pack("{s:I}", "id", (json_int_t)a->ids[i]);

	if (err != NULL && !a->failed) {
		a->failed = true;
		a->done = ask_error(a, FORQ_ERR_UNAVAILABLE,
				    "the cluster's database: %s", err);
	}
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
		json_object_set_new(item, "state", json_null());
		json_object_set_new(item, "stopping", json_false());
		json_object_set_new(item, "error",
				    json_string(FORQ_ERR_NOT_FOUND));
		break;
	}
	json_array_append_new(a->acc, item);
	if (--a->left > 0)
		return;
	if (a->failed) {
		json_t *reply = a->done;

		a->done = NULL;
		ask_answer(a, reply);
		return;
	}
	item = reply_ok(later_req_id(a->reply));
	json_object_set(item, "jobs", a->acc);
	ask_answer(a, item);
}

static json_t *
opsc_cancel(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	struct ask *a;
	uint64_t *ids;
	size_t n, i;

	if (request_job_ids(req, "jobs", &ids, &n, ops->d.limits->batch_max,
			    &err) == -1)
		return ops_req_error(&err);
	if ((a = ask_new(ops, c, req)) == NULL) {
		free(ids);
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	a->ids = ids;
	a->nids = n;
	a->left = n;
	a->acc = json_array();
	/* Another user's job is not found, as far as this user can tell. */
	for (i = 0; i < n; i++) {
		if (cluster_cancel(ops->d.cluster, ids[i],
				   a->admin ? -1 : (int64_t)a->uid,
				   opsc_cancelled, a) == -1)
			opsc_cancelled(a, CLUSTER_FAILED, 0,
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
		return ask_error(a, FORQ_ERR_NOT_FOUND,
				 "no such job: %llu (or another user's)",
				 (unsigned long long)a->id);
	return ask_error(a, FORQ_ERR_UNAVAILABLE, "the cluster's database: %s",
			 err != NULL ? err : "no answer");
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
		reply = ask_error(a, FORQ_ERR_NOT_ENDED,
				  "job %llu has not ended; only an ended job "
				  "runs again",
				  (unsigned long long)a->id);
		break;
	case CLUSTER_KEY_HELD:
		reply = ask_error(a, FORQ_ERR_DUPLICATE,
				  "a job not ended holds the unique key of job "
				  "%llu now; job %llu does not run again "
				  "beside it",
				  (unsigned long long)a->id,
				  (unsigned long long)a->id);
		break;
	default:
		reply = opsc_change_error(a, how, err);
		break;
	}
	ask_answer(a, reply);
}

static json_t *
opsc_retry(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	struct ask *a;
	uint64_t id;

	if (request_job_id(req, "job", &id, &err) == -1)
		return ops_req_error(&err);
	if ((a = ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	a->id = id;
	if (cluster_retry(ops->d.cluster, id, opsc_owner_or_root(a),
			  opsc_retried, a) == -1)
		opsc_retried(a, CLUSTER_FAILED, 0, "it cannot be reached now");
	return NULL;
}

static void
opsc_priority_set(void *arg, enum cluster_outcome how, int64_t n,
		  const char *err)
{
	struct ask *a = arg;

	(void)n;
	if (how == CLUSTER_DONE)
		ask_answer(a, reply_ok(later_req_id(a->reply)));
	else if (how == CLUSTER_NOT_PENDING)
		ask_answer(a, ask_error(a, FORQ_ERR_NOT_PENDING,
					"job %llu has been claimed by a node "
					"or has ended; only a job not yet "
					"claimed changes priority",
					(unsigned long long)a->id));
	else
		ask_answer(a, opsc_change_error(a, how, err));
}

static json_t *
opsc_set(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	struct job_error jerr;
	struct ask *a;
	int32_t prio;
	uint64_t id;

	if (request_job_id(req, "job", &id, &err) == -1)
		return ops_req_error(&err);
	if (job_priority_from_json(json_object_get(req->root, "priority"),
				   &prio, &jerr) == -1)
		return ops_error(req, jerr.code, "%s", jerr.message);
	if ((a = ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	a->id = id;
	if (cluster_set_priority(ops->d.cluster, id, opsc_owner_or_root(a),
				 prio, opsc_priority_set, a) == -1)
		opsc_priority_set(a, CLUSTER_FAILED, 0,
				  "it cannot be reached now");
	return NULL;
}

static void
opsc_cleaned(void *arg, enum cluster_outcome how, int64_t n, const char *err)
{
	struct ask *a = arg;
	json_t *reply;

	if (how != CLUSTER_DONE) {
		ask_answer(a, opsc_change_error(a, CLUSTER_FAILED, err));
		return;
	}
	reply = reply_ok(later_req_id(a->reply));
	json_object_set_new(reply, "removed", json_integer(n));
	json_object_set_new(reply, "more", json_boolean(n == CLEAN_BATCH));
	ask_answer(a, reply);
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
	if ((a = ask_new(ops, c, req)) == NULL)
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
		ask_answer(a, opsc_change_error(a, CLUSTER_FAILED, err));
		return;
	}
	if (!a->drain) {
		ask_answer(a, reply_ok(later_req_id(a->reply)));
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
	if ((a = ask_new(ops, c, req)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	a->events = events;
	a->drain = req->op == REQ_DRAIN;
	if (cluster_pause(ops->d.cluster, queue, req->op != REQ_RESUME,
			  opsc_paused, a) == -1)
		opsc_paused(a, CLUSTER_FAILED, 0, "it cannot be reached now");
	return NULL;
}

/* Every request a cluster node takes: its shared queue answers those
 * about jobs; those it does not keep across nodes yet are refused. */
json_t *
opsc_handle(struct ops *ops, struct client *c, const struct request *req)
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
		return opsc_cancel(ops, c, req);
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
