/*
 * The supervisor: one process, one epoll loop. It owns the listening
 * socket, the clients, the scoreboard and the worker records, and never
 * runs a job or waits on any single peer.
 */
#ifndef FORQ_SUPERVISOR_H
#define FORQ_SUPERVISOR_H

#include <sys/queue.h>
#include <sys/types.h>

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buffer.h"
#include "common/channel.h"
#include "common/event.h"
#include "daemon/conf.h"
#include "daemon/restart.h"
#include "daemon/shm.h"

struct supervisor;
struct pidfh;

/* The supervisor's record of one worker, in the manner of nginx's
 * ngx_process_t: an entry stays bound to its CPU across restarts. */
struct sv_worker {
	struct supervisor *sv;
	struct sb_worker *sb;
	int index;
	int cpu;
	bool planned;     /* the CPU plan wants a worker here */
	bool retiring;    /* told to retire: not restarted */
	bool killed_hung; /* we killed it for a stale heartbeat */
	bool killed_bad;  /* we killed it for a malformed message */
	pid_t pid;        /* 0 when no process */
	struct ev_io pidfd;
	struct ev_io chan;
	struct ch_reader reader;
	struct buf out;
	int64_t started_ns;
	int64_t retry_at_ns; /* 0: no restart pending */
	struct restart_state restart;
};

struct client;
TAILQ_HEAD(client_list, client);

struct supervisor {
	struct conf conf;
	const char *conf_path; /* NULL: built-in defaults */
	struct ev_loop loop;
	struct ev_io signals;
	struct ev_io timer;
	struct ev_io listener;
	bool listener_owned;        /* we created the socket file */
	int64_t listener_resume_ns; /* accept() backoff after EMFILE */
	struct client_list clients;
	struct client_list closed; /* freed after the loop turn */
	uint32_t nclients;
	struct shm shm;
	struct sv_worker *workers;
	uint32_t workers_max;
	cpu_set_t allowed;
	struct restart_policy policy;
	int64_t started_ns;
	bool stopping;
	bool killed_at_deadline;
	int64_t stop_deadline_ns;
	bool announced;        /* said READY once every worker came up */
	uint32_t status_ready; /* ready count last told to systemd */
	int64_t timer_armed_ns;
	struct pidfh *pidfh;
	int ready_fd; /* -d: tells the waiting parent we are up */
};

/* supervisor.c */
void sv_policy_from_conf(const struct conf *c, struct restart_policy *p);
int sv_init(struct supervisor *sv, const struct conf *conf,
	    const char *conf_path, const cpu_set_t *allowed);
int sv_run(struct supervisor *sv);
void sv_free(struct supervisor *sv);
void sv_update_timer(struct supervisor *sv);

/* workers.c */
int workers_init(struct supervisor *sv);
void workers_apply_plan(struct supervisor *sv, const int *cpus, size_t n);
void workers_check(struct supervisor *sv, int64_t now_ns);
int64_t workers_next_deadline(const struct supervisor *sv);
void workers_send_config(struct supervisor *sv);
void workers_retire_all(struct supervisor *sv);
void workers_kill_all(struct supervisor *sv, const char *why);
void workers_retry_held(struct supervisor *sv);
uint32_t workers_live(const struct supervisor *sv);
uint32_t workers_ready(const struct supervisor *sv);
void workers_free(struct supervisor *sv);

/* worker.c: runs in the forked child and never returns. */
__attribute__((noreturn)) void worker_main(struct supervisor *sv,
					   struct sv_worker *w, int chan_fd);

#endif
