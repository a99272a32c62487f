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
#include "core/access.h"
#include "core/conf.h"
#include "core/job.h"
#include "common/heap.h"
#include "common/ratelimit.h"
#include "core/runq.h"
#include "core/restart.h"
#include "core/rlimits.h"
#include "common/shm.h"
#include "store/store.h"
#include "core/usercount.h"

struct supervisor;
struct pidfh;

/* A slot filled this turn, to be started after the commit. */
struct jobs_start {
	int worker;
	uint32_t slot;
};

/* What the supervisor keeps of a job it started: where it came from,
 * and what to do if it fails. */
struct job_run {
	int queue; /* runq index */
	uid_t uid;
	int32_t priority;
	uint32_t retries;
	uint32_t retry_on; /* enum job_retry_on */
	int64_t retry_delay_ms;
	bool on_finish; /* it has a command to run once it has ended */
};

/* The supervisor's side of a slot it handed to a worker. */
struct sv_slot {
	uint64_t job_id; /* 0: free */
	uint32_t attempt;
	bool hook; /* the job's on-finish command runs here, not the job */
	struct job_run run;
	pid_t pid;        /* from STARTED */
	int64_t start_ns; /* CLOCK_REALTIME, from STARTED */
	bool cancel_sent;
};

/* A job whose worker died under it: the supervisor, as child subreaper,
 * inherited the process and sees it to its end. */
struct adopted {
	TAILQ_ENTRY(adopted) entry;
	struct supervisor *sv;
	uint64_t job_id;
	uint32_t attempt;
	struct job_run run;
	pid_t pid;
	struct ev_io pidfd;
	int worker;
	int cpu;
	int64_t start_ns;
	int64_t deadline_ns; /* monotonic; 0: no timeout */
	int64_t kill_at_ns;
	int64_t timeout_ms;
	enum job_state end; /* JOB_RUNNING until we stop it */
};
TAILQ_HEAD(adopted_list, adopted);

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
	struct sv_slot *slots;
	uint32_t busy;
	int64_t started_ns;
	int64_t retry_at_ns; /* 0: no restart pending */
	struct restart_state restart;
};

struct supervisor {
	struct conf conf;
	const char *conf_path; /* NULL: built-in defaults */
	struct ev_loop loop;
	struct ev_io signals;
	struct ev_io timer;
	struct listener *listener;
	struct control *control;
	struct watch *watch;
	struct access_policy access;
	bool store_full;        /* no room: no submits, no dispatch */
	int64_t store_retry_ns; /* a failed commit's retry; 0: none */
	int64_t store_retry_ms; /* its backoff */
	int64_t next_space_check_ns;
	struct shm shm;
	struct sv_worker *workers;
	uint32_t workers_max;
	cpu_set_t allowed;
	struct restart_policy policy;
	int64_t started_ns;
	bool stopping;
	bool killed_at_deadline;
	int64_t stop_deadline_ns;
	bool announced;      /* said READY once every worker came up */
	int64_t watchdog_ns; /* interval of WATCHDOG=1; 0: none */
	int64_t next_watchdog_ns;
	char status[160]; /* STATUS= last told to systemd */
	int64_t timer_armed_ns;
	struct store *store;
	struct runq *runq; /* queued jobs, and the choice of the next */
	struct heap due;   /* scheduled jobs: struct jobs_due, soonest first */
	/* Jobs submitted this turn: they join the runq once the turn's
	 * commit has stored them, never before. */
	struct runq_fresh *fresh;
	size_t nfresh;
	size_t fresh_cap;
	/* Jobs dispatched this turn: their starts go out once the turn's
	 * commit has marked them running, never before. */
	struct jobs_start *starts;
	size_t nstarts;
	size_t starts_cap;
	uint64_t
	    nwaiting; /* jobs waiting for others (they live in the store) */
	/* On-finish commands waiting to run: [hooks_head, nhooks). */
	struct jobs_hook *hooks;
	size_t hooks_head;
	size_t nhooks;
	size_t hooks_cap;
	uint64_t *settle; /* ended jobs whose dependents to settle */
	size_t nsettle;
	size_t settle_cap;
	bool settling;
	struct usercount_tree *queued_by_uid;
	struct job_limits limits;
	uint64_t kernel_nproc; /* limit_nproc = kernel */
	struct adopted_list adopted;
	struct adopted_list adopted_gone; /* reaped; freed after the turn */
	size_t sched_cursor;
	int64_t next_prune_ns;
	struct pidfh *pidfh;
	int ready_fd; /* -d: tells the waiting parent we are up */
};

/* supervisor.c */
void sv_policy_from_conf(const struct conf *c, struct restart_policy *p);
int sv_init(struct supervisor *sv, const struct conf *conf,
	    const char *conf_path, const cpu_set_t *allowed);
int sv_run(struct supervisor *sv);
void sv_free(struct supervisor *sv);

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
void workers_flush(struct sv_worker *w);
void workers_flush_all(struct supervisor *sv);
void workers_reap(struct sv_worker *w);

/* jobs.c */
int jobs_init(struct supervisor *sv);
void jobs_free(struct supervisor *sv);
void jobs_end_turn(struct supervisor *sv);
/* After a failed commit: the per-user queued counts and the waiting
 * jobs, from the store. */
void jobs_recount(struct supervisor *sv);
void jobs_settle_waiting(struct supervisor *sv);
/* existing[i]: job i was not stored, another holding its unique key
 * stands for it (ids[i] is that one's). */
int jobs_submit(struct supervisor *sv, const struct job_spec *specs, size_t n,
		uid_t uid, gid_t gid, uint64_t *ids, bool *existing);
void jobs_dispatch(struct supervisor *sv);
/* After the turn's commit: the turn's dispatched jobs start if it
 * stored their running marks, else go back to the queue (true: some
 * did, so nothing more is dispatched this turn). */
bool jobs_starts_committed(struct supervisor *sv, bool committed);
/* After the turn's commit: the turn's submissions join the runq if it
 * stored them (true if any did), else they are forgotten. */
bool jobs_turn_committed(struct supervisor *sv, bool committed);
/* The runq index of a queue named in the store or the conf; a name
 * the conf no longer declares gets a queue without limits. */
int jobs_queue_index(struct supervisor *sv, const char *name);
/* After a reload: the conf's queues and their limits. */
int jobs_apply_queues(struct supervisor *sv);
/* Pauses or resumes a queue (or RUNQ_ALL), durably. */
int jobs_set_paused(struct supervisor *sv, int queue, bool paused);
/* A queued or scheduled job's new priority: 0, 1 if it has started or
 * ended, -1 on a store error. */
int jobs_set_priority(struct supervisor *sv, uint64_t id, int32_t priority);
/* forq clean: up to max ended jobs, and their logs (store_clean). */
int jobs_clean(struct supervisor *sv, const struct store_filter *f,
	       int64_t end_before_ns, uint32_t max);
/* An ended job runs again as its next attempt: 0, 1 if it had not
 * ended after all, 2 if another job not ended (*holder) holds its
 * unique key, -1 on a store error. */
int jobs_retry(struct supervisor *sv, const struct store_job *job,
	       uint64_t *holder);
/* Ids of the jobs running in a queue (or RUNQ_ALL); *ids is malloc'd. */
int jobs_running_ids(const struct supervisor *sv, int queue, uint64_t **ids,
		     size_t *n);
void jobs_on_started(struct sv_worker *w, const struct ch_started *st);
void jobs_on_done(struct sv_worker *w, const struct ch_slot *done);
void jobs_worker_died(struct sv_worker *w);
/* Cancels one job: 0 and *state (cancelled, or still running while its
 * worker stops it, or the final state it already had), 1 if no such
 * job, -1 on a store error. */
int jobs_cancel(struct supervisor *sv, uint64_t id, enum job_state *state,
		bool *stopping);
const struct sv_slot *jobs_find_running(const struct supervisor *sv,
					uint64_t id,
					const struct sv_worker **worker);
int64_t jobs_next_deadline(const struct supervisor *sv);
void jobs_check(struct supervisor *sv, int64_t now);
void jobs_reap_children(struct supervisor *sv);
void jobs_kill_all(struct supervisor *sv);

#endif
