/* The worker restart policy: backoff, crash-loop hold, fatal exit. */
#include <stdlib.h>
#include <string.h>

#include "common/compat.h"
#include "core/restart.h"

int
restart_state_init(struct restart_state *s)
{
	memset(s, 0, sizeof *s);
	s->deaths = calloc(RESTART_HISTORY_MAX, sizeof *s->deaths);
	return s->deaths == NULL ? -1 : 0;
}

void
restart_state_free(struct restart_state *s)
{
	free(s->deaths);
	s->deaths = NULL;
}

void
restart_state_reset(struct restart_state *s)
{
	s->streak = 0;
	s->recent = 0;
	s->next = 0;
}

static uint32_t
restart_deaths_within(const struct restart_state *s, int64_t now_ns,
		      int64_t window_ns)
{
	uint32_t i, n = 0;

	for (i = 0; i < s->recent; i++) {
		if (now_ns - s->deaths[i] < window_ns)
			n++;
	}
	return n;
}

struct restart_decision
restart_decide(const struct restart_policy *p, struct restart_state *s,
	       int64_t started_ns, int64_t now_ns, int exit_code)
{
	struct restart_decision d = {.action = RESTART_NOW, .at_ns = now_ns};
	uint32_t limit = p->crash_loop_limit;
	int64_t delay;
	uint32_t shift;

	if (limit == 0 || limit > RESTART_HISTORY_MAX)
		limit = RESTART_HISTORY_MAX;
	/* The limit may have been lowered by a reload. */
	if (s->next >= limit || s->recent > limit)
		restart_state_reset(s);
	if (exit_code == FORQ_EXIT_CONFIG) {
		d.action = RESTART_NEVER;
		return d;
	}
	if (now_ns - started_ns >= p->crash_loop_window_ns) {
		restart_state_reset(s);
		return d;
	}

	s->deaths[s->next] = now_ns;
	s->next = (s->next + 1) % limit;
	if (s->recent < limit)
		s->recent++;
	s->streak++;
	d.deaths_in_window =
	    restart_deaths_within(s, now_ns, p->crash_loop_window_ns);
	if (d.deaths_in_window >= limit) {
		restart_state_reset(s);
		d.action = RESTART_HOLD;
		d.at_ns = now_ns + p->crash_loop_hold_ns;
		return d;
	}
	if (s->streak == 1)
		return d;

	shift = s->streak - 2;
	delay = p->delay_ns;
	while (shift-- > 0 && delay < p->delay_max_ns)
		delay *= 2;
	if (delay > p->delay_max_ns)
		delay = p->delay_max_ns;
	d.action = RESTART_LATER;
	d.at_ns = now_ns + delay;
	return d;
}

const char *
restart_action_name(enum restart_action a)
{
	static const char *const names[] = {
	    [RESTART_NOW] = "now",
	    [RESTART_LATER] = "later",
	    [RESTART_HOLD] = "hold",
	    [RESTART_NEVER] = "never",
	};

	return a < nitems(names) ? names[a] : "?";
}
