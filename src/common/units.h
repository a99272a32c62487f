/*
 * Durations ("500ms", "10s", "2m", "1h30m"; a bare number is seconds)
 * and sizes ("64K", "1M"; a bare number is bytes; K is 1024), parsed
 * the same way for the conf file and the CLI.
 */
#ifndef FORQ_UNITS_H
#define FORQ_UNITS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* On failure these return -1 and point *why at a short reason. */
int units_parse_duration(const char *text, int64_t *ms, const char **why);
int units_parse_size(const char *text, uint64_t *bytes, const char **why);

/* A start time in local time, as --at takes it: "HH:MM[:SS]" (today,
 * or tomorrow once that time has passed), "YYYY-MM-DD HH:MM[:SS]" (or
 * with a "T"), "YYYY-MM-DD" (midnight), or "@SECONDS" since 1970.
 * now is the time to read "today" against. *ms: since 1970. */
int units_parse_time(const char *text, time_t now, int64_t *ms,
		     const char **why);

/* "1h2m", "1.5s", "250ms": short and exact enough for tables and logs. */
void units_format_duration(int64_t ms, char *buf, size_t len);
/* "512B", "8.0M", "1.5G": the conf's own units, one decimal. */
void units_format_size(uint64_t bytes, char *buf, size_t len);

#endif
