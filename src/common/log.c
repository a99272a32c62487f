/*
 * Logging to stderr, the journal (stderr with <N> prefixes) or syslog.
 * One process-wide sink: the daemon is single-threaded per process.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNAL,
	LOG_TARGET_SYSLOG,
};

static enum log_target log_target = LOG_TARGET_STDERR;
static enum log_level log_threshold = LOG_LEVEL_INFO;
static const char *log_ident = "forqd";
static char log_prefix[64];

static const struct {
	const char *name;
	enum log_level level;
} log_levels[] = {
    {"error", LOG_LEVEL_ERROR},
    {"warning", LOG_LEVEL_WARNING},
    {"info", LOG_LEVEL_INFO},
    {"debug", LOG_LEVEL_DEBUG},
};

/* JOURNAL_STREAM holds "dev:ino" of the journal's stream socket. */
static int
log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return st.st_dev == dev && st.st_ino == ino;
}

void
log_init(const char *ident, enum log_level level)
{
	log_ident = ident;
	log_threshold = level;
	log_target =
	    log_stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
}

void
log_use_syslog(void)
{
	openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_target = LOG_TARGET_SYSLOG;
}

void
log_suspend(void)
{
	if (log_target == LOG_TARGET_SYSLOG)
		closelog();
}

void
log_resume(void)
{
	if (log_target == LOG_TARGET_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

void
log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof log_prefix, "%s", prefix);
}

int
log_level_parse(const char *name, enum log_level *level)
{
	size_t i;

	for (i = 0; i < nitems(log_levels); i++) {
		if (strcmp(name, log_levels[i].name) == 0) {
			*level = log_levels[i].level;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	size_t i;

	for (i = 0; i < nitems(log_levels); i++) {
		if (log_levels[i].level == level)
			return log_levels[i].name;
	}
	return "info";
}

static void
log_emit(enum log_level level, const char *msg)
{
	char stamp[32];
	struct timespec ts;
	struct tm tm;

	switch (log_target) {
	case LOG_TARGET_SYSLOG:
		syslog((int)level, "%s%s", log_prefix, msg);
		break;
	case LOG_TARGET_JOURNAL:
		fprintf(stderr, "<%d>%s%s\n", (int)level, log_prefix, msg);
		break;
	case LOG_TARGET_STDERR:
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%ld] %s: %s%s\n", stamp,
			ts.tv_nsec / 1000000, log_ident, (long)getpid(),
			log_level_name(level), log_prefix, msg);
		break;
	}
}

static void log_vlog(enum log_level level, int with_errno, const char *fmt,
		     va_list ap) __attribute__((format(printf, 3, 0)));

static void
log_vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char msg[2048];
	int saved_errno = errno;
	size_t len;

	if (level > log_threshold)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (with_errno) {
		len = strlen(msg);
		snprintf(msg + len, sizeof msg - len, ": %s",
			 strerror(saved_errno));
	}
	log_emit(level, msg);
	errno = saved_errno;
}

#define LOG_FUNCTION(name, level, with_errno)                                  \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vlog(level, with_errno, fmt, ap);                          \
		va_end(ap);                                                    \
	}

LOG_FUNCTION(log_warn, LOG_LEVEL_WARNING, 1)
LOG_FUNCTION(log_warnx, LOG_LEVEL_WARNING, 0)
LOG_FUNCTION(log_info, LOG_LEVEL_INFO, 0)
LOG_FUNCTION(log_debug, LOG_LEVEL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
