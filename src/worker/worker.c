/*
 * A worker process: forked by the supervisor, pinned to one CPU, running
 * its own event loop. It keeps its heartbeat in the scoreboard, answers
 * the supervisor's control messages, and keeps its jobs when forqd goes
 * away, for the next forqd to take on or drain; the jobs in its slots
 * are worker_jobs.c's.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

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
#include "common/buffer.h"
#include "ipc/channel.h"
#include "common/event.h"
#include "ipc/orphan.h"
#include "ipc/shm.h"
#include "forq/protocol.h"
#include "worker/orphan.h"
#include "worker/spawn.h"
#include "worker/spool.h"
#include "worker/worker.h"
#include "worker/worker_int.h"

#define WORKER_CHAN_FD 3
#define WORKER_OUT_MAX (64 * 1024)

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
	worker_check_output(wk, clock_mono_ns());
	if (wk->cgroups) {
		worker_sample_procs(wk);
		return;
	}
	/* A process that left its job's group is the worker's child only
	 * once its parent has exited, which tells the worker nothing. */
	worker_scan_strays(wk);
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
			    .drain_fd = -1,
			    .lost = worker_orphan};
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
