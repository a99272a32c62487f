/*
 * Requests: one handler each, reached through ops_handle. Each checks
 * its fields, acts through jobs.c, running.c and the store, and shapes
 * a reply. The reads are in ops_read.c, the requests that change jobs
 * in ops_jobs.c, those about queues in ops_queues.c; what they share in
 * ops_common.c.
 */
#include <unistd.h>

#include "common/clock.h"
#include "core/request.h"
#include "supervisor/control.h"
#include "supervisor/ops.h"
#include "supervisor/ops_common.h"
#include "supervisor/ops_jobs.h"
#include "supervisor/ops_queues.h"
#include "supervisor/ops_read.h"
#include "supervisor/workers.h"
#include "forq/protocol.h"
#include "version.h"

json_t *
ops_handle(struct ops *ops, struct client *c, const struct request *req)
{
	const struct ucred *cred = control_cred(c);
	json_t *reply;

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
	}
	return reply_error(req->id, FORQ_ERR_INTERNAL, "unhandled op");
}
