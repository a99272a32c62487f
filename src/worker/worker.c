/*
 * A worker process: forked by the supervisor, pinned to one CPU, running
 * its own event loop. It keeps its heartbeat in the scoreboard and
 * answers the supervisor's control messages; jobs run here.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
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
#include "common/units.h"
#include "core/cpus.h"
#include "common/buffer.h"
#include "ipc/channel.h"
#include "common/event.h"
#include "ipc/orphan.h"
#include "ipc/shm.h"
#include "forq/protocol.h"
#include "worker/orphan.h"
#include "worker/outcap.h"
#include "worker/spawn.h"
#include "worker/spool.h"
#include "worker/strays.h"
#include "worker/worker.h"

#define WORKER_CHAN_FD 3
#define WORKER_OUT_MAX (64 * 1024)

enum wk_end {
	WK_END_NONE,
	WK_END_TIMEOUT,
	WK_END_CANCEL,
	WK_END_OUTPUT,
};

/* A job this worker runs, in the slot of the same number. */
struct wk_job {
	struct worker *wk;
	struct slot *slot;
	uint32_t slot_no;
	bool active;
	uint64_t job_id;
	pid_t pid;
	bool watched;       /* started, its exit not yet taken */
	struct ev_io pidfd; /* -1 where pidfds are missing: SIGCHLD tells */
	int out_fd;
	int err_fd;
	int64_t start_real_ns;
	int64_t deadline_ns; /* timeout; 0: none */
	int64_t kill_at_ns;  /* KILL after TERM; 0: none */
	bool kill_sent;
	enum wk_end end;
	struct cg_slot cg; /* the slot's cgroup; CG_NONE: none */
};

struct worker {
	int index;
	int cpu;
	uid_t euid; /* forqd's, asked once rather than at every job */
	gid_t egid;
	struct sb_worker *sb;
	const struct shm *shm;
	struct shm adopted_shm; /* the region of the forqd that adopted it */
	struct ev_loop loop;
	struct ev_io chan;
	struct ev_io signals;
	struct ev_io heartbeat;
	struct ev_io job_timer;
	struct ch_reader reader;
	struct buf out;
	uint32_t heartbeat_interval_ms;
	uint32_t slots;
	struct wk_job *jobs;
	struct spawner *spawner; /* starts the slots' jobs */
	uint32_t running;
	uint32_t spawns; /* for each spawn's token */
	int devnull;
	struct spool *spool; /* the jobs' output files */
	bool retiring;
	bool done;
	bool cgroups; /* jobs run in their slot's cgroup */
	bool pinned;
	int64_t born_ns; /* CLOCK_REALTIME */
	char state_dir[PATH_MAX];
	uint32_t adopt_timeout_ms;
	/* Where a next forqd finds it (orphan.h); alone: its own forqd is
	 * gone, and it waits for the next. */
	struct wk_orphan *orphan;
	bool alone;
	/* Killing its jobs as it exits: their ends are no real ends (the
	 * next forqd queues them again). */
	bool ending;
	/* Runs its jobs to their end for a forqd of another layout, telling
	 * it of each on drain_fd (ipc/orphan.h), and exits with the last. */
	bool draining;
	int drain_fd;
};

static void worker_on_job_exit(struct ev_io *io, uint32_t events);
static void worker_drain_say(struct worker *wk, const char *fmt, ...)
    __printflike(2, 3);
static void worker_scan_strays(struct worker *wk);
static uint64_t worker_output_used(const struct wk_job *j);
static void worker_check_output(struct worker *wk, int64_t now);
static void worker_cgroup_result(struct wk_job *j, struct job_result *r);
static void worker_orphan(struct worker *wk);

/* Test hook: FORQD_TEST_WORKER_FAULT=abort|config|garbage[:CPU] makes
 * workers (on that CPU only, if given) crash at start, exit with the
 * fatal configuration code, or send a malformed frame once ready, so
 * that tests drive the restart policy through real processes. Returns
 * true for "garbage". */
static bool
worker_test_fault(int cpu)
{
	const char *fault = getenv("FORQD_TEST_WORKER_FAULT");
	const char *colon;
	size_t kind_len;

	if (fault == NULL || *fault == '\0')
		return false;
	colon = strchr(fault, ':');
	kind_len = colon != NULL ? (size_t)(colon - fault) : strlen(fault);
	if (colon != NULL && atoi(colon + 1) != cpu)
		return false;
	if (kind_len == 5 && strncmp(fault, "abort", 5) == 0)
		abort();
	if (kind_len == 6 && strncmp(fault, "config", 6) == 0)
		exit(FORQ_EXIT_CONFIG);
	return kind_len == 7 && strncmp(fault, "garbage", 7) == 0;
}

static void
worker_flush(struct worker *wk)
{
	uint32_t want = EPOLLIN;

	if (wk->chan.fd == -1)
		return; /* no forqd: the slots tell the next one */
	if (buf_write_fd(&wk->out, wk->chan.fd) == -1 && errno != EAGAIN) {
		log_warn("write to supervisor");
		worker_orphan(wk);
		return;
	}
	if (wk->out.len > 0)
		want |= EPOLLOUT;
	ev_mod(&wk->loop, &wk->chan, want);
}

static void
worker_send(struct worker *wk, uint16_t type, const void *payload, size_t len)
{
	/* No forqd: what it would be told, the slots tell the next. */
	if (wk->chan.fd == -1)
		return;
	if (ch_queue(&wk->out, type, payload, len) == -1)
		fatal("queue %s message", ch_type_name(type));
	worker_flush(wk);
}

static void
worker_beat(struct worker *wk)
{
	sb_set_heartbeat(wk->sb, clock_mono_ns());
}

/* How many processes a job has at once: v1 keeps no peak, so it is
 * sampled, each heartbeat and as the job ends. */
static void
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

static void
worker_on_heartbeat(struct ev_io *io, uint32_t events)
{
	struct worker *wk = io->arg;

	ev_timer_drain(io->fd);
	worker_beat(wk);
	worker_check_output(wk, clock_mono_ns());
	if (wk->cgroups) {
		worker_sample_procs(wk);
		return;
	}
	/* A process that left its job's group is the worker's child only
	 * once its parent has exited, which tells the worker nothing. */
	worker_scan_strays(wk);
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

static void
worker_scan_strays(struct worker *wk)
{
	struct stray_owner owners[wk->slots];

	strays_scan(owners, worker_stray_owners(wk, owners));
}

/* Strays that have exited are reaped, and, where jobs have no cgroup,
 * what they left is looked at. */
static void
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
static void
worker_standby_idle(struct worker *wk)
{
	uint32_t i;

	for (i = 0; i < wk->slots; i++) {
		if (!wk->jobs[i].active && wk->jobs[i].slot->state == SLOT_FREE)
			worker_standby(wk, &wk->jobs[i]);
	}
}

/* No new job comes: the standbys leave. */
static void
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

static void
worker_kill_group(struct worker *wk, struct wk_job *j)
{
	if (cg_slot_kill(&j->cg))
		worker_standby_killed(wk, j);
}

static void
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
static void
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

static void
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
static void
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

static void
worker_cancel(struct worker *wk, const struct ch_slot *c)
{
	struct wk_job *j = &wk->jobs[c->slot];

	/* The job may have ended while the cancel was on its way. */
	if (!j->active || j->job_id != c->job_id || !j->watched)
		return;
	worker_stop_job(j, WK_END_CANCEL, clock_mono_ns());
}

static void
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

static void
worker_apply_config(struct worker *wk, const struct ch_config *cfg)
{
	if (cfg->heartbeat_interval_ms != wk->heartbeat_interval_ms) {
		wk->heartbeat_interval_ms = cfg->heartbeat_interval_ms;
		if (ev_timer_every(wk->heartbeat.fd,
				   (int64_t)cfg->heartbeat_interval_ms *
				       NS_PER_MS) == -1)
			fatal("timerfd_settime");
	}
	/* The slot count is fixed at start: the shared memory is sized by it.
	 */
	(void)cfg->slots;
	wk->adopt_timeout_ms = cfg->adopt_timeout_ms;
}

static void
worker_handle(struct worker *wk, const struct ch_msg *msg)
{
	struct ch_config cfg;
	struct ch_slot slot;

	wk->sb->messages++;
	switch (msg->hdr.type) {
	case CH_S_CONFIG:
		memcpy(&cfg, msg->payload, sizeof cfg);
		worker_apply_config(wk, &cfg);
		break;
	case CH_S_RUN:
	case CH_S_CANCEL:
		memcpy(&slot, msg->payload, sizeof slot);
		if (slot.slot >= wk->slots)
			fatalx("%s for slot %u of %u",
			       ch_type_name(msg->hdr.type), slot.slot,
			       wk->slots);
		if (msg->hdr.type == CH_S_RUN)
			worker_run(wk, slot.slot);
		else
			worker_cancel(wk, &slot);
		break;
	case CH_S_RETIRE:
		log_debug("retiring with %u jobs running", wk->running);
		wk->retiring = true;
		worker_dismiss_standbys(wk);
		if (wk->running == 0)
			wk->done = true;
		break;
	}
}

static void
worker_on_channel(struct ev_io *io, uint32_t events)
{
	struct worker *wk = io->arg;
	struct ch_msg msg;
	char why[128];
	ssize_t n;

	if (events & EPOLLOUT)
		worker_flush(wk);
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = ch_reader_fill(&wk->reader, io->fd);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		worker_orphan(wk);
		return;
	}
	if (n == -1)
		return;
	for (;;) {
		switch (
		    ch_next(&wk->reader, CH_TO_WORKER, &msg, why, sizeof why)) {
		case CH_NEED_MORE:
			return;
		case CH_ERROR:
			fatalx("malformed message from supervisor: %s", why);
		case CH_MESSAGE:
			worker_handle(wk, &msg);
			break;
		}
	}
}

static void
worker_send_ready(struct worker *wk, uint32_t held, uint32_t flags)
{
	struct ch_ready ready = {.index = wk->index,
				 .cpu = wk->cpu,
				 .pid = (int32_t)getpid(),
				 .pinned = wk->pinned,
				 .held = held,
				 .flags = flags,
				 .born_ns = wk->born_ns};

	worker_send(wk, CH_W_READY, &ready, sizeof ready);
}

/* A job running here (an on-finish command is none). */
static bool
worker_runs(const struct wk_job *j)
{
	return j->active && !(j->slot->flags & SLOT_F_HOOK);
}

/* An end no commit has recorded yet (struct slot_end). */
static bool
worker_unrecorded(const struct wk_job *j)
{
	return __atomic_load_n(&j->slot->last.job_id, __ATOMIC_ACQUIRE) != 0;
}

/* A line to the forqd this worker drains for. Lost if that forqd is
 * gone: the next one asks again, and the ends are in STATE/ends. */
static void
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

/* A forqd of another layout cannot take this worker on (an upgrade
 * across a layout change): the jobs run to their end, as nginx's old
 * workers finish theirs on a binary upgrade, and no deadline holds. */
static void
worker_drain(void *arg, int conn)
{
	struct worker *wk = arg;
	struct timeval tv = {.tv_sec = 5};
	uint32_t i, n = 0;

	if (wk->drain_fd != -1)
		close(wk->drain_fd);
	wk->drain_fd = conn;
	wk->draining = true;
	worker_dismiss_standbys(wk);
	/* Lines are small; a forqd that does not read them for seconds
	 * is given up on, not waited for. */
	if (fcntl(conn, F_SETFL, 0) == -1 ||
	    setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1) {
		close(conn);
		wk->drain_fd = -1;
	}
	for (i = 0; i < wk->slots; i++)
		n += worker_runs(&wk->jobs[i]);
	log_info("a forqd of another layout drains this worker: its %u jobs "
		 "run to their end",
		 n);
	worker_drain_say(wk, "draining %u\n", n);
	for (i = 0; i < wk->slots; i++) {
		if (worker_runs(&wk->jobs[i]))
			worker_drain_say(wk, "job %llu %u %u %d\n",
					 (unsigned long long)wk->jobs[i].job_id,
					 wk->jobs[i].slot->attempt, i,
					 (int)wk->jobs[i].pid);
	}
	if (n == 0)
		wk->done = true;
}

static void
worker_abandoned(void *arg)
{
	struct worker *wk = arg;

	log_warnx("no forqd took this worker on in time (adopt_timeout, or "
		  "the node's lease in a cluster): ending %u jobs, which the "
		  "next forqd queues again",
		  wk->running);
	wk->ending = true;
	worker_kill_jobs(wk);
	wk->done = true;
}

/* The next forqd takes this worker on: its slots move into that forqd's
 * shared memory, at the same places, and its channel is the new one. */
static bool
worker_adopted(void *arg, const struct ch_adopt *adopt, int shm_fd, int conn)
{
	struct worker *wk = arg;
	const size_t head = sizeof(struct slot);
	struct sb_worker *sb;
	struct shm next;
	struct slot *to;
	size_t data;
	uint32_t i, held = 0;

	if (shm_attach(&next, shm_fd) == -1) {
		log_warn("not adopted: its shared memory");
		close(shm_fd);
		close(conn);
		return false;
	}
	close(shm_fd);
	if (adopt->index != wk->index || adopt->slots != wk->slots ||
	    next.header->workers_max <= (uint32_t)wk->index ||
	    next.slots_per_worker != wk->slots) {
		log_warnx("not adopted: offered index %d with %u slots (this "
			  "worker: %d with %u)",
			  adopt->index, adopt->slots, wk->index, wk->slots);
		shm_destroy(&next);
		close(conn);
		return false;
	}
	data = (next.slot_size < wk->shm->slot_size ? next.slot_size
						    : wk->shm->slot_size) -
	       head;
	for (i = 0; i < wk->slots; i++) {
		to = shm_slot(&next, (uint32_t)wk->index, i);
		if (worker_runs(&wk->jobs[i])) {
			memcpy(to, wk->jobs[i].slot, head + data);
			held++;
		} else {
			to->state = SLOT_FREE;
			to->last = wk->jobs[i].slot->last;
		}
		held += worker_unrecorded(&wk->jobs[i]);
		wk->jobs[i].slot = to;
	}
	sb = &next.workers[wk->index];
	sb->heartbeat_ns = wk->sb->heartbeat_ns;
	sb->loops = wk->sb->loops;
	sb->messages = wk->sb->messages;
	sb->jobs_started = wk->sb->jobs_started;
	sb->jobs_done = wk->sb->jobs_done;
	wk->sb = sb;
	/* The dead forqd's region goes: its own workers map it still. */
	munmap(wk->shm->base, wk->shm->size);
	wk->adopted_shm = next;
	wk->shm = &wk->adopted_shm;
	ev_io_set(&wk->chan, conn, worker_on_channel, wk);
	if (ev_add(&wk->loop, &wk->chan, EPOLLIN) == -1)
		fatal("epoll_ctl");
	wk->heartbeat_interval_ms = adopt->heartbeat_interval_ms;
	if (ev_timer_every(wk->heartbeat.fd,
			   (int64_t)adopt->heartbeat_interval_ms * NS_PER_MS) ==
	    -1)
		fatal("timerfd_settime");
	wk->adopt_timeout_ms = adopt->adopt_timeout_ms;
	wk->alone = false;
	/* A forqd of this layout again, after one that drained it. */
	wk->draining = false;
	if (wk->drain_fd != -1) {
		close(wk->drain_fd);
		wk->drain_fd = -1;
	}
	worker_standby_idle(wk);
	log_info("taken on by a new forqd with %u jobs", held);
	worker_send_ready(wk, held, CH_READY_ADOPTED);
	/* The running jobs' starts, told as they would have been (the ends
	 * nobody recorded are in the slots). */
	for (i = 0; i < wk->slots; i++) {
		struct wk_job *j = &wk->jobs[i];
		struct ch_started st = {.slot = i,
					.pid = (int32_t)j->pid,
					.job_id = j->job_id,
					.start_ns = j->start_real_ns};

		if (worker_runs(j))
			worker_send(wk, CH_W_STARTED, &st, sizeof st);
	}
	return true;
}

/* How long a worker alone keeps its jobs: adopt_timeout, and on a
 * cluster node no longer than the node's lease, after which another
 * node may run them (shm.h); 0: not at all. */
static uint32_t
worker_keep_ms(const struct worker *wk)
{
	int64_t until = shm_lease_until(wk->shm->header), left;

	if (until == 0)
		return wk->adopt_timeout_ms;
	left = (until - clock_mono_ns()) / NS_PER_MS;
	if (left <= 0)
		return 0;
	return left < wk->adopt_timeout_ms ? (uint32_t)left
					   : wk->adopt_timeout_ms;
}

/* The supervisor is gone. A worker with nothing of its own goes too;
 * one with jobs keeps them for the next forqd (orphan.h), which is how
 * they live through a crash or a restart of forqd. An on-finish command
 * is not a job: it ends here. */
static void
worker_orphan(struct worker *wk)
{
	struct wk_job *j;
	char grace[32];
	uint32_t i, held = 0, keep_ms;

	if (wk->chan.fd != -1) {
		ev_del(&wk->loop, &wk->chan);
		close(wk->chan.fd);
		wk->chan.fd = -1;
	}
	buf_clear(&wk->out);
	ch_reader_init(&wk->reader);
	if (wk->alone || wk->done)
		return;
	for (i = 0; i < wk->slots; i++) {
		j = &wk->jobs[i];
		if (j->active && (j->slot->flags & SLOT_F_HOOK) && j->watched) {
			kill(-j->pid, SIGKILL);
			worker_kill_group(wk, j);
		}
		held += worker_runs(j) + worker_unrecorded(j);
	}
	if (held == 0) {
		log_info("supervisor went away; exiting");
		wk_orphan_free(wk->orphan);
		spool_close(wk->spool);
		exit(0);
	}
	keep_ms = worker_keep_ms(wk);
	if (keep_ms == 0 || wk->orphan == NULL) {
		worker_abandoned(wk);
		return;
	}
	wk->alone = true;
	worker_dismiss_standbys(wk);
	units_format_duration(keep_ms, grace, sizeof grace);
	log_warnx("supervisor went away; keeping %u jobs for the next forqd "
		  "for up to %s%s",
		  held, grace,
		  keep_ms < wk->adopt_timeout_ms
		      ? ", when the node's lease in the cluster runs out"
		      : "");
	for (i = 0; i < wk->slots; i++) {
		j = &wk->jobs[i];
		if (worker_unrecorded(j))
			(void)wk_orphan_end(wk->orphan, j->slot->last.job_id,
					    j->slot->last.attempt,
					    &j->slot->last.result);
	}
	/* Last: a forqd that is already waiting takes it on now. */
	wk_orphan_alone(wk->orphan, keep_ms);
}

static void
worker_on_signal(struct ev_io *io, uint32_t events)
{
	struct worker *wk = io->arg;
	struct signalfd_siginfo si;
	uint32_t i;

	while (read(io->fd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGCHLD) {
			/* Signals merge: look at every job. */
			for (i = 0; i < wk->slots; i++) {
				if (wk->jobs[i].active)
					worker_job_check(&wk->jobs[i]);
			}
			worker_reap_strays(wk);
		} else if (si.ssi_signo == SIGTERM) {
			/* The supervisor is gone (or an operator said so):
			 * nobody would record these jobs, so they end too. */
			log_debug("terminated; killing %u jobs", wk->running);
			wk->ending = true;
			worker_dismiss_standbys(wk);
			worker_kill_jobs(wk);
			wk->done = true;
		}
	}
}

/* Everything the supervisor left open that a worker has no use for is
 * closed: its listener, the other workers' channels, its epoll set. */
static void
worker_detach_fds(int chan_fd)
{
	log_suspend();
	if (chan_fd != WORKER_CHAN_FD) {
		if (dup2(chan_fd, WORKER_CHAN_FD) == -1)
			fatal("dup2");
	}
	closefrom(WORKER_CHAN_FD + 1);
	if (fcntl(WORKER_CHAN_FD, F_SETFD, FD_CLOEXEC) == -1)
		fatal("fcntl");
	log_resume();
}

static void
worker_setup_signals(struct worker *wk)
{
	sigset_t mask;
	int fd;

	/* The terminal's INT and HUP are for the supervisor to act on. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		fatal("sigprocmask");
	if ((fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	ev_io_set(&wk->signals, fd, worker_on_signal, wk);
	if (ev_add(&wk->loop, &wk->signals, EPOLLIN) == -1)
		fatal("epoll_ctl");
}

void
worker_main(const struct worker_args *args)
{
	struct worker wk = {.index = args->index,
			    .cpu = args->cpu,
			    .sb = args->sb,
			    .shm = args->shm,
			    .slots = args->shm->slots_per_worker,
			    .born_ns = clock_real_ns(),
			    .adopt_timeout_ms = args->adopt_timeout_ms,
			    .euid = geteuid(),
			    .egid = getegid(),
			    .drain_fd = -1};
	int chan_fd = args->chan_fd;
	pid_t parent = getppid();
	cpu_set_t set;
	char prefix[64], why[PATH_MAX + 64];
	bool garbage;
	uint32_t i;
	int fd;

	snprintf(prefix, sizeof prefix, "worker %d cpu %d: ", wk.index, wk.cpu);
	log_set_prefix(prefix);

	/* Pin first, so everything after (and every job) runs there. */
	CPU_ZERO(&set);
	CPU_SET(wk.cpu, &set);
	wk.pinned = sched_setaffinity(0, sizeof set, &set) == 0;
	if (!wk.pinned)
		log_warn("sched_setaffinity to cpu %d", wk.cpu);

	/* No parent-death signal: a worker with jobs outlives its forqd,
	 * told of its death by the channel closing. */
	/* A job's processes that leave its group (setsid, a double fork)
	 * come back here when their parent exits, to be ended with it. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl(PR_SET_CHILD_SUBREAPER)");
	if (getppid() != parent)
		exit(0); /* the supervisor died before we asked */

	worker_detach_fds(chan_fd);
	setproctitle("worker %d cpu %d", wk.index, wk.cpu);
	garbage = worker_test_fault(wk.cpu);

	if (ev_loop_init(&wk.loop) == -1)
		fatal("epoll_create1");
	ch_reader_init(&wk.reader);
	buf_init(&wk.out, WORKER_OUT_MAX);
	ev_io_set(&wk.chan, WORKER_CHAN_FD, worker_on_channel, &wk);
	if (ev_add(&wk.loop, &wk.chan, EPOLLIN) == -1)
		fatal("epoll_ctl");
	worker_setup_signals(&wk);
	if ((fd = ev_timer_open()) == -1)
		fatal("timerfd_create");
	ev_io_set(&wk.heartbeat, fd, worker_on_heartbeat, &wk);
	if (ev_add(&wk.loop, &wk.heartbeat, EPOLLIN) == -1)
		fatal("epoll_ctl");
	if ((fd = ev_timer_open()) == -1)
		fatal("timerfd_create");
	ev_io_set(&wk.job_timer, fd, worker_on_job_timer, &wk);
	if (ev_add(&wk.loop, &wk.job_timer, EPOLLIN) == -1)
		fatal("epoll_ctl");
	if ((wk.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("/dev/null");
	if ((wk.spool = spool_open(args->state_dir, wk.slots, why,
				   sizeof why)) == NULL)
		fatalx("%s", why);
	if ((wk.jobs = calloc(wk.slots, sizeof *wk.jobs)) == NULL ||
	    (wk.spawner = spawner_new(wk.slots)) == NULL)
		fatal("jobs");
	for (i = 0; i < wk.slots; i++) {
		wk.jobs[i].wk = &wk;
		wk.jobs[i].slot_no = i;
		wk.jobs[i].slot = shm_slot(args->shm, (uint32_t)wk.index, i);
		wk.jobs[i].pidfd.fd = -1;
		if (args->cg != NULL && args->cg->version != CG_NONE &&
		    cg_slot_open(args->cg, wk.index, i, &wk.jobs[i].cg, why,
				 sizeof why) == -1)
			fatalx("%s", why);
	}
	wk.cgroups = args->cg != NULL && args->cg->version != CG_NONE;
	strlcpy(wk.state_dir, args->state_dir, sizeof wk.state_dir);
	wk.heartbeat_interval_ms = args->heartbeat_interval_ms;
	if (ev_timer_every(wk.heartbeat.fd,
			   (int64_t)wk.heartbeat_interval_ms * NS_PER_MS) == -1)
		fatal("timerfd_settime");
	worker_beat(&wk);

	/* Listening from now: a forqd restarted at once after this one
	 * died may connect before this worker has read its channel's end. */
	wk.orphan = wk_orphan_new(&wk.loop, wk.state_dir, wk.index, wk.cpu,
				  &(struct wk_orphan_cb){
				      .adopted = worker_adopted,
				      .abandoned = worker_abandoned,
				      .drain = worker_drain,
				      .arg = &wk,
				  });
	worker_send_ready(&wk, 0, 0);
	if (garbage) {
		struct ch_header bad = {.type = CH_W_READY, .version = 99};

		buf_append(&wk.out, &bad, sizeof bad);
		worker_flush(&wk);
	}
	/* Ready first: the standbys' clones (one per slot) come before
	 * any job is read, and a replacement worker is sooner in use. */
	worker_standby_idle(&wk);

	while (!wk.done) {
		if (ev_run_once(&wk.loop, -1) == -1)
			fatal("epoll_wait");
		wk.sb->loops++;
	}
	wk_orphan_free(wk.orphan);
	spool_close(wk.spool);
	free(wk.jobs);
	exit(0);
}
