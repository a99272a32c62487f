/*
 * What the supervisor is made of, made in the order a restart needs:
 * the state directory, the reserve, the jobs' cgroups, the clients'
 * side, then the store and the modules over it, each wired by the
 * callbacks through which it tells the supervisor's other modules
 * what happened. The loop that drives them is supervisor.c's.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "cluster/node.h"
#include "common/array.h"
#include "common/compat.h"
#include "common/log.h"
#include "common/path.h"
#include "core/cpus.h"
#include "ipc/orphan.h"
#include "store/store.h"
#include "engine/adopted.h"
#include "engine/after.h"
#include "engine/draining.h"
#include "engine/jobs.h"
#include "engine/orphans.h"
#include "engine/running.h"
#include "engine/workers.h"
#include "control/control.h"
#include "control/httpd.h"
#include "control/later.h"
#include "control/listener.h"
#include "control/watch.h"
#include "ops/ops.h"
#include "ops/ops_metrics.h"
#include "supervisor/manager.h"
#include "supervisor/modules.h"
#include "supervisor/supervisor.h"

/* Job output and the store are private: an existing state directory
 * that its group or others may read is closed to them. */
int
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
void
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
int
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
	if (sv->cluster != NULL)
		cluster_lease_held(sv->cluster);
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
int
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
uint32_t
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
void
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
	if (sv->cg.version == CG_V1 && sv->cg.base[CG_DEVICES][0] != '\0')
		log_info("job cgroups: a job opens only its own GPUs (the "
			 "devices controller)");
	/* Said only where there are GPUs to keep a job from. */
	if (sv->cg.version == CG_V2 && res_gpu_kind(&sv->conf.res) != -1) {
		if ((sv->cg.devbpf = cg_devbpf_works()))
			log_info(
			    "job cgroups: a job opens only its own GPUs (a "
			    "device program on its group)");
		else
			log_warn("job cgroups: a job may open every GPU, not "
				 "only its own: no device program loads here");
	}
}

/* The workers taken on, and their jobs, are this forqd's; the jobs
 * they hold are kept running when the rest is recovered. */
int
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
int
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

/* The clients' side: requests to ops, waits to watch and later. */
int
sv_open_clients(struct supervisor *sv)
{
	struct control_cb cb = {.request = sv_on_request,
				.waiting = sv_client_waiting,
				.gone = sv_client_gone,
				.arg = sv};
	char err[CONF_ERROR_MAX];

	if ((sv->watch = watch_new()) == NULL ||
	    (sv->later = later_new()) == NULL ||
	    (sv->control =
		 control_new(&sv->loop, &sv->conf, &sv->access, &cb)) == NULL) {
		log_warn("clients");
		return -1;
	}
	if ((sv->listener = listener_open(&sv->loop, &sv->conf, sv_on_accept,
					  sv->control, err, sizeof err)) ==
	    NULL) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

/* A cluster node's own store keeps the jobs it claimed, for the next
 * forqd; what a client is told there is PostgreSQL's commit, and a job
 * lost with a power cut comes back from there (its claim's lease). So
 * its commits are synced once a second at most: an fsync every
 * sync_delay, the loop idling on each round trip to the database, was
 * a tenth of a claiming node's CPU. */
int64_t
sv_sync_delay_ms(const struct supervisor *sv, const struct conf *c)
{
	if (sv->node != NULL)
		return CLUSTER_STORE_SYNC_MS;
	return c->sync_delay_ms;
}

/* The store, the state directory's logs and the modules over them. */
int
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
	store_set_sync_delay(sv->store, sv_sync_delay_ms(sv, &sv->conf));
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
	return 0;
}
