/*
 * What the request handlers share: error replies that name what was
 * wrong (and, for limits, which limit), and who may see or touch which
 * job.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "ipc/shm.h"
#include "core/access.h"
#include "core/conf.h"
#include "core/jobarray.h"
#include "core/request.h"
#include "core/runq.h"
#include "store/store.h"
#include "control/control.h"
#include "engine/jobs.h"
#include "ops/ops_common.h"
#include "engine/running.h"
#include "control/watch.h"
#include "engine/workers.h"
#include "forq/protocol.h"

json_t *
ops_error(const struct request *req, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return reply_error(req->id, code, msg);
}

/* An error naming the limit that was hit and its value. */
json_t *
ops_limit(const struct request *req, const char *limit, unsigned long long max,
	  const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return reply_limit(req->id, limit, max, msg);
}

json_t *
ops_store_error(struct ops *ops, const struct request *req)
{
	return ops_error(req, FORQ_ERR_INTERNAL, "job store: %s",
			 store_error(ops->d.store));
}

json_t *
ops_req_error(const struct req_error *err)
{
	return reply_error(err->id, err->code, err->message);
}

json_t *
ops_time(int64_t ns)
{
	return ns > 0 ? json_real((double)ns / 1e9) : json_null();
}

/* Root or a member of admin_group: sees and acts on every job. */
bool
ops_is_admin(struct ops *ops, const struct client *c)
{
	struct access_peer peer;

	control_peer(c, &peer);
	return access_is_admin(ops->d.access, &peer);
}

/* A user sees and acts on their own jobs; an admin on everyone's. */
bool
ops_may_touch(struct ops *ops, struct client *c, const struct store_job *job)
{
	return control_cred(c)->uid == job->uid || ops_is_admin(ops, c);
}

json_t *
ops_not_permitted(const struct request *req, uint64_t id)
{
	return ops_error(req, FORQ_ERR_NOT_PERMITTED,
			 "job %llu belongs to another user",
			 (unsigned long long)id);
}

json_t *
ops_not_found(const struct request *req, uint64_t id)
{
	return ops_error(req, FORQ_ERR_NOT_FOUND, "no such job: %llu",
			 (unsigned long long)id);
}

/* The job a request names, if it exists and the client may see it;
 * else the error reply. */
json_t *
ops_get_job(struct ops *ops, struct client *c, const struct request *req,
	    uint64_t id, struct store_job *job)
{
	enum store_result found;

	if ((found = store_get(ops->d.store, id, job)) != STORE_OK)
		return found == STORE_NO_MATCH ? ops_not_found(req, id)
					       : ops_store_error(ops, req);
	if (!ops_may_touch(ops, c, job)) {
		store_job_free(job);
		return ops_not_permitted(req, id);
	}
	return NULL;
}

json_t *
ops_get_own_job(struct ops *ops, struct client *c, const struct request *req,
		uint64_t id, struct store_job *job, const char *what)
{
	uid_t uid = control_cred(c)->uid;
	json_t *reply;

	if ((reply = ops_get_job(ops, c, req, id, job)) != NULL)
		return reply;
	if (uid == job->uid || uid == 0)
		return NULL;
	store_job_free(job);
	return ops_error(req, FORQ_ERR_NOT_PERMITTED,
			 "job %llu belongs to another user: only its owner or "
			 "root may %s it (admin_group may see and cancel it)",
			 (unsigned long long)id, what);
}

/* Whose jobs a list or clean is about: a user their own; root and
 * admin_group everyone's (-1), or one user's by "uid". */
json_t *
ops_whose(struct ops *ops, struct client *c, const struct request *req,
	  int64_t *uid)
{
	const json_t *v = json_object_get(req->root, "uid");
	int64_t self = control_cred(c)->uid;

	*uid = -1;
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > UINT32_MAX - 1)
			return ops_error(req, FORQ_ERR_BAD_REQUEST,
					 "\"uid\" must be a user id");
		*uid = json_integer_value(v);
	}
	if (ops_is_admin(ops, c))
		return NULL;
	if (*uid >= 0 && *uid != self)
		return ops_error(req, FORQ_ERR_NOT_PERMITTED,
				 "only root or admin_group may %s another "
				 "user's jobs",
				 request_op_name(req->op));
	*uid = self;
	return NULL;
}

/* Before the events of a wait for jobs the client did not name: how
 * many there are, for its progress bar. */
void
ops_push_waiting(struct client *c, const struct request *req, size_t n)
{
	json_t *msg = json_object();

	if (req->id != NULL)
		json_object_set(msg, "id", req->id);
	json_object_set_new(msg, "waiting", json_integer((json_int_t)n));
	control_push(c, msg);
}

struct ops *
ops_new(const struct ops_deps *deps)
{
	struct ops *o;

	if ((o = calloc(1, sizeof *o)) == NULL)
		return NULL;
	o->d = *deps;
	o->started_ns = clock_mono_ns();
	return o;
}

void
ops_free(struct ops *o)
{
	free(o);
}

void
ops_set_intake(struct ops *o, enum ops_intake intake)
{
	o->intake = intake;
}

/* "41_7": its task's id; an error reply if there is no such task. */
static json_t *
ops_task_id(struct ops *ops, const struct request *req, const char *name,
	    json_t **id)
{
	uint64_t array, task;
	uint32_t index;
	enum store_result found;

	if (jobarray_task_parse(name, &array, &index) == -1)
		return ops_error(req, FORQ_ERR_BAD_REQUEST,
				 "\"%.40s\" is neither a job id nor a task "
				 "(ARRAY_INDEX, as 41_7)",
				 name);
	if ((found = store_array_task(ops->d.store, array, index, &task)) ==
	    STORE_FAILED)
		return ops_store_error(ops, req);
	if (found == STORE_NO_MATCH)
		return ops_error(req, FORQ_ERR_NOT_FOUND,
				 "no task %u of array %llu", index,
				 (unsigned long long)array);
	*id = json_integer((json_int_t)task);
	return NULL;
}

json_t *
ops_resolve_tasks(struct ops *ops, const struct request *req)
{
	json_t *one = json_object_get(req->root, "job");
	json_t *many = json_object_get(req->root, "jobs");
	json_t *reply, *id, *out, *v;
	uint64_t *ids;
	size_t i, n, k;

	if (json_is_string(one)) {
		if ((reply = ops_task_id(ops, req, json_string_value(one),
					 &id)) != NULL)
			return reply;
		json_object_set_new(req->root, "job", id);
	}
	if (req->op == REQ_SUBMIT || !json_is_array(many))
		return NULL;
	out = json_array();
	json_array_foreach(many, i, v)
	{
		if (json_is_string(v)) {
			if ((reply = ops_task_id(ops, req, json_string_value(v),
						 &id)) != NULL) {
				json_decref(out);
				return reply;
			}
			json_array_append_new(out, id);
			continue;
		}
		/* An array's id: all its tasks, as Slurm's scancel 41. */
		if (json_is_integer(v) && json_integer_value(v) > 0) {
			if (store_array_ids(ops->d.store,
					    (uint64_t)json_integer_value(v),
					    &ids, &n) == -1) {
				json_decref(out);
				return ops_store_error(ops, req);
			}
			for (k = 0; k < n; k++)
				json_array_append_new(out,
						      json_integer(
							  (json_int_t)ids[k]));
			free(ids);
			if (n > 0)
				continue;
		}
		json_array_append(out, v);
	}
	json_object_set_new(req->root, "jobs", out);
	return NULL;
}

json_t *
ops_edit_of(struct ops *ops, const struct request *req, struct job_edit *e)
{
	struct job_error jerr;
	json_t *reply;

	if (job_edit_from_json(req->root, ops->d.limits, e, &jerr) == -1)
		return ops_error(req, jerr.code, "%s", jerr.message);
	if ((e->fields & JOB_EDIT_QUEUE) &&
	    conf_queue_find(ops->d.conf, e->queue) == NULL) {
		reply = ops_error(req, FORQ_ERR_UNKNOWN_QUEUE,
				  "no queue named \"%s\" in %s", e->queue,
				  conf_name(ops->d.conf));
		job_edit_free(e);
		return reply;
	}
	return NULL;
}
