/*
 * The supervisor's loop: signals through a signalfd, one timerfd armed
 * for the nearest deadline, the listener, the clients, one pidfd and one
 * channel per worker. Stop, reload and readiness live here.
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "cluster/node.h"
#include "common/array.h"
#include "common/clock.h"
#include "common/compat.h"
#include "common/log.h"
#include "common/path.h"
#include "common/units.h"
#include "core/cpus.h"
#include "core/runq.h"
#include "ipc/orphan.h"
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
#include "supervisor/notify.h"
#include "ops/ops.h"
#include "ops/ops_common.h"
#include "ops/ops_metrics.h"
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

/* Job output and the store are private: an existing state directory
 * that its group or others may read is closed to them. */
static int
sv_state_dir(const char *dir)
{
	static const char *const subs[] = {ORPHAN_SOCK_DIR, ORPHAN_ENDS_DIR};
	char err[CONF_ERROR_MAX], sub[PATH_MAX + 16];
	struct stat st;
	int i;

	if (path_mkdir_p(dir, 0700, err, sizeof err) == -1) {
		log_warnx("state_dir: %s", err);
		return -1;
	}
	if (stat(dir, &st) == -1) {
		log_warn("state_dir: %s", dir);
		return -1;
	}
	if ((st.st_mode & 0077) != 0) {
		log_warnx("state_dir: %s was open to others (mode %04o); "
			  "closing it",
			  dir, (unsigned)(st.st_mode & 07777));
		if (chmod(dir, st.st_mode & 07700) == -1) {
			log_warn("state_dir: chmod %s", dir);
			return -1;
		}
	}
	/* Where a worker whose forqd died waits, and writes the ends it
	 * could not report (ipc/orphan.h). */
	for (i = 0; i < 2; i++) {
		snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
		if (mkdir(sub, 0700) == -1 && errno != EEXIST) {
			log_warn("state_dir: %s", sub);
			return -1;
		}
	}
	return 0;
}

/* Every client costs a descriptor: take the hard limit, as nginx's
 * worker_rlimit_nofile would. Jobs get [jobs] limit_nofile. */
static void
sv_raise_nofile(const struct conf *conf)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		return;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit(RLIMIT_NOFILE)");
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)conf->connections_max + 256)
		log_warnx("RLIMIT_NOFILE is %llu: too low for connections_max "
			  "(%u) and forqd's own descriptors",
			  (unsigned long long)rl.rlim_cur,
			  conf->connections_max);
}

/* The reserve: state_reserve bytes of state_dir held as a file, freed
 * when the disk fills so that what is running can still be recorded. */
static int
sv_reserve_make(const struct conf *conf)
{
	char path[PATH_MAX + 16];
	int fd, rc;

	snprintf(path, sizeof path, "%s/reserve", conf->state_dir);
	if (conf->state_reserve == 0) {
		unlink(path);
		return 0;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		       0600)) == -1)
		return -1;
	rc = posix_fallocate(fd, 0, (off_t)conf->state_reserve);
	close(fd);
	if (rc != 0) {
		unlink(path);
		errno = rc;
		return -1;
	}
	return 0;
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

/* Control knows the transport; what a request means is ops', and what
 * a client waited for, watch's. */
static json_t *
sv_on_request(void *arg, struct client *c, const struct request *req)
{
	struct supervisor *sv = arg;

	return ops_handle(sv->ops, c, req);
}

static bool
sv_client_waiting(void *arg, struct client *c)
{
	struct supervisor *sv = arg;

	return watch_pending(sv->watch, c) > 0 ||
	       later_pending(sv->later, c) > 0;
}

static void
sv_client_gone(void *arg, struct client *c)
{
	struct supervisor *sv = arg;

	watch_client_gone(sv->watch, c);
	later_client_gone(sv->later, c);
}

static uint32_t
sv_busy(void *arg)
{
	struct supervisor *sv = arg;

	return sv->running != NULL ? running_busy(sv->running) : 0;
}

static void
sv_node_lost(void *arg)
{
	struct supervisor *sv = arg;

	if (sv->cluster != NULL)
		cluster_lease_lost(sv->cluster);
}

/* For the workers, should this forqd die: they keep their jobs no
 * longer than the lease (shm.h). */
static void
sv_node_renewed(void *arg, int64_t until_ns)
{
	struct supervisor *sv = arg;

	shm_set_lease_until(sv->shm.header, until_ns);
}

static void
sv_node_up(void *arg)
{
	struct supervisor *sv = arg;

	if (sv->cluster != NULL)
		cluster_up(sv->cluster);
}

/* How many jobs this node runs at once: a slot each, of those open
 * (slots_adapt); a worker counts for its share of them. */
static uint32_t
sv_room(void *arg, uint32_t *per_worker)
{
	struct supervisor *sv = arg;
	uint32_t room = running_room(sv->running);
	uint32_t ready = workers_ready(sv->workers);

	*per_worker = ready > 0 && room >= ready ? room / ready : 1;
	if (sv->stopping || sv->store_full)
		return 0;
	return room;
}

/* A gang's workers are held to it by a cpuset: without one, a job has
 * one CPU here, as a submission here is told; and memory is held to
 * --mem by a job's cgroup. Without mem_max, as on one host, any --mem
 * is this node's. */
static void
sv_fits(void *arg, uint32_t *cpus, uint64_t *mem)
{
	struct supervisor *sv = arg;

	*cpus = cg_has_cpuset(&sv->cg) ? workers_planned(sv->workers) : 1;
	*mem = sv->cg.version == CG_NONE ? 0
	       : sv->conf.mem_max != 0   ? sv->conf.mem_max
					 : JOB_MEM_MAX;
}

static void
sv_res_left(void *arg, uint32_t *left)
{
	struct supervisor *sv = arg;

	jobs_res_left(sv->jobs, left);
}

static int
sv_claimed(void *arg, const struct store_job *job)
{
	struct supervisor *sv = arg;

	return jobs_claimed(sv->jobs, job);
}

/* Asked on some node: a job that runs here, or is queued here. */
static void
sv_cluster_cancel(void *arg, uint64_t id)
{
	struct supervisor *sv = arg;
	enum job_state state;

	if (!running_cancel(sv->running, id))
		(void)jobs_cancel(sv->jobs, id, &state);
}

static bool
sv_wanted(void *arg, uint64_t id)
{
	struct supervisor *sv = arg;

	return watch_wanted(sv->watch, id);
}

static int
sv_waited(void *arg, uint64_t **ids, size_t *n)
{
	struct supervisor *sv = arg;

	return watch_jobs_waited(sv->watch, ids, n);
}

static void
sv_cluster_ended(void *arg, uint64_t id, const struct job_result *r)
{
	struct supervisor *sv = arg;

	watch_job_final(sv->watch, id, r);
}

static void
sv_pruned(void *arg, uint64_t id)
{
	struct supervisor *sv = arg;

	jobs_remove_logs(sv->jobs, id);
}

/* Its on-finish commands still to start read the job from the store. */
static void
sv_cluster_forget(void *arg, uint64_t id)
{
	struct supervisor *sv = arg;

	if (!after_forget_later(sv->after, id) &&
	    store_forget(sv->store, id) == STORE_FAILED)
		log_warnx("store: %s", store_error(sv->store));
}

static int
sv_open_cluster(struct supervisor *sv)
{
	struct cluster_cb cb = {.room = sv_room,
				.fits = sv_fits,
				.res_left = sv_res_left,
				.claimed = sv_claimed,
				.cancel = sv_cluster_cancel,
				.wanted = sv_wanted,
				.waited = sv_waited,
				.ended = sv_cluster_ended,
				.forget = sv_cluster_forget,
				.pruned = sv_pruned,
				.arg = sv};

	jobs_set_outbox(sv->jobs);
	sv->cluster = cluster_new(&sv->loop, &sv->conf, &sv->limits, sv->store,
				  sv->node, &cb);
	if (sv->cluster == NULL) {
		log_warn("cluster");
		return -1;
	}
	return cluster_load(sv->cluster);
}

/* The node's life on the loop: its lease, its connection. */
static int
sv_start_node(struct supervisor *sv)
{
	struct node_cb cb = {.busy = sv_busy,
			     .fits = sv_fits,
			     .up = sv_node_up,
			     .lost = sv_node_lost,
			     .renewed = sv_node_renewed,
			     .arg = sv};

	if (node_start(sv->node, &sv->loop, &cb) == -1) {
		log_warn("node");
		return -1;
	}
	return 0;
}

/* The CPUs this node offers the cluster, as forq nodes shows them. */
static uint32_t
sv_node_cpus(const struct supervisor *sv)
{
	char err[CONF_ERROR_MAX];
	int cpus[CPU_SETSIZE];
	size_t n;

	if (cpus_plan(&sv->allowed, sv->conf.cpus, cpus, nitems(cpus), &n, err,
		      sizeof err) == -1)
		return 0;
	return (uint32_t)n;
}

static void
sv_on_accept(void *arg, int fd)
{
	control_accept(arg, fd);
}

/* What a worker says of its slots is the running map's to settle. */
static void
sv_job_started(void *arg, int w, const struct ch_started *st)
{
	struct supervisor *sv = arg;

	running_on_started(sv->running, w, st);
}

static void
sv_job_done(void *arg, int w, const struct ch_slot *done)
{
	struct supervisor *sv = arg;

	running_on_done(sv->running, w, done);
}

static void
sv_worker_died(void *arg, int w)
{
	struct supervisor *sv = arg;

	running_worker_died(sv->running, w);
}

static void
sv_adopted_gone(void *arg, int w, uint32_t s)
{
	struct supervisor *sv = arg;

	running_adopted_gone(sv->running, w, s);
}

/* Under systemd, the workers and the jobs' cgroups go in a scope of
 * their own (manager.h says why), named as the subtree is. Without it
 * (a manager that refuses), forqd's own cgroup serves, as it is
 * delegated too; but then, on cgroup v2, a restart with jobs still
 * running fails (systemd cannot put the new forqd in a cgroup that
 * hands controllers down), and forqd says so. */
static int
sv_scope(struct supervisor *sv, const char *instance)
{
	char unit[64], err[PATH_MAX + 128];

	snprintf(unit, sizeof unit, "%s.scope", instance);
	if (manager_scope(unit, &sv->scope, err, sizeof err) == -1) {
		log_warnx("no scope of its own for the workers and jobs (%s): "
			  "they share forqd's cgroup, and on cgroup v2 a "
			  "restart with jobs running will fail",
			  err);
		return -1;
	}
	log_info("workers and jobs in %s (%s)%s", unit, sv->scope.cgroup,
		 sv->scope.existed ? ", as a previous forqd left it" : "");
	return 0;
}

/* The jobs' cgroups: forqd's subtree, named after its state directory
 * so that two forqds never share one. Under systemd, forqd's own
 * cgroup is delegated to it (Delegate=yes); as root outside it, the
 * subtree hangs from each hierarchy's root; an ordinary user outside
 * systemd has none to write. */
static void
sv_cgroups(struct supervisor *sv)
{
	char err[PATH_MAX + 128], instance[32], dir[PATH_MAX];
	bool delegated = getenv("INVOCATION_ID") != NULL;
	bool keep[CPU_SETSIZE] = {false};
	size_t i;
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *p;

	if (realpath(sv->conf.state_dir, dir) == NULL)
		strlcpy(dir, sv->conf.state_dir, sizeof dir);
	for (p = dir; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	snprintf(instance, sizeof instance, "forq-%016llx",
		 (unsigned long long)h);
	if (!delegated && geteuid() != 0) {
		sv->cg.version = CG_NONE;
		log_info("job cgroups: none (not root, and no cgroup "
			 "delegated by systemd); jobs run without one");
		return;
	}
	if (delegated && sv_scope(sv, instance) == 0) {
		cg_detect_at(&sv->cg, "/proc/self/mountinfo", sv->scope.cgroup,
			     instance, err, sizeof err);
		if (cg_scope_enter(&sv->cg, sv->scope.keeper) == -1)
			log_warn("%s: the scope's keeper (pid %d)",
				 sv->scope.cgroup, (int)sv->scope.keeper);
	} else
		cg_detect(&sv->cg, "/proc/self/mountinfo", "/proc/self/cgroup",
			  delegated, instance, err, sizeof err);
	/* The jobs of workers taken on live in their slots' groups. */
	for (i = 0; i < sv->norphans; i++)
		keep[sv->orphans[i].index] = true;
	if (sv->cg.version != CG_NONE &&
	    cg_create(&sv->cg, keep, nitems(keep), err, sizeof err) == -1)
		sv->cg.version = CG_NONE;
	if (sv->cg.version == CG_NONE) {
		log_warnx("job cgroups: none (%s); jobs run without one", err);
		return;
	}
	log_info("job cgroups: %s, under %s", cg_version_name(sv->cg.version),
		 sv->cg.base[CG_MEMORY]);
	if (sv->cg.base[CG_DEVICES][0] != '\0')
		log_info("job cgroups: a job opens only its own GPUs (the "
			 "devices controller)");
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

/* The store, the state directory's logs and the modules over them;
 * what a previous forqd left is settled and committed before any
 * client is answered. */
/* The workers taken on, and their jobs, are this forqd's; the jobs
 * they hold are kept running when the rest is recovered. */
static int
sv_take_orphans(struct supervisor *sv)
{
	const struct slot *slot;
	uint64_t *keep;
	size_t i, k, n = 0, cap = 1;
	uint32_t s;
	int rc;

	for (i = 0; i < sv->norphans; i++)
		cap += sv->orphans[i].drain
			   ? sv->orphans[i].njobs
			   : 2 * (size_t)sv->shm.slots_per_worker;
	if ((keep = calloc(cap, sizeof *keep)) == NULL) {
		log_warn("workers");
		return -1;
	}
	for (i = 0; i < sv->norphans; i++) {
		/* A drained worker's jobs run on; not its slots here. */
		if (sv->orphans[i].drain) {
			for (k = 0; k < sv->orphans[i].njobs; k++)
				keep[n++] = sv->orphans[i].jobs[k].id;
			continue;
		}
		workers_take(sv->workers, &sv->orphans[i]);
		running_take_worker(sv->running, sv->orphans[i].index);
		for (s = 0; s < sv->shm.slots_per_worker; s++) {
			slot = shm_slot(&sv->shm,
					(uint32_t)sv->orphans[i].index, s);
			if (slot->state != SLOT_FREE)
				keep[n++] = slot->job_id;
			if (slot->last.job_id != 0)
				keep[n++] = slot->last.job_id;
		}
	}
	array_sort_ids(keep, n);
	rc = jobs_load(sv->jobs, keep, n);
	free(keep);
	for (i = 0; i < sv->norphans; i++) {
		if (sv->orphans[i].drain && rc == 0)
			draining_add(sv->draining, &sv->orphans[i]);
		free(sv->orphans[i].jobs);
		if (sv->orphans[i].drain && sv->orphans[i].chan != -1)
			close(sv->orphans[i].chan);
	}
	free(sv->orphans);
	sv->orphans = NULL;
	return rc;
}

static void
sv_on_shutdown(void *arg, enum ops_stop how)
{
	struct supervisor *sv = arg;

	sv->stop_asked = true;
	sv->stop_asked_how = how;
}

static int
sv_metrics_page(void *arg, struct buf *b)
{
	struct supervisor *sv = arg;

	return ops_metrics_page(sv->ops, b);
}

/* The metrics endpoint as c says, into *out (NULL: none asked); -1
 * (logged) if it cannot listen there. */
static int
sv_open_metrics(struct supervisor *sv, const struct conf *c, struct httpd **out)
{
	char err[512];

	*out = NULL;
	if (c->metrics_listen[0] == '\0')
		return 0;
	if ((*out = httpd_open(&sv->loop, c->metrics_listen,
			       c->metrics_clients_max, c->metrics_timeout_ms,
			       sv_metrics_page, sv, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	log_info("metrics at http://%s/metrics", httpd_where(*out));
	return 0;
}

static int
sv_open_jobs(struct supervisor *sv)
{
	struct workers_cb wcb;
	struct ops_deps deps;
	char err[CONF_ERROR_MAX], logs[PATH_MAX];

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
	store_set_sync_delay(sv->store, sv->conf.sync_delay_ms);
	if ((sv->jobs = jobs_new(&sv->conf, sv->store)) == NULL ||
	    (sv->adopted = adopted_new(&sv->loop, &sv->conf, &sv->cg, sv->jobs,
				       sv_adopted_gone, sv)) == NULL) {
		log_warn("jobs");
		return -1;
	}
	/* The running map sits above the workers and is made after them:
	 * their callbacks reach it through sv. */
	wcb = (struct workers_cb){.started = sv_job_started,
				  .done = sv_job_done,
				  .died = sv_worker_died,
				  .arg = sv};
	if ((sv->workers = workers_new(&sv->loop, &sv->shm, &sv->cg, &sv->conf,
				       &wcb)) == NULL ||
	    (sv->draining = draining_new(&sv->loop, &sv->conf, &sv->cg,
					 sv->jobs, sv->workers)) == NULL ||
	    (sv->running = running_new(&sv->conf, &sv->access, &sv->shm,
				       sv->workers, sv->jobs, sv->adopted,
				       cg_has_cpuset(&sv->cg))) == NULL ||
	    (sv->after = after_new(&sv->conf, &sv->access, sv->store, sv->jobs,
				   sv->running)) == NULL) {
		log_warn("workers");
		return -1;
	}
	if (sv->node != NULL && sv_open_cluster(sv) == -1)
		return -1;
	deps = (struct ops_deps){.conf = &sv->conf,
				 .access = &sv->access,
				 .limits = &sv->limits,
				 .store = sv->store,
				 .jobs = sv->jobs,
				 .running = sv->running,
				 .draining = sv->draining,
				 .watch = sv->watch,
				 .workers = sv->workers,
				 .node = sv->node,
				 .later = sv->later,
				 .cluster = sv->cluster,
				 .cg = &sv->cg,
				 .cgroups = sv->cg.version != CG_NONE,
				 .cpusets = cg_has_cpuset(&sv->cg),
				 .stop = sv_on_shutdown,
				 .stop_arg = sv};
	if ((sv->ops = ops_new(&deps)) == NULL) {
		log_warn("requests");
		return -1;
	}
	if (sv->store_full)
		ops_set_intake(sv->ops, OPS_FULL);
	if (sv_open_metrics(sv, &sv->conf, &sv->httpd) == -1)
		return -1;
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
	return 0;
}

int
sv_init(struct supervisor *sv, const struct conf *conf, const char *conf_path,
	const cpu_set_t *allowed)
{
	struct control_cb control_cb = {.request = sv_on_request,
					.waiting = sv_client_waiting,
					.gone = sv_client_gone,
					.arg = sv};
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
	if ((sv->watch = watch_new()) == NULL ||
	    (sv->later = later_new()) == NULL ||
	    (sv->control = control_new(&sv->loop, &sv->conf, &sv->access,
				       &control_cb)) == NULL) {
		log_warn("clients");
		return -1;
	}
	if ((sv->listener = listener_open(&sv->loop, &sv->conf, sv_on_accept,
					  sv->control, err, sizeof err)) ==
	    NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if (sv_open_jobs(sv) == -1)
		return -1;
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
	store_set_sync_delay(sv->store, next.sync_delay_ms);
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
		 * is on disk. The fsync runs while workers start. */
		workers_flush_all(sv->workers);
		if (control_replies_due(sv->control))
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
