/*
 * The workers module's state, shared by its two files: workers.c, a
 * worker's process from fork to reap (its channel, heartbeat, death and
 * the restart policy), and workers_layout.c, which worker stands on
 * which CPU (a plan applied at start and at reload, workers held while
 * another layout's drain, workers of a previous forqd taken on).
 * Calls go from workers_layout.c to workers.c, never back. Nothing
 * outside them includes this; they include engine/workers.h (struct
 * workers_cb) before it.
 */
#ifndef FORQ_WORKERS_INT_H
#define FORQ_WORKERS_INT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "common/buffer.h"
#include "common/event.h"
#include "core/restart.h"
#include "ipc/channel.h"
#include "ipc/shm.h"

/* The supervisor's record of one worker, in the manner of nginx's
 * ngx_process_t: an entry stays bound to its CPU across restarts. */
struct sv_worker {
	struct workers *ws;
	struct sb_worker *sb;
	int index;
	int cpu;
	bool planned;     /* the CPU plan wants a worker here */
	bool retiring;    /* told to retire: not restarted */
	bool killed_hung; /* we killed it for a stale heartbeat */
	bool killed_bad;  /* we killed it for a malformed message */
	bool foreign;     /* taken on from a previous forqd: not our child */
	/* A worker of another layout drains here (draining.c): none is
	 * started in its place until it is done. */
	bool drain_held;
	pid_t pid; /* 0 when no process */
	struct ev_io pidfd;
	struct ev_io chan;
	struct ch_reader reader;
	struct buf out;
	int64_t started_ns;
	int64_t retry_at_ns; /* 0: no restart pending */
	struct restart_state restart;
};

struct workers {
	struct ev_loop *loop;
	struct shm *shm;
	const struct cg_tree *cg;
	const struct conf *conf;
	struct workers_cb cb;
	struct restart_policy policy;
	bool stopping; /* retired for good: none restarts */
	struct sv_worker *w;
	uint32_t max;
	uint64_t crash_loops; /* workers held for crash_loop_hold */
};

/* workers.c: a worker's process. */
void workers_policy(struct workers *ws);
void workers_set_state(struct sv_worker *w, enum sb_state state);
void workers_send(struct sv_worker *w, uint16_t type, const void *payload,
		  size_t len);
void workers_send_config_to(struct sv_worker *w);
void workers_spawn(struct sv_worker *w);
void workers_reap(struct sv_worker *w);

#endif
