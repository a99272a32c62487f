/*
 * The jobs of a worker that died while they ran: none vanishes, and
 * none that finished runs again. Each is watched to its end, stopped
 * when its timeout or a cancel says so, and its end recorded as jobs.c
 * records any end (its retry policy applies).
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/clock.h"
#include "common/compat.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/runq.h"
#include "engine/adopted.h"
#include "engine/jobs.h"

struct adoptee {
	TAILQ_ENTRY(adoptee) entry;
	struct adopted *owner;
	uint64_t job_id;
	uint32_t attempt;
	struct job_run run;
	pid_t pid;
	struct ev_io pidfd;
	int worker;
	int cpu;
	uint32_t slot;
	int64_t start_ns;
	uint64_t mem;
	struct cg_base cg_base;
	int64_t deadline_ns; /* monotonic; 0: no timeout */
	int64_t kill_at_ns;
	int64_t timeout_ms;
	/* JOB_RUNNING until we stop it; JOB_LOST: forqd's stop did, and
	 * the job goes back to its queue. */
	enum job_state end;
};
TAILQ_HEAD(adoptee_list, adoptee);

struct adopted {
	struct ev_loop *loop;
	const struct conf *conf;
	const struct cg_tree *cg;
	struct jobs *jobs;
	adopted_gone_fn *on_gone;
	void *arg;
	struct adoptee_list live;
	/* Reaped this turn: the loop may still hold an event for one of
	 * them (its pidfd and SIGCHLD can come in the same batch). */
	struct adoptee_list gone;
	size_t n;
};

static void adopted_on_exit(struct ev_io *io, uint32_t events);

struct adopted *
adopted_new(struct ev_loop *loop, const struct conf *conf,
	    const struct cg_tree *cg, struct jobs *jobs, adopted_gone_fn *gone,
	    void *arg)
{
	struct adopted *a;

	if ((a = calloc(1, sizeof *a)) == NULL)
		return NULL;
	a->loop = loop;
	a->conf = conf;
	a->cg = cg;
	a->jobs = jobs;
	a->on_gone = gone;
	a->arg = arg;
	TAILQ_INIT(&a->live);
	TAILQ_INIT(&a->gone);
	return a;
}

void
adopted_end_turn(struct adopted *a)
{
	struct adoptee *e;

	while ((e = TAILQ_FIRST(&a->gone)) != NULL) {
		TAILQ_REMOVE(&a->gone, e, entry);
		free(e);
	}
}

void
adopted_free(struct adopted *a)
{
	struct adoptee *e;

	if (a == NULL)
		return;
	while ((e = TAILQ_FIRST(&a->live)) != NULL) {
		TAILQ_REMOVE(&a->live, e, entry);
		if (e->pidfd.fd != -1)
			close(e->pidfd.fd);
		free(e);
	}
	adopted_end_turn(a);
	free(a);
}

/* sig to the job: its process group, and all of its cgroup (KILL: the
 * cgroup's way, which catches what forks as it goes). */
static void
adopted_signal(const struct adoptee *e, int sig)
{
	cg_job_signal(e->owner->cg, e->worker, e->slot, e->pid, sig);
}

/* Its processes now, for the most it had at once: nobody samples them
 * each heartbeat any more (v1 keeps no peak of its own). */
static void
adopted_sample(struct adoptee *e)
{
	const struct cg_tree *cg = e->owner->cg;
	struct cg_slot s;

	if (cg->version == CG_NONE ||
	    cg_slot_paths(cg, e->worker, e->slot, &s) == -1)
		return;
	s.base = e->cg_base;
	cg_slot_count(&s);
	e->cg_base = s.base;
}

void
adopted_kill(struct adopted *a, int worker, uint32_t slot, pid_t pid)
{
	cg_job_signal(a->cg, worker, slot, pid, SIGKILL);
}

/* Ends an adopted job as end: TERM now, KILL after kill_grace. */
static void
adopted_stop(struct adoptee *e, enum job_state end, int64_t now)
{
	e->end = end;
	adopted_signal(e, SIGTERM);
	e->kill_at_ns = now + e->owner->conf->kill_grace_ms * NS_PER_MS + 1;
}

bool
adopted_take(struct adopted *a, const struct adopted_job *job)
{
	struct adoptee *e;
	int fd;

	/* ENOSYS: no pidfds here; its SIGCHLD will come to us instead. */
	fd = sys_pidfd_open(job->pid);
	if ((fd == -1 && errno != ENOSYS) ||
	    (e = calloc(1, sizeof *e)) == NULL) {
		/* Gone already: it ended as the worker died, unrecorded. */
		struct job_result r = {.state = JOB_LOST,
				       .exit_code = -1,
				       .end_ns = clock_real_ns()};

		if (fd != -1)
			close(fd);
		snprintf(r.error, sizeof r.error,
			 "its worker died as the job ended; result unknown");
		log_warnx("job %llu (pid %d): its worker died as it ended; "
			  "result unknown, marked lost",
			  (unsigned long long)job->id, (int)job->pid);
		jobs_ended(a->jobs, job->id, job->attempt, job->run,
			   job->worker, job->cpu, &r);
		return false;
	}
	e->owner = a;
	e->job_id = job->id;
	e->attempt = job->attempt;
	e->run = *job->run;
	e->pid = job->pid;
	e->worker = job->worker;
	e->cpu = job->cpu;
	e->slot = job->slot;
	e->start_ns = job->start_ns;
	e->mem = job->mem;
	e->cg_base = job->cg_base;
	adopted_sample(e);
	e->timeout_ms = job->timeout_ms;
	e->end = JOB_RUNNING;
	if (job->timeout_ms > 0)
		e->deadline_ns = clock_mono_ns() + job->timeout_ms * NS_PER_MS -
				 (clock_real_ns() - job->start_ns);
	ev_io_set(&e->pidfd, fd, adopted_on_exit, e);
	if (fd != -1 && ev_add(a->loop, &e->pidfd, EPOLLIN) == -1)
		fatal("epoll_ctl");
	TAILQ_INSERT_TAIL(&a->live, e, entry);
	a->n++;
	log_info("job %llu (pid %d) outlives worker %d; forqd watches it now",
		 (unsigned long long)e->job_id, (int)e->pid, job->worker);
	if (job->interrupt)
		adopted_stop(e, JOB_LOST, clock_mono_ns());
	else if (job->cancel)
		adopted_stop(e, JOB_CANCELLED, clock_mono_ns());
	return true;
}

/* The job's first process is gone: the rest of its cgroup goes too,
 * and its slot may take a job again. */
static void
adopted_clear_slot(struct adopted *a, const struct adoptee *e)
{
	struct cg_slot s;

	if (a->cg->version != CG_NONE &&
	    cg_slot_paths(a->cg, e->worker, e->slot, &s) == 0)
		cg_slot_kill(&s);
	a->on_gone(a->arg, e->worker, e->slot);
}

/* The whole job's use from its cgroup, as its worker would have told
 * it: wait4 counts only the processes the job waited for. */
static void
adopted_account(const struct adoptee *e, struct job_result *r)
{
	const struct cg_tree *cg = e->owner->cg;
	struct cg_stats st;
	struct cg_slot s;
	char err[256];

	if (cg->version == CG_NONE ||
	    cg_slot_open(cg, e->worker, e->slot, &s, err, sizeof err) == -1)
		return;
	s.base = e->cg_base;
	cg_slot_count(&s);
	cg_slot_stats(&s, &st);
	cg_slot_close(&s);
	if (st.procs_peak == 0)
		st.procs_peak = 1; /* its first process, at least */
	cg_job_result(&st, e->mem,
		      r->state == JOB_FAILED && e->end == JOB_RUNNING, r);
}

static void
adopted_reap(struct adoptee *e)
{
	struct adopted *a = e->owner;
	struct job_result r = {0};
	struct rusage ru;
	int status;
	pid_t pid;

	pid = wait4(e->pid, &status, WNOHANG, &ru);
	if (pid == 0 || (pid == -1 && errno == EINTR))
		return;
	r.start_ns = e->start_ns;
	r.end_ns = clock_real_ns();
	if (pid == -1) {
		r.state = JOB_LOST;
		r.exit_code = -1;
		snprintf(r.error, sizeof r.error, "wait4: %s", strerror(errno));
	} else {
		job_result_from_wait(&r, status, &ru);
		r.state = e->end != JOB_RUNNING && e->end != JOB_LOST ? e->end
			  : r.exit_code == 0 ? JOB_SUCCEEDED
					     : JOB_FAILED;
		if (e->end == JOB_TIMED_OUT)
			snprintf(r.error, sizeof r.error,
				 "timed out after %lldms",
				 (long long)e->timeout_ms);
		adopted_account(e, &r);
	}
	if (e->pidfd.fd != -1) {
		ev_del(a->loop, &e->pidfd);
		close(e->pidfd.fd);
		e->pidfd.fd = -1;
	}
	TAILQ_REMOVE(&a->live, e, entry);
	TAILQ_INSERT_TAIL(&a->gone, e, entry);
	a->n--;
	adopted_clear_slot(a, e);
	jobs_left_slot(a->jobs, &e->run);
	jobs_ended_stopped(a->jobs, e->job_id, e->attempt, &e->run, e->worker,
			   e->cpu, &r, e->end == JOB_LOST);
}

static void
adopted_on_exit(struct ev_io *io, uint32_t events)
{
	adopted_reap(io->arg);
}

bool
adopted_reap_pid(struct adopted *a, pid_t pid)
{
	struct adoptee *e;

	TAILQ_FOREACH (e, &a->live, entry) {
		if (e->pid == pid) {
			adopted_reap(e);
			return true;
		}
	}
	return false;
}

bool
adopted_cancel(struct adopted *a, uint64_t id)
{
	struct adoptee *e;

	TAILQ_FOREACH (e, &a->live, entry) {
		if (e->job_id != id)
			continue;
		if (e->end == JOB_RUNNING)
			adopted_stop(e, JOB_CANCELLED, clock_mono_ns());
		return true;
	}
	return false;
}

int64_t
adopted_next_deadline(const struct adopted *a)
{
	const struct adoptee *e;
	int64_t next = 0, at;

	TAILQ_FOREACH (e, &a->live, entry) {
		at = e->kill_at_ns != 0      ? e->kill_at_ns
		     : e->end == JOB_RUNNING ? e->deadline_ns
					     : 0;
		if (at != 0 && (next == 0 || at < next))
			next = at;
	}
	return next;
}

/* Their timeouts, and KILL for those that outlived their grace. */
void
adopted_check(struct adopted *a, int64_t now)
{
	struct adoptee *e;

	TAILQ_FOREACH (e, &a->live, entry) {
		if (e->kill_at_ns != 0 && now >= e->kill_at_ns) {
			adopted_signal(e, SIGKILL);
			e->kill_at_ns = 0;
		} else if (e->end == JOB_RUNNING && e->deadline_ns != 0 &&
			   now >= e->deadline_ns) {
			adopted_stop(e, JOB_TIMED_OUT, now);
		}
	}
}

size_t
adopted_count(const struct adopted *a)
{
	return a->n;
}

void
adopted_ids(const struct adopted *a, int queue, uint64_t *ids, size_t *n,
	    size_t cap)
{
	const struct adoptee *e;

	TAILQ_FOREACH (e, &a->live, entry) {
		if (*n < cap && (queue == RUNQ_ALL || e->run.queue == queue))
			ids[(*n)++] = e->job_id;
	}
}

void
adopted_stop_all(struct adopted *a)
{
	struct adoptee *e;
	int64_t now = clock_mono_ns();

	TAILQ_FOREACH (e, &a->live, entry) {
		if (e->end == JOB_RUNNING)
			adopted_stop(e, JOB_LOST, now);
	}
}

void
adopted_kill_all(struct adopted *a)
{
	struct adoptee *e;

	TAILQ_FOREACH (e, &a->live, entry)
		adopted_signal(e, SIGKILL);
}
