/*
 * The supervisor's loop: signals through a signalfd, one timerfd armed
 * for the nearest deadline, the listener, the clients, one pidfd and one
 * channel per worker. Stop, reload and readiness live here.
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sys/statvfs.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "cluster/node.h"
#include "common/clock.h"
#include "common/compat.h"
#include "common/log.h"
#include "common/units.h"
#include "core/cpus.h"
#include "core/runq.h"
#include "store/store.h"
#include "engine/adopted.h"
#include "engine/after.h"
#include "control/control.h"
#include "supervisor/daemonize.h"
#include "engine/draining.h"
#include "control/httpd.h"
#include "engine/jobs.h"
#include "control/later.h"
#include "control/listener.h"
#include "supervisor/manager.h"
#include "supervisor/modules.h"
#include "supervisor/notify.h"
#include "ops/ops.h"
#include "ops/ops_common.h"
#include "engine/orphans.h"
#include "engine/running.h"
#include "supervisor/supervisor.h"
#include "control/watch.h"
#include "engine/workers.h"
#include "version.h"

/* How long forqd waits at start for the cluster's database. */
#define SV_JOIN_TIMEOUT_S 10

static void sv_on_signal(struct ev_io *io, uint32_t events);
static void sv_on_timer(struct ev_io *io, uint32_t events);
static void sv_update_timer(struct supervisor *sv);

static int
sv_setup_signals(struct supervisor *sv)
{
	sigset_t mask;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		return -1;
	if ((fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return -1;
	ev_io_set(&sv->signals, fd, sv_on_signal, sv);
	return ev_add(&sv->loop, &sv->signals, EPOLLIN);
}

/* A commit failed for want of room: free the reserve, take no new
 * work, and look for room again every second. */
static void
sv_store_failed(struct supervisor *sv)
{
	char path[PATH_MAX + 16], size[32];

	log_warnx("store commit: %s", store_error(sv->store));
	/* Submits of the turn were taken back: count from the store. */
	jobs_recount(sv->jobs);
	/* The ends already acknowledged wait in the next transaction: a
	 * turn comes to commit them, sooner at first, then every second. */
	sv->store_retry_ms = sv->store_retry_ms == 0 ? 50
			     : sv->store_retry_ms >= 500
				 ? 1000
				 : sv->store_retry_ms * 2;
	sv->store_retry_ns = clock_mono_ns() + sv->store_retry_ms * NS_PER_MS;
	if (!store_full(sv->store) || sv->store_full)
		return;
	snprintf(path, sizeof path, "%s/reserve", sv->conf.state_dir);
	unlink(path);
	units_format_size(sv->conf.state_reserve, size, sizeof size);
	log_warnx("%s is full: freed its %s reserve to record running jobs; "
		  "refusing submissions and holding queued jobs until there "
		  "is room",
		  sv->conf.state_dir, size);
	sv->store_full = true;
	ops_set_intake(sv->ops, OPS_FULL);
	sv->next_space_check_ns = clock_mono_ns() + NS_PER_SEC;
}

static void
sv_check_space(struct supervisor *sv, int64_t now)
{
	uint64_t avail, want = 2 * sv->conf.state_reserve + (1 << 20);
	char size[32];
	struct statvfs vfs;

	sv->next_space_check_ns = now + NS_PER_SEC;
	if (statvfs(sv->conf.state_dir, &vfs) == -1)
		return;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail < want || sv_reserve_make(&sv->conf) == -1)
		return;
	units_format_size(avail, size, sizeof size);
	log_info("%s has room again (%s free): taking submissions",
		 sv->conf.state_dir, size);
	sv->store_full = false;
	ops_set_intake(sv->ops, OPS_OPEN);
	sv->next_space_check_ns = 0;
}

/* The worklists jobs.c leaves: each end is told to its waiters, its
 * on-finish commands and its dependents; a dependent cancelled for it
 * is one more end on the same list, so a chain unwinds here, in a loop.
 * Drained before the turn's commit, whose writes they are part of. */
static void
sv_drain(struct supervisor *sv)
{
	struct jobs_end end;
	uint64_t id;
	bool more = true;

	while (more) {
		more = false;
		while (jobs_next_unsettled(sv->jobs, &id)) {
			after_settle(sv->after, id);
			more = true;
		}
		while (jobs_next_end(sv->jobs, &end)) {
			/* A cluster node's waiters hear of it once the
			 * database has it (cluster_cb.ended). */
			if (sv->cluster != NULL)
				cluster_ended(sv->cluster, end.id);
			else
				watch_job_final(sv->watch, end.id, &end.result);
			after_job_ended(sv->after, end.id, end.own_hook);
			more = true;
		}
	}
}

int
sv_init(struct supervisor *sv, const struct conf *conf, const char *conf_path,
	const cpu_set_t *allowed)
{
	char err[CONF_ERROR_MAX];
	long ncpu;
	int fd;

	memset(sv, 0, sizeof *sv);
	sv->scope = (struct manager_scope){.keeper = -1, .keeper_fd = -1};
	sv->conf = *conf;
	sv->conf_path = conf_path;
	sv->allowed = *allowed;
	sv->ready_fd = -1;
	ev_io_set(&sv->signals, -1, sv_on_signal, sv);
	ev_io_set(&sv->timer, -1, sv_on_timer, sv);

	/* As many entries as the machine can have CPUs, so that a reload
	 * widening the CPU list never needs a new mapping. */
	ncpu = sysconf(_SC_NPROCESSORS_CONF);
	if (ncpu < CPU_COUNT(allowed))
		ncpu = CPU_COUNT(allowed);
	if (ncpu > CPU_SETSIZE)
		ncpu = CPU_SETSIZE;

	if (conf_access_policy(conf, &sv->access, err, sizeof err) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	sv->limits = (struct job_limits){
	    .argv_max = conf->argv_max,
	    .argv_bytes_max = conf->argv_bytes_max,
	    .env_bytes_max = conf->env_bytes_max,
	    .batch_max = conf->batch_max,
	    .name_max = conf->name_max,
	};
	if (sv_state_dir(conf->state_dir) == -1)
		return -1;
	/* Before anything is made: a database that cannot be reached, or
	 * is of a newer schema, stops forqd at once with the reason. */
	if (conf->backend == CONF_BACKEND_POSTGRESQL &&
	    (sv->node = node_join(conf, sv_node_cpus(sv), SV_JOIN_TIMEOUT_S)) ==
		NULL)
		return -1;
	if (sv_reserve_make(conf) == -1) {
		log_warn("%s/reserve: cannot keep %llu bytes free",
			 conf->state_dir,
			 (unsigned long long)conf->state_reserve);
		sv->store_full = true;
		sv->next_space_check_ns = clock_mono_ns() + NS_PER_SEC;
	}
	sv_raise_nofile(conf);
	if (shm_create(&sv->shm, (uint32_t)ncpu, conf->slots,
		       conf->argv_bytes_max + conf->env_bytes_max + PATH_MAX) ==
	    -1) {
		log_warn("mmap shared memory");
		return -1;
	}
	/* Before any cgroup is cleared, job recovered or worker forked:
	 * what a previous forqd's workers still run is theirs to go on. */
	if ((sv->orphans = calloc((size_t)ncpu, sizeof *sv->orphans)) == NULL) {
		log_warn("workers");
		return -1;
	}
	sv->norphans =
	    orphans_adopt(&sv->conf, &sv->shm, sv->orphans, (size_t)ncpu);
	sv_cgroups(sv);
	if (ev_loop_init(&sv->loop) == -1) {
		log_warn("epoll_create1");
		return -1;
	}
	if (sv_setup_signals(sv) == -1) {
		log_warn("signals");
		return -1;
	}
	if ((fd = ev_timer_open()) == -1) {
		log_warn("timerfd_create");
		return -1;
	}
	ev_io_set(&sv->timer, fd, sv_on_timer, sv);
	if (ev_add(&sv->loop, &sv->timer, EPOLLIN) == -1) {
		log_warn("epoll_ctl");
		return -1;
	}
	if (sv->conf.backend == CONF_BACKEND_POSTGRESQL &&
	    sv_start_node(sv) == -1)
		return -1;
	if (sv_open_clients(sv) == -1 || sv_open_jobs(sv) == -1)
		return -1;
	/* What a previous forqd left is settled and committed before any
	 * client is answered. */
	if (sv_take_orphans(sv) == -1)
		return -1;
	sv_drain(sv);
	if (store_commit(sv->store) == -1) {
		log_warnx("store: %s", store_error(sv->store));
		return -1;
	}
	jobs_turn_committed(sv->jobs, true);
	/* Jobs whose worker dies are inherited here, not by init. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl(PR_SET_CHILD_SUBREAPER)");
	if ((sv->watchdog_ns = notify_watchdog_interval()) > 0)
		sv->next_watchdog_ns = clock_mono_ns();
	return 0;
}

static void
sv_update_timer(struct supervisor *sv)
{
	int64_t next = workers_next_deadline(sv->workers);
	int64_t at = jobs_next_deadline(sv->jobs);

	if (at != 0 && (next == 0 || at < next))
		next = at;
	at = adopted_next_deadline(sv->adopted);
	if (at != 0 && (next == 0 || at < next))
		next = at;
	at = draining_next_deadline(sv->draining);
	if (at != 0 && (next == 0 || at < next))
		next = at;
	at = running_next_deadline(sv->running);
	if (at != 0 && (next == 0 || at < next))
		next = at;
	if (sv->stopping && !sv->killed_at_deadline &&
	    (next == 0 || sv->stop_deadline_ns < next))
		next = sv->stop_deadline_ns;
	at = listener_next_deadline(sv->listener);
	if (at != 0 && (next == 0 || at < next))
		next = at;
	if (sv->next_watchdog_ns != 0 &&
	    (next == 0 || sv->next_watchdog_ns < next))
		next = sv->next_watchdog_ns;
	at = control_next_deadline(sv->control);
	if (at != 0 && (next == 0 || at < next))
		next = at;
	if (sv->store_full && (next == 0 || sv->next_space_check_ns < next))
		next = sv->next_space_check_ns;
	if (sv->store_retry_ns != 0 && (next == 0 || sv->store_retry_ns < next))
		next = sv->store_retry_ns;
	if (next == sv->timer_armed_ns)
		return;
	if (ev_timer_arm(sv->timer.fd, next) == -1)
		fatal("timerfd_settime");
	sv->timer_armed_ns = next;
}

/* Stop's last resort. Workers let go are not this forqd's any more,
 * nor their jobs: only what it still holds is killed. */
static void
sv_kill_all(struct supervisor *sv, const char *why)
{
	workers_kill_all(sv->workers, why);
	if (sv->stop_how != OPS_STOP_LEAVE)
		draining_end_all(sv->draining, true);
	if (sv->stop_how == OPS_STOP_LEAVE)
		adopted_kill_all(sv->adopted);
	else
		running_kill_all(sv->running);
}

static void
sv_on_timer(struct ev_io *io, uint32_t events)
{
	struct supervisor *sv = io->arg;
	char grace[32];
	int64_t now = clock_mono_ns();

	ev_timer_drain(io->fd);
	sv->timer_armed_ns = 0;
	if (sv->stopping && !sv->killed_at_deadline &&
	    now >= sv->stop_deadline_ns) {
		sv->killed_at_deadline = true;
		units_format_duration(sv->conf.stop_grace_ms, grace,
				      sizeof grace);
		char why[64];
		snprintf(why, sizeof why, "not stopped within stop_grace (%s)",
			 grace);
		sv_kill_all(sv, why);
	}
	/* The loop turns, so the supervisor is alive: tell the watchdog. */
	if (sv->next_watchdog_ns != 0 && now >= sv->next_watchdog_ns) {
		notify_watchdog();
		sv->next_watchdog_ns = now + sv->watchdog_ns;
	}
	listener_check(sv->listener, now);
	control_check(sv->control, now);
	if (sv->store_full && now >= sv->next_space_check_ns)
		sv_check_space(sv, now);
	/* This turn's commit is the retry. */
	if (sv->store_retry_ns != 0 && now >= sv->store_retry_ns)
		sv->store_retry_ns = 0;
	workers_check(sv->workers, now);
	adopted_check(sv->adopted, now);
	draining_check(sv->draining, now);
	running_check(sv->running, now);
	jobs_check(sv->jobs, now);
}

static void
sv_stop(struct supervisor *sv, enum ops_stop how, const char *why)
{
	static const char *const what[] =
	    {[OPS_STOP_LEAVE] = "running jobs stay for the next forqd",
	     [OPS_STOP_DRAIN] = "running jobs may end",
	     [OPS_STOP_KILL] = "running jobs are stopped and queued again"};
	char grace[32];

	if (sv->stopping) {
		log_warnx("%s again: killing what is left now", why);
		sv->killed_at_deadline = true;
		sv_kill_all(sv, "second stop signal");
		return;
	}
	/* Nobody would take them on: stopped, and recorded so, now. */
	if (how == OPS_STOP_LEAVE && sv->conf.adopt_timeout_ms == 0)
		how = OPS_STOP_KILL;
	units_format_duration(sv->conf.stop_grace_ms, grace, sizeof grace);
	log_info("%s: stopping (%s; %u running, stop_grace %s)", why, what[how],
		 running_busy(sv->running), grace);
	notify_stopping();
	sv->stopping = true;
	sv->stop_how = how;
	ops_set_intake(sv->ops, OPS_STOPPING);
	if (sv->node != NULL)
		node_leave(sv->node);
	sv->stop_deadline_ns =
	    clock_mono_ns() + sv->conf.stop_grace_ms * NS_PER_MS;
	listener_stop(sv->listener);
	control_close_all(sv->control);
	switch (how) {
	case OPS_STOP_LEAVE:
		/* Idle workers are retired as at any stop. */
		sv->left_workers = running_let_go(sv->running) > 0 ||
				   draining_workers(sv->draining) > 0;
		draining_leave_all(sv->draining);
		workers_retire_all(sv->workers);
		break;
	case OPS_STOP_KILL:
		running_interrupt_all(sv->running);
		draining_end_all(sv->draining, false);
		workers_retire_all(sv->workers);
		break;
	case OPS_STOP_DRAIN:
		workers_retire_all(sv->workers);
		break;
	}
}

/* A stop signal: running jobs are left for the next forqd, unless the
 * machine is going down, when they would not outlive it. */
static void
sv_stop_signal(struct supervisor *sv, const char *signame)
{
	char why[64];
	bool down = !sv->stopping && manager_stopping();

	snprintf(why, sizeof why, "%s received%s", signame,
		 down ? " as the system shuts down" : "");
	sv_stop(sv, down ? OPS_STOP_KILL : OPS_STOP_LEAVE, why);
}

/* A reload that changes the endpoint listens anew, as nginx does; where
 * it cannot, the old one stays, with its settings. */
static void
sv_reload_metrics(struct supervisor *sv, struct conf *next)
{
	struct httpd *h;

	if (strcmp(sv->conf.metrics_listen, next->metrics_listen) == 0 &&
	    sv->conf.metrics_clients_max == next->metrics_clients_max &&
	    sv->conf.metrics_timeout_ms == next->metrics_timeout_ms)
		return;
	/* The same address cannot be bound twice: the old one goes first,
	 * and comes back if the new one fails. */
	httpd_close(sv->httpd);
	sv->httpd = NULL;
	if (sv_open_metrics(sv, next, &h) == 0) {
		sv->httpd = h;
		if (h == NULL)
			log_info("metrics endpoint closed");
		return;
	}
	log_warnx("keeping metrics_listen = %s", sv->conf.metrics_listen);
	strlcpy(next->metrics_listen, sv->conf.metrics_listen,
		sizeof next->metrics_listen);
	next->metrics_clients_max = sv->conf.metrics_clients_max;
	next->metrics_timeout_ms = sv->conf.metrics_timeout_ms;
	if (sv_open_metrics(sv, next, &sv->httpd) == -1)
		log_warnx("metrics endpoint lost");
}

/* Settings bound to resources made at start keep their old value. */
static void
sv_keep_fixed(struct supervisor *sv, struct conf *next)
{
	static const struct {
		const char *name;
		size_t offset;
		size_t size;
	} fixed[] = {
#define FIXED(m) {#m, offsetof(struct conf, m), sizeof(((struct conf *)0)->m)}
	    FIXED(socket),     FIXED(socket_mode),    FIXED(socket_group),
	    FIXED(state_dir),  FIXED(pidfile),        FIXED(slots),
	    FIXED(durability), FIXED(argv_bytes_max), FIXED(env_bytes_max),
	    FIXED(res),
#undef FIXED
	};
	size_t i;

	for (i = 0; i < nitems(fixed); i++) {
		if (memcmp((char *)&sv->conf + fixed[i].offset,
			   (char *)next + fixed[i].offset, fixed[i].size) == 0)
			continue;
		log_warnx("%s: changing %s needs a restart; keeping the "
			  "current value",
			  next->path, fixed[i].name);
		memcpy((char *)next + fixed[i].offset,
		       (char *)&sv->conf + fixed[i].offset, fixed[i].size);
	}
}

static void
sv_reload(struct supervisor *sv)
{
	char err[CONF_ERROR_MAX], list[256];
	struct access_policy access;
	struct conf next;
	cpu_set_t allowed, planned;
	int cpus[CPU_SETSIZE];
	size_t n, i;

	notify_reloading();
	log_info("SIGHUP received: reloading %s",
		 sv->conf_path != NULL ? sv->conf_path : "(built-in defaults)");
	conf_defaults(&next, geteuid(), getenv("XDG_RUNTIME_DIR"),
		      getenv("XDG_STATE_HOME"), getenv("HOME"));
	if (sched_getaffinity(0, sizeof allowed, &allowed) == -1)
		allowed = sv->allowed;
	if ((sv->conf_path != NULL &&
	     conf_load_file(&next, sv->conf_path, err, sizeof err) == -1) ||
	    conf_check(&next, &allowed, err, sizeof err) == -1 ||
	    conf_access_policy(&next, &access, err, sizeof err) == -1 ||
	    cpus_plan(&allowed, next.cpus, cpus, nitems(cpus), &n, err,
		      sizeof err) == -1) {
		log_warnx("%s", err);
		log_warnx("reload failed; keeping the current configuration");
		notify_ready();
		return;
	}
	sv_keep_fixed(sv, &next);
	sv_reload_metrics(sv, &next);
	sv->conf = next;
	store_set_sync_delay(sv->store, sv_sync_delay_ms(sv, &next));
	sv->access = access;
	sv->allowed = allowed;
	sv->limits.argv_max = next.argv_max;
	sv->limits.batch_max = next.batch_max;
	sv->limits.name_max = next.name_max;
	log_set_level(next.log_level);
	if (jobs_apply_queues(sv->jobs) == -1)
		log_warn("queues");
	workers_reload(sv->workers, cpus, n);
	CPU_ZERO(&planned);
	for (i = 0; i < n; i++)
		CPU_SET(cpus[i], &planned);
	cpus_format(&planned, list, sizeof list);
	log_info("configuration reloaded; workers on cpus %s", list);
	notify_ready();
}

/* SIGCHLD: as subreaper forqd inherits whatever jobs leave behind.
 * Workers and adopted jobs are reaped by their own modules (which need
 * their status and rusage); any other child is reaped here. */
static void
sv_reap_children(struct supervisor *sv)
{
	siginfo_t si;
	pid_t last = 0;

	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 ||
		    si.si_pid == 0 || si.si_pid == last)
			return; /* none left, or a handler could not reap it */
		last = si.si_pid;
		if (workers_reap_pid(sv->workers, si.si_pid) ||
		    adopted_reap_pid(sv->adopted, si.si_pid))
			continue;
		waitpid(si.si_pid, NULL, WNOHANG);
		log_debug("reaped pid %d, left behind by a job",
			  (int)si.si_pid);
	}
}

static void
sv_on_signal(struct ev_io *io, uint32_t events)
{
	struct supervisor *sv = io->arg;
	struct signalfd_siginfo si;

	while (read(io->fd, &si, sizeof si) == sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
			sv_stop_signal(sv, "SIGTERM");
			break;
		case SIGINT:
			sv_stop_signal(sv, "SIGINT");
			break;
		case SIGHUP:
			if (!sv->stopping)
				sv_reload(sv);
			break;
		case SIGCHLD:
			sv_reap_children(sv);
			break;
		}
	}
}

/* STATUS= for systemctl status: sent only when it changes. */
static void
sv_update_status(struct supervisor *sv, uint32_t ready, uint32_t planned)
{
	char status[sizeof sv->status];

	snprintf(status, sizeof status,
		 "%u of %u workers ready, %zu jobs queued, %u running", ready,
		 planned, runq_ready(jobs_runq(sv->jobs)),
		 running_busy(sv->running));
	if (strcmp(status, sv->status) == 0)
		return;
	strlcpy(sv->status, status, sizeof sv->status);
	notify_status("%s", status);
}

/* Ready once every planned worker is up, or held back by its policy. */
static void
sv_check_ready(struct supervisor *sv)
{
	uint32_t planned, ready = workers_ready(sv->workers);
	bool settled = workers_settled(sv->workers, &planned);

	sv_update_status(sv, ready, planned);
	if (sv->announced || !settled || sv->stopping)
		return;
	sv->announced = true;
	log_info("ready: %u of %u workers, listening on %s", ready, planned,
		 listener_path(sv->listener));
	notify_ready();
	daemonize_done(sv->ready_fd);
	sv->ready_fd = -1;
}

/* What is committed is made durable before anything is told of it; a
 * turn that tells nothing (jobs started and ended, no one waiting)
 * leaves it to the next that does, or to the loop going idle: under
 * load, many turns share one fsync. */
static void
sv_sync(struct supervisor *sv)
{
	if (store_sync(sv->store) == -1)
		fatalx("store: %s; what was stored since the last sync may be "
		       "lost, so nothing of it is acknowledged: stopping, as "
		       "PostgreSQL does when fsync fails",
		       store_error(sv->store));
}

/* One wait for events; when the loop is idle, the disk catches up,
 * within sync_delay of its last sync. */
static int
sv_wait(struct supervisor *sv, bool at_once)
{
	int n, due;

	if (at_once ||
	    (due = store_sync_due_ms(sv->store, clock_mono_ns())) == -1)
		return ev_run_once(&sv->loop, at_once ? 0 : -1);
	if ((n = ev_run_once(&sv->loop, due)) != 0)
		return n;
	sv_sync(sv);
	return ev_run_once(&sv->loop, -1);
}

int
sv_run(struct supervisor *sv)
{
	char err[CONF_ERROR_MAX];
	int cpus[CPU_SETSIZE];
	bool committed, unstarted, again = false;
	size_t n;

	if (cpus_plan(&sv->allowed, sv->conf.cpus, cpus, nitems(cpus), &n, err,
		      sizeof err) == -1) {
		log_warnx("cpus: %s", err);
		return -1;
	}
	workers_apply_plan(sv->workers, cpus, n);
	/* Settled already if every CPU is held by a draining worker. */
	sv_check_ready(sv);
	sv_update_timer(sv);
	while (!sv->stopping || workers_live(sv->workers) > 0 ||
	       adopted_count(sv->adopted) > 0 ||
	       draining_workers(sv->draining) > 0 ||
	       (sv->node != NULL && node_leaving(sv->node))) {
		/* Jobs released by the last commit are dispatched by the
		 * next turn, which then comes at once. */
		if (sv_wait(sv, again) == -1)
			fatal("epoll_wait");
		adopted_end_turn(sv->adopted);
		sv_drain(sv);
		if (!sv->stopping) {
			after_dispatch_hooks(sv->after);
			if (!sv->store_full &&
			    (sv->cluster == NULL || cluster_ready(sv->cluster)))
				running_dispatch(sv->running);
			/* Jobs refused a slot ended just now. */
			sv_drain(sv);
		}
		/* One commit for the whole turn: submissions, ends, and the
		 * running marks of the jobs dispatched. Only then do replies
		 * go, and starts: see running_start_later. */
		committed = store_commit(sv->store) == 0;
		unstarted = running_starts_committed(sv->running, committed);
		draining_committed(sv->draining, committed);
		/* Jobs submitted or released this turn may run once stored,
		 * not before: a failed commit refuses them to their client.
		 * (Settled before sv_store_failed, whose recount releases
		 * waiting jobs again, into the next turn.) */
		again = jobs_turn_committed(sv->jobs, committed);
		if (!committed)
			sv_store_failed(sv);
		else if (!store_dirty(sv->store))
			sv->store_retry_ms = 0;
		/* Starts go out once the commit is written; replies once it
		 * is on disk. The fsync runs while workers start. On a
		 * cluster node a reply tells of PostgreSQL's commits, not of
		 * this store's (sv_sync_delay_ms). */
		workers_flush_all(sv->workers);
		if (control_replies_due(sv->control) && sv->node == NULL)
			sv_sync(sv);
		control_end_turn(sv->control,
				 committed ? NULL : store_error(sv->store),
				 store_full(sv->store));
		/* The turn's ends are on this node's disk: now the cluster's
		 * record may have them. */
		if (sv->cluster != NULL)
			cluster_end_turn(sv->cluster);
		/* After a failed commit the next try waits for an event. */
		if (unstarted)
			again = false;
		if (sv->stop_asked) {
			sv->stop_asked = false;
			sv_stop(sv, sv->stop_asked_how, "forq shutdown");
		}
		sv_check_ready(sv);
		sv_update_timer(sv);
	}
	listener_stop(sv->listener);
	log_info("stopped");
	return 0;
}

void
sv_free(struct supervisor *sv)
{
	listener_close(sv->listener);
	httpd_close(sv->httpd);
	/* Clients first: each one's waits go with it. */
	control_free(sv->control);
	watch_free(sv->watch);
	later_free(sv->later);
	ops_free(sv->ops);
	cluster_free(sv->cluster);
	node_free(sv->node);
	after_free(sv->after);
	running_free(sv->running);
	draining_free(sv->draining);
	workers_free(sv->workers);
	adopted_free(sv->adopted);
	jobs_free(sv->jobs);
	store_close(sv->store);
	manager_scope_close(&sv->scope);
	/* The workers are gone, and with them every job's processes; or
	 * some were let go, and their slots' groups, open in them, stay
	 * (an empty one could be removed from under its worker). */
	if (!sv->left_workers)
		cg_destroy(&sv->cg);
	if (sv->timer.fd != -1)
		close(sv->timer.fd);
	if (sv->signals.fd != -1)
		close(sv->signals.fd);
	ev_loop_close(&sv->loop);
	shm_destroy(&sv->shm);
	free(sv->orphans);
}
