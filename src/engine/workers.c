/*
 * The supervisor's side of the workers: forking them, seeing them die
 * through their pidfds, restarting them by the restart policy, killing
 * the hung. Which CPUs want a worker is workers_layout.c's.
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
#include "common/compat.h"
#include "common/log.h"
#include "common/units.h"
#include "common/buffer.h"
#include "ipc/channel.h"
#include "ipc/shm.h"
#include "core/conf.h"
#include "core/restart.h"
#include "engine/workers.h"
#include "engine/workers_int.h"
#include "worker/worker.h"

#define WORKER_OUT_MAX (64 * 1024)

static void workers_on_exit(struct ev_io *io, uint32_t events);
static void workers_on_message(struct ev_io *io, uint32_t events);

static int
pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

void
workers_policy(struct workers *ws)
{
	const struct conf *c = ws->conf;

	ws->policy = (struct restart_policy){
	    .delay_ns = c->restart_delay_ms * NS_PER_MS,
	    .delay_max_ns = c->restart_delay_max_ms * NS_PER_MS,
	    .crash_loop_limit = c->crash_loop_limit,
	    .crash_loop_window_ns = c->crash_loop_window_ms * NS_PER_MS,
	    .crash_loop_hold_ns = c->crash_loop_hold_ms * NS_PER_MS,
	};
}

struct workers *
workers_new(struct ev_loop *loop, struct shm *shm, const struct cg_tree *cg,
	    const struct conf *conf, const struct workers_cb *cb)
{
	struct workers *ws;
	struct sv_worker *w;
	uint32_t i;

	if ((ws = calloc(1, sizeof *ws)) == NULL)
		return NULL;
	ws->loop = loop;
	ws->shm = shm;
	ws->cg = cg;
	ws->conf = conf;
	ws->cb = *cb;
	ws->max = shm->header->workers_max;
	workers_policy(ws);
	if ((ws->w = calloc(ws->max, sizeof *ws->w)) == NULL) {
		free(ws);
		return NULL;
	}
	for (i = 0; i < ws->max; i++) {
		w = &ws->w[i];
		w->ws = ws;
		w->index = (int)i;
		w->cpu = -1;
		w->sb = &shm->workers[i];
		ev_io_set(&w->pidfd, -1, workers_on_exit, w);
		ev_io_set(&w->chan, -1, workers_on_message, w);
		buf_init(&w->out, WORKER_OUT_MAX);
		if (restart_state_init(&w->restart) == -1) {
			workers_free(ws);
			return NULL;
		}
	}
	return ws;
}

void
workers_free(struct workers *ws)
{
	uint32_t i;

	if (ws == NULL)
		return;
	for (i = 0; i < ws->max; i++) {
		restart_state_free(&ws->w[i].restart);
		buf_free(&ws->w[i].out);
	}
	free(ws->w);
	free(ws);
}

uint32_t
workers_max(const struct workers *ws)
{
	return ws->max;
}

static void
workers_close_fds(struct sv_worker *w)
{
	if (w->chan.fd != -1) {
		ev_del(w->ws->loop, &w->chan);
		close(w->chan.fd);
		w->chan.fd = -1;
	}
	if (w->pidfd.fd != -1) {
		ev_del(w->ws->loop, &w->pidfd);
		close(w->pidfd.fd);
		w->pidfd.fd = -1;
	}
	ch_reader_init(&w->reader);
	buf_clear(&w->out);
}

static void
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
	ev_mod(w->ws->loop, &w->chan, want);
}

void
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

void
workers_send_config_to(struct sv_worker *w)
{
	struct ch_config cfg = {
	    .heartbeat_interval_ms =
		(uint32_t)w->ws->conf->heartbeat_interval_ms,
	    .slots = w->ws->conf->slots,
	    .adopt_timeout_ms = (uint32_t)w->ws->conf->adopt_timeout_ms,
	};

	workers_send(w, CH_S_CONFIG, &cfg, sizeof cfg);
}

void
workers_set_state(struct sv_worker *w, enum sb_state state)
{
	w->sb->state = state;
}

/* Forks one worker for w's CPU. On failure the restart is retried. */
void
workers_spawn(struct sv_worker *w)
{
	struct workers *ws = w->ws;
	int pair[2], pidfd;
	pid_t pid;

	w->retry_at_ns = 0;
	w->killed_hung = w->killed_bad = false;
	w->foreign = false;
	if (w->drain_held) {
		workers_set_state(w, SB_DRAINING);
		return;
	}
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
		    .shm = ws->shm,
		    .sb = w->sb,
		    .state_dir = ws->conf->state_dir,
		    .heartbeat_interval_ms =
			(uint32_t)ws->conf->heartbeat_interval_ms,
		    .adopt_timeout_ms = (uint32_t)ws->conf->adopt_timeout_ms,
		    .cg = ws->cg,
		};

		close(pair[0]);
		worker_main(&args);
	}
	close(pair[1]);
	/* Into forqd's scope before it is told anything, so that what it
	 * runs starts there: it outlives forqd.service's stop. */
	if (cg_join_scope(ws->cg, pid) == -1)
		log_warn("worker %d (pid %d): into %s", w->index, (int)pid,
			 ws->cg->scope);
	/* No pidfd_open (before Linux 5.3, or under valgrind): SIGCHLD
	 * tells of its death instead (the supervisor routes it:
	 * workers_reap_pid). */
	if ((pidfd = sys_pidfd_open(pid)) == -1 && errno != ENOSYS) {
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
	if ((pidfd != -1 && ev_add(ws->loop, &w->pidfd, EPOLLIN) == -1) ||
	    ev_add(ws->loop, &w->chan, EPOLLIN) == -1)
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
	w->retry_at_ns = clock_mono_ns() + ws->policy.delay_ns;
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
	struct workers *ws = w->ws;
	struct restart_decision d;
	char hold[32], window[32];

	if (ws->stopping || w->retiring || !w->planned) {
		/* Retired by a stop or by a reload that dropped its CPU. */
		w->retiring = false;
		workers_set_state(w, w->planned ? SB_STOPPED : SB_EMPTY);
		return;
	}
	d = restart_decide(&ws->policy, &w->restart, w->started_ns, now,
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
		ws->crash_loops++;
		w->retry_at_ns = d.at_ns;
		w->sb->retry_at_ns = d.at_ns;
		workers_set_state(w, SB_HELD);
		units_format_duration(ws->conf->crash_loop_hold_ms, hold,
				      sizeof hold);
		units_format_duration(ws->conf->crash_loop_window_ms, window,
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
	if (w->foreign) {
		/* Its parent was the forqd that died: only its pidfd says
		 * it is gone, and nothing of how. */
		si.si_code = CLD_EXITED;
		si.si_status = -1;
		strlcpy(how,
			"exited (a previous forqd's child: status unknown)",
			sizeof how);
	} else if (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG) == -1) {
		/* Our own unreaped child: its pid cannot be reused yet. */
		log_warn("worker %d: waitid", w->index);
		return;
	} else if (si.si_pid == 0) {
		return; /* not yet: the pidfd was readable for nothing */
	} else {
		workers_describe_exit(&si, how, sizeof how);
	}
	now = clock_mono_ns();
	if (w->killed_hung)
		strlcat(how, " (hung)", sizeof how);
	else if (w->killed_bad)
		strlcat(how, " (protocol error)", sizeof how);
	units_format_duration((now - w->started_ns) / NS_PER_MS, lived,
			      sizeof lived);
	if (w->retiring || w->ws->stopping)
		log_info("worker %d (pid %d, cpu %d) %s after %s", w->index,
			 (int)w->pid, w->cpu, how, lived);
	else
		log_warnx("worker %d (pid %d, cpu %d) %s after %s", w->index,
			  (int)w->pid, w->cpu, how, lived);
	strlcpy(w->sb->last_exit, how, sizeof w->sb->last_exit);
	w->sb->pid = 0;
	w->sb->adopted_ns = 0;
	w->pid = 0;
	workers_close_fds(w);
	w->ws->cb.died(w->ws->cb.arg, w->index);
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
		w->ws->cb.started(w->ws->cb.arg, w->index, &st);
		break;
	}
	case CH_W_DONE: {
		struct ch_slot done;

		memcpy(&done, msg->payload, sizeof done);
		w->ws->cb.done(w->ws->cb.arg, w->index, &done);
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
		/* It is exiting; the pidfd tells the rest (or SIGCHLD). */
		ev_del(w->ws->loop, io);
		close(io->fd);
		io->fd = -1;
		/* Neither comes for one that is not our child, without a
		 * pidfd: it is gone as far as forqd can tell. */
		if (w->foreign && w->pidfd.fd == -1)
			workers_reap(w);
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
			ev_del(w->ws->loop, io);
			close(io->fd);
			io->fd = -1;
			return;
		case CH_MESSAGE:
			workers_handle(w, &msg);
			break;
		}
	}
}

bool
workers_foreign(const struct workers *ws, int w)
{
	return ws->w[w].foreign;
}

/* Timer work: restarts that are due, workers whose heartbeat is stale,
 * and the end of the stop grace period. */
void
workers_check(struct workers *ws, int64_t now)
{
	char age[32], limit[32];
	struct sv_worker *w;
	int64_t beat, timeout = ws->conf->heartbeat_timeout_ms * NS_PER_MS;
	uint32_t i;

	for (i = 0; i < ws->max; i++) {
		w = &ws->w[i];
		if (w->pid == 0) {
			if (w->planned && !ws->stopping &&
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
			units_format_duration(ws->conf->heartbeat_timeout_ms,
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
workers_next_deadline(const struct workers *ws)
{
	const struct sv_worker *w;
	int64_t next = 0, at,
		timeout = ws->conf->heartbeat_timeout_ms * NS_PER_MS;
	uint32_t i;

	for (i = 0; i < ws->max; i++) {
		w = &ws->w[i];
		at = 0;
		if (w->pid == 0 && w->planned && !ws->stopping)
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
workers_let_go(struct workers *ws, int index)
{
	struct sv_worker *w = &ws->w[index];

	if (w->pid == 0)
		return;
	/* Its scoreboard entry stays as it is: shared memory a next forqd
	 * reads when it takes the worker on. */
	workers_flush(w);
	log_debug("worker %d (pid %d, cpu %d): let go, with its jobs", w->index,
		  (int)w->pid, w->cpu);
	workers_close_fds(w);
	w->pid = 0;
	w->retry_at_ns = 0;
}

void
workers_kill_all(struct workers *ws, const char *why)
{
	uint32_t i;

	for (i = 0; i < ws->max; i++) {
		if (ws->w[i].pid == 0)
			continue;
		log_warnx("worker %d (pid %d, cpu %d): %s; killing it",
			  ws->w[i].index, (int)ws->w[i].pid, ws->w[i].cpu, why);
		workers_kill(&ws->w[i]);
	}
}

uint32_t
workers_live(const struct workers *ws)
{
	uint32_t i, n = 0;

	for (i = 0; i < ws->max; i++)
		n += ws->w[i].pid != 0;
	return n;
}

uint32_t
workers_ready(const struct workers *ws)
{
	uint32_t i, n = 0;

	for (i = 0; i < ws->max; i++)
		n += ws->w[i].pid != 0 && ws->w[i].sb->state == SB_READY;
	return n;
}

void
workers_flush_all(struct workers *ws)
{
	uint32_t i;

	for (i = 0; i < ws->max; i++) {
		if (ws->w[i].out.len > 0)
			workers_flush(&ws->w[i]);
	}
}

bool
workers_reap_pid(struct workers *ws, pid_t pid)
{
	uint32_t i;

	for (i = 0; i < ws->max; i++) {
		if (ws->w[i].pid == pid) {
			/* What its pidfd handler would do. */
			workers_reap(&ws->w[i]);
			return true;
		}
	}
	return false;
}

bool
workers_is_ready(const struct workers *ws, int w)
{
	return ws->w[w].pid != 0 && ws->w[w].sb->state == SB_READY;
}

int
workers_cpu(const struct workers *ws, int w)
{
	return ws->w[w].cpu;
}

void
workers_queue(struct workers *ws, int w, uint16_t type, const void *payload,
	      size_t len)
{
	if (ch_queue(&ws->w[w].out, type, payload, len) == -1)
		log_warnx("worker %d: channel backlog full", w);
}

void
workers_replace(struct workers *ws, int i, const char *why)
{
	struct sv_worker *w = &ws->w[i];

	log_warnx("worker %d (pid %d): %s; replacing it", w->index, (int)w->pid,
		  why);
	w->killed_bad = true;
	kill(w->pid, SIGKILL);
}

void
workers_view(const struct workers *ws, int i, struct worker_view *v)
{
	const struct sv_worker *w = &ws->w[i];

	*v = (struct worker_view){.index = w->index,
				  .cpu = w->cpu,
				  /* A draining one's is not our worker's. */
				  .pid = w->drain_held ? w->sb->pid : w->pid,
				  .planned = w->planned,
				  .started_ns = w->started_ns,
				  .retry_at_ns = w->retry_at_ns,
				  .sb = w->sb};
}

uint64_t
workers_crash_loops(const struct workers *ws)
{
	return ws->crash_loops;
}
