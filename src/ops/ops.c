/*
 * Requests: one handler each, reached through ops_handle. Each checks
 * its fields, acts through jobs.c, running.c and the store, and shapes
 * a reply. The reads are in ops_read.c, the requests that change jobs
 * in ops_jobs.c, those about queues in ops_queues.c; what they share in
 * ops_common.c.
 */
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "core/request.h"
#include "control/control.h"
#include "ops/ops.h"
#include "ops/ops_cluster.h"
#include "ops/ops_common.h"
#include "ops/ops_jobs.h"
#include "ops/ops_metrics.h"
#include "ops/ops_top.h"
#include "ops/ops_queues.h"
#include "ops/ops_read.h"
#include "engine/running.h"
#include "engine/workers.h"
#include "forq/protocol.h"
#include "version.h"

/* forq shutdown: root's or admin_group's; what becomes of running jobs
 * is said, never guessed. */
static json_t *
ops_shutdown(struct ops *ops, struct client *c, const struct request *req)
{
	static const char *const names[] = {[OPS_STOP_LEAVE] = "leave",
					    [OPS_STOP_DRAIN] = "drain",
					    [OPS_STOP_KILL] = "kill"};
	struct req_error err;
	const char *jobs;
	json_t *reply;
	size_t how;

	if (!ops_is_admin(ops, c))
		return ops_error(req, FORQ_ERR_NOT_PERMITTED,
				 "only root or admin_group may stop forqd");
	if (request_string(req, "jobs", &jobs, &err) == -1)
		return ops_req_error(&err);
	for (how = 0; jobs != NULL && how < nitems(names); how++) {
		if (strcmp(jobs, names[how]) == 0)
			break;
	}
	if (jobs == NULL)
		how = OPS_STOP_LEAVE;
	else if (how == nitems(names))
		return ops_error(req, FORQ_ERR_BAD_REQUEST,
				 "jobs: \"%s\" is not leave, drain or kill",
				 jobs);
	if (ops->intake == OPS_STOPPING)
		return ops_error(req, FORQ_ERR_SHUTTING_DOWN,
				 "forqd is already stopping");
	ops->d.stop(ops->d.stop_arg, (enum ops_stop)how);
	reply = reply_ok(req->id);
	json_object_set_new(reply, "jobs", json_string(names[how]));
	json_object_set_new(reply, "running",
			    json_integer(running_busy(ops->d.running)));
	return reply;
}

/* The requests about jobs and queues, which a cluster node does not
 * serve from its own host's store. */
static bool
ops_on_jobs(enum req_op op)
{
	switch (op) {
	case REQ_HELLO:
	case REQ_PING:
	case REQ_WORKERS:
	case REQ_SHUTDOWN:
	case REQ_NODES:
	case REQ_METRICS:
	case REQ_TOP:
		return false;
	default:
		return true;
	}
}

json_t *
ops_handle(struct ops *ops, struct client *c, const struct request *req)
{
	const struct ucred *cred = control_cred(c);
	json_t *reply;

	if (ops->d.cluster != NULL && ops_on_jobs(req->op))
		return opsc_handle(ops, c, req);
	if (ops_on_jobs(req->op) &&
	    (reply = ops_resolve_tasks(ops, req)) != NULL)
		return reply;
	switch (req->op) {
	case REQ_HELLO:
		reply = reply_ok(req->id);
		json_object_set_new(reply, "version",
				    json_integer(FORQ_PROTOCOL_VERSION));
		json_object_set_new(reply, "server", json_string("forqd"));
		json_object_set_new(reply, "server_version",
				    json_string(FORQ_VERSION));
		json_object_set_new(reply, "uid", json_integer(cred->uid));
		return reply;
	case REQ_PING:
		reply = reply_ok(req->id);
		json_object_set_new(reply, "pid", json_integer(getpid()));
		json_object_set_new(reply, "uptime_ms",
				    json_integer(
					(clock_mono_ns() - ops->started_ns) /
					NS_PER_MS));
		json_object_set_new(reply, "workers_ready",
				    json_integer(
					workers_ready(ops->d.workers)));
		return reply;
	case REQ_WORKERS:
		return ops_workers(ops, req);
	case REQ_SUBMIT:
		return ops_submit(ops, c, req);
	case REQ_STATUS:
		return ops_status(ops, c, req);
	case REQ_LIST:
		return ops_list(ops, c, req);
	case REQ_WAIT:
		return ops_wait(ops, c, req);
	case REQ_LOGS:
		return ops_logs(ops, c, req);
	case REQ_CANCEL:
		return ops_cancel(ops, c, req);
	case REQ_HOLD:
		return ops_hold(ops, c, req);
	case REQ_RELEASE:
		return ops_release(ops, c, req);
	case REQ_SET:
		return ops_set(ops, c, req);
	case REQ_RETRY:
		return ops_retry(ops, c, req);
	case REQ_CLEAN:
		return ops_clean(ops, c, req);
	case REQ_PAUSE:
	case REQ_RESUME:
	case REQ_DRAIN:
		return ops_pause(ops, c, req);
	case REQ_QUEUES:
		return ops_queues(ops, req);
	case REQ_SHUTDOWN:
		return ops_shutdown(ops, c, req);
	case REQ_NODES:
		return ops_nodes(ops, c, req);
	case REQ_METRICS:
		return ops_metrics(ops, req);
	case REQ_TOP:
		return ops_top(ops, c, req);
	}
	return reply_error(req->id, FORQ_ERR_INTERNAL, "unhandled op");
}
