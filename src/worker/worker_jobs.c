/*
 * The jobs in a worker's slots: started (by a standby or a fresh
 * clone, spawn.h), watched through their pidfds, stopped at their
 * timeout, cancel or output_max, and ended: the result written into
 * the slot before the job is reaped, then DONE to forqd.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/clock.h"
#include "common/compat.h"
#include "common/log.h"
#include "core/cpus.h"
#include "common/buffer.h"
#include "ipc/channel.h"
#include "common/event.h"
#include "ipc/orphan.h"
#include "ipc/shm.h"
#include "worker/orphan.h"
#include "worker/outcap.h"
#include "worker/spawn.h"
#include "worker/spool.h"
#include "worker/strays.h"
#include "worker/worker_int.h"

static void worker_on_job_exit(struct ev_io *io, uint32_t events);
static uint64_t worker_output_used(const struct wk_job *j);
static void worker_cgroup_result(struct wk_job *j, struct job_result *r);

void
worker_flush(struct worker *wk)
{
	uint32_t want = EPOLLIN;

	if (wk->chan.fd == -1)
		return; /* no forqd: the slots tell the next one */
	if (buf_write_fd(&wk->out, wk->chan.fd) == -1 && errno != EAGAIN) {
		log_warn("write to supervisor");
		wk->lost(wk);
		return;
	}
	if (wk->out.len > 0)
		want |= EPOLLOUT;
	ev_mod(&wk->loop, &wk->chan, want);
}

void
worker_send(struct worker *wk, uint16_t type, const void *payload, size_t len)
{
	/* No forqd: what it would be told, the slots tell the next. */
	if (wk->chan.fd == -1)
		return;
	if (ch_queue(&wk->out, type, payload, len) == -1)
		fatal("queue %s message", ch_type_name(type));
	worker_flush(wk);
}

/* How many processes a job has at once: v1 keeps no peak, so it is
 * sampled, each heartbeat and as the job ends. */
void
worker_sample_procs(struct worker *wk)
{
	uint32_t i;

	for (i = 0; i < wk->slots; i++) {
		if (wk->jobs[i].active && wk->jobs[i].watched) {
			cg_slot_count(&wk->jobs[i].cg);
			wk->jobs[i].slot->cg_base = wk->jobs[i].cg.base;
		}
	}
}

/* Arms the job timer for the nearest timeout or KILL escalation. */
static void
worker_arm_job_timer(struct worker *wk)
{
	int64_t next = 0, at;
	uint32_t i;

	for (i = 0; i < wk->slots; i++) {
		if (!wk->jobs[i].active)
			continue;
		at = wk->jobs[i].kill_at_ns != 0      ? wk->jobs[i].kill_at_ns
		     : wk->jobs[i].end == WK_END_NONE ? wk->jobs[i].deadline_ns
						      : 0;
		if (at != 0 && (next == 0 || at < next))
			next = at;
	}
	if (ev_timer_arm(wk->job_timer.fd, next) == -1)
		fatal("timerfd_settime");
}

/* The jobs whose processes the strays may belong to: those started
 * whose exit is not yet taken. owners: wk->slots of them. */
static size_t
worker_stray_owners(const struct worker *wk, struct stray_owner *owners)
{
	const struct wk_job *j;
	size_t n = 0;
	uint32_t i;

	for (i = 0; i < wk->slots; i++) {
		j = &wk->jobs[i];
		if (!j->watched)
			continue;
		owners[n++] =
		    (struct stray_owner){.pid = j->pid,
					 .uid = j->slot->uid,
					 .job_id = j->job_id,
					 .stop_signal =
					     j->end == WK_END_NONE ? 0
					     : j->kill_sent        ? SIGKILL
								   : SIGTERM};
	}
	return n;
}

void
worker_scan_strays(struct worker *wk)
{
	struct stray_owner owners[wk->slots];

	strays_scan(owners, worker_stray_owners(wk, owners));
}

/* Strays that have exited are reaped, and, where jobs have no cgroup,
 * what they left is looked at. */
void
worker_reap_strays(struct worker *wk)
{
	struct stray_owner owners[wk->slots];
	size_t n = worker_stray_owners(wk, owners);

	if (strays_reap(owners, n) && !wk->cgroups)
		strays_scan(owners, n);
}

/* TERM to every process of the job now, KILL after kill_grace: all in
 * its cgroup, or, without one, its process group and what the orphan
 * scan finds of it. */
static void
worker_stop_job(struct wk_job *j, enum wk_end why, int64_t now)
{
	if (j->end != WK_END_NONE)
		return;
	j->end = why;
	/* The job's first process by its pid as well: until it has made
	 * its group and joined its cgroup, neither names it. */
	if (kill(j->pid, SIGTERM) == -1 && errno != ESRCH)
		log_warn("job %llu: kill", (unsigned long long)j->job_id);
	kill(-j->pid, SIGTERM);
	if (j->wk->cgroups)
		cg_slot_signal(&j->cg, SIGTERM);
	else
		worker_scan_strays(j->wk);
	j->kill_at_ns = now + j->slot->kill_grace_ms * NS_PER_MS;
	if (j->kill_at_ns == now)
		j->kill_at_ns = now + 1;
	worker_arm_job_timer(j->wk);
}

static void
worker_finish(struct worker *wk, struct wk_job *j)
{
	struct ch_slot done = {.slot = j->slot_no, .job_id = j->job_id};

	spool_done(wk->spool, j->slot_no);
	j->out_fd = j->err_fd = -1;
	j->active = false;
	if (!(j->slot->flags & SLOT_F_HOOK)) {
		j->slot->last.attempt = j->slot->attempt;
		j->slot->last.result = j->slot->result;
		__atomic_store_n(&j->slot->last.job_id, j->job_id,
				 __ATOMIC_RELEASE);
		/* No forqd to tell: made durable first, for the next. */
		if (wk->alone && !wk->ending &&
		    wk_orphan_end(wk->orphan, j->job_id, j->slot->attempt,
				  &j->slot->result) == 0 &&
		    wk->draining)
			worker_drain_say(wk, "end %llu %u\n",
					 (unsigned long long)j->job_id,
					 j->slot->attempt);
	}
	j->slot->state = SLOT_DONE;
	wk->sb->jobs_done++;
	worker_send(wk, CH_W_DONE, &done, sizeof done);
}

/* A job that never started: the result says why. */
static void
worker_fail_start(struct worker *wk, struct wk_job *j, const char *why)
{
	struct job_result *r = &j->slot->result;

	memset(r, 0, sizeof *r);
	r->state = JOB_FAILED;
	r->exit_code = -1;
	r->end_ns = clock_real_ns();
	strlcpy(r->error, why, sizeof r->error);
	worker_finish(wk, j);
}

/* The slot's standby for its next job (spawn.h): only where jobs have
 * cgroups to join, and while this worker takes new jobs. */
static void
worker_standby(struct worker *wk, struct wk_job *j)
{
	const int *fds;
	pid_t pid;
	int n;

	if (!wk->cgroups || wk->alone || wk->draining || wk->retiring ||
	    wk->ending || wk->done)
		return;
	fds = cg_slot_standby_fds(&j->cg, &n);
	if ((pid = spawn_standby(wk->spawner, j->slot_no, fds, n)) == -1)
		log_warn("slot %u: standby", j->slot_no);
	cg_slot_spare(&j->cg, pid > 0 ? pid : 0);
}

/* Standbys for the slots that have no job. A slot not free in the
 * shared memory is forqd's still: the job of this worker's dead
 * predecessor runs on in its cgroup (engine/adopted.c), and forqd kills
 * what is left there once that job ends. A standby put there would die
 * with it, and take the slot's next job along; the slot gets its
 * standby once a job of this worker's ran there. */
void
worker_standby_idle(struct worker *wk)
{
	uint32_t i;

	for (i = 0; i < wk->slots; i++) {
		if (!wk->jobs[i].active && wk->jobs[i].slot->state == SLOT_FREE)
			worker_standby(wk, &wk->jobs[i]);
	}
}

/* No new job comes: the standbys leave. */
void
worker_dismiss_standbys(struct worker *wk)
{
	uint32_t i;

	for (i = 0; i < wk->slots; i++) {
		spawn_dismiss(wk->spawner, i);
		if (wk->cgroups)
			cg_slot_spare(&wk->jobs[i].cg, 0);
	}
}

/* A kill of the job's group took the slot's standby too (v2's
 * cgroup.kill): it is dismissed now, for its SIGKILL may not have ended
 * it yet when the slot's next job comes, and a job handed to it would
 * die with it. */
static void
worker_standby_killed(struct worker *wk, struct wk_job *j)
{
	spawn_dismiss(wk->spawner, j->slot_no);
	cg_slot_spare(&j->cg, 0);
}

void
worker_kill_group(struct worker *wk, struct wk_job *j)
{
	if (cg_slot_kill(&j->cg))
		worker_standby_killed(wk, j);
}

void
worker_run(struct worker *wk, uint32_t slot_no)
{
	struct wk_job *j = &wk->jobs[slot_no];
	struct spawn_identity as;
	struct spawn_request req;
	char why[256] = "", cpus[CG_CPUS_LEN];
	int pidfd, fds[2];

	if (j->active)
		fatalx("run for slot %u, which is busy", slot_no);
	if (j->slot->state != SLOT_SENT)
		fatalx("run for slot %u in state %u", slot_no, j->slot->state);
	j->slot->state = SLOT_ACCEPTED;
	j->active = true;
	j->job_id = j->slot->job_id;
	j->end = WK_END_NONE;
	j->kill_sent = false;
	j->kill_at_ns = j->deadline_ns = 0;
	j->out_fd = j->err_fd = -1;
	/* As root, a job runs as the user who submitted it, and its output
	 * belongs to that user alone. A job's on-finish command writes both
	 * streams to ID.hook. */
	req.as = NULL;
	if (wk->euid == 0 && j->slot->uid != 0) {
		if (spawn_identity_of(j->slot->uid, &as, why, sizeof why) ==
		    -1) {
			spawn_identity_free(&as);
			worker_fail_start(wk, j, why);
			return;
		}
		req.as = &as;
	}
	if (spool_take(wk->spool, slot_no, j->job_id, j->slot->uid,
		       req.as != NULL ? req.as->gid : wk->egid,
		       (j->slot->flags & SLOT_F_HOOK) != 0, fds, why,
		       sizeof why) == -1) {
		if (req.as != NULL)
			spawn_identity_free(&as);
		worker_fail_start(wk, j, why);
		return;
	}
	j->out_fd = fds[0];
	j->err_fd = fds[1];
	/* A gang's CPUs, or every worker's (pin_jobs = no): the job's
	 * affinity and its cpuset both. */
	req.affinity = j->slot->ncpus > 1 || (j->slot->flags & SLOT_F_SPREAD);
	if (req.affinity)
		cpus_format(&j->slot->cpus, cpus, sizeof cpus);
	else
		snprintf(cpus, sizeof cpus, "%d", wk->cpu);
	if (wk->cgroups &&
	    cg_slot_prepare(&j->cg,
			    &(struct cg_limits){.mem = j->slot->mem,
						.tasks_max = j->slot->tasks_max,
						.gpu_deny = j->slot->gpu_deny,
						.cpus = cpus,
						.gang = j->slot->ncpus > 1},
			    why, sizeof why) == -1) {
		if (req.as != NULL)
			spawn_identity_free(&as);
		worker_fail_start(wk, j, why);
		return;
	}
	j->slot->cg_base = j->cg.base;
	req.cg_fds = cg_slot_join_fds(&j->cg, &req.ncg_fds);
	req.slot = j->slot;
	req.stdin_fd = wk->devnull;
	req.stdout_fd = j->out_fd;
	req.stderr_fd = j->err_fd;
	req.pid_out = &j->slot->pid;
	/* A token of this spawn (below -1) the child swaps for its pid: a
	 * child of an earlier spawn, slow to claim, cannot take this one's
	 * slot. */
	req.token = -2 - (int32_t)(++wk->spawns % 1000000000u);
	j->slot->pid = req.token;
	j->slot->state = SLOT_SPAWNING;
	j->start_real_ns = clock_real_ns();
	j->slot->start_ns = j->start_real_ns;
	j->pid = spawn_job(wk->spawner, slot_no, &req, why, sizeof why);
	if (req.as != NULL)
		spawn_identity_free(&as);
	if (j->pid == -1) {
		worker_fail_start(wk, j, why);
		return;
	}
	j->slot->pid = j->pid;
	j->slot->state = SLOT_SPAWNED;
	if (wk->cgroups) {
		cg_slot_spare(&j->cg, 0);
		worker_standby(wk, j);
	}
	if ((pidfd = sys_pidfd_open(j->pid)) == -1 && errno != ENOSYS) {
		/* Cannot watch it: take it back rather than lose track. */
		snprintf(why, sizeof why, "cannot watch the job: %s",
			 strerror(errno));
		kill(j->pid, SIGKILL);
		waitpid(j->pid, NULL, 0);
		worker_fail_start(wk, j, why);
		return;
	}
	/* No pidfd_open (before Linux 5.3, or under valgrind): the job's
	 * SIGCHLD says when to look. */
	ev_io_set(&j->pidfd, pidfd, worker_on_job_exit, j);
	if (pidfd != -1 && ev_add(&wk->loop, &j->pidfd, EPOLLIN) == -1)
		fatal("epoll_ctl");
	j->watched = true;
	wk->running++;
	wk->sb->jobs_started++;
	if (j->slot->timeout_ms > 0) {
		j->deadline_ns =
		    clock_mono_ns() + j->slot->timeout_ms * NS_PER_MS;
		worker_arm_job_timer(wk);
	}
	/* Its pid and start time are in the slot: no message says so. */
}

/* The result is written into the slot before the job is reaped: a
 * worker killed in between leaves a slot that says how the job ended
 * (SLOT_EXITED), never one whose job is gone without a trace. */
void
worker_job_check(struct wk_job *j)
{
	struct worker *wk = j->wk;
	struct job_result *r = &j->slot->result;
	struct rusage ru;
	siginfo_t si;

	if (!j->watched)
		return;
	/* Our own unreaped child: its pid cannot be reused yet. */
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
	    -1) {
		if (errno == EINTR)
			return;
		fatal("job %llu: waitid", (unsigned long long)j->job_id);
	}
	if (si.si_pid == 0)
		return;
	memset(r, 0, sizeof *r);
	r->start_ns = j->start_real_ns;
	r->end_ns = clock_real_ns();
	r->exit_code = si.si_code == CLD_EXITED ? si.si_status : -1;
	r->signal = si.si_code == CLD_EXITED ? 0 : si.si_status;
	switch (j->end) {
	case WK_END_TIMEOUT:
		r->state = JOB_TIMED_OUT;
		snprintf(r->error, sizeof r->error, "timed out after %lldms",
			 (long long)j->slot->timeout_ms);
		break;
	case WK_END_CANCEL:
		r->state = JOB_CANCELLED;
		break;
	case WK_END_OUTPUT:
		r->state = JOB_FAILED;
		snprintf(r->error, sizeof r->error,
			 "output over output_max (%llu bytes)",
			 (unsigned long long)j->slot->output_max);
		break;
	case WK_END_NONE:
		r->state = r->exit_code == 0 ? JOB_SUCCEEDED : JOB_FAILED;
		break;
	}
	/* It never got to exec: it failed to start, and says why. */
	if (spawn_failure(wk->spawner, j->slot_no, j->slot, r->error,
			  sizeof r->error)) {
		r->state = JOB_FAILED;
		r->start_ns = 0;
		r->exit_code = -1;
		r->signal = 0;
	}
	/* The job ends with its first process: what it left behind goes
	 * too (killed while the leader is a zombie, so that its pid, the
	 * group's id, cannot be another's yet), all of its cgroup with it,
	 * as systemd's KillMode=control-group does. */
	kill(-j->pid, SIGKILL);
	if (wk->cgroups &&
	    cg_slot_end(&j->cg, spawn_standby_in(wk->spawner, j->slot_no)))
		worker_standby_killed(wk, j);
	if (j->slot->output_max != 0 &&
	    worker_output_used(j) > j->slot->output_max) {
		if (j->end == WK_END_NONE || j->end == WK_END_OUTPUT) {
			r->state = JOB_FAILED;
			snprintf(r->error, sizeof r->error,
				 "output over output_max (%llu bytes)",
				 (unsigned long long)j->slot->output_max);
		}
		outcap_trim((const int[2]){j->out_fd, j->err_fd},
			    j->slot->output_max);
	}
	j->slot->state = SLOT_EXITED;
	if (wait4(j->pid, NULL, WNOHANG, &ru) == j->pid)
		job_result_set_usage(r, &ru);
	if (wk->cgroups)
		worker_cgroup_result(j, r);
	if (j->pidfd.fd != -1) {
		ev_del(&wk->loop, &j->pidfd);
		close(j->pidfd.fd);
		j->pidfd.fd = -1;
	}
	j->watched = false;
	wk->running--;
	/* What left the job's group is found by the next heartbeat's scan:
	 * reading /proc for it at every end costs every job. */
	worker_finish(wk, j);
	worker_arm_job_timer(wk);
	if ((wk->retiring || wk->draining) && wk->running == 0)
		wk->done = true;
}

/* The whole job's use, all its processes', from its cgroup; and an
 * OOM kill inside its limit is what failed it. */
static void
worker_cgroup_result(struct wk_job *j, struct job_result *r)
{
	struct cg_stats st;

	cg_slot_stats(&j->cg, &st);
	/* The OOM killer explains no job that never started, nor one
	 * stopped for its timeout, a cancel or its output. */
	cg_job_result(&st, j->slot->mem,
		      r->state == JOB_FAILED && r->start_ns != 0 &&
			  j->end == WK_END_NONE,
		      r);
}

static void
worker_on_job_exit(struct ev_io *io, uint32_t events)
{
	worker_job_check(io->arg);
}

void
worker_on_job_timer(struct ev_io *io, uint32_t events)
{
	struct worker *wk = io->arg;
	struct wk_job *j;
	int64_t now = clock_mono_ns();
	uint32_t i;

	ev_timer_drain(io->fd);
	for (i = 0; i < wk->slots; i++) {
		j = &wk->jobs[i];
		if (!j->active || !j->watched)
			continue;
		if (j->kill_at_ns != 0 && now >= j->kill_at_ns) {
			kill(j->pid, SIGKILL);
			kill(-j->pid, SIGKILL);
			j->kill_at_ns = 0;
			j->kill_sent = true;
			if (wk->cgroups)
				worker_kill_group(wk, j);
			else
				worker_scan_strays(wk);
		} else if (j->end == WK_END_NONE && j->deadline_ns != 0 &&
			   now >= j->deadline_ns) {
			worker_stop_job(j, WK_END_TIMEOUT, now);
		}
	}
	worker_arm_job_timer(wk);
}

/* What a job's output takes on disk (a hook's two streams are one
 * file). */
static uint64_t
worker_output_used(const struct wk_job *j)
{
	const int fds[2] = {j->out_fd, j->err_fd};

	return outcap_used(fds, (j->slot->flags & SLOT_F_HOOK) != 0);
}

/* A runaway job's output must not fill the disk, whichever of its
 * processes writes it and however. */
void
worker_check_output(struct worker *wk, int64_t now)
{
	struct wk_job *j;
	uint32_t i;

	for (i = 0; i < wk->slots; i++) {
		j = &wk->jobs[i];
		if (!j->active || !j->watched || j->end != WK_END_NONE ||
		    j->slot->output_max == 0)
			continue;
		if (worker_output_used(j) > j->slot->output_max)
			worker_stop_job(j, WK_END_OUTPUT, now);
	}
}

void
worker_cancel(struct worker *wk, const struct ch_slot *c)
{
	struct wk_job *j = &wk->jobs[c->slot];

	/* The job may have ended while the cancel was on its way. */
	if (!j->active || j->job_id != c->job_id || !j->watched)
		return;
	worker_stop_job(j, WK_END_CANCEL, clock_mono_ns());
}

void
worker_kill_jobs(struct worker *wk)
{
	uint32_t i;

	for (i = 0; i < wk->slots; i++) {
		if (wk->jobs[i].active && wk->jobs[i].watched) {
			kill(-wk->jobs[i].pid, SIGKILL);
			worker_kill_group(wk, &wk->jobs[i]);
		}
	}
}

/* A job running here (an on-finish command is none). */
bool
worker_runs(const struct wk_job *j)
{
	return j->active && !(j->slot->flags & SLOT_F_HOOK);
}

/* An end no commit has recorded yet (struct slot_end). */
bool
worker_unrecorded(const struct wk_job *j)
{
	return __atomic_load_n(&j->slot->last.job_id, __ATOMIC_ACQUIRE) != 0;
}

/* A line to the forqd this worker drains for. Lost if that forqd is
 * gone: the next one asks again, and the ends are in STATE/ends. */
void
worker_drain_say(struct worker *wk, const char *fmt, ...)
{
	char line[ORPHAN_LINE_MAX];
	va_list ap;
	int n;

	if (wk->drain_fd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof line &&
	    write(wk->drain_fd, line, (size_t)n) != n) {
		close(wk->drain_fd);
		wk->drain_fd = -1;
	}
}
