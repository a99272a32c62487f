/*
 * The worker's own state, shared by its two files: worker.c, the
 * process (its channel to forqd, heartbeat, signals, what it does when
 * forqd goes away or another takes it on), and worker_jobs.c, the jobs
 * in its slots (started, watched, stopped, ended, and the standbys
 * that start them). Calls go from worker.c to worker_jobs.c; the one
 * way back is the lost callback. Nothing outside them includes this.
 */
#ifndef FORQ_WORKER_INT_H
#define FORQ_WORKER_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "common/buffer.h"
#include "common/compat.h"
#include "common/event.h"
#include "ipc/channel.h"
#include "ipc/shm.h"

struct ch_slot;
struct job_result;

enum wk_end {
	WK_END_NONE,
	WK_END_TIMEOUT,
	WK_END_CANCEL,
	WK_END_OUTPUT,
};

/* A job this worker runs, in the slot of the same number. */
struct wk_job {
	struct worker *wk;
	struct slot *slot;
	uint32_t slot_no;
	bool active;
	uint64_t job_id;
	pid_t pid;
	bool watched;       /* started, its exit not yet taken */
	struct ev_io pidfd; /* -1 where pidfds are missing: SIGCHLD tells */
	int out_fd;
	int err_fd;
	int64_t start_real_ns;
	int64_t deadline_ns; /* timeout; 0: none */
	int64_t kill_at_ns;  /* KILL after TERM; 0: none */
	bool kill_sent;
	enum wk_end end;
	struct cg_slot cg; /* the slot's cgroup; CG_NONE: none */
};

struct worker {
	int index;
	int cpu;
	uid_t euid; /* forqd's, asked once rather than at every job */
	gid_t egid;
	struct sb_worker *sb;
	const struct shm *shm;
	struct shm adopted_shm; /* the region of the forqd that adopted it */
	struct ev_loop loop;
	struct ev_io chan;
	struct ev_io signals;
	struct ev_io heartbeat;
	struct ev_io job_timer;
	struct ch_reader reader;
	struct buf out;
	uint32_t heartbeat_interval_ms;
	uint32_t slots;
	struct wk_job *jobs;
	struct spawner *spawner; /* starts the slots' jobs */
	uint32_t running;
	uint32_t spawns; /* for each spawn's token */
	int devnull;
	struct spool *spool; /* the jobs' output files */
	bool retiring;
	bool done;
	bool cgroups; /* jobs run in their slot's cgroup */
	bool pinned;
	int64_t born_ns; /* CLOCK_REALTIME */
	char state_dir[PATH_MAX];
	uint32_t adopt_timeout_ms;
	/* Where a next forqd finds it (orphan.h); alone: its own forqd is
	 * gone, and it waits for the next. */
	struct wk_orphan *orphan;
	bool alone;
	/* Killing its jobs as it exits: their ends are no real ends (the
	 * next forqd queues them again). */
	bool ending;
	/* Runs its jobs to their end for a forqd of another layout, telling
	 * it of each on drain_fd (ipc/orphan.h), and exits with the last. */
	bool draining;
	int drain_fd;
	/* Its forqd is gone (a write to it failed): worker.c's. */
	void (*lost)(struct worker *wk);
};

/* The channel to forqd: what is queued, written; a message queued. */
void worker_flush(struct worker *wk);
void worker_send(struct worker *wk, uint16_t type, const void *payload,
		 size_t len);

/* v1 keeps no peak of a job's processes: sampled each heartbeat. */
void worker_sample_procs(struct worker *wk);
/* Processes jobs left behind, where jobs have no cgroup (strays.h). */
void worker_scan_strays(struct worker *wk);
void worker_reap_strays(struct worker *wk);

/* The jobs over their output_max, stopped. */
void worker_check_output(struct worker *wk, int64_t now);

/* Every running job killed, its cgroup too. */
void worker_kill_jobs(struct worker *wk);

/* The control messages about jobs. */
void worker_cancel(struct worker *wk, const struct ch_slot *c);
void worker_run(struct worker *wk, uint32_t slot_no);

/* A job's exit looked at (its pidfd, or SIGCHLD without one). */
void worker_job_check(struct wk_job *j);

/* The job timer's event: timeouts, and KILL after TERM. */
void worker_on_job_timer(struct ev_io *io, uint32_t events);

/* Standbys (spawn.h): made for the free slots, dismissed. */
void worker_standby_idle(struct worker *wk);
void worker_dismiss_standbys(struct worker *wk);

/* Kills what is in the job's group (a standby it took dismissed). */
void worker_kill_group(struct worker *wk, struct wk_job *j);

/* A job running here (an on-finish command is none); an end no commit
 * has recorded yet (struct slot_end). */
bool worker_runs(const struct wk_job *j);
bool worker_unrecorded(const struct wk_job *j);

/* A line to the forqd this worker drains for (ipc/orphan.h). */
void worker_drain_say(struct worker *wk, const char *fmt, ...)
    __printflike(2, 3);

#endif
