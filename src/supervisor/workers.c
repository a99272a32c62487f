/*
 * The supervisor's side of the workers: forking them, seeing them die
 * through their pidfds, restarting them by the restart policy, killing
 * the hung, retiring the ones a reload no longer wants.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/units.h"
#include "supervisor/supervisor.h"
#include "worker/worker.h"

#define WORKER_OUT_MAX (64 * 1024)

static void workers_on_exit(struct ev_io *io, uint32_t events);
static void workers_on_message(struct ev_io *io, uint32_t events);

static int
pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int
pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int
workers_init(struct supervisor *sv)
{
	struct sv_worker *w;
	uint32_t i;

	sv->workers = calloc(sv->workers_max, sizeof *sv->workers);
	if (sv->workers == NULL)
		return -1;
	for (i = 0; i < sv->workers_max; i++) {
		w = &sv->workers[i];
		w->sv = sv;
		w->index = (int)i;
		w->cpu = -1;
		w->sb = &sv->shm.workers[i];
		ev_io_set(&w->pidfd, -1, workers_on_exit, w);
		ev_io_set(&w->chan, -1, workers_on_message, w);
		buf_init(&w->out, WORKER_OUT_MAX);
		if (restart_state_init(&w->restart) == -1)
			return -1;
		w->slots = calloc(sv->shm.slots_per_worker, sizeof *w->slots);
		if (w->slots == NULL)
			return -1;
	}
	return 0;
}

void
workers_free(struct supervisor *sv)
{
	uint32_t i;

	if (sv->workers == NULL)
		return;
	for (i = 0; i < sv->workers_max; i++) {
		restart_state_free(&sv->workers[i].restart);
		buf_free(&sv->workers[i].out);
		free(sv->workers[i].slots);
	}
	free(sv->workers);
	sv->workers = NULL;
}

static void
workers_close_fds(struct sv_worker *w)
{
	if (w->chan.fd != -1) {
		ev_del(&w->sv->loop, &w->chan);
		close(w->chan.fd);
		w->chan.fd = -1;
	}
	if (w->pidfd.fd != -1) {
		ev_del(&w->sv->loop, &w->pidfd);
		close(w->pidfd.fd);
		w->pidfd.fd = -1;
	}
	ch_reader_init(&w->reader);
	buf_clear(&w->out);
}

void
workers_flush(struct sv_worker *w)
{
	uint32_t want = EPOLLIN;

	if (w->chan.fd == -1)
		return;
	if (buf_write_fd(&w->out, w->chan.fd) == -1 && errno != EAGAIN) {
		log_warn("worker %d (pid %d): write to channel", w->index,
			 (int)w->pid);
		return; /* its death arrives through the pidfd */
	}
	if (w->out.len > 0)
		want |= EPOLLOUT;
	ev_mod(&w->sv->loop, &w->chan, want);
}

static void
workers_send(struct sv_worker *w, uint16_t type, const void *payload,
	     size_t len)
{
	if (w->chan.fd == -1)
		return;
	if (ch_queue(&w->out, type, payload, len) == -1) {
		/* Only a worker that stopped reading fills 64K of control
		 * messages; the heartbeat check will replace it. */
		log_warnx("worker %d (pid %d): channel backlog full, dropping "
			  "%s message",
			  w->index, (int)w->pid, ch_type_name(type));
		return;
	}
	workers_flush(w);
}

static void
workers_send_config_to(struct sv_worker *w)
{
	struct ch_config cfg = {
	    .heartbeat_interval_ms =
		(uint32_t)w->sv->conf.heartbeat_interval_ms,
	    .slots = w->sv->conf.slots,
	};

	workers_send(w, CH_S_CONFIG, &cfg, sizeof cfg);
}

static void
workers_set_state(struct sv_worker *w, enum sb_state state)
{
	w->sb->state = state;
}

/* Forks one worker for w's CPU. On failure the restart is retried. */
static void
workers_spawn(struct sv_worker *w)
{
	struct supervisor *sv = w->sv;
	int pair[2], pidfd;
	pid_t pid;

	w->retry_at_ns = 0;
	w->killed_hung = w->killed_bad = false;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       pair) == -1) {
		log_warn("worker %d: socketpair", w->index);
		goto retry;
	}
	pid = fork();
	if (pid == -1) {
		log_warn("worker %d: fork", w->index);
		close(pair[0]);
		close(pair[1]);
		goto retry;
	}
	if (pid == 0) {
		struct worker_args args = {
		    .index = w->index,
		    .cpu = w->cpu,
		    .chan_fd = pair[1],
		    .shm = &sv->shm,
		    .sb = w->sb,
		    .state_dir = sv->conf.state_dir,
		    .heartbeat_interval_ms =
			(uint32_t)sv->conf.heartbeat_interval_ms,
		};

		close(pair[0]);
		worker_main(&args);
	}
	close(pair[1]);
	/* No pidfd_open (before Linux 5.3, or under valgrind): SIGCHLD
	 * tells of its death instead (jobs_reap_children). */
	if ((pidfd = pidfd_open(pid)) == -1 && errno != ENOSYS) {
		/* Without a pidfd we cannot watch it: take it back now. */
		log_warn("worker %d: pidfd_open", w->index);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(pair[0]);
		goto retry;
	}
	if (pidfd != -1)
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	w->pid = pid;
	w->started_ns = clock_mono_ns();
	w->pidfd.fd = pidfd;
	w->chan.fd = pair[0];
	ch_reader_init(&w->reader);
	if ((pidfd != -1 && ev_add(&sv->loop, &w->pidfd, EPOLLIN) == -1) ||
	    ev_add(&sv->loop, &w->chan, EPOLLIN) == -1)
		fatal("epoll_ctl");
	w->sb->pid = pid;
	w->sb->cpu = w->cpu;
	w->sb->started_ns = w->started_ns;
	w->sb->retry_at_ns = 0;
	workers_set_state(w, SB_STARTING);
	workers_send_config_to(w);
	log_debug("worker %d: forked pid %d for cpu %d", w->index, (int)pid,
		  w->cpu);
	return;
retry:
	w->retry_at_ns = clock_mono_ns() + sv->policy.delay_ns;
	w->sb->retry_at_ns = w->retry_at_ns;
	workers_set_state(w, SB_RESTARTING);
}

static void
workers_describe_exit(const siginfo_t *si, char *buf, size_t len)
{
	switch (si->si_code) {
	case CLD_EXITED:
		snprintf(buf, len, "exited with status %d", si->si_status);
		break;
	case CLD_KILLED:
	case CLD_DUMPED:
		snprintf(buf, len, "killed by signal %d (SIG%s)%s",
			 si->si_status,
			 sigabbrev_np(si->si_status) != NULL
			     ? sigabbrev_np(si->si_status)
			     : "?",
			 si->si_code == CLD_DUMPED ? ", core dumped" : "");
		break;
	default:
		snprintf(buf, len, "ended (code %d, status %d)", si->si_code,
			 si->si_status);
		break;
	}
}

/* Decides what follows a death, by the policy, and does it. */
static void
workers_after_death(struct sv_worker *w, int exit_code, int64_t now)
{
	struct supervisor *sv = w->sv;
	struct restart_decision d;
	char hold[32], window[32];

	if (sv->stopping || w->retiring || !w->planned) {
		/* Retired by a stop or by a reload that dropped its CPU. */
		w->retiring = false;
		workers_set_state(w, w->planned ? SB_STOPPED : SB_EMPTY);
		return;
	}
	d = restart_decide(&sv->policy, &w->restart, w->started_ns, now,
			   exit_code);
	switch (d.action) {
	case RESTART_NOW:
		w->sb->restarts++;
		workers_spawn(w);
		break;
	case RESTART_LATER:
		w->retry_at_ns = d.at_ns;
		w->sb->retry_at_ns = d.at_ns;
		workers_set_state(w, SB_RESTARTING);
		log_info("worker %d (cpu %d): restarting in %lldms", w->index,
			 w->cpu, (long long)((d.at_ns - now) / NS_PER_MS));
		break;
	case RESTART_HOLD:
		w->retry_at_ns = d.at_ns;
		w->sb->retry_at_ns = d.at_ns;
		workers_set_state(w, SB_HELD);
		units_format_duration(sv->conf.crash_loop_hold_ms, hold,
				      sizeof hold);
		units_format_duration(sv->conf.crash_loop_window_ms, window,
				      sizeof window);
		log_warnx("worker %d (cpu %d) is in a crash loop: %u deaths "
			  "within %s; holding it for %s",
			  w->index, w->cpu, d.deaths_in_window, window, hold);
		break;
	case RESTART_NEVER:
		workers_set_state(w, SB_FAILED);
		log_warnx("worker %d (cpu %d) exited with the fatal "
			  "configuration code %d; not restarting it until the "
			  "configuration is reloaded",
			  w->index, w->cpu, exit_code);
		break;
	}
}

static void
workers_on_exit(struct ev_io *io, uint32_t events)
{
	workers_reap(io->arg);
}

void
workers_reap(struct sv_worker *w)
{
	char how[SHM_LAST_EXIT_MAX], lived[32];
	siginfo_t si;
	int64_t now;

	memset(&si, 0, sizeof si);
	if (w->pid == 0)
		return;
	/* Our own unreaped child: its pid cannot be reused yet. */
	if (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG) == -1) {
		log_warn("worker %d: waitid", w->index);
		return;
	}
	if (si.si_pid == 0)
		return; /* not yet: the pidfd was readable for nothing */
	now = clock_mono_ns();
	workers_describe_exit(&si, how, sizeof how);
	if (w->killed_hung)
		strlcat(how, " (hung)", sizeof how);
	else if (w->killed_bad)
		strlcat(how, " (protocol error)", sizeof how);
	units_format_duration((now - w->started_ns) / NS_PER_MS, lived,
			      sizeof lived);
	if (w->retiring || w->sv->stopping)
		log_info("worker %d (pid %d, cpu %d) %s after %s", w->index,
			 (int)w->pid, w->cpu, how, lived);
	else
		log_warnx("worker %d (pid %d, cpu %d) %s after %s", w->index,
			  (int)w->pid, w->cpu, how, lived);
	strlcpy(w->sb->last_exit, how, sizeof w->sb->last_exit);
	w->sb->pid = 0;
	w->pid = 0;
	workers_close_fds(w);
	jobs_worker_died(w);
	workers_after_death(w, si.si_code == CLD_EXITED ? si.si_status : -1,
			    now);
	/* Its restart's time is armed by the loop at the end of the turn. */
}

static void
workers_kill(struct sv_worker *w)
{
	if (w->pid == 0)
		return;
	if ((w->pidfd.fd != -1 ? pidfd_send_signal(w->pidfd.fd, SIGKILL)
			       : kill(w->pid, SIGKILL)) == -1)
		log_warn("worker %d (pid %d): kill", w->index, (int)w->pid);
}

static void
workers_handle(struct sv_worker *w, const struct ch_msg *msg)
{
	struct ch_ready ready;

	switch (msg->hdr.type) {
	case CH_W_READY:
		memcpy(&ready, msg->payload, sizeof ready);
		if (ready.index != w->index || ready.pid != w->pid) {
			log_warnx("worker %d (pid %d): ready message names "
				  "worker %d pid %d; replacing it",
				  w->index, (int)w->pid, ready.index,
				  ready.pid);
			w->killed_bad = true;
			workers_kill(w);
			return;
		}
		workers_set_state(w, w->retiring ? SB_RETIRING : SB_READY);
		log_info("worker %d (pid %d, cpu %d) ready%s, restarts %u",
			 w->index, (int)w->pid, w->cpu,
			 ready.pinned ? "" : " (NOT pinned)", w->sb->restarts);
		break;
	case CH_W_STARTED: {
		struct ch_started st;

		memcpy(&st, msg->payload, sizeof st);
		jobs_on_started(w, &st);
		break;
	}
	case CH_W_DONE: {
		struct ch_slot done;

		memcpy(&done, msg->payload, sizeof done);
		jobs_on_done(w, &done);
		break;
	}
	}
}

static void
workers_on_message(struct ev_io *io, uint32_t events)
{
	struct sv_worker *w = io->arg;
	struct ch_msg msg;
	char why[128];
	ssize_t n;

	if (events & EPOLLOUT)
		workers_flush(w);
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = ch_reader_fill(&w->reader, io->fd);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		/* It is exiting; the pidfd tells the rest. */
		ev_del(&w->sv->loop, io);
		close(io->fd);
		io->fd = -1;
		return;
	}
	for (;;) {
		switch (ch_next(&w->reader, CH_TO_SUPERVISOR, &msg, why,
				sizeof why)) {
		case CH_NEED_MORE:
			return;
		case CH_ERROR:
			log_warnx("worker %d (pid %d): malformed message: %s; "
				  "replacing it",
				  w->index, (int)w->pid, why);
			w->killed_bad = true;
			workers_kill(w);
			ev_del(&w->sv->loop, io);
			close(io->fd);
			io->fd = -1;
			return;
		case CH_MESSAGE:
			workers_handle(w, &msg);
			break;
		}
	}
}

static struct sv_worker *
workers_find_planned(struct supervisor *sv, int cpu)
{
	uint32_t i;

	for (i = 0; i < sv->workers_max; i++) {
		if (sv->workers[i].planned && sv->workers[i].cpu == cpu)
			return &sv->workers[i];
	}
	return NULL;
}

static struct sv_worker *
workers_find_free(struct supervisor *sv)
{
	uint32_t i;

	for (i = 0; i < sv->workers_max; i++) {
		if (!sv->workers[i].planned && sv->workers[i].pid == 0)
			return &sv->workers[i];
	}
	return NULL;
}

/* Makes the set of workers follow a CPU plan: keeps those whose CPU is
 * still wanted, retires the others gracefully, starts the new ones. */
void
workers_apply_plan(struct supervisor *sv, const int *cpus, size_t n)
{
	struct sv_worker *w;
	uint32_t i;
	size_t j;
	bool wanted;

	for (i = 0; i < sv->workers_max; i++) {
		w = &sv->workers[i];
		if (!w->planned)
			continue;
		wanted = false;
		for (j = 0; j < n; j++)
			wanted |= cpus[j] == w->cpu;
		if (wanted)
			continue;
		w->planned = false;
		w->retry_at_ns = 0;
		if (w->pid != 0) {
			log_info("worker %d (pid %d, cpu %d): cpu no longer "
				 "in the plan, retiring",
				 w->index, (int)w->pid, w->cpu);
			w->retiring = true;
			workers_set_state(w, SB_RETIRING);
			workers_send(w, CH_S_RETIRE, NULL, 0);
		} else {
			workers_set_state(w, SB_EMPTY);
		}
	}
	for (j = 0; j < n; j++) {
		if (workers_find_planned(sv, cpus[j]) != NULL)
			continue;
		if ((w = workers_find_free(sv)) == NULL) {
			log_warnx("no free worker entry for cpu %d", cpus[j]);
			continue;
		}
		w->planned = true;
		w->retiring = false;
		w->cpu = cpus[j];
		w->sb->restarts = 0;
		w->sb->last_exit[0] = '\0';
		restart_state_reset(&w->restart);
		workers_spawn(w);
	}
}

/* Timer work: restarts that are due, workers whose heartbeat is stale,
 * and the end of the stop grace period. */
void
workers_check(struct supervisor *sv, int64_t now)
{
	char age[32], limit[32];
	struct sv_worker *w;
	int64_t beat, timeout = sv->conf.heartbeat_timeout_ms * NS_PER_MS;
	uint32_t i;

	for (i = 0; i < sv->workers_max; i++) {
		w = &sv->workers[i];
		if (w->pid == 0) {
			if (w->planned && !sv->stopping &&
			    w->retry_at_ns != 0 && w->retry_at_ns <= now) {
				w->sb->restarts++;
				workers_spawn(w);
			}
			continue;
		}
		beat = sb_heartbeat(w->sb);
		if (beat < w->started_ns)
			beat = w->started_ns;
		if (!w->killed_hung && now - beat > timeout) {
			units_format_duration((now - beat) / NS_PER_MS, age,
					      sizeof age);
			units_format_duration(sv->conf.heartbeat_timeout_ms,
					      limit, sizeof limit);
			log_warnx("worker %d (pid %d, cpu %d) is hung: no "
				  "heartbeat for %s (heartbeat_timeout %s); "
				  "killing it",
				  w->index, (int)w->pid, w->cpu, age, limit);
			w->killed_hung = true;
			workers_kill(w);
		}
	}
}

int64_t
workers_next_deadline(const struct supervisor *sv)
{
	const struct sv_worker *w;
	int64_t next = 0, at,
		timeout = sv->conf.heartbeat_timeout_ms * NS_PER_MS;
	uint32_t i;

	for (i = 0; i < sv->workers_max; i++) {
		w = &sv->workers[i];
		at = 0;
		if (w->pid == 0 && w->planned && !sv->stopping)
			at = w->retry_at_ns;
		else if (w->pid != 0 && !w->killed_hung) {
			at = sb_heartbeat(w->sb);
			if (at < w->started_ns)
				at = w->started_ns;
			at += timeout + 1;
		}
		if (at != 0 && (next == 0 || at < next))
			next = at;
	}
	return next;
}

void
workers_send_config(struct supervisor *sv)
{
	uint32_t i;

	for (i = 0; i < sv->workers_max; i++) {
		if (sv->workers[i].pid != 0)
			workers_send_config_to(&sv->workers[i]);
	}
}

void
workers_retire_all(struct supervisor *sv)
{
	struct sv_worker *w;
	uint32_t i;

	for (i = 0; i < sv->workers_max; i++) {
		w = &sv->workers[i];
		w->retry_at_ns = 0;
		if (w->pid == 0) {
			if (w->planned)
				workers_set_state(w, SB_STOPPED);
			continue;
		}
		w->retiring = true;
		workers_set_state(w, SB_RETIRING);
		workers_send(w, CH_S_RETIRE, NULL, 0);
	}
}

void
workers_kill_all(struct supervisor *sv, const char *why)
{
	uint32_t i;

	for (i = 0; i < sv->workers_max; i++) {
		if (sv->workers[i].pid == 0)
			continue;
		log_warnx("worker %d (pid %d, cpu %d): %s; killing it",
			  sv->workers[i].index, (int)sv->workers[i].pid,
			  sv->workers[i].cpu, why);
		workers_kill(&sv->workers[i]);
	}
}

/* After a reload: held and failed workers get a fresh chance. */
void
workers_retry_held(struct supervisor *sv)
{
	struct sv_worker *w;
	uint32_t i;

	for (i = 0; i < sv->workers_max; i++) {
		w = &sv->workers[i];
		restart_state_reset(&w->restart);
		if (w->planned && w->pid == 0 &&
		    (w->sb->state == SB_HELD || w->sb->state == SB_FAILED ||
		     w->sb->state == SB_RESTARTING)) {
			w->sb->restarts++;
			workers_spawn(w);
		}
	}
}

uint32_t
workers_live(const struct supervisor *sv)
{
	uint32_t i, n = 0;

	for (i = 0; i < sv->workers_max; i++)
		n += sv->workers[i].pid != 0;
	return n;
}

uint32_t
workers_ready(const struct supervisor *sv)
{
	uint32_t i, n = 0;

	for (i = 0; i < sv->workers_max; i++)
		n += sv->workers[i].pid != 0 &&
		     sv->workers[i].sb->state == SB_READY;
	return n;
}

void
workers_flush_all(struct supervisor *sv)
{
	uint32_t i;

	for (i = 0; i < sv->workers_max; i++) {
		if (sv->workers[i].out.len > 0)
			workers_flush(&sv->workers[i]);
	}
}
