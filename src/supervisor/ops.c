/*
 * Request handlers: hello, ping, workers, status, list, wait and logs,
 * the dispatch to all of them, and what they share (errors, the job's
 * JSON, who may see what). The requests that change jobs are in
 * ops_jobs.c, those about queues in ops_queues.c. Each checks its
 * fields, acts through jobs.c and the store, and shapes a reply; errors
 * name what was wrong and, for limits, which limit.
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
#include "supervisor/control.h"
#include "supervisor/ops.h"
#include "supervisor/ops_impl.h"
#include "core/request.h"
#include "supervisor/supervisor.h"
#include "supervisor/watch.h"
#include "forq/protocol.h"
#include "version.h"

#define LIST_LIMIT_MAX 100000

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
ops_store_error(struct supervisor *sv, const struct request *req)
{
	return ops_error(req, FORQ_ERR_INTERNAL, "job store: %s",
			 store_error(sv->store));
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

static json_t *
ops_argv(const char *packed, uint32_t argc)
{
	json_t *a = json_array();
	uint32_t i;

	for (i = 0; i < argc; i++) {
		json_array_append_new(a, json_string(packed));
		packed += strlen(packed) + 1;
	}
	return a;
}

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

static int
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
static json_t *
ops_job_json(struct supervisor *sv, const struct store_job *j, bool full)
{
	const struct sv_worker *w = NULL;
	const struct sv_slot *s = jobs_find_running(sv, j->id, &w);
	json_t *o = job_result_json(j->id, &j->result);

	json_object_set_new(o, "name",
			    j->name != NULL ? json_string(j->name)
					    : json_null());
	json_object_set_new(o, "argv", ops_argv(j->spec.argv, j->spec.argc));
	json_object_set_new(o, "submitted_at", ops_time(j->submit_ns));
	json_object_set_new(o, "started_at",
			    ops_time(s != NULL && s->start_ns
					 ? s->start_ns
					 : j->result.start_ns));
	json_object_set_new(o, "ended_at",
			    ops_time(job_state_final(j->state)
					 ? j->result.end_ns
					 : 0));
	json_object_set_new(o, "attempt", json_integer(j->attempt + 1));
	json_object_set_new(o, "queue",
			    json_string(j->spec.queue != NULL ? j->spec.queue
							      : "default"));
	json_object_set_new(o, "priority", json_integer(j->spec.priority));
	json_object_set_new(o, "start_at",
			    j->state == JOB_SCHEDULED || j->spec.start_at_ns > 0
				? ops_time(j->spec.start_at_ns)
				: json_null());
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
	json_object_set_new(o, "attempts", json_array());
	if (j->spec.retries > 0) {
		json_object_set_new(o, "retry_delay_ms",
				    json_integer(j->spec.retry_delay_ms));
		json_object_set_new(o, "retry_on",
				    ops_retry_on(j->spec.retry_on));
	}
	json_object_set_new(o, "uid", json_integer(j->uid));
	json_object_set_new(o, "gid", json_integer(j->gid));
	json_object_set_new(o, "timeout_ms",
			    j->spec.timeout_ms > 0
				? json_integer(j->spec.timeout_ms)
				: json_null());
	json_object_set_new(o, "worker",
			    s != NULL        ? json_integer(w->index)
			    : j->worker >= 0 ? json_integer(j->worker)
					     : json_null());
	json_object_set_new(o, "cpu",
			    s != NULL     ? json_integer(w->cpu)
			    : j->cpu >= 0 ? json_integer(j->cpu)
					  : json_null());
	json_object_set_new(o, "pid",
			    s != NULL && s->pid > 0 ? json_integer(s->pid)
						    : json_null());
	if (job_state_final(j->state) && j->result.start_ns > 0) {
		json_object_set_new(o, "user_us",
				    json_integer(j->result.user_us));
		json_object_set_new(o, "sys_us",
				    json_integer(j->result.sys_us));
		json_object_set_new(o, "maxrss_kb",
				    json_integer(j->result.maxrss_kb));
	}
	return o;
}

static json_t *
ops_workers(struct supervisor *sv, const struct request *req)
{
	const struct sv_worker *w;
	const struct sb_worker *sb;
	json_t *reply, *list, *item, *jobs;
	int64_t now = clock_mono_ns(), beat;
	uint32_t i, s;

	list = json_array();
	for (i = 0; i < sv->workers_max; i++) {
		w = &sv->workers[i];
		sb = w->sb;
		if (!w->planned && w->pid == 0)
			continue;
		item = json_pack("{s:i, s:i, s:i, s:s, s:i}", "worker",
				 w->index, "pid", (int)w->pid, "cpu", w->cpu,
				 "state", sb_state_name(sb->state), "restarts",
				 (int)sb->restarts);
		beat = sb_heartbeat(sb);
		json_object_set_new(item, "uptime_ms",
				    w->pid != 0
					? json_integer((now - w->started_ns) /
						       NS_PER_MS)
					: json_null());
		json_object_set_new(item, "heartbeat_age_ms",
				    w->pid != 0 && beat >= w->started_ns
					? json_integer((now - beat) / NS_PER_MS)
					: json_null());
		json_object_set_new(item, "retry_in_ms",
				    w->pid == 0 && w->retry_at_ns > now
					? json_integer((w->retry_at_ns - now) /
						       NS_PER_MS)
					: json_null());
		json_object_set_new(item, "last_exit",
				    sb->last_exit[0]
					? json_string(sb->last_exit)
					: json_null());
		jobs = json_array();
		for (s = 0; w->slots != NULL && s < sv->shm.slots_per_worker;
		     s++) {
			if (w->slots[s].job_id != 0)
				json_array_append_new(jobs, json_integer(
								(json_int_t)w
								    ->slots[s]
								    .job_id));
		}
		json_object_set_new(item, "jobs", jobs);
		json_object_set_new(item, "slots",
				    json_integer(sv->shm.slots_per_worker));
		json_object_set_new(item, "jobs_done",
				    json_integer((json_int_t)sb->jobs_done));
		json_array_append_new(list, item);
	}
	reply = reply_ok(req->id);
	json_object_set_new(reply, "workers", list);
	json_object_set_new(reply, "queued",
			    json_integer((json_int_t)runq_ready(sv->runq)));
	return reply;
}

/* Root or a member of admin_group: sees and acts on every job. */
bool
ops_is_admin(struct supervisor *sv, const struct client *c)
{
	struct access_peer peer;

	control_peer(c, &peer);
	return access_is_admin(&sv->access, &peer);
}

/* A user sees and acts on their own jobs; an admin on everyone's. */
bool
ops_may_touch(struct supervisor *sv, struct client *c,
	      const struct store_job *job)
{
	return control_cred(c)->uid == job->uid || ops_is_admin(sv, c);
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
ops_get_job(struct supervisor *sv, struct client *c, const struct request *req,
	    uint64_t id, struct store_job *job)
{
	int rc;

	if ((rc = store_get(sv->store, id, job)) != 0)
		return rc == 1 ? ops_not_found(req, id)
			       : ops_store_error(sv, req);
	if (!ops_may_touch(sv, c, job)) {
		store_job_free(job);
		return ops_not_permitted(req, id);
	}
	return NULL;
}

json_t *
ops_get_own_job(struct supervisor *sv, struct client *c,
		const struct request *req, uint64_t id, struct store_job *job,
		const char *what)
{
	uid_t uid = control_cred(c)->uid;
	json_t *reply;

	if ((reply = ops_get_job(sv, c, req, id, job)) != NULL)
		return reply;
	if (uid == job->uid || uid == 0)
		return NULL;
	store_job_free(job);
	return ops_error(req, FORQ_ERR_NOT_PERMITTED,
			 "job %llu belongs to another user: only its owner or "
			 "root may %s it (admin_group may see and cancel it)",
			 (unsigned long long)id, what);
}

/* "after": the jobs it waits (or waited) for, with their states. */
static int
ops_add_deps(struct supervisor *sv, uint64_t id, bool any, json_t *job)
{
	enum job_state *states;
	uint64_t *ids;
	json_t *after;
	size_t n, i;

	if (store_deps(sv->store, id, &ids, &states, &n) == -1)
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
		json_object_set_new(job, "after_any", json_boolean(any));
	}
	free(ids);
	free(states);
	return 0;
}

static json_t *
ops_status(struct supervisor *sv, struct client *c, const struct request *req)
{
	struct store_job job;
	struct req_error err;
	json_t *reply;
	uint64_t id;
	bool any;

	if (request_job_id(req, "job", &id, &err) == -1)
		return ops_req_error(&err);
	if ((reply = ops_get_job(sv, c, req, id, &job)) != NULL)
		return reply;
	reply = reply_ok(req->id);
	json_object_set_new(reply, "job", ops_job_json(sv, &job, true));
	any = job.spec.after_any;
	store_job_free(&job);
	if (store_attempts(sv->store, id, ops_attempt_one,
			   json_object_get(json_object_get(reply, "job"),
					   "attempts")) == -1 ||
	    ops_add_deps(sv, id, any, json_object_get(reply, "job")) == -1) {
		json_decref(reply);
		return ops_store_error(sv, req);
	}
	return reply;
}

/* Whose jobs a list or clean is about: a user their own; root and
 * admin_group everyone's (-1), or one user's by "uid". */
json_t *
ops_whose(struct supervisor *sv, struct client *c, const struct request *req,
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
	if (ops_is_admin(sv, c))
		return NULL;
	if (*uid >= 0 && *uid != self)
		return ops_error(req, FORQ_ERR_NOT_PERMITTED,
				 "only root or admin_group may %s another "
				 "user's jobs",
				 request_op_name(req->op));
	*uid = self;
	return NULL;
}

/* One list reply holds at most this much JSON; past it the client is
 * told "more" and asks again from the last id (the CLI does). */
#define LIST_REPLY_BYTES_MAX (1024 * 1024)

struct ops_list {
	struct supervisor *sv;
	json_t *jobs;
	size_t bytes;
	bool more;
};

static int
ops_list_one(void *arg, const struct store_job *job)
{
	struct ops_list *l = arg;
	json_t *j = ops_job_json(l->sv, job, false);
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

static json_t *
ops_list(struct supervisor *sv, struct client *c, const struct request *req)
{
	const json_t *state = json_object_get(req->root, "state");
	const json_t *limit = json_object_get(req->root, "limit");
	struct ops_list l = {.sv = sv};
	struct store_filter f = {.state = -1, .uid = -1};
	struct req_error err;
	enum job_state s = JOB_QUEUED;
	json_int_t n = 20;
	json_t *reply;

	if (state != NULL && !json_is_null(state) &&
	    (!json_is_string(state) ||
	     job_state_parse(json_string_value(state), &s) == -1))
		return ops_error(req, FORQ_ERR_BAD_REQUEST,
				 "\"state\" must be one of " JOB_STATE_LIST);
	if (request_string(req, "queue", &f.queue, &err) == -1 ||
	    request_string(req, "name", &f.name, &err) == -1 ||
	    (json_object_get(req->root, "before") != NULL &&
	     request_job_id(req, "before", &f.before, &err) == -1))
		return ops_req_error(&err);
	if ((reply = ops_whose(sv, c, req, &f.uid)) != NULL)
		return reply;
	if (limit != NULL && !json_is_null(limit)) {
		if (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
		    json_integer_value(limit) > LIST_LIMIT_MAX)
			return ops_error(req, FORQ_ERR_BAD_REQUEST,
					 "\"limit\" must be an integer from 1 "
					 "to %d",
					 LIST_LIMIT_MAX);
		n = json_integer_value(limit);
	}
	l.jobs = json_array();
	/* An admin lists everyone's jobs; a user their own. */
	if (state != NULL && !json_is_null(state))
		f.state = (int)s;
	if (store_list(sv->store, &f, (uint32_t)n, ops_list_one, &l) == -1) {
		json_decref(l.jobs);
		return ops_store_error(sv, req);
	}
	reply = reply_ok(req->id);
	json_object_set_new(reply, "jobs", l.jobs);
	json_object_set_new(reply, "more", json_boolean(l.more));
	return reply;
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

/* A connection's pending waits are bounded: each costs memory, and
 * every job end looks at them. */
static json_t *
ops_waits_full(struct supervisor *sv, struct client *c,
	       const struct request *req)
{
	char msg[160];

	if (watch_pending(sv->watch, c) < sv->conf.client_waits_max)
		return NULL;
	snprintf(msg, sizeof msg,
		 "this connection has %u waits pending, client_waits_max is "
		 "%u",
		 sv->conf.client_waits_max, sv->conf.client_waits_max);
	return reply_limit(req->id, "client_waits_max",
			   sv->conf.client_waits_max, msg);
}

static json_t *
ops_wait(struct supervisor *sv, struct client *c, const struct request *req)
{
	struct store_job job;
	struct req_error err;
	json_t *done, *reply = NULL;
	uint64_t *ids, *pending;
	size_t n, npending = 0, i;
	const char *queue;
	bool events, all;
	int rc;

	if (request_bool(req, "events", &events, &err) == -1 ||
	    request_bool(req, "all", &all, &err) == -1 ||
	    request_string(req, "queue", &queue, &err) == -1)
		return ops_req_error(&err);
	if (queue != NULL && runq_find(sv->runq, queue) == -1)
		return ops_error(req, FORQ_ERR_UNKNOWN_QUEUE,
				 "no queue named \"%s\"", queue);
	if ((reply = ops_waits_full(sv, c, req)) != NULL)
		return reply;
	if (all || queue != NULL) {
		/* The client's jobs not ended yet, now: those submitted
		 * later are not waited for. */
		if (store_unfinished(sv->store, control_cred(c)->uid, queue,
				     &ids, &n) == -1)
			return ops_store_error(sv, req);
	} else if (request_job_ids(req, "jobs", &ids, &n, sv->limits.batch_max,
				   &err) == -1) {
		return ops_req_error(&err);
	}
	if ((pending = calloc(n > 0 ? n : 1, sizeof *pending)) == NULL) {
		free(ids);
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	done = json_array();
	for (i = 0; i < n && reply == NULL; i++) {
		if ((rc = store_get(sv->store, ids[i], &job)) != 0) {
			reply = rc == 1 ? ops_not_found(req, ids[i])
					: ops_store_error(sv, req);
			break;
		}
		if (!ops_may_touch(sv, c, &job)) {
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
		if (watch_add(sv->watch, c, req->id, WATCH_WAIT, events,
			      pending, npending, json_incref(done)) == -1)
			reply =
			    ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	json_decref(done);
	free(ids);
	free(pending);
	return reply;
}

/* O_NONBLOCK: a FIFO planted here must not stall the supervisor; only
 * a plain file is handed out. */
static int
ops_open_log(struct supervisor *sv, uint64_t id, const char *ext, bool create)
{
	char path[PATH_MAX + 32];
	struct stat st;
	int fd;

	snprintf(path, sizeof path, "%s/logs/%llu.%s", sv->conf.state_dir,
		 (unsigned long long)id, ext);
	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
		      (create ? O_CREAT : 0),
		  0600);
	if (fd != -1 && (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))) {
		close(fd);
		return -1;
	}
	return fd;
}

static json_t *
ops_logs(struct supervisor *sv, struct client *c, const struct request *req)
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
	if (follow && (reply = ops_waits_full(sv, c, req)) != NULL)
		return reply;
	if ((reply = ops_get_job(sv, c, req, id, &job)) != NULL)
		return reply;
	final = job_state_final(job.state);
	reply = reply_ok(req->id);
	json_object_set_new(reply, "job", job_result_json(id, &job.result));
	json_object_set_new(reply, "final", json_boolean(final));
	store_job_free(&job);
	/* A queued job has no output yet; to follow it, make the files the
	 * worker will write (it truncates, never replaces, them). */
	fds[0] = ops_open_log(sv, id, "out", follow && !final);
	fds[1] = ops_open_log(sv, id, "err", follow && !final);
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
	    watch_add(sv->watch, c, req->id, WATCH_FOLLOW, true, &id, 1,
		      json_array()) == -1)
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	return reply;
}

json_t *
ops_handle(struct supervisor *sv, struct client *c, const struct request *req)
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
					(clock_mono_ns() - sv->started_ns) /
					NS_PER_MS));
		json_object_set_new(reply, "workers_ready",
				    json_integer(workers_ready(sv)));
		return reply;
	case REQ_WORKERS:
		return ops_workers(sv, req);
	case REQ_SUBMIT:
		return ops_submit(sv, c, req);
	case REQ_STATUS:
		return ops_status(sv, c, req);
	case REQ_LIST:
		return ops_list(sv, c, req);
	case REQ_WAIT:
		return ops_wait(sv, c, req);
	case REQ_LOGS:
		return ops_logs(sv, c, req);
	case REQ_CANCEL:
		return ops_cancel(sv, c, req);
	case REQ_SET:
		return ops_set(sv, c, req);
	case REQ_RETRY:
		return ops_retry(sv, c, req);
	case REQ_CLEAN:
		return ops_clean(sv, c, req);
	case REQ_PAUSE:
	case REQ_RESUME:
	case REQ_DRAIN:
		return ops_pause(sv, c, req);
	case REQ_QUEUES:
		return ops_queues(sv, req);
	}
	return reply_error(req->id, FORQ_ERR_INTERNAL, "unhandled op");
}
