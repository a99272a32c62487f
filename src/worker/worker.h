/*
 * The worker process: forked by the supervisor, pinned to one CPU, an
 * event loop of its own that starts and watches jobs. It is given only
 * what it uses, never the supervisor's state.
 */
#ifndef FORQ_WORKER_H
#define FORQ_WORKER_H

#include <stdint.h>

struct shm;
struct sb_worker;

struct cg_tree;

struct worker_args {
	int index;
	int cpu;
	int chan_fd;           /* its end of the channel to the supervisor */
	const struct shm *shm; /* its slots and its scoreboard entry */
	struct sb_worker *sb;
	const char *state_dir; /* its jobs' output goes to STATE_DIR/logs */
	uint32_t heartbeat_interval_ms;
	uint32_t adopt_timeout_ms; /* alone, how long it keeps its jobs */
	const struct cg_tree *cg;  /* its slots' cgroups; NULL: none */
};

/* Runs in the forked child and never returns. */
__attribute__((noreturn)) void worker_main(const struct worker_args *args);

#endif
