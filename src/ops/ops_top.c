/*
 * forq top's request: the running jobs, with what each uses now (its
 * cgroup's counters, or its first process's), and the count of ends
 * the view's throughput is taken from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/clock.h"
#include "core/request.h"
#include "core/runq.h"
#include "store/store.h"
#include "control/control.h"
#include "engine/jobs.h"
#include "ops/ops_common.h"
#include "ops/ops_top.h"
#include "engine/running.h"
#include "forq/protocol.h"

/* What a running job uses now: its cgroup's counters, or without one
 * its first process's (/proc). */
static void
ops_usage(struct ops *ops, const struct running_where *at, json_t *o)
{
	uint64_t cpu_us = 0, mem = 0;
	unsigned long long utime, stime;
	long long rss;
	struct cg_slot slot;
	char path[64], line[1024], *p;
	FILE *f;
	bool known = false;

	if (ops->d.cg != NULL && ops->d.cg->version != CG_NONE &&
	    cg_slot_paths(ops->d.cg, at->worker, at->slot, &slot) == 0) {
		slot.base = at->cg_base;
		known = cg_slot_usage(&slot, &cpu_us, &mem) == 0;
	}
	if (!known && at->pid > 0) {
		snprintf(path, sizeof path, "/proc/%d/stat", (int)at->pid);
		if ((f = fopen(path, "re")) != NULL) {
			/* After the command's name, which may hold spaces. */
			if (fgets(line, sizeof line, f) != NULL &&
			    (p = strrchr(line, ')')) != NULL &&
			    sscanf(p + 2,
				   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
				   "%*u %llu %llu %*d %*d %*d %*d %*d %*d "
				   "%*u %*u %lld",
				   &utime, &stime, &rss) == 3) {
				cpu_us = (utime + stime) * 1000000ull /
					 (uint64_t)sysconf(_SC_CLK_TCK);
				mem = rss > 0
					  ? (uint64_t)rss *
						(uint64_t)sysconf(_SC_PAGESIZE)
					  : 0;
				known = true;
			}
			fclose(f);
		}
	}
	json_object_set_new(o, "cpu_ms",
			    known ? json_integer((json_int_t)(cpu_us / 1000))
				  : json_null());
	json_object_set_new(o, "rss_bytes",
			    known ? json_integer((json_int_t)mem)
				  : json_null());
}

json_t *
ops_top(struct ops *ops, struct client *c, const struct request *req)
{
	struct running_where at;
	struct store_job job;
	enum store_result found;
	json_t *reply, *list, *o;
	uint64_t *ids = NULL;
	int64_t now = clock_real_ns();
	size_t i, n = 0;
	bool admin = ops_is_admin(ops, c);

	if (running_ids(ops->d.running, RUNQ_ALL, &ids, &n) == -1)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	list = json_array();
	for (i = 0; i < n; i++) {
		if (!running_find(ops->d.running, ids[i], &at))
			continue;
		found = store_get(ops->d.store, ids[i], &job);
		if (found == STORE_FAILED) {
			free(ids);
			json_decref(list);
			return ops_store_error(ops, req);
		}
		if (found != STORE_OK)
			continue;
		/* An admin sees everyone's jobs; a user their own. */
		if (!admin && job.uid != control_cred(c)->uid) {
			store_job_free(&job);
			continue;
		}
		o = json_pack("{s:I, s:i, s:i, s:i, s:s}", "id",
			      (json_int_t)job.id, "uid", (int)job.uid, "worker",
			      at.worker, "cpu", at.cpu, "queue",
			      job.spec.queue != NULL ? job.spec.queue
						     : "default");
		json_object_set_new(o, "name",
				    job.name != NULL ? json_string(job.name)
						     : json_null());
		json_object_set_new(o, "pid",
				    at.pid > 0 ? json_integer(at.pid)
					       : json_null());
		json_object_set_new(o, "elapsed_ms",
				    at.start_ns > 0
					? json_integer((now - at.start_ns) /
						       NS_PER_MS)
					: json_null());
		ops_usage(ops, &at, o);
		json_array_append_new(list, o);
		store_job_free(&job);
	}
	free(ids);
	reply = reply_ok(req->id);
	json_object_set_new(reply, "jobs", list);
	json_object_set_new(reply, "ended",
			    json_integer(
				(json_int_t)jobs_ended_count(ops->d.jobs)));
	json_object_set_new(reply, "uptime_ms",
			    json_integer((clock_mono_ns() - ops->started_ns) /
					 NS_PER_MS));
	return reply;
}
