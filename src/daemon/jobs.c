/*
 * The supervisor's side of jobs: accepting them into the store and the
 * queue, handing them to free slots, recording their ends, cancelling
 * them, and settling every job a dead worker had in flight so that none
 * vanishes and none that finished runs again.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/path.h"
#include "common/units.h"
#include "daemon/sched.h"
#include "daemon/supervisor.h"
#include "daemon/watch.h"

#define PRUNE_INTERVAL_NS (60 * NS_PER_SEC)
#define PRUNE_BATCH 1000

static void jobs_on_adopted_exit(struct ev_io *io, uint32_t events);
static void jobs_settle_dependents(struct supervisor *sv, uint64_t ended);
static void jobs_settle_one(struct supervisor *sv, uint64_t id);

/* A scheduled job in the due heap: at its CLOCK_REALTIME start. */
struct jobs_due {
	int64_t at_ns;
	uint64_t id;
};

static bool
jobs_due_before(const void *a, const void *b)
{
	const struct jobs_due *x = a, *y = b;

	return x->at_ns != y->at_ns ? x->at_ns < y->at_ns : x->id < y->id;
}

int
jobs_queue_index(struct supervisor *sv, const char *name)
{
	int i;

	if ((i = runq_find(sv->runq, name)) != -1)
		return i;
	if ((i = runq_queue(sv->runq, name)) == -1)
		return -1;
	log_warnx("queue \"%s\" holds jobs but is not in %s; its jobs run "
		  "without a limit of their own",
		  name, sv->conf.path[0] != '\0' ? sv->conf.path : "the conf");
	return i;
}

int
jobs_apply_queues(struct supervisor *sv)
{
	const struct conf_queue *cq;
	uint32_t i;
	int k;

	/* A queue the conf no longer declares keeps its jobs, without a
	 * limit of its own. */
	for (k = 0; k < (int)runq_queues(sv->runq); k++)
		runq_set_parallel(sv->runq, k, 0);
	for (i = 0; i < sv->conf.nqueues; i++) {
		cq = &sv->conf.queues[i];
		if ((k = runq_queue(sv->runq, cq->name)) == -1)
			return -1;
		runq_set_parallel(sv->runq, k, cq->parallel);
	}
	return 0;
}

static int
jobs_enqueue(struct supervisor *sv, int queue, uid_t uid, uint64_t id,
	     int32_t priority, uint32_t attempt)
{
	struct runq_job j = {.id = id,
			     .priority = priority,
			     .attempt = attempt};

	return runq_push(sv->runq, queue, uid, &j);
}

struct runq_fresh {
	uint64_t id;
	int queue;
	uid_t uid;
	int32_t priority;
	uint32_t attempt;
};

/* A job queued by a client's request: it joins the runq once the
 * turn's commit has stored it (jobs_turn_committed). */
static int
jobs_fresh(struct supervisor *sv, int queue, uid_t uid, uint64_t id,
	   int32_t priority, uint32_t attempt)
{
	struct runq_fresh *more;
	size_t cap;

	if (sv->nfresh == sv->fresh_cap) {
		cap = sv->fresh_cap != 0 ? sv->fresh_cap * 2 : 64;
		if ((more = reallocarray(sv->fresh, cap, sizeof *more)) == NULL)
			return -1;
		sv->fresh = more;
		sv->fresh_cap = cap;
	}
	sv->fresh[sv->nfresh++] = (struct runq_fresh){.id = id,
						      .queue = queue,
						      .uid = uid,
						      .priority = priority,
						      .attempt = attempt};
	return 0;
}

bool
jobs_turn_committed(struct supervisor *sv, bool committed)
{
	const struct runq_fresh *f;
	size_t i, n = sv->nfresh;

	for (i = 0; committed && i < n; i++) {
		f = &sv->fresh[i];
		if (jobs_enqueue(sv, f->queue, f->uid, f->id, f->priority,
				 f->attempt) == -1)
			log_warn("job %llu: queue", (unsigned long long)f->id);
	}
	sv->nfresh = 0;
	/* A batch's worth of room is given back once it has gone. */
	if (sv->fresh_cap > 4096) {
		free(sv->fresh);
		sv->fresh = NULL;
		sv->fresh_cap = 0;
	}
	return committed && n > 0;
}

static int
jobs_schedule(struct supervisor *sv, uint64_t id, int64_t at_ns)
{
	struct jobs_due d = {.at_ns = at_ns, .id = id};

	return heap_push(&sv->due, &d);
}

static int
jobs_load_pending(void *arg, const struct store_pending *p)
{
	struct supervisor *sv = arg;
	int q;

	if (usercount_add(sv->queued_by_uid, p->uid, 1) == -1)
		return -1;
	if (p->state == JOB_SCHEDULED)
		return jobs_schedule(sv, p->id, p->start_at_ns);
	if ((q = jobs_queue_index(sv, p->queue)) == -1)
		return -1;
	return jobs_enqueue(sv, q, p->uid, p->id, p->priority, p->attempt);
}

static int
jobs_load_paused(void *arg, const char *queue)
{
	struct supervisor *sv = arg;
	int q;

	if (strcmp(queue, "*") == 0) {
		runq_set_paused(sv->runq, RUNQ_ALL, true);
		log_info("paused: no job starts until forq resume");
		return 0;
	}
	if ((q = jobs_queue_index(sv, queue)) == -1)
		return -1;
	runq_set_paused(sv->runq, q, true);
	log_info("queue %s paused: none of its jobs starts until forq resume "
		 "%s",
		 queue, queue);
	return 0;
}

static int
jobs_count_user(void *arg, uid_t uid, uint64_t n)
{
	struct supervisor *sv = arg;

	return usercount_add(sv->queued_by_uid, uid, (int64_t)n);
}

void
jobs_recount(struct supervisor *sv)
{
	usercount_clear(sv->queued_by_uid);
	if (store_queued_per_user(sv->store, jobs_count_user, sv) == -1)
		log_warnx("store: %s", store_error(sv->store));
	jobs_settle_waiting(sv);
}

int
jobs_init(struct supervisor *sv)
{
	char err[512], logs[PATH_MAX];
	struct store_recovery rec;

	TAILQ_INIT(&sv->adopted);
	TAILQ_INIT(&sv->adopted_gone);
	heap_init(&sv->due, sizeof(struct jobs_due), jobs_due_before);
	if ((sv->runq = runq_new()) == NULL || jobs_apply_queues(sv) == -1 ||
	    (sv->queued_by_uid = usercount_new()) == NULL) {
		log_warn("queue counts");
		return -1;
	}
	snprintf(logs, sizeof logs, "%s/logs", sv->conf.state_dir);
	if (path_mkdir_p(logs, 0700, err, sizeof err) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	if (store_open(&sv->store, sv->conf.state_dir,
		       sv->conf.durability == CONF_DURABILITY_FULL, err,
		       sizeof err) == -1) {
		log_warnx("store: %s", err);
		return -1;
	}
	if (store_recover(sv->store, sv->conf.crash_requeue_max, &rec) == -1 ||
	    store_commit(sv->store) == -1) {
		log_warnx("store recovery: %s", store_error(sv->store));
		return -1;
	}
	if (rec.requeued + rec.lost > 0)
		log_warnx("recovered %llu jobs left running by a previous "
			  "forqd: "
			  "%llu queued again, %llu lost",
			  (unsigned long long)(rec.requeued + rec.lost),
			  (unsigned long long)rec.requeued,
			  (unsigned long long)rec.lost);
	if (store_pending(sv->store, jobs_load_pending, sv) == -1 ||
	    store_paused(sv->store, jobs_load_paused, sv) == -1) {
		log_warnx("store: %s", store_error(sv->store));
		return -1;
	}
	/* Counts from the store, waiting jobs too, and the dependencies
	 * that ended while forqd was down. */
	jobs_recount(sv);
	if (store_commit(sv->store) == -1) {
		log_warnx("store: %s", store_error(sv->store));
		return -1;
	}
	jobs_turn_committed(sv, true);
	if (sv->nwaiting > 0)
		log_info("%llu jobs waiting for others",
			 (unsigned long long)sv->nwaiting);
	if (runq_ready(sv->runq) + sv->due.len > 0)
		log_info("%zu queued jobs, %zu scheduled", runq_ready(sv->runq),
			 sv->due.len);
	/* Jobs whose worker dies are inherited here, not by init. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl(PR_SET_CHILD_SUBREAPER)");
	return 0;
}

/* Adopted jobs reaped this turn: the loop may still hold an event for
 * one of them (its pidfd and SIGCHLD can come in the same batch). */
void
jobs_end_turn(struct supervisor *sv)
{
	struct adopted *a;

	while ((a = TAILQ_FIRST(&sv->adopted_gone)) != NULL) {
		TAILQ_REMOVE(&sv->adopted_gone, a, entry);
		free(a);
	}
}

void
jobs_free(struct supervisor *sv)
{
	struct adopted *a;

	while ((a = TAILQ_FIRST(&sv->adopted)) != NULL) {
		TAILQ_REMOVE(&sv->adopted, a, entry);
		if (a->pidfd.fd != -1)
			close(a->pidfd.fd);
		free(a);
	}
	jobs_end_turn(sv);
	runq_free(sv->runq);
	sv->runq = NULL;
	heap_free(&sv->due);
	free(sv->fresh);
	sv->fresh = NULL;
	sv->nfresh = sv->fresh_cap = 0;
	free(sv->settle);
	sv->settle = NULL;
	sv->nsettle = sv->settle_cap = 0;
	free(sv->hooks);
	sv->hooks = NULL;
	sv->hooks_head = sv->nhooks = sv->hooks_cap = 0;
	usercount_free(sv->queued_by_uid);
	sv->queued_by_uid = NULL;
	store_close(sv->store);
	sv->store = NULL;
}

int
jobs_submit(struct supervisor *sv, const struct job_spec *specs, size_t n,
	    uid_t uid, gid_t gid, uint64_t *ids, bool *existing)
{
	int64_t now = clock_real_ns();
	size_t i, added = 0;
	int q, rc;

	if (store_insert(sv->store, specs, n, uid, gid, now, ids, existing) ==
	    -1) {
		log_warnx("store: %s", store_error(sv->store));
		return -1;
	}
	for (i = 0; i < n; i++)
		added += !existing[i];
	if (usercount_add(sv->queued_by_uid, uid, (int64_t)added) == -1) {
		log_warn("queue counts");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (existing[i])
			continue;
		/* As store_insert decided: waiting for other jobs, or later
		 * than now is scheduled. */
		if (specs[i].nafter > 0) {
			sv->nwaiting++;
			jobs_settle_one(sv, ids[i]);
			continue;
		}
		if (specs[i].start_at_ns > now)
			rc = jobs_schedule(sv, ids[i], specs[i].start_at_ns);
		else if ((q = jobs_queue_index(sv, specs[i].queue != NULL
						       ? specs[i].queue
						       : "default")) == -1)
			rc = -1;
		else
			rc = jobs_fresh(sv, q, uid, ids[i], specs[i].priority,
					0);
		if (rc == -1) {
			log_warn("queue");
			return -1;
		}
	}
	return 0;
}

json_t *
jobs_result_json(uint64_t id, const struct job_result *r)
{
	json_t *j = json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
			      job_state_name(r->state));

	json_object_set_new(j, "exit_code",
			    r->signal == 0 && r->exit_code >= 0
				? json_integer(r->exit_code)
				: json_null());
	json_object_set_new(j, "signal",
			    r->signal != 0 ? json_integer(r->signal)
					   : json_null());
	json_object_set_new(j, "error",
			    r->error[0] != '\0' ? json_string(r->error)
						: json_null());
	return j;
}

/* On-finish commands: the job's own, then forqd.conf's, each run by a
 * worker as the job's user once the job has ended. They wait in memory
 * only: notifications, whose failure is logged and never fatal. */
struct jobs_hook {
	uint64_t id;
	bool conf; /* forqd.conf's on_finish, else the job's own */
};

static void
jobs_hook_add(struct supervisor *sv, uint64_t id, bool conf)
{
	struct jobs_hook *more;
	size_t cap;

	if (sv->hooks_head == sv->nhooks)
		sv->hooks_head = sv->nhooks = 0;
	if (sv->nhooks == sv->hooks_cap) {
		cap = sv->hooks_cap != 0 ? sv->hooks_cap * 2 : 16;
		if ((more = reallocarray(sv->hooks, cap, sizeof *more)) ==
		    NULL) {
			log_warn("job %llu: on-finish command",
				 (unsigned long long)id);
			return;
		}
		sv->hooks = more;
		sv->hooks_cap = cap;
	}
	sv->hooks[sv->nhooks++] = (struct jobs_hook){.id = id, .conf = conf};
}

/* own: 1 the job has an on-finish command, 0 none, -1 not known here. */
static void
jobs_hooks_for(struct supervisor *sv, uint64_t id, int own)
{
	struct store_job job;

	if (own == -1 && store_get(sv->store, id, &job) == 0) {
		own = job.spec.on_finish != NULL;
		store_job_free(&job);
	}
	if (own == 1)
		jobs_hook_add(sv, id, false);
	if (sv->conf.on_finish[0] != '\0')
		jobs_hook_add(sv, id, true);
}

/* The hook's slot: /bin/sh -c CMD, in the job's directory, with the
 * job's environment and its end; 0 if that does not fit. */
static size_t
jobs_fill_hook(struct supervisor *sv, struct slot *slot,
	       const struct store_job *job, const char *cmd)
{
	char vars[1024], code[16] = "", sig[16] = "";
	size_t cmd_len = strlen(cmd) + 1, cwd_len = strlen(job->spec.cwd) + 1;
	size_t argv_len = sizeof "/bin/sh" + sizeof "-c" + cmd_len, vars_len;
	size_t need;
	int n;

	if (job->result.signal != 0)
		snprintf(sig, sizeof sig, "%d", job->result.signal);
	else if (job->result.exit_code >= 0)
		snprintf(code, sizeof code, "%d", job->result.exit_code);
	n = snprintf(vars, sizeof vars,
		     "FORQ_JOB_STATE=%s%cFORQ_JOB_EXIT_CODE=%s%c"
		     "FORQ_JOB_SIGNAL=%s%cFORQ_JOB_QUEUE=%s%cFORQ_JOB_NAME=%."
		     "256s",
		     job_state_name(job->state), 0, code, 0, sig, 0,
		     job->spec.queue != NULL ? job->spec.queue : "default", 0,
		     job->name != NULL ? job->name : "");
	if (n < 0 || (size_t)n >= sizeof vars)
		return 0;
	vars_len = (size_t)n + 1;
	need = argv_len + job->spec.env_len + vars_len + cwd_len;
	if (need > sv->shm.slot_size - sizeof *slot)
		return 0;
	slot->flags = SLOT_F_HOOK;
	slot->job_id = job->id;
	slot->attempt = job->attempt;
	slot->timeout_ms = sv->conf.on_finish_timeout_ms;
	slot->kill_grace_ms = sv->conf.kill_grace_ms;
	slot->output_max = sv->conf.output_max;
	slot->uid = job->uid;
	slot->gid = job->gid;
	slot->argc = 3;
	slot->envc = job->spec.envc + 5;
	slot->argv_len = (uint32_t)argv_len;
	slot->env_len = (uint32_t)(job->spec.env_len + vars_len);
	slot->cwd_len = (uint32_t)cwd_len;
	slot->pid = 0;
	memcpy(slot->data, "/bin/sh\0-c", sizeof "/bin/sh" + sizeof "-c");
	memcpy(slot->data + sizeof "/bin/sh" + sizeof "-c", cmd, cmd_len);
	memcpy(slot->data + argv_len, job->spec.env, job->spec.env_len);
	memcpy(slot->data + argv_len + job->spec.env_len, vars, vars_len);
	memcpy(slot->data + argv_len + job->spec.env_len + vars_len,
	       job->spec.cwd, cwd_len);
	return need;
}

/* Records a job's final state and tells whoever waits for it: clients,
 * jobs that depend on it, and its on-finish commands (own_hook: 1 the
 * job has one, 0 not, -1 not known here). */
static void
jobs_record_final(struct supervisor *sv, uint64_t id,
		  const struct job_result *r, int own_hook)
{
	if (store_finish(sv->store, id, r) == -1)
		log_warnx("store: job %llu: %s", (unsigned long long)id,
			  store_error(sv->store));
	watch_job_final(sv, id, r);
	jobs_hooks_for(sv, id, own_hook);
	if (sv->nwaiting > 0)
		jobs_settle_dependents(sv, id);
}

/* A waiting job whose dependencies may have changed: it goes on, is
 * cancelled with the reason, or waits on. Its release joins the runq
 * after the turn's commit, as a submission does. */
static void
jobs_settle_one(struct supervisor *sv, uint64_t id)
{
	struct job_result r = {.state = JOB_CANCELLED, .exit_code = -1};
	enum job_deps_verdict v;
	enum job_state *states = NULL, next;
	struct store_job job;
	uint64_t *deps = NULL;
	size_t n, culprit = 0;
	int q;

	if (store_get(sv->store, id, &job) != 0)
		return;
	if (job.state != JOB_WAITING ||
	    store_deps(sv->store, id, &deps, &states, &n) == -1) {
		store_job_free(&job);
		return;
	}
	v = job_deps_verdict(job.spec.after_any, states, n, &culprit);
	if (v == JOB_DEPS_FAIL) {
		sv->nwaiting--;
		usercount_add(sv->queued_by_uid, job.uid, -1);
		snprintf(r.error, sizeof r.error, "dependency %llu %s",
			 (unsigned long long)deps[culprit],
			 job_state_name(states[culprit]));
		r.end_ns = clock_real_ns();
		log_info("job %llu: cancelled: %s", (unsigned long long)id,
			 r.error);
		jobs_record_final(sv, id, &r, job.spec.on_finish != NULL);
	} else if (v == JOB_DEPS_READY) {
		next = job.spec.start_at_ns > clock_real_ns() ? JOB_SCHEDULED
							      : JOB_QUEUED;
		if (store_release(sv->store, id, next) == 0) {
			sv->nwaiting--;
			q = jobs_queue_index(sv, job.spec.queue != NULL
						     ? job.spec.queue
						     : "default");
			if ((next == JOB_SCHEDULED
				 ? jobs_schedule(sv, id, job.spec.start_at_ns)
			     : q == -1 ? -1
				       : jobs_fresh(sv, q, job.uid, id,
						    job.spec.priority,
						    job.attempt)) == -1)
				log_warn("job %llu: queue",
					 (unsigned long long)id);
		}
	}
	free(deps);
	free(states);
	store_job_free(&job);
}

/* The jobs waiting for one that ended, settled in turn: a worklist,
 * not recursion, so a long chain of failures cannot run out of stack. */
static void
jobs_settle_dependents(struct supervisor *sv, uint64_t ended)
{
	uint64_t *ids, *more, id;
	size_t n, i, cap;

	if (sv->nsettle == sv->settle_cap) {
		cap = sv->settle_cap != 0 ? sv->settle_cap * 2 : 16;
		if ((more = reallocarray(sv->settle, cap, sizeof *more)) ==
		    NULL) {
			log_warn("job %llu: dependents",
				 (unsigned long long)ended);
			return;
		}
		sv->settle = more;
		sv->settle_cap = cap;
	}
	sv->settle[sv->nsettle++] = ended;
	if (sv->settling)
		return;
	sv->settling = true;
	while (sv->nsettle > 0) {
		id = sv->settle[--sv->nsettle];
		if (store_dependents(sv->store, id, &ids, &n) == -1) {
			log_warnx("store: %s", store_error(sv->store));
			continue;
		}
		for (i = 0; i < n; i++)
			jobs_settle_one(sv, ids[i]);
		free(ids);
	}
	sv->settling = false;
}

/* At start, and after a failed commit took back releases: every
 * waiting job is settled against what the store says now. */
void
jobs_settle_waiting(struct supervisor *sv)
{
	uint64_t *ids;
	size_t n, i;

	if (store_waiting(sv->store, &ids, &n) == -1) {
		log_warnx("store: %s", store_error(sv->store));
		return;
	}
	sv->nwaiting = n;
	for (i = 0; i < n; i++)
		jobs_settle_one(sv, ids[i]);
	free(ids);
}

/* A started job's end: another attempt if its retry policy wants one
 * for this end, else its final state. */
static void
jobs_ended(struct supervisor *sv, uint64_t id, uint32_t attempt,
	   const struct job_run *run, int worker, int cpu,
	   const struct job_result *r)
{
	unsigned why = job_retry_reason(r->state, r->signal);
	int64_t delay_ms, at = 0;
	char what[64], wait[32];
	int rc;

	if (why == 0 || !(run->retry_on & why) || attempt >= run->retries) {
		jobs_record_final(sv, id, r, run->on_finish);
		return;
	}
	delay_ms =
	    job_retry_delay_ms(run->retry_delay_ms, attempt, arc4random());
	if (delay_ms > 0)
		at = clock_real_ns() + delay_ms * NS_PER_MS;
	rc = store_retry(sv->store, id, r, worker, cpu, attempt + 1, at);
	if (rc == 0 &&
	    (at != 0 ? jobs_schedule(sv, id, at)
		     : jobs_enqueue(sv, run->queue, run->uid, id, run->priority,
				    attempt + 1)) == 0 &&
	    usercount_add(sv->queued_by_uid, run->uid, 1) == 0) {
		if (r->state == JOB_FAILED && r->error[0] == '\0')
			job_describe_exit(r->exit_code, r->signal, what,
					  sizeof what);
		else
			strlcpy(what,
				r->error[0] != '\0' ? r->error
						    : job_state_name(r->state),
				sizeof what);
		units_format_duration(delay_ms, wait, sizeof wait);
		log_info("job %llu: attempt %u of %u %s; next in %s",
			 (unsigned long long)id, attempt + 1, run->retries + 1,
			 what, wait);
		return;
	}
	log_warnx("job %llu: cannot retry it: %s", (unsigned long long)id,
		  rc == -1 ? store_error(sv->store) : "out of memory");
	jobs_record_final(sv, id, r, run->on_finish);
}

/* A job interrupted by a crash: queued again while its policy allows. */
static void
jobs_interrupted(struct supervisor *sv, const struct sv_slot *s, int worker,
		 int cpu, const char *why)
{
	struct job_result r = {.state = JOB_LOST, .exit_code = -1};
	uint64_t id = s->job_id;
	uint32_t attempt = s->attempt;

	if (attempt < sv->conf.crash_requeue_max) {
		log_info("job %llu: %s; queued again (attempt %u)",
			 (unsigned long long)id, why, attempt + 2);
		if (store_requeue(sv->store, id, attempt + 1) == -1 ||
		    jobs_enqueue(sv, s->run.queue, s->run.uid, id,
				 s->run.priority, attempt + 1) == -1 ||
		    usercount_add(sv->queued_by_uid, s->run.uid, 1) == -1)
			log_warnx("job %llu: cannot queue it again",
				  (unsigned long long)id);
		return;
	}
	log_warnx("job %llu: %s; lost (crash_requeue_max %u)",
		  (unsigned long long)id, why, sv->conf.crash_requeue_max);
	r.end_ns = clock_real_ns();
	snprintf(r.error, sizeof r.error, "%s", why);
	jobs_ended(sv, id, attempt, &s->run, worker, cpu, &r);
}

static size_t
jobs_fill_slot(struct supervisor *sv, struct slot *slot,
	       const struct store_job *job, uint32_t attempt)
{
	const struct job_spec *sp = &job->spec;
	size_t cwd_len = strlen(sp->cwd) + 1;
	size_t need = sp->argv_len + sp->env_len + cwd_len;

	if (need > sv->shm.slot_size - sizeof *slot)
		return 0;
	slot->flags = 0;
	slot->job_id = job->id;
	slot->attempt = attempt;
	slot->timeout_ms = sp->timeout_ms;
	slot->kill_grace_ms = sv->conf.kill_grace_ms;
	slot->output_max = sv->conf.output_max;
	slot->uid = job->uid;
	slot->gid = job->gid;
	slot->argc = sp->argc;
	slot->envc = sp->envc;
	slot->argv_len = (uint32_t)sp->argv_len;
	slot->env_len = (uint32_t)sp->env_len;
	slot->cwd_len = (uint32_t)cwd_len;
	slot->pid = 0;
	memcpy(slot->data, sp->argv, sp->argv_len);
	memcpy(slot->data + sp->argv_len, sp->env, sp->env_len);
	memcpy(slot->data + sp->argv_len + sp->env_len, sp->cwd, cwd_len);
	return need;
}

static struct sv_worker *
jobs_pick_worker(struct supervisor *sv)
{
	struct sched_worker view[CPU_SETSIZE];
	uint32_t i;
	int k;

	for (i = 0; i < sv->workers_max; i++) {
		view[i].ready = sv->workers[i].pid != 0 &&
				sv->workers[i].sb->state == SB_READY;
		view[i].busy = sv->workers[i].busy;
		view[i].slots = sv->shm.slots_per_worker;
	}
	k = sched_pick(view, sv->workers_max, &sv->sched_cursor);
	return k == -1 ? NULL : &sv->workers[k];
}

static void
jobs_send(struct sv_worker *w, uint16_t type, uint32_t slot, uint64_t id)
{
	struct ch_slot msg = {.slot = slot, .job_id = id};

	if (ch_queue(&w->out, type, &msg, sizeof msg) == -1)
		log_warnx("worker %d: channel backlog full", w->index);
}

/* A queued job that will not run: failed with why, and freed. */
static void
jobs_refuse(struct supervisor *sv, struct store_job *job, const char *why)
{
	struct job_result r = {.state = JOB_FAILED,
			       .exit_code = -1,
			       .end_ns = clock_real_ns()};

	snprintf(r.error, sizeof r.error, "%s", why);
	log_warnx("job %llu: %s", (unsigned long long)job->id, why);
	jobs_record_final(sv, job->id, &r, job->spec.on_finish != NULL);
	store_job_free(job);
}

/* On-finish commands go before jobs: they are few and short. */
static void
jobs_dispatch_hooks(struct supervisor *sv)
{
	struct jobs_hook h;
	struct store_job job;
	struct sv_worker *w;
	struct slot *slot;
	const char *cmd;
	uint32_t s;

	while (sv->hooks_head < sv->nhooks && !sv->stopping &&
	       (w = jobs_pick_worker(sv)) != NULL) {
		h = sv->hooks[sv->hooks_head++];
		if (store_get(sv->store, h.id, &job) != 0)
			continue; /* cleaned away meanwhile */
		cmd = h.conf ? sv->conf.on_finish : job.spec.on_finish;
		if (cmd == NULL || cmd[0] == '\0' ||
		    (job.uid == 0 && geteuid() == 0 &&
		     !sv->access.allow_root_jobs)) {
			store_job_free(&job);
			continue;
		}
		for (s = 0; w->slots[s].job_id != 0; s++)
			;
		slot = shm_slot(&sv->shm, (uint32_t)w->index, s);
		if (jobs_fill_hook(sv, slot, &job, cmd) == 0) {
			log_warnx("job %llu: its on-finish command does not "
				  "fit a slot; not run",
				  (unsigned long long)h.id);
			store_job_free(&job);
			continue;
		}
		store_job_free(&job);
		w->slots[s] = (struct sv_slot){.job_id = h.id,
					       .attempt = slot->attempt,
					       .hook = true};
		w->busy++;
		slot->state = SLOT_SENT;
		jobs_send(w, CH_S_RUN, s, h.id);
	}
}

/* A hook's end: logged when it failed, nothing more. */
static void
jobs_hook_ended(struct supervisor *sv, uint64_t id, const struct job_result *r)
{
	char what[64];

	if (r->state == JOB_SUCCEEDED)
		return;
	if (r->error[0] != '\0')
		strlcpy(what, r->error, sizeof what);
	else
		job_describe_exit(r->exit_code, r->signal, what, sizeof what);
	log_warnx("job %llu: on-finish command %s; its output is in "
		  "%s/logs/%llu.hook",
		  (unsigned long long)id, what, sv->conf.state_dir,
		  (unsigned long long)id);
}

/* Hands queued jobs to free slots until one or the other runs out. */
void
jobs_dispatch(struct supervisor *sv)
{
	struct runq_pick e;
	struct store_job job;
	struct job_run run;
	struct sv_worker *w;
	struct slot *slot;
	uint32_t s;
	int rc;

	jobs_dispatch_hooks(sv);
	while (!sv->stopping && !sv->store_full && runq_ready(sv->runq) > 0 &&
	       (w = jobs_pick_worker(sv)) != NULL &&
	       runq_pop(sv->runq, &e) == 0) {
		rc = store_get(sv->store, e.job.id, &job);
		if (rc == -1) {
			log_warnx("store: %s", store_error(sv->store));
			jobs_enqueue(sv, e.queue, e.uid, e.job.id,
				     e.job.priority, e.job.attempt);
			break;
		}
		/* Cancelled or pruned while it waited, or queued again with
		 * another priority or as a later attempt (that entry is the
		 * one to take). */
		if (rc == 1 || job.state != JOB_QUEUED ||
		    job.spec.priority != e.job.priority ||
		    job.attempt != e.job.attempt) {
			if (rc == 0)
				store_job_free(&job);
			continue;
		}
		/* It leaves the queue, to run or to fail unrun. */
		usercount_add(sv->queued_by_uid, job.uid, -1);
		/* Queued before a reload set allow_root_jobs = no. */
		if (job.uid == 0 && geteuid() == 0 &&
		    !sv->access.allow_root_jobs) {
			jobs_refuse(sv, &job,
				    "not run: jobs may not run as root here "
				    "(allow_root_jobs = no)");
			continue;
		}
		for (s = 0; w->slots[s].job_id != 0; s++)
			;
		slot = shm_slot(&sv->shm, (uint32_t)w->index, s);
		if (jobs_fill_slot(sv, slot, &job, e.job.attempt) == 0) {
			jobs_refuse(sv, &job,
				    "job does not fit a slot (argv_bytes_max "
				    "or "
				    "env_bytes_max was raised after start)");
			continue;
		}
		run =
		    (struct job_run){.queue = e.queue,
				     .uid = e.uid,
				     .priority = e.job.priority,
				     .retries = job.spec.retries,
				     .retry_on = job.spec.retry_on,
				     .retry_delay_ms = job.spec.retry_delay_ms,
				     .on_finish = job.spec.on_finish != NULL};
		store_job_free(&job);
		if (runq_started(sv->runq, e.queue, e.uid) == -1) {
			log_warn("queue");
			jobs_enqueue(sv, e.queue, e.uid, e.job.id,
				     e.job.priority, e.job.attempt);
			break;
		}
		w->slots[s] = (struct sv_slot){.job_id = e.job.id,
					       .attempt = e.job.attempt,
					       .run = run};
		w->busy++;
		slot->state = SLOT_SENT;
		if (store_mark_running(sv->store, e.job.id, w->index, w->cpu,
				       e.job.attempt, clock_real_ns()) == -1)
			log_warnx("store: %s", store_error(sv->store));
		jobs_send(w, CH_S_RUN, s, e.job.id);
	}
}

static struct sv_slot *
jobs_slot_of(struct sv_worker *w, uint32_t s, uint64_t id, const char *what)
{
	if (s >= w->sv->shm.slots_per_worker || w->slots[s].job_id != id) {
		log_warnx("worker %d (pid %d): %s for slot %u, job %llu, which "
			  "it does not hold; replacing it",
			  w->index, (int)w->pid, what, s,
			  (unsigned long long)id);
		w->killed_bad = true;
		kill(w->pid, SIGKILL);
		return NULL;
	}
	return &w->slots[s];
}

void
jobs_on_started(struct sv_worker *w, const struct ch_started *st)
{
	struct sv_slot *s = jobs_slot_of(w, st->slot, st->job_id, "started");

	if (s == NULL)
		return;
	s->pid = st->pid;
	s->start_ns = st->start_ns;
	/* A cancel that came before the pid was known goes out now. */
	if (s->cancel_sent)
		jobs_send(w, CH_S_CANCEL, st->slot, st->job_id);
}

/* The slot's job left it; it ended unless adopted (it runs on). */
static void
jobs_free_slot(struct sv_worker *w, uint32_t s, bool adopted)
{
	if (!adopted && !w->slots[s].hook)
		runq_ended(w->sv->runq, w->slots[s].run.queue,
			   w->slots[s].run.uid);
	shm_slot(&w->sv->shm, (uint32_t)w->index, s)->state = SLOT_FREE;
	w->slots[s] = (struct sv_slot){0};
	w->busy--;
}

void
jobs_on_done(struct sv_worker *w, const struct ch_slot *done)
{
	struct sv_slot *s = jobs_slot_of(w, done->slot, done->job_id, "done");
	struct slot *slot;
	struct job_result r;
	struct job_run run;
	uint32_t attempt;

	if (s == NULL)
		return;
	slot = shm_slot(&w->sv->shm, (uint32_t)w->index, done->slot);
	if (slot->state != SLOT_DONE) {
		log_warnx("worker %d: done for slot %u in state %u; replacing "
			  "it",
			  w->index, done->slot, slot->state);
		w->killed_bad = true;
		kill(w->pid, SIGKILL);
		return;
	}
	r = slot->result;
	r.error[sizeof r.error - 1] = '\0';
	if (!job_state_final(r.state))
		r.state = JOB_LOST;
	if (s->hook) {
		jobs_free_slot(w, done->slot, false);
		jobs_hook_ended(w->sv, done->job_id, &r);
		return;
	}
	run = s->run;
	attempt = s->attempt;
	jobs_free_slot(w, done->slot, false);
	jobs_ended(w->sv, done->job_id, attempt, &run, w->index, w->cpu, &r);
}

/* 0: forqd watches the job now; -1: it was gone, and is recorded. */
static int
jobs_adopt(struct sv_worker *w, const struct slot *slot, struct sv_slot *s)
{
	struct supervisor *sv = w->sv;
	struct adopted *a;
	int fd;

	/* ENOSYS: no pidfds here; its SIGCHLD will come to us instead. */
	fd = (int)syscall(SYS_pidfd_open, slot->pid, 0);
	if ((fd == -1 && errno != ENOSYS) ||
	    (a = calloc(1, sizeof *a)) == NULL) {
		/* Gone already: it ended as the worker died, unrecorded. */
		if (fd != -1)
			close(fd);
		struct job_result r = {.state = JOB_LOST,
				       .exit_code = -1,
				       .end_ns = clock_real_ns()};
		snprintf(r.error, sizeof r.error,
			 "its worker died as the job ended; result unknown");
		log_warnx("job %llu (pid %d): its worker died as it ended; "
			  "result unknown, marked lost",
			  (unsigned long long)s->job_id, (int)slot->pid);
		jobs_ended(sv, s->job_id, s->attempt, &s->run, w->index, w->cpu,
			   &r);
		return -1;
	}
	a->sv = sv;
	a->job_id = s->job_id;
	a->attempt = s->attempt;
	a->run = s->run;
	a->pid = slot->pid;
	a->worker = w->index;
	a->cpu = w->cpu;
	a->start_ns = s->start_ns;
	a->timeout_ms = slot->timeout_ms;
	a->end = JOB_RUNNING;
	if (slot->timeout_ms > 0)
		a->deadline_ns = clock_mono_ns() +
				 slot->timeout_ms * NS_PER_MS -
				 (clock_real_ns() - s->start_ns);
	ev_io_set(&a->pidfd, fd, jobs_on_adopted_exit, a);
	if (fd != -1 && ev_add(&sv->loop, &a->pidfd, EPOLLIN) == -1)
		fatal("epoll_ctl");
	TAILQ_INSERT_TAIL(&sv->adopted, a, entry);
	log_info("job %llu (pid %d) outlives worker %d; forqd watches it now",
		 (unsigned long long)a->job_id, (int)a->pid, w->index);
	if (s->cancel_sent) {
		a->end = JOB_CANCELLED;
		kill(-a->pid, SIGTERM);
		a->kill_at_ns =
		    clock_mono_ns() + sv->conf.kill_grace_ms * NS_PER_MS;
	}
	return 0;
}

/* Every job in flight on a dead worker ends recorded or goes back to
 * the queue: by how far the slot got, never by guessing. */
void
jobs_worker_died(struct sv_worker *w)
{
	struct supervisor *sv = w->sv;
	struct slot *slot;
	struct sv_slot *s;
	uint32_t i;
	bool adopted;

	for (i = 0; i < sv->shm.slots_per_worker; i++) {
		s = &w->slots[i];
		if (s->job_id == 0)
			continue;
		slot = shm_slot(&sv->shm, (uint32_t)w->index, i);
		adopted = false;
		/* An on-finish command is not run again, nor watched. */
		if (s->hook) {
			if (slot->pid > 0)
				kill(-slot->pid, SIGKILL);
			log_warnx("job %llu: its worker died while its "
				  "on-finish command ran",
				  (unsigned long long)s->job_id);
			jobs_free_slot(w, i, false);
			continue;
		}
		switch (slot->state) {
		case SLOT_SENT:
		case SLOT_ACCEPTED:
			/* It never forked: nothing ran. */
			jobs_enqueue(sv, s->run.queue, s->run.uid, s->job_id,
				     s->run.priority, s->attempt);
			store_requeue(sv->store, s->job_id, s->attempt);
			usercount_add(sv->queued_by_uid, s->run.uid, 1);
			break;
		case SLOT_SPAWNING:
		case SLOT_SPAWNED:
			if (slot->pid > 0) {
				if (s->start_ns == 0)
					s->start_ns = clock_real_ns();
				adopted = jobs_adopt(w, slot, s) == 0;
			} else {
				jobs_interrupted(sv, s, w->index, w->cpu,
						 "its worker died while "
						 "starting it");
			}
			break;
		case SLOT_EXITED:
		case SLOT_DONE: {
			struct job_result r = slot->result;

			r.error[sizeof r.error - 1] = '\0';
			if (!job_state_final(r.state))
				r.state = JOB_LOST;
			jobs_ended(sv, s->job_id, s->attempt, &s->run, w->index,
				   w->cpu, &r);
			break;
		}
		default:
			jobs_interrupted(sv, s, w->index, w->cpu,
					 "its worker died");
			break;
		}
		jobs_free_slot(w, i, adopted);
	}
}

static void
jobs_adopted_reap(struct adopted *a)
{
	struct supervisor *sv = a->sv;
	struct job_result r = {0};
	struct rusage ru;
	int status;
	pid_t pid;

	pid = wait4(a->pid, &status, WNOHANG, &ru);
	if (pid == 0 || (pid == -1 && errno == EINTR))
		return;
	r.start_ns = a->start_ns;
	r.end_ns = clock_real_ns();
	if (pid == -1) {
		r.state = JOB_LOST;
		r.exit_code = -1;
		snprintf(r.error, sizeof r.error, "wait4: %s", strerror(errno));
	} else {
		job_result_from_wait(&r, status, &ru);
		r.state = a->end != JOB_RUNNING ? a->end
			  : r.exit_code == 0    ? JOB_SUCCEEDED
						: JOB_FAILED;
		if (a->end == JOB_TIMED_OUT)
			snprintf(r.error, sizeof r.error,
				 "timed out after %lldms",
				 (long long)a->timeout_ms);
	}
	if (a->pidfd.fd != -1) {
		ev_del(&sv->loop, &a->pidfd);
		close(a->pidfd.fd);
		a->pidfd.fd = -1;
	}
	TAILQ_REMOVE(&sv->adopted, a, entry);
	TAILQ_INSERT_TAIL(&sv->adopted_gone, a, entry);
	runq_ended(sv->runq, a->run.queue, a->run.uid);
	jobs_ended(sv, a->job_id, a->attempt, &a->run, a->worker, a->cpu, &r);
}

static void
jobs_on_adopted_exit(struct ev_io *io, uint32_t events)
{
	jobs_adopted_reap(io->arg);
}

/* SIGCHLD: as subreaper forqd inherits whatever jobs leave behind.
 * Workers and adopted jobs are reaped by their own handlers (which need
 * their status and rusage); any other child is reaped here. */
void
jobs_reap_children(struct supervisor *sv)
{
	struct adopted *a;
	siginfo_t si;
	pid_t last = 0;
	uint32_t i;
	bool known;

	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 ||
		    si.si_pid == 0 || si.si_pid == last)
			return; /* none left, or a handler could not reap it */
		last = si.si_pid;
		known = false;
		for (i = 0; i < sv->workers_max && !known; i++) {
			if (sv->workers[i].pid == si.si_pid) {
				/* What its pidfd handler would do. */
				workers_reap(&sv->workers[i]);
				known = true;
			}
		}
		if (known)
			continue;
		TAILQ_FOREACH (a, &sv->adopted, entry) {
			if (a->pid == si.si_pid) {
				jobs_adopted_reap(a);
				known = true;
				break;
			}
		}
		if (!known) {
			waitpid(si.si_pid, NULL, WNOHANG);
			log_debug("reaped pid %d, left behind by a job",
				  (int)si.si_pid);
		}
	}
}

static uint64_t
jobs_find_slot(const struct supervisor *sv, uint64_t id,
	       const struct sv_worker **worker, uint32_t *slot)
{
	const struct sv_worker *w;
	uint32_t i, s;

	for (i = 0; i < sv->workers_max; i++) {
		w = &sv->workers[i];
		if (w->busy == 0)
			continue;
		for (s = 0; s < sv->shm.slots_per_worker; s++) {
			if (w->slots[s].job_id == id && !w->slots[s].hook) {
				*worker = w;
				*slot = s;
				return id;
			}
		}
	}
	return 0;
}

const struct sv_slot *
jobs_find_running(const struct supervisor *sv, uint64_t id,
		  const struct sv_worker **worker)
{
	uint32_t s;

	if (jobs_find_slot(sv, id, worker, &s) == 0)
		return NULL;
	return &(*worker)->slots[s];
}

int
jobs_cancel(struct supervisor *sv, uint64_t id, enum job_state *state,
	    bool *stopping)
{
	const struct sv_worker *cw;
	struct sv_worker *w;
	struct store_job job;
	struct adopted *a;
	uint32_t s;
	uid_t uid;
	int rc;

	*stopping = false;
	if (jobs_find_slot(sv, id, &cw, &s) != 0) {
		w = &sv->workers[cw->index];
		if (!w->slots[s].cancel_sent) {
			w->slots[s].cancel_sent = true;
			jobs_send(w, CH_S_CANCEL, s, id);
		}
		*state = JOB_RUNNING;
		*stopping = true;
		return 0;
	}
	TAILQ_FOREACH (a, &sv->adopted, entry) {
		if (a->job_id == id) {
			if (a->end == JOB_RUNNING) {
				a->end = JOB_CANCELLED;
				kill(-a->pid, SIGTERM);
				a->kill_at_ns =
				    clock_mono_ns() +
				    sv->conf.kill_grace_ms * NS_PER_MS;
			}
			*state = JOB_RUNNING;
			*stopping = true;
			return 0;
		}
	}
	if ((rc = store_get(sv->store, id, &job)) != 0)
		return rc;
	*state = job.state;
	uid = job.uid;
	store_job_free(&job);
	if (*state == JOB_WAITING)
		sv->nwaiting--;
	if (*state == JOB_QUEUED || *state == JOB_SCHEDULED ||
	    *state == JOB_WAITING) {
		/* Its entry stays in the runq or the due heap; dispatch
		 * and the timer skip it. */
		usercount_add(sv->queued_by_uid, uid, -1);
		struct job_result r = {.state = JOB_CANCELLED,
				       .exit_code = -1,
				       .end_ns = clock_real_ns()};
		jobs_record_final(sv, id, &r, -1);
		*state = JOB_CANCELLED;
	}
	return 0;
}

/* Scheduled jobs whose time has come join their queue. */
static void
jobs_queue_due(struct supervisor *sv)
{
	const struct jobs_due *top;
	struct jobs_due d;
	struct store_job job;
	int64_t now = clock_real_ns();
	int q, rc;

	while ((top = heap_top(&sv->due)) != NULL && top->at_ns <= now) {
		d = *top;
		if ((rc = store_due(sv->store, d.id, now)) == -1) {
			log_warnx("store: job %llu: %s",
				  (unsigned long long)d.id,
				  store_error(sv->store));
			return; /* the timer tries again */
		}
		heap_pop(&sv->due, &d);
		if (rc == 1)
			continue; /* cancelled or pruned meanwhile */
		if ((rc = store_get(sv->store, d.id, &job)) != 0) {
			if (rc == -1)
				log_warnx("store: %s", store_error(sv->store));
			continue;
		}
		q = jobs_queue_index(sv, job.spec.queue != NULL ? job.spec.queue
								: "default");
		if (q == -1 ||
		    jobs_enqueue(sv, q, job.uid, job.id, job.spec.priority,
				 job.attempt) == -1)
			log_warn("job %llu: queue", (unsigned long long)d.id);
		else
			log_debug("job %llu: its start time came; queued",
				  (unsigned long long)d.id);
		store_job_free(&job);
	}
}

int64_t
jobs_next_deadline(const struct supervisor *sv)
{
	const struct adopted *a;
	const struct jobs_due *d = heap_top(&sv->due);
	int64_t next = sv->next_prune_ns, at;

	/* Start times are wall-clock; the timer counts monotonic time. A
	 * clock stepped forward is caught by the next wakeup, at the
	 * latest a prune interval later. */
	if (d != NULL) {
		at = clock_mono_ns() + (d->at_ns - clock_real_ns());
		if (next == 0 || at < next)
			next = at;
	}

	TAILQ_FOREACH (a, &sv->adopted, entry) {
		at = a->kill_at_ns != 0      ? a->kill_at_ns
		     : a->end == JOB_RUNNING ? a->deadline_ns
					     : 0;
		if (at != 0 && (next == 0 || at < next))
			next = at;
	}
	return next;
}

static void
jobs_remove_logs(void *arg, uint64_t id)
{
	static const char *const exts[] = {"out", "err", "hook"};
	struct supervisor *sv = arg;
	char path[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < nitems(exts); i++) {
		snprintf(path, sizeof path, "%s/logs/%llu.%s",
			 sv->conf.state_dir, (unsigned long long)id, exts[i]);
		unlink(path);
	}
}

int
jobs_clean(struct supervisor *sv, const struct store_filter *f,
	   int64_t end_before_ns, uint32_t max)
{
	return store_clean(sv->store, f, end_before_ns, max, jobs_remove_logs,
			   sv);
}

/* Retention: a bounded batch of old jobs each run, so a large backlog
 * never stalls the loop; the next run is sooner while work remains. */
static void
jobs_prune(struct supervisor *sv, int64_t now)
{
	int64_t before = 0;
	int n;

	if (sv->conf.retention_age_ms > 0)
		before =
		    clock_real_ns() - sv->conf.retention_age_ms * NS_PER_MS;
	n = store_prune(sv->store, before, sv->conf.retention_count,
			PRUNE_BATCH, jobs_remove_logs, sv);
	if (n == -1)
		log_warnx("retention: %s", store_error(sv->store));
	else if (n > 0)
		log_debug("retention: removed %d finished jobs", n);
	sv->next_prune_ns =
	    now + (n == PRUNE_BATCH ? NS_PER_SEC : PRUNE_INTERVAL_NS);
}

void
jobs_check(struct supervisor *sv, int64_t now)
{
	struct adopted *a;

	TAILQ_FOREACH (a, &sv->adopted, entry) {
		if (a->kill_at_ns != 0 && now >= a->kill_at_ns) {
			kill(-a->pid, SIGKILL);
			a->kill_at_ns = 0;
		} else if (a->end == JOB_RUNNING && a->deadline_ns != 0 &&
			   now >= a->deadline_ns) {
			a->end = JOB_TIMED_OUT;
			kill(-a->pid, SIGTERM);
			a->kill_at_ns =
			    now + sv->conf.kill_grace_ms * NS_PER_MS + 1;
		}
	}
	if (sv->next_prune_ns == 0 || now >= sv->next_prune_ns)
		jobs_prune(sv, now);
	jobs_queue_due(sv);
}

int
jobs_set_paused(struct supervisor *sv, int queue, bool paused)
{
	struct runq_info info;
	const char *name = "*";

	if (queue != RUNQ_ALL) {
		runq_info(sv->runq, queue, &info);
		name = info.name;
	}
	if (store_set_paused(sv->store, name, paused) == -1)
		return -1;
	runq_set_paused(sv->runq, queue, paused);
	log_info("%s%s %s", queue == RUNQ_ALL ? "all queues" : "queue ",
		 queue == RUNQ_ALL ? "" : name, paused ? "paused" : "resumed");
	return 0;
}

int
jobs_set_priority(struct supervisor *sv, uint64_t id, int32_t priority)
{
	struct store_job job;
	int rc, q;

	if ((rc = store_get(sv->store, id, &job)) != 0)
		return rc;
	if ((rc = store_set_priority(sv->store, id, priority)) != 0) {
		store_job_free(&job);
		return rc;
	}
	/* A queued job gets a new entry; the old one is skipped as stale
	 * (its priority no longer matches the store's). */
	if (job.state == JOB_QUEUED && job.spec.priority != priority) {
		q = jobs_queue_index(sv, job.spec.queue != NULL ? job.spec.queue
								: "default");
		if (q == -1 || jobs_enqueue(sv, q, job.uid, id, priority,
					    job.attempt) == -1)
			rc = -1;
	}
	store_job_free(&job);
	return rc;
}

int
jobs_retry(struct supervisor *sv, const struct store_job *job, uint64_t *holder)
{
	int rc, q;

	/* Its key may be another's by now. */
	if (job->spec.unique != NULL &&
	    (rc = store_unique_holder(sv->store, job->uid, job->spec.unique,
				      holder)) != 1)
		return rc == 0 ? 2 : -1;
	if ((rc = store_retry(sv->store, job->id, NULL, -1, -1,
			      job->attempt + 1, 0)) != 0)
		return rc;
	q = jobs_queue_index(sv, job->spec.queue != NULL ? job->spec.queue
							 : "default");
	if (q == -1 ||
	    jobs_fresh(sv, q, job->uid, job->id, job->spec.priority,
		       job->attempt + 1) == -1 ||
	    usercount_add(sv->queued_by_uid, job->uid, 1) == -1) {
		log_warn("job %llu: queue", (unsigned long long)job->id);
		return -1;
	}
	log_info("job %llu: run again by request, attempt %u",
		 (unsigned long long)job->id, job->attempt + 2);
	return 0;
}

int
jobs_running_ids(const struct supervisor *sv, int queue, uint64_t **ids,
		 size_t *n)
{
	const struct sv_worker *w;
	const struct adopted *a;
	size_t cap = runq_running(sv->runq) + 1;
	uint32_t i, s;

	*n = 0;
	if ((*ids = calloc(cap, sizeof **ids)) == NULL)
		return -1;
	for (i = 0; i < sv->workers_max; i++) {
		w = &sv->workers[i];
		for (s = 0; w->slots != NULL && s < sv->shm.slots_per_worker;
		     s++) {
			if (w->slots[s].job_id != 0 && !w->slots[s].hook &&
			    *n < cap &&
			    (queue == RUNQ_ALL ||
			     w->slots[s].run.queue == queue))
				(*ids)[(*n)++] = w->slots[s].job_id;
		}
	}
	TAILQ_FOREACH (a, &sv->adopted, entry) {
		if (*n < cap && (queue == RUNQ_ALL || a->run.queue == queue))
			(*ids)[(*n)++] = a->job_id;
	}
	return 0;
}

/* Stop's last resort: no job may outlive forqd unrecorded. */
void
jobs_kill_all(struct supervisor *sv)
{
	struct adopted *a;
	uint32_t i, s;

	for (i = 0; i < sv->workers_max; i++) {
		for (s = 0; s < sv->shm.slots_per_worker; s++) {
			if (sv->workers[i].slots[s].pid > 0)
				kill(-sv->workers[i].slots[s].pid, SIGKILL);
		}
	}
	TAILQ_FOREACH (a, &sv->adopted, entry)
		kill(-a->pid, SIGKILL);
}
