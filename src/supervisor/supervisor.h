/*
 * The supervisor: one process, one epoll loop. It owns the modules that
 * make forqd (the listener, the clients, the workers, the jobs and the
 * store), wires the callbacks by which a lower one tells a higher one,
 * and runs the turn: events, the worklists, dispatch, one commit, then
 * starts and replies. It never runs a job or waits on any single peer.
 */
#ifndef FORQ_SUPERVISOR_H
#define FORQ_SUPERVISOR_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "cgroup/cgroup.h"
#include "common/event.h"
#include "ipc/shm.h"
#include "core/access.h"
#include "core/conf.h"
#include "core/job.h"
#include "supervisor/manager.h"
#include "ops/ops_common.h"

struct pidfh;

struct supervisor {
	struct conf conf;
	const char *conf_path; /* NULL: built-in defaults */
	struct access_policy access;
	struct job_limits limits;
	cpu_set_t allowed;
	struct ev_loop loop;
	struct ev_io signals;
	struct ev_io timer;
	int64_t timer_armed_ns;
	struct shm shm;
	struct cg_tree cg;          /* the jobs' cgroups */
	struct manager_scope scope; /* where the workers and cg live */
	/* Workers of a previous forqd taken on at start, until the
	 * modules are made and told of them. */
	struct orphan_found *orphans;
	size_t norphans;
	struct store *store;
	struct listener *listener;
	struct control *control;
	struct watch *watch;
	struct workers *workers;
	struct jobs *jobs;
	struct adopted *adopted;
	struct draining *draining;
	struct running *running;
	struct after *after;
	struct ops *ops;
	struct httpd *httpd;     /* the metrics endpoint; NULL: none */
	struct later *later;     /* replies waiting on the database */
	struct node *node;       /* backend = postgresql: this cluster node */
	struct cluster *cluster; /* and its shared queue */
	bool store_full;         /* no room: no submits, no dispatch */
	int64_t store_retry_ns;  /* a failed commit's retry; 0: none */
	int64_t store_retry_ms;  /* its backoff */
	int64_t next_space_check_ns;
	bool stopping;
	enum ops_stop stop_how;
	/* Workers were let go with their jobs: their cgroups stay. */
	bool left_workers;
	/* forq shutdown's, acted on once its turn is over */
	bool stop_asked;
	enum ops_stop stop_asked_how;
	bool killed_at_deadline;
	int64_t stop_deadline_ns;
	bool announced;      /* said READY once every worker came up */
	int64_t watchdog_ns; /* interval of WATCHDOG=1; 0: none */
	int64_t next_watchdog_ns;
	char status[160]; /* STATUS= last told to systemd */
	struct pidfh *pidfh;
	int ready_fd; /* -d: tells the waiting parent we are up */
};

int sv_init(struct supervisor *sv, const struct conf *conf,
	    const char *conf_path, const cpu_set_t *allowed);
int sv_run(struct supervisor *sv);
void sv_free(struct supervisor *sv);

#endif
