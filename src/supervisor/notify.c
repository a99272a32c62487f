/* sd_notify messages: READY, RELOADING, STOPPING, STATUS. */
#include <stdarg.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "common/clock.h"
#include "supervisor/notify.h"

int64_t
notify_watchdog_interval(void)
{
	uint64_t usec = 0;

	/* 1: forget WATCHDOG_USEC so that workers and jobs do not see it. */
	if (sd_watchdog_enabled(1, &usec) <= 0)
		return 0;
	return (int64_t)usec * 1000 / 2;
}

void
notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

void
notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void
notify_reloading(void)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%lld",
		   (long long)(clock_mono_ns() / 1000));
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void
notify_status(const char *fmt, ...)
{
	char status[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(status, sizeof status, fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", status);
}
