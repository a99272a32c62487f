/* One log line per interval, and a count of the rest. */
#include "common/ratelimit.h"

void
ratelimit_init(struct ratelimit *rl, int64_t interval_ns)
{
	rl->interval_ns = interval_ns;
	rl->next_ns = 0;
	rl->suppressed = 0;
}

bool
ratelimit_pass(struct ratelimit *rl, int64_t now_ns)
{
	if (now_ns >= rl->next_ns && rl->suppressed == 0) {
		rl->next_ns = now_ns + rl->interval_ns;
		return true;
	}
	rl->suppressed++;
	return false;
}

int64_t
ratelimit_due(const struct ratelimit *rl)
{
	return rl->suppressed > 0 ? rl->next_ns : 0;
}

uint64_t
ratelimit_flush(struct ratelimit *rl, int64_t now_ns)
{
	uint64_t n = rl->suppressed;

	if (n == 0 || now_ns < rl->next_ns)
		return 0;
	rl->suppressed = 0;
	rl->next_ns = now_ns + rl->interval_ns;
	return n;
}
