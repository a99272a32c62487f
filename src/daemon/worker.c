/*
 * A worker process: forked by the supervisor, pinned to one CPU, running
 * its own event loop. It keeps its heartbeat in the scoreboard and
 * answers the supervisor's control messages; jobs run here.
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/supervisor.h"

#define WORKER_CHAN_FD 3
#define WORKER_OUT_MAX (64 * 1024)

struct worker {
	int index;
	int cpu;
	struct sb_worker *sb;
	struct ev_loop loop;
	struct ev_io chan;
	struct ev_io signals;
	struct ev_io heartbeat;
	struct ch_reader reader;
	struct buf out;
	uint32_t heartbeat_interval_ms;
	uint32_t slots;
	bool done;
};

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

	if (buf_write_fd(&wk->out, wk->chan.fd) == -1 && errno != EAGAIN) {
		log_warn("write to supervisor");
		wk->done = true;
		return;
	}
	if (wk->out.len > 0)
		want |= EPOLLOUT;
	ev_mod(&wk->loop, &wk->chan, want);
}

static void
worker_send(struct worker *wk, uint16_t type, const void *payload, size_t len)
{
	if (ch_queue(&wk->out, type, payload, len) == -1)
		fatal("queue %s message", ch_type_name(type));
	worker_flush(wk);
}

static void
worker_beat(struct worker *wk)
{
	sb_set_heartbeat(wk->sb, clock_mono_ns());
}

static void
worker_on_heartbeat(struct ev_io *io, uint32_t events)
{
	struct worker *wk = io->arg;

	ev_timer_drain(io->fd);
	worker_beat(wk);
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
	wk->slots = cfg->slots;
}

static void
worker_handle(struct worker *wk, const struct ch_msg *msg)
{
	struct ch_config cfg;

	wk->sb->messages++;
	switch (msg->hdr.type) {
	case CH_S_CONFIG:
		memcpy(&cfg, msg->payload, sizeof cfg);
		worker_apply_config(wk, &cfg);
		break;
	case CH_S_RETIRE:
		log_debug("retiring");
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
	if (n == 0) {
		log_warnx("supervisor went away; exiting");
		exit(0);
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		fatal("read from supervisor");
	}
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
worker_on_signal(struct ev_io *io, uint32_t events)
{
	struct worker *wk = io->arg;
	struct signalfd_siginfo si;

	while (read(io->fd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGTERM) {
			log_debug("terminated");
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
	if ((fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	ev_io_set(&wk->signals, fd, worker_on_signal, wk);
	if (ev_add(&wk->loop, &wk->signals, EPOLLIN) == -1)
		fatal("epoll_ctl");
}

void
worker_main(struct supervisor *sv, struct sv_worker *w, int chan_fd)
{
	struct worker wk = {.index = w->index, .cpu = w->cpu, .sb = w->sb};
	struct ch_ready ready = {0};
	pid_t parent = getppid();
	cpu_set_t set;
	char prefix[64];
	bool garbage;
	int fd;

	snprintf(prefix, sizeof prefix, "worker %d cpu %d: ", wk.index, wk.cpu);
	log_set_prefix(prefix);

	/* Pin first, so everything after (and every job) runs there. */
	CPU_ZERO(&set);
	CPU_SET(wk.cpu, &set);
	ready.pinned = sched_setaffinity(0, sizeof set, &set) == 0;
	if (!ready.pinned)
		log_warn("sched_setaffinity to cpu %d", wk.cpu);

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		log_warn("prctl(PR_SET_PDEATHSIG)");
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
	wk.heartbeat_interval_ms = (uint32_t)sv->conf.heartbeat_interval_ms;
	if (ev_timer_every(fd, (int64_t)wk.heartbeat_interval_ms * NS_PER_MS) ==
	    -1)
		fatal("timerfd_settime");
	worker_beat(&wk);

	ready.index = wk.index;
	ready.cpu = wk.cpu;
	ready.pid = (int32_t)getpid();
	worker_send(&wk, CH_W_READY, &ready, sizeof ready);
	if (garbage) {
		struct ch_header bad = {.type = CH_W_READY, .version = 99};

		buf_append(&wk.out, &bad, sizeof bad);
		worker_flush(&wk);
	}

	while (!wk.done) {
		if (ev_run_once(&wk.loop, -1) == -1)
			fatal("epoll_wait");
		wk.sb->loops++;
	}
	exit(0);
}
