/*
 * When to start a dead worker again: a small state machine in the
 * manner of s6-supervise and procd, kept free of effects so that tests
 * drive it with made-up clocks.
 *
 * A worker that lived at least crash_loop_window is restarted at once and
 * its history forgotten. One that dies younger is restarted at once the
 * first time, then after restart_delay doubling up to restart_delay_max;
 * once crash_loop_limit young deaths fall within crash_loop_window it is
 * held for crash_loop_hold and then tried afresh. A worker that exits
 * with FORQ_EXIT_CONFIG is not restarted until the conf is reloaded.
 */
#ifndef FORQ_RESTART_H
#define FORQ_RESTART_H

#include <stdbool.h>
#include <stdint.h>

#define RESTART_HISTORY_MAX 1000

struct restart_policy {
	int64_t delay_ns;
	int64_t delay_max_ns;
	uint32_t crash_loop_limit;
	int64_t crash_loop_window_ns;
	int64_t crash_loop_hold_ns;
};

struct restart_state {
	uint32_t streak; /* young deaths in a row */
	uint32_t recent; /* entries used in deaths[] */
	int64_t *deaths; /* ring of the last young deaths' times */
	uint32_t next;   /* ring write position */
};

enum restart_action {
	RESTART_NOW,
	RESTART_LATER, /* after a backoff delay */
	RESTART_HOLD,  /* crash loop: held for crash_loop_hold */
	RESTART_NEVER, /* fatal configuration: until reload */
};

struct restart_decision {
	enum restart_action action;
	int64_t at_ns; /* when to start it (RESTART_LATER, RESTART_HOLD) */
	uint32_t deaths_in_window;
};

int restart_state_init(struct restart_state *s);
void restart_state_free(struct restart_state *s);
void restart_state_reset(struct restart_state *s);

/* A worker started at started_ns died at now_ns with exit_code (-1 when
 * killed by a signal). */
struct restart_decision restart_decide(const struct restart_policy *p,
				       struct restart_state *s,
				       int64_t started_ns, int64_t now_ns,
				       int exit_code);

const char *restart_action_name(enum restart_action a);

#endif
