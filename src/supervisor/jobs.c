/*
 * The supervisor's side of jobs: accepting them into the store and the
 * run queue, starting scheduled ones on time, handing them to free
 * slots, recording their ends (or their next attempts), cancelling them,
 * and retention. What follows a job's end (its dependents, its on-finish
 * commands) is in jobs_after.c; the jobs of a worker that died, in
 * jobs_orphans.c.
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
#include "core/sched.h"
#include "supervisor/jobs_impl.h"
#include "supervisor/supervisor.h"
#include "supervisor/watch.h"

#define PRUNE_INTERVAL_NS (60 * NS_PER_SEC)
#define PRUNE_BATCH 1000

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

int
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
int
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

int
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
	if (store_recover(sv->store, sv->conf.crash_requeue_max,
			  clock_real_ns(), &rec) == -1 ||
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

void
jobs_free(struct supervisor *sv)
{
	jobs_orphans_free(sv);
	runq_free(sv->runq);
	sv->runq = NULL;
	heap_free(&sv->due);
	free(sv->fresh);
	sv->fresh = NULL;
	sv->nfresh = sv->fresh_cap = 0;
	free(sv->starts);
	sv->starts = NULL;
	sv->nstarts = sv->starts_cap = 0;
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

static void jobs_announce_final(struct supervisor *sv, uint64_t id,
				const struct job_result *r, int own_hook);

/* Records a job's final state and tells whoever waits for it: clients,
 * jobs that depend on it, and its on-finish commands (own_hook: 1 the
 * job has one, 0 not, -1 not known here). */
void
jobs_record_final(struct supervisor *sv, uint64_t id,
		  const struct job_result *r, int own_hook)
{
	if (store_finish(sv->store, id, r) == -1)
		log_warnx("store: job %llu: %s", (unsigned long long)id,
			  store_error(sv->store));
	jobs_announce_final(sv, id, r, own_hook);
}

/* A final state recorded: whoever waits for it is told. */
static void
jobs_announce_final(struct supervisor *sv, uint64_t id,
		    const struct job_result *r, int own_hook)
{
	watch_job_final(sv->watch, id, r);
	jobs_hooks_for(sv, id, own_hook);
	if (sv->nwaiting > 0)
		jobs_settle_dependents(sv, id);
}

/* A started job's end: another attempt if its retry policy wants one
 * for this end, else its final state. */
void
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
void
jobs_interrupted(struct supervisor *sv, const struct sv_slot *s, int worker,
		 int cpu, const char *why)
{
	struct job_result r = {.state = JOB_LOST, .exit_code = -1};
	uint64_t id = s->job_id;
	uint32_t attempt = s->attempt;

	if (attempt < sv->conf.crash_requeue_max) {
		log_info("job %llu: %s; queued again (attempt %u)",
			 (unsigned long long)id, why, attempt + 2);
		if (store_requeue(sv->store, id, attempt + 1, clock_real_ns(),
				  why) == -1 ||
		    jobs_queue_again(sv, id, &s->run, attempt + 1) == -1)
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

void
jobs_fill_common(struct supervisor *sv, struct slot *slot,
		 const struct store_job *job)
{
	slot->kill_grace_ms = sv->conf.kill_grace_ms;
	slot->output_max = sv->conf.output_max;
	slot->uid = job->uid;
	slot->gid = job->gid;
	slot->umask = sv->conf.job_umask;
	rlimits_resolve(slot->rlimits, sv->conf.job_rlimits, sv->kernel_nproc);
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
	jobs_fill_common(sv, slot, job);
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

struct sv_worker *
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

void
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

static int jobs_start_later(struct supervisor *sv, int worker, uint32_t slot);
static void jobs_unstart(struct supervisor *sv, struct sv_worker *w,
			 uint32_t s);

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
				       e.job.attempt, clock_real_ns()) == -1 ||
		    jobs_start_later(sv, w->index, s) == -1) {
			log_warnx("job %llu: cannot mark it running: %s",
				  (unsigned long long)e.job.id,
				  store_error(sv->store));
			jobs_unstart(sv, w, s);
			break;
		}
	}
}

/* A start waits for the commit that marks its job running: a crash
 * before that commit leaves the job queued and never started, a crash
 * after it leaves a job recovery knows may have run. So an (id,
 * attempt) pair runs at most once. */
static int
jobs_start_later(struct supervisor *sv, int worker, uint32_t slot)
{
	struct jobs_start *more;
	size_t cap;

	if (sv->nstarts == sv->starts_cap) {
		cap = sv->starts_cap != 0 ? sv->starts_cap * 2 : 64;
		if ((more = reallocarray(sv->starts, cap, sizeof *more)) ==
		    NULL)
			return -1;
		sv->starts = more;
		sv->starts_cap = cap;
	}
	sv->starts[sv->nstarts++] =
	    (struct jobs_start){.worker = worker, .slot = slot};
	return 0;
}

/* A dispatch taken back before its start was sent: the job is queued
 * again as the same attempt, for it never ran. */
static void
jobs_unstart(struct supervisor *sv, struct sv_worker *w, uint32_t s)
{
	struct sv_slot slot = w->slots[s];

	jobs_free_slot(w, s, false);
	jobs_queue_again(sv, slot.job_id, &slot.run, slot.attempt);
}

int
jobs_queue_again(struct supervisor *sv, uint64_t id, const struct job_run *run,
		 uint32_t attempt)
{
	if (jobs_enqueue(sv, run->queue, run->uid, id, run->priority,
			 attempt) == -1 ||
	    usercount_add(sv->queued_by_uid, run->uid, 1) == -1) {
		log_warn("job %llu: queue", (unsigned long long)id);
		return -1;
	}
	return 0;
}

bool
jobs_starts_committed(struct supervisor *sv, bool committed)
{
	const struct jobs_start *st;
	struct sv_worker *w;
	size_t i, n = sv->nstarts;

	for (i = 0; i < n; i++) {
		st = &sv->starts[i];
		w = &sv->workers[st->worker];
		if (committed)
			jobs_send(w, CH_S_RUN, st->slot,
				  w->slots[st->slot].job_id);
		else
			jobs_unstart(sv, w, st->slot);
	}
	sv->nstarts = 0;
	if (sv->starts_cap > 4096) {
		free(sv->starts);
		sv->starts = NULL;
		sv->starts_cap = 0;
	}
	return !committed && n > 0;
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
void
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
	struct job_result r;
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
	if (jobs_orphans_cancel(sv, id)) {
		*state = JOB_RUNNING;
		*stopping = true;
		return 0;
	}
	if ((rc = store_get(sv->store, id, &job)) != 0)
		return rc;
	*state = job.state;
	uid = job.uid;
	store_job_free(&job);
	if (*state != JOB_QUEUED && *state != JOB_SCHEDULED &&
	    *state != JOB_WAITING)
		return 0;
	r = (struct job_result){.state = JOB_CANCELLED,
				.exit_code = -1,
				.end_ns = clock_real_ns()};
	/* Fails closed: a cancel not stored changes nothing. */
	if (store_cancel(sv->store, id, r.end_ns) == -1) {
		log_warnx("store: cancel of job %llu: %s",
			  (unsigned long long)id, store_error(sv->store));
		return -1;
	}
	if (*state == JOB_WAITING)
		sv->nwaiting--;
	/* Its entry stays in the runq or the due heap; dispatch and the
	 * timer skip it. */
	usercount_add(sv->queued_by_uid, uid, -1);
	jobs_announce_final(sv, id, &r, -1);
	*state = JOB_CANCELLED;
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
	at = jobs_orphans_deadline(sv);
	if (at != 0 && (next == 0 || at < next))
		next = at;
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
	else
		log_debug("retention: removed %d finished jobs", n);
	sv->next_prune_ns =
	    now + (n == PRUNE_BATCH ? NS_PER_SEC : PRUNE_INTERVAL_NS);
}

void
jobs_check(struct supervisor *sv, int64_t now)
{
	jobs_orphans_check(sv, now);
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
	jobs_orphans_ids(sv, queue, *ids, n, cap);
	return 0;
}

/* Stop's last resort: no job may outlive forqd unrecorded. */
void
jobs_kill_all(struct supervisor *sv)
{
	uint32_t i, s;

	for (i = 0; i < sv->workers_max; i++) {
		for (s = 0; s < sv->shm.slots_per_worker; s++) {
			if (sv->workers[i].slots[s].pid > 0)
				kill(-sv->workers[i].slots[s].pid, SIGKILL);
		}
	}
	jobs_orphans_kill_all(sv);
}
