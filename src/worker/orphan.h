/*
 * A worker whose forqd died while it ran jobs: it keeps them, and
 * waits on STATE/workers/INDEX.sock for the next forqd to take it on
 * (CH_S_ADOPT, with that forqd's shared memory beside it). Ends it
 * cannot report are written to STATE/ends first (ipc/orphan.h). Past
 * adopt_timeout it gives up. The socket listens from the worker's
 * start: a forqd restarted at once (systemd's Restart=) may connect
 * before the worker has read the end of its channel; its adoption is
 * held until then. This file owns the socket, the connection that may
 * adopt, the deadline and the ends directory; the worker is told
 * through callbacks.
 */
#ifndef FORQ_WORKER_ORPHAN_H
#define FORQ_WORKER_ORPHAN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/event.h"

struct ch_adopt;
struct job_result;
struct wk_orphan;

struct wk_orphan_cb {
	/* A new forqd would take the worker on: its message, its shm memfd
	 * and the connection, the worker's channel from now on. Both
	 * descriptors are the callee's, taken or not; false: not taken (it
	 * says why), and the worker waits on. */
	bool (*adopted)(void *arg, const struct ch_adopt *adopt, int shm_fd,
			int conn);
	/* adopt_timeout has passed with no forqd. */
	void (*abandoned)(void *arg);
	/* A forqd of another layout asks the worker to run its jobs to
	 * their end (ipc/orphan.h says how it reports them): conn is the
	 * callee's. Again for each later forqd that asks. No deadline
	 * holds from then. */
	void (*drain)(void *arg, int conn);
	void *arg;
};

/* Listens for a next forqd; NULL (logged) if the socket cannot be
 * made. */
struct wk_orphan *wk_orphan_new(struct ev_loop *loop, const char *state_dir,
				int index, int cpu,
				const struct wk_orphan_cb *cb);
/* The worker's forqd is gone: an adoption is taken from now (one held
 * is delivered at once), for up to timeout_ms. */
void wk_orphan_alone(struct wk_orphan *o, int64_t timeout_ms);
/* Stops listening and removes the socket; not from its own callback's
 * turn (the loop may hold its events): as the worker exits. */
void wk_orphan_free(struct wk_orphan *o);
/* A job end no forqd has recorded, made durable: -1 (logged) if not. */
int wk_orphan_end(struct wk_orphan *o, uint64_t id, uint32_t attempt,
		  const struct job_result *r);

#endif
