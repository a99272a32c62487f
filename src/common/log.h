/*
 * Logging in the OpenBSD daemons' style: log_warn appends strerror(errno),
 * log_warnx does not; fatal and fatalx log and exit. Output goes to
 * stderr (with <N> priority prefixes when stderr is the journal) or to
 * syslog once the daemon has detached.
 */
#ifndef FORQ_LOG_H
#define FORQ_LOG_H

#include <stdarg.h>

#include "common/compat.h"

enum log_level {
	LOG_LEVEL_ERROR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

void log_init(const char *ident, enum log_level level);
void log_use_syslog(void);
void log_set_level(enum log_level level);
/* Around closing every descriptor: syslog's socket must not be lost
 * silently or, worse, have its number taken by another file. */
void log_suspend(void);
void log_resume(void);
void log_set_prefix(const char *prefix);
int log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);

void log_warn(const char *fmt, ...) __printflike(1, 2);
void log_warnx(const char *fmt, ...) __printflike(1, 2);
void log_info(const char *fmt, ...) __printflike(1, 2);
void log_debug(const char *fmt, ...) __printflike(1, 2);
__dead void fatal(const char *fmt, ...) __printflike(1, 2);
__dead void fatalx(const char *fmt, ...) __printflike(1, 2);

#endif
