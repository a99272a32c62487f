/* What forqd tells systemd (sd_notify); nothing when not under it. */
#ifndef FORQ_NOTIFY_H
#define FORQ_NOTIFY_H

#include "common/compat.h"

#include <stdint.h>

/* Half the WatchdogSec= systemd asked for, in ns; 0 when none. */
int64_t notify_watchdog_interval(void);
void notify_watchdog(void);
void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) __printflike(1, 2);

#endif
