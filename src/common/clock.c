/* Monotonic and wall-clock time in nanoseconds. */
#include <time.h>

#include "common/clock.h"

static int64_t
clock_read(clockid_t id)
{
	struct timespec ts;

	/* Cannot fail for these clocks with a valid pointer. */
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t
clock_mono_ns(void)
{
	return clock_read(CLOCK_MONOTONIC);
}

int64_t
clock_real_ns(void)
{
	return clock_read(CLOCK_REALTIME);
}
