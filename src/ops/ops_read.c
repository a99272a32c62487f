/*
 * The requests that read: workers, status, list, wait and logs.
 */
#include <sys/mman.h>
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
#include "core/request.h"
#include "core/runq.h"
#include "store/store.h"
#include "control/control.h"
#include "engine/jobs.h"
#include "ops/ops_common.h"
#include "engine/draining.h"
#include "control/later.h"
#include "cluster/node.h"
#include "ops/ops_read.h"
#include "engine/running.h"
#include "control/watch.h"
#include "engine/workers.h"
#include "forq/protocol.h"

#define LIST_LIMIT_MAX 100000

static json_t *
ops_retry_on(unsigned bits)
{
	char list[64], *p, *word;
	json_t *a = json_array();

	job_retry_on_format(bits, list, sizeof list);
	for (p = list; (word = strsep(&p, ",")) != NULL;) {
		if (word[0] != '\0')
			json_array_append_new(a, json_string(word));
	}
	return a;
}

int
ops_attempt_one(void *arg, const struct store_attempt *at)
{
	json_t *o = job_result_json(0, &at->result);

	json_object_del(o, "id");
	json_object_set_new(o, "attempt", json_integer(at->attempt + 1));
	json_object_set_new(o, "started_at", ops_time(at->result.start_ns));
	json_object_set_new(o, "ended_at", ops_time(at->result.end_ns));
	json_object_set_new(o, "worker",
			    at->worker >= 0 ? json_integer(at->worker)
					    : json_null());
	json_object_set_new(o, "cpu",
			    at->cpu >= 0 ? json_integer(at->cpu) : json_null());
	json_array_append_new(arg, o);
	return 0;
}

/* A job as status and list show it. */
json_t *
ops_job_json(struct ops *ops, const struct store_job *j, bool full)
{
	struct running_where at;
	bool running = running_find(ops->d.running, j->id, &at);
	json_t *o = job_result_json(j->id, &j->result);

	json_object_set_new(o, "name",
			    j->name != NULL ? json_string(j->name)
					    : json_null());
	json_object_set_new(o, "argv", job_unpack(j->spec.argv, j->spec.argc));
	json_object_set_new(o, "submitted_at", ops_time(j->submit_ns));
	json_object_set_new(o, "started_at",
			    ops_time(running && at.start_ns != 0
					 ? at.start_ns
					 : j->result.start_ns));
	json_object_set_new(o, "ended_at",
			    ops_time(job_state_final(j->state)
					 ? j->result.end_ns
					 : 0));
	json_object_set_new(o, "attempt", json_integer(j->attempt + 1));
	/* Ran on through a restart or crash of forqd, in a worker the
	 * next one took on. */
	if ((running && at.taken_on) || j->adopted_ns != 0) {
		json_object_set_new(o, "adopted", json_true());
		json_object_set_new(o, "adopted_at", ops_time(j->adopted_ns));
	}
	json_object_set_new(o, "queue",
			    json_string(j->spec.queue != NULL ? j->spec.queue
							      : "default"));
	json_object_set_new(o, "priority", json_integer(j->spec.priority));
	json_object_set_new(o, "start_at",
			    j->state == JOB_SCHEDULED || j->spec.start_at_ns > 0
				? ops_time(j->spec.start_at_ns)
				: json_null());
	/* A task of an array: Slurm's 41_7 as "task". */
	if (j->array_id != 0) {
		char task[48];

		snprintf(task, sizeof task, "%llu_%u",
			 (unsigned long long)j->array_id, j->array_index);
		json_object_set_new(o, "task", json_string(task));
		json_object_set_new(o, "array_id",
				    json_integer((json_int_t)j->array_id));
		json_object_set_new(o, "array_index",
				    json_integer(j->array_index));
		json_object_set_new(o, "array_max",
				    j->array_max > 0
					? json_integer(j->array_max)
					: json_null());
	}
	if (!full)
		return o;
	json_object_set_new(o, "cwd", json_string(j->spec.cwd));
	json_object_set_new(o, "env_count", json_integer(j->spec.envc));
	json_object_set_new(o, "retries", json_integer(j->spec.retries));
	json_object_set_new(o, "unique",
			    j->spec.unique != NULL ? json_string(j->spec.unique)
						   : json_null());
	json_object_set_new(o, "on_finish",
			    j->spec.on_finish != NULL
				? json_string(j->spec.on_finish)
				: json_null());
	if (j->spec.stdout_path != NULL)
		json_object_set_new(o, "stdout",
				    json_string(j->spec.stdout_path));
	if (j->spec.stderr_path != NULL)
		json_object_set_new(o, "stderr",
				    json_string(j->spec.stderr_path));
	if (j->spec.stdin_path != NULL)
		json_object_set_new(o, "stdin",
				    json_string(j->spec.stdin_path));
	if (j->spec.append)
		json_object_set_new(o, "append", json_true());
	if (j->spec.res != NULL)
		json_object_set_new(o, "res", json_string(j->spec.res));
	/* What it was given, while it runs: "gpu=0,2". */
	if (j->state == JOB_RUNNING && j->res_given != NULL) {
		struct res_grant g;
		char given[512];

		if (res_grant_parse(&ops->d.conf->res, j->res_given, &g) == 0 &&
		    res_grant_describe(&ops->d.conf->res, &g, given,
				       sizeof given) == 0)
			json_object_set_new(o, "res_given", json_string(given));
	}
	if (j->spec.file_umask >= 0)
		json_object_set_new(o, "umask",
				    json_integer(j->spec.file_umask));
	json_object_set_new(o, "attempts", json_array());
	if (j->spec.retries > 0) {
		json_object_set_new(o, "retry_delay_ms",
				    json_integer(j->spec.retry_delay_ms));
		json_object_set_new(o, "retry_on",
				    ops_retry_on(j->spec.retry_on));
	}
	json_object_set_new(o, "uid", json_integer(j->uid));
	json_object_set_new(o, "gid", json_integer(j->gid));
	json_object_set_new(o, "mem",
			    j->spec.mem > 0
				? json_integer((json_int_t)j->spec.mem)
				: json_null());
	json_object_set_new(o, "cpus", json_integer(j->spec.cpus));
	json_object_set_new(o, "timeout_ms",
			    j->spec.timeout_ms > 0
				? json_integer(j->spec.timeout_ms)
				: json_null());
	json_object_set_new(o, "worker",
			    running          ? json_integer(at.worker)
			    : j->worker >= 0 ? json_integer(j->worker)
					     : json_null());
	json_object_set_new(o, "cpu",
			    running       ? json_integer(at.cpu)
			    : j->cpu >= 0 ? json_integer(j->cpu)
					  : json_null());
	json_object_set_new(o, "pid",
			    running && at.pid > 0 ? json_integer(at.pid)
						  : json_null());
	if (job_state_final(j->state) && j->result.start_ns > 0) {
		json_object_set_new(o, "user_us",
				    json_integer(j->result.user_us));
		json_object_set_new(o, "sys_us",
				    json_integer(j->result.sys_us));
		json_object_set_new(o, "maxrss_kb",
				    json_integer(j->result.maxrss_kb));
		/* Known where the job had a cgroup. */
		json_object_set_new(o, "procs",
				    j->result.procs > 0
					? json_integer(j->result.procs)
					: json_null());
	}
	return o;
}

json_t *
ops_workers(struct ops *ops, const struct request *req)
{
	const struct sb_worker *sb;
	struct worker_view w;
	json_t *reply, *list, *item, *jobs;
	int64_t now = clock_mono_ns(), beat;
	uint64_t *ids;
	size_t s, n;
	uint32_t i;

	if ((ids = calloc(ops->d.conf->slots, sizeof *ids)) == NULL)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	list = json_array();
	for (i = 0; i < workers_max(ops->d.workers); i++) {
		workers_view(ops->d.workers, (int)i, &w);
		sb = w.sb;
		if (!w.planned && w.pid == 0)
			continue;
		item = json_pack("{s:i, s:i, s:i, s:s, s:i}", "worker", w.index,
				 "pid", (int)w.pid, "cpu", w.cpu, "state",
				 sb_state_name(sb->state), "restarts",
				 (int)sb->restarts);
		beat = sb_heartbeat(sb);
		json_object_set_new(item, "uptime_ms",
				    w.pid != 0
					? json_integer((now - w.started_ns) /
						       NS_PER_MS)
					: json_null());
		json_object_set_new(item, "heartbeat_age_ms",
				    w.pid != 0 && beat >= w.started_ns &&
					    sb->state != SB_DRAINING
					? json_integer((now - beat) / NS_PER_MS)
					: json_null());
		json_object_set_new(item, "retry_in_ms",
				    w.pid == 0 && w.retry_at_ns > now
					? json_integer((w.retry_at_ns - now) /
						       NS_PER_MS)
					: json_null());
		/* Taken on from a previous forqd, jobs and all: since. */
		json_object_set_new(item, "adopted_at",
				    w.pid != 0 ? ops_time(sb->adopted_ns)
					       : json_null());
		json_object_set_new(item, "last_exit",
				    sb->last_exit[0]
					? json_string(sb->last_exit)
					: json_null());
		jobs = json_array();
		n = sb->state == SB_DRAINING
			? draining_on_worker(ops->d.draining, (int)i, ids,
					     ops->d.conf->slots)
			: running_on_worker(ops->d.running, (int)i, ids,
					    ops->d.conf->slots);
		for (s = 0; s < n; s++)
			json_array_append_new(jobs,
					      json_integer((json_int_t)ids[s]));
		json_object_set_new(item, "jobs", jobs);
		json_object_set_new(item, "slots",
				    json_integer(ops->d.conf->slots));
		/* Of those, the ones slots_adapt lets it fill now. */
		json_object_set_new(item, "slots_open",
				    json_integer(
					running_slots(ops->d.running, (int)i)));
		json_object_set_new(item, "jobs_done",
				    json_integer((json_int_t)sb->jobs_done));
		/* With a job on it, since forqd started: forq top's busy. */
		json_object_set_new(item, "busy_ms",
				    json_integer(running_busy_ns(ops->d.running,
								 (int)i) /
						 NS_PER_MS));
		json_array_append_new(list, item);
	}
	free(ids);
	reply = reply_ok(req->id);
	json_object_set_new(reply, "workers", list);
	json_object_set_new(reply, "queued",
			    json_integer((json_int_t)jobs_ready(ops->d.jobs)));
	if (ops->d.node != NULL)
		json_object_set_new(reply, "store", node_self(ops->d.node));
	return reply;
}

struct ops_nodes_ask {
	struct ops *ops;
	struct later_reply *reply;
};

static void
ops_nodes_done(void *arg, json_t *rows, const char *err)
{
	struct ops_nodes_ask *ask = arg;
	json_t *reply;

	if (rows == NULL) {
		reply = reply_error(later_req_id(ask->reply),
				    FORQ_ERR_UNAVAILABLE, err);
	} else {
		reply = reply_ok(later_req_id(ask->reply));
		json_object_set_new(reply, "nodes", rows);
	}
	later_answer(ask->ops->d.later, ask->reply, reply);
	free(ask);
}

json_t *
ops_nodes(struct ops *ops, struct client *c, const struct request *req)
{
	struct ops_nodes_ask *ask;
	const char *why;
	char msg[300];

	if (ops->d.node == NULL)
		return ops_error(req, FORQ_ERR_UNSUPPORTED,
				 "this forqd is not a node of a cluster "
				 "([store] backend = sqlite)");
	if ((ask = malloc(sizeof *ask)) == NULL ||
	    (ask->reply = later_add(ops->d.later, c, req->id)) == NULL) {
		free(ask);
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	ask->ops = ops;
	if (node_list(ops->d.node, ops_nodes_done, ask, &why) == -1) {
		snprintf(msg, sizeof msg, "database unreachable: %s", why);
		ops_nodes_done(ask, NULL, msg);
	}
	return NULL;
}

/* "after": the jobs it waits (or waited) for, with their states. */
static int
ops_add_deps(struct ops *ops, uint64_t id, enum job_after mode, json_t *job)
{
	enum job_state *states;
	uint64_t *ids;
	json_t *after;
	size_t n, i;

	if (store_deps(ops->d.store, id, &ids, &states, &n) == -1)
		return -1;
	if (n > 0) {
		after = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(after,
					      json_pack("{s:I, s:s}", "id",
							(json_int_t)ids[i],
							"state",
							job_state_name(
							    states[i])));
		json_object_set_new(job, "after", after);
		json_object_set_new(job, "after_any",
				    json_boolean(mode == JOB_AFTER_ANY));
		json_object_set_new(job, "after_fail",
				    json_boolean(mode == JOB_AFTER_FAIL));
	}
	free(ids);
	free(states);
	return 0;
}

/* "array": {"tasks": 100, "succeeded": 90, "running": 8, ...}, the
 * states no task is in left out. */
void
ops_array_json(json_t *job, const uint64_t *counts)
{
	uint64_t total = 0;
	json_t *a;
	int s;

	a = json_object();
	for (s = 0; s < JOB_STATE_COUNT; s++) {
		total += counts[s];
		if (counts[s] > 0)
			json_object_set_new(a,
					    job_state_name((enum job_state)s),
					    json_integer(
						(json_int_t)counts[s]));
	}
	json_object_set_new(a, "tasks", json_integer((json_int_t)total));
	json_object_set_new(job, "array", a);
}

static int
ops_array_states(struct ops *ops, uint64_t array_id, json_t *job)
{
	uint64_t counts[JOB_STATE_COUNT];

	if (store_array_states(ops->d.store, array_id, counts) == -1)
		return -1;
	ops_array_json(job, counts);
	return 0;
}

json_t *
ops_status(struct ops *ops, struct client *c, const struct request *req)
{
	struct store_job job;
	struct req_error err;
	json_t *reply;
	uint64_t id;
	enum job_after mode;
	bool head;

	if (request_job_id(req, "job", &id, &err) == -1)
		return ops_req_error(&err);
	if ((reply = ops_get_job(ops, c, req, id, &job)) != NULL)
		return reply;
	reply = reply_ok(req->id);
	json_object_set_new(reply, "job", ops_job_json(ops, &job, true));
	mode = job.spec.after_mode;
	head = job.array_id == id;
	store_job_free(&job);
	/* An array's id: its first task, and where all its tasks are. */
	if (head &&
	    ops_array_states(ops, id, json_object_get(reply, "job")) == -1) {
		json_decref(reply);
		return ops_store_error(ops, req);
	}
	if (store_attempts(ops->d.store, id, ops_attempt_one,
			   json_object_get(json_object_get(reply, "job"),
					   "attempts")) == -1 ||
	    ops_add_deps(ops, id, mode, json_object_get(reply, "job")) == -1) {
		json_decref(reply);
		return ops_store_error(ops, req);
	}
	return reply;
}

/* One list reply holds at most this much JSON; past it the client is
 * told "more" and asks again from the last id (the CLI does). */
#define LIST_REPLY_BYTES_MAX (1024 * 1024)

struct ops_list {
	struct ops *ops;
	json_t *jobs;
	size_t bytes;
	bool more;
};

static int
ops_list_one(void *arg, const struct store_job *job)
{
	struct ops_list *l = arg;
	json_t *j = ops_job_json(l->ops, job, false);
	size_t len = json_dumpb(j, NULL, 0, JSON_COMPACT) + 1;

	/* One job always goes, whatever its size: a page never stalls. */
	if (json_array_size(l->jobs) > 0 &&
	    l->bytes + len > LIST_REPLY_BYTES_MAX) {
		json_decref(j);
		l->more = true;
		return 1;
	}
	l->bytes += len;
	json_array_append_new(l->jobs, j);
	return 0;
}

json_t *
ops_list_filter(struct ops *ops, struct client *c, const struct request *req,
		struct store_filter *f, uint32_t *limit)
{
	const json_t *state = json_object_get(req->root, "state");
	const json_t *max = json_object_get(req->root, "limit");
	struct req_error err;
	enum job_state s = JOB_QUEUED;
	json_t *reply;

	*f = (struct store_filter){.state = -1, .uid = -1};
	*limit = 20;
	if (state != NULL && !json_is_null(state) &&
	    (!json_is_string(state) ||
	     job_state_parse(json_string_value(state), &s) == -1))
		return ops_error(req, FORQ_ERR_BAD_REQUEST,
				 "\"state\" must be one of " JOB_STATE_LIST);
	if (request_string(req, "queue", &f->queue, &err) == -1 ||
	    request_string(req, "name", &f->name, &err) == -1 ||
	    (json_object_get(req->root, "before") != NULL &&
	     request_job_id(req, "before", &f->before, &err) == -1) ||
	    (json_object_get(req->root, "array") != NULL &&
	     request_job_id(req, "array", &f->array, &err) == -1))
		return ops_req_error(&err);
	/* An admin lists everyone's jobs; a user their own. */
	if ((reply = ops_whose(ops, c, req, &f->uid)) != NULL)
		return reply;
	if (max != NULL && !json_is_null(max)) {
		if (!json_is_integer(max) || json_integer_value(max) < 1 ||
		    json_integer_value(max) > LIST_LIMIT_MAX)
			return ops_error(req, FORQ_ERR_BAD_REQUEST,
					 "\"limit\" must be an integer from 1 "
					 "to %d",
					 LIST_LIMIT_MAX);
		*limit = (uint32_t)json_integer_value(max);
	}
	if (state != NULL && !json_is_null(state))
		f->state = (int)s;
	return NULL;
}

json_t *
ops_list(struct ops *ops, struct client *c, const struct request *req)
{
	struct ops_list l = {.ops = ops};
	struct store_filter f;
	uint32_t n;
	json_t *reply;

	if ((reply = ops_list_filter(ops, c, req, &f, &n)) != NULL)
		return reply;
	l.jobs = json_array();
	if (store_list(ops->d.store, &f, n, ops_list_one, &l) == -1) {
		json_decref(l.jobs);
		return ops_store_error(ops, req);
	}
	reply = reply_ok(req->id);
	json_object_set_new(reply, "jobs", l.jobs);
	json_object_set_new(reply, "more", json_boolean(l.more));
	return reply;
}

/* A connection's pending waits are bounded: each costs memory, and
 * every job end looks at them. */
static json_t *
ops_waits_full(struct ops *ops, struct client *c, const struct request *req)
{
	char msg[160];

	if (watch_pending(ops->d.watch, c) < ops->d.conf->client_waits_max)
		return NULL;
	snprintf(msg, sizeof msg,
		 "this connection has %u waits pending, client_waits_max is "
		 "%u",
		 ops->d.conf->client_waits_max, ops->d.conf->client_waits_max);
	return reply_limit(req->id, "client_waits_max",
			   ops->d.conf->client_waits_max, msg);
}

json_t *
ops_wait(struct ops *ops, struct client *c, const struct request *req)
{
	struct store_job job;
	struct req_error err;
	json_t *done, *reply = NULL;
	uint64_t *ids, *pending;
	size_t n, npending = 0, i;
	const char *queue;
	bool events, all;
	enum store_result found;

	if (request_bool(req, "events", &events, &err) == -1 ||
	    request_bool(req, "all", &all, &err) == -1 ||
	    request_string(req, "queue", &queue, &err) == -1)
		return ops_req_error(&err);
	if (queue != NULL && runq_find(jobs_runq(ops->d.jobs), queue) == -1)
		return ops_error(req, FORQ_ERR_UNKNOWN_QUEUE,
				 "no queue named \"%s\"", queue);
	if ((reply = ops_waits_full(ops, c, req)) != NULL)
		return reply;
	if (all || queue != NULL) {
		/* The client's jobs not ended yet, now: those submitted
		 * later are not waited for. */
		if (store_unfinished(ops->d.store, control_cred(c)->uid, queue,
				     &ids, &n) == -1)
			return ops_store_error(ops, req);
	} else if (request_job_ids(req, "jobs", &ids, &n,
				   ops->d.limits->batch_max, &err) == -1) {
		return ops_req_error(&err);
	}
	if ((pending = calloc(n > 0 ? n : 1, sizeof *pending)) == NULL) {
		free(ids);
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	done = json_array();
	for (i = 0; i < n && reply == NULL; i++) {
		if ((found = store_get(ops->d.store, ids[i], &job)) !=
		    STORE_OK) {
			reply = found == STORE_NO_MATCH
				    ? ops_not_found(req, ids[i])
				    : ops_store_error(ops, req);
			break;
		}
		if (!ops_may_touch(ops, c, &job)) {
			store_job_free(&job);
			reply = ops_not_permitted(req, ids[i]);
			break;
		}
		if (job_state_final(job.state))
			json_array_append_new(done,
					      job_result_json(job.id,
							      &job.result));
		else
			pending[npending++] = job.id;
		store_job_free(&job);
	}
	if (reply == NULL && npending == 0) {
		reply = reply_ok(req->id);
		json_object_set(reply, "jobs", done);
	} else if (reply == NULL) {
		if (events && (all || queue != NULL))
			ops_push_waiting(c, req, npending);
		/* The reply comes when the last one ends. */
		if (watch_add(ops->d.watch, c, req->id, WATCH_WAIT, events,
			      pending, npending, json_incref(done)) == -1)
			reply =
			    ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	json_decref(done);
	free(ids);
	free(pending);
	return reply;
}

/* The bytes given, as a file the client reads as it reads a local one. */
int
ops_memfd(const char *name, const unsigned char *data, size_t len)
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

/* O_NONBLOCK: a FIFO planted here must not stall the supervisor; only
 * a plain file is handed out. No file is no output: a job's stream that
 * stayed empty leaves none (see worker/spool.h). */
int
ops_open_log(struct ops *ops, uint64_t id, const char *ext, bool create)
{
	char path[PATH_MAX + 32];
	struct stat st;
	int fd;

	snprintf(path, sizeof path, "%s/logs/%llu.%s", ops->d.conf->state_dir,
		 (unsigned long long)id, ext);
	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
		      (create ? O_CREAT : 0),
		  0600);
	if (fd == -1 && errno == ENOENT && !create)
		return ops_memfd(ext, NULL, 0);
	if (fd != -1 && (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))) {
		close(fd);
		return -1;
	}
	return fd;
}

json_t *
ops_logs(struct ops *ops, struct client *c, const struct request *req)
{
	struct store_job job;
	struct req_error err;
	json_t *reply;
	bool follow, final;
	uint64_t id;
	int fds[2] = {-1, -1}, n;

	if (request_job_id(req, "job", &id, &err) == -1 ||
	    request_bool(req, "follow", &follow, &err) == -1)
		return ops_req_error(&err);
	if (follow && (reply = ops_waits_full(ops, c, req)) != NULL)
		return reply;
	if ((reply = ops_get_job(ops, c, req, id, &job)) != NULL)
		return reply;
	final = job_state_final(job.state);
	reply = reply_ok(req->id);
	json_object_set_new(reply, "job", job_result_json(id, &job.result));
	json_object_set_new(reply, "final", json_boolean(final));
	/* A queued job has no output yet; to follow it, make the files the
	 * worker will write (it truncates, never replaces, them); the
	 * user's own (--stdout, --stderr) as that user. */
	fds[0] = job.spec.stdout_path != NULL
		     ? store_job_file_open(&job, 0, follow && !final)
		     : ops_open_log(ops, id, "out", follow && !final);
	fds[1] = job.spec.stderr_path != NULL
		     ? store_job_file_open(&job, 1, follow && !final)
		     : ops_open_log(ops, id, "err", follow && !final);
	store_job_free(&job);
	n = fds[0] != -1 && fds[1] != -1 ? 2 : 0;
	json_object_set_new(reply, "fds", json_integer(n));
	if (n == 2) {
		if (control_push_fds(c, reply, fds, 2) == -1)
			reply = ops_error(req, FORQ_ERR_INTERNAL,
					  "cannot pass the output files");
		else
			reply = NULL;
	}
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	if (reply == NULL && follow && !final &&
	    watch_add(ops->d.watch, c, req->id, WATCH_FOLLOW, true, &id, 1,
		      json_array()) == -1)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	return reply;
}
