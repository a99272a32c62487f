/* The requests about queues: queues, and pause, resume and drain. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "control/control.h"
#include "ops/ops_common.h"
#include "ops/ops_queues.h"
#include "core/request.h"
#include "core/access.h"
#include "core/conf.h"
#include "core/runq.h"
#include "store/store.h"
#include "engine/jobs.h"
#include "engine/running.h"
#include "control/watch.h"
#include "forq/protocol.h"

/* The queue a request names, RUNQ_ALL if none; -1 and *reply if it
 * names one that does not exist. */
static int
ops_queue_of(struct ops *ops, const struct request *req, json_t **reply)
{
	struct req_error err;
	const char *name;
	int q;

	*reply = NULL;
	if (request_string(req, "queue", &name, &err) == -1) {
		*reply = ops_req_error(&err);
		return -2;
	}
	if (name == NULL)
		return RUNQ_ALL;
	if ((q = runq_find(jobs_runq(ops->d.jobs), name)) == -1) {
		*reply = ops_error(req, FORQ_ERR_UNKNOWN_QUEUE,
				   "no queue named \"%s\"", name);
		return -2;
	}
	return q;
}

/* pause, resume, drain: they change what every user's jobs do, so only
 * root and admin_group may. */
json_t *
ops_pause(struct ops *ops, struct client *c, const struct request *req)
{
	struct req_error err;
	json_t *reply, *done;
	uint64_t *ids;
	size_t n;
	bool events;
	int q;

	if (!ops_is_admin(ops, c))
		return ops_error(req, FORQ_ERR_NOT_PERMITTED,
				 "only root or admin_group may %s queues",
				 request_op_name(req->op));
	if ((q = ops_queue_of(ops, req, &reply)) == -2)
		return reply;
	if (request_bool(req, "events", &events, &err) == -1)
		return ops_req_error(&err);
	if (jobs_set_paused(ops->d.jobs, q, req->op != REQ_RESUME) == -1)
		return ops_store_error(ops, req);
	if (req->op != REQ_DRAIN)
		return reply_ok(req->id);
	/* Drain: the reply comes when what runs now has ended. */
	if (running_ids(ops->d.running, q, &ids, &n) == -1)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	done = json_array();
	if (n == 0) {
		reply = reply_ok(req->id);
		json_object_set_new(reply, "jobs", done);
	} else {
		if (events)
			ops_push_waiting(c, req, n);
		if (watch_add(ops->d.watch, c, req->id, WATCH_WAIT, events, ids,
			      n, done) == -1)
			reply =
			    ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	free(ids);
	return reply;
}

json_t *
ops_queue_json(const char *name, const struct conf_queue *cq, uint64_t queued,
	       uint64_t running, bool paused, uint32_t parallel)
{
	json_t *item;

	item = json_pack("{s:s, s:b, s:I, s:I, s:b}", "name", name, "declared",
			 cq != NULL, "queued", (json_int_t)queued, "running",
			 (json_int_t)running, "paused", paused);
	json_object_set_new(item, "parallel",
			    parallel != 0 ? json_integer(parallel)
					  : json_null());
	json_object_set_new(item, "priority",
			    json_integer(cq != NULL ? cq->priority : 0));
	json_object_set_new(item, "timeout_ms",
			    cq != NULL && cq->timeout_ms > 0
				? json_integer(cq->timeout_ms)
				: json_null());
	return item;
}

json_t *
ops_queues(struct ops *ops, const struct request *req)
{
	const struct conf_queue *cq;
	struct runq_info info;
	json_t *reply, *list;
	size_t i;

	list = json_array();
	for (i = 0; i < runq_queues(jobs_runq(ops->d.jobs)); i++) {
		runq_info(jobs_runq(ops->d.jobs), (int)i, &info);
		if (info.parent != -1)
			continue; /* an array's, counted in its queue's */
		cq = conf_queue_find(ops->d.conf, info.name);
		/* Its jobs waiting for [resources] are queued too. */
		json_array_append_new(
		    list,
		    ops_queue_json(info.name, cq,
				   info.ready +
				       jobs_aside_in(ops->d.jobs, (int)i),
				   info.running, info.paused, info.parallel));
	}
	reply = reply_ok(req->id);
	json_object_set_new(reply, "queues", list);
	json_object_set_new(reply, "paused",
			    json_boolean(
				runq_paused(jobs_runq(ops->d.jobs), RUNQ_ALL)));
	json_object_set_new(reply, "scheduled",
			    json_integer(
				(json_int_t)jobs_scheduled(ops->d.jobs)));
	return reply;
}
