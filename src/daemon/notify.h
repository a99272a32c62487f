/* What forqd tells systemd (sd_notify); nothing when not under it. */
#ifndef FORQ_NOTIFY_H
#define FORQ_NOTIFY_H

#include "common/compat.h"

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) __printflike(1, 2);

#endif
