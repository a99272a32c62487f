/* Parsing and printing of durations and sizes. */
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/compat.h"
#include "common/units.h"

static const struct {
	const char *suffix;
	int64_t ms;
} duration_units[] = {
    /* Longest suffix first, so "ms" is not read as "m" then "s". */
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
};

/* Reads decimal digits; fails on overflow past limit. */
static int
units_read_number(const char **p, uint64_t limit, uint64_t *value)
{
	uint64_t v = 0;
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s)) {
		unsigned digit = (unsigned)(*s - '0');

		if (v > (limit - digit) / 10)
			return -2;
		v = v * 10 + digit;
		s++;
	}
	*p = s;
	*value = v;
	return 0;
}

int
units_parse_duration(const char *text, int64_t *ms, const char **why)
{
	const uint64_t limit = INT64_MAX / 1000;
	const char *p = text;
	uint64_t total = 0, n;
	size_t i, len;
	int rc;

	if (*p == '\0') {
		*why = "empty duration";
		return -1;
	}
	/* A bare number means seconds, as in systemd and nginx. */
	if (strspn(text, "0123456789") == strlen(text)) {
		if (units_read_number(&p, limit / 1000, &n) != 0) {
			*why = "duration too large";
			return -1;
		}
		*ms = (int64_t)n * 1000;
		return 0;
	}
	while (*p != '\0') {
		if ((rc = units_read_number(&p, limit, &n)) != 0) {
			*why = rc == -2 ? "duration too large"
					: "expected a number such as 10s, "
					  "500ms or 2m";
			return -1;
		}
		for (i = 0; i < nitems(duration_units); i++) {
			len = strlen(duration_units[i].suffix);
			if (strncmp(p, duration_units[i].suffix, len) == 0 &&
			    !isalpha((unsigned char)p[len]))
				break;
		}
		if (i == nitems(duration_units)) {
			*why = "unknown unit (use ms, s, m, h or d)";
			return -1;
		}
		if (n > (limit - total) / (uint64_t)duration_units[i].ms) {
			*why = "duration too large";
			return -1;
		}
		total += n * (uint64_t)duration_units[i].ms;
		p += len;
	}
	*ms = (int64_t)total;
	return 0;
}

int
units_parse_size(const char *text, uint64_t *bytes, const char **why)
{
	static const char suffixes[] = "KMGT";
	const char *p = text, *at;
	uint64_t n, mult = 1;
	int rc;

	if ((rc = units_read_number(&p, UINT64_MAX, &n)) != 0) {
		*why = rc == -2 ? "size too large"
				: "expected a number such as 4096, 64K or 1M";
		return -1;
	}
	if (*p != '\0') {
		at = strchr(suffixes, toupper((unsigned char)*p));
		if (at == NULL || p[1] != '\0') {
			*why = "unknown unit (use K, M, G or T)";
			return -1;
		}
		mult = UINT64_C(1) << (10 * (at - suffixes + 1));
	}
	if (n > UINT64_MAX / mult) {
		*why = "size too large";
		return -1;
	}
	*bytes = n * mult;
	return 0;
}

void
units_format_duration(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 1000)
		snprintf(buf, len, "%lldms", (long long)ms);
	else if (ms < 60 * 1000)
		snprintf(buf, len, "%lld.%llds", (long long)s,
			 (long long)(ms % 1000) / 100);
	else if (s < 60 * 60)
		snprintf(buf, len, "%lldm%llds", (long long)s / 60,
			 (long long)s % 60);
	else if (s < 24 * 60 * 60)
		snprintf(buf, len, "%lldh%lldm", (long long)s / 3600,
			 (long long)(s % 3600) / 60);
	else
		snprintf(buf, len, "%lldd%lldh", (long long)s / 86400,
			 (long long)(s % 86400) / 3600);
}

void
units_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	double v = (double)bytes;
	size_t i;

	if (bytes < 1024) {
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
		return;
	}
	for (i = 0; i < sizeof units - 2 && v >= 1024 * 1024; i++)
		v /= 1024;
	/* A whole number of the unit reads as it is written: 64M. */
	if (bytes % ((uint64_t)1024 << (10 * i)) == 0)
		snprintf(buf, len, "%.0f%c", v / 1024, units[i]);
	else
		snprintf(buf, len, "%.1f%c", v / 1024, units[i]);
}

/* strptime with the whole text used up. */
static int
units_strptime(const char *text, const char *fmt, struct tm *tm)
{
	const char *end;

	memset(tm, 0, sizeof *tm);
	end = strptime(text, fmt, tm);
	return end != NULL && *end == '\0' ? 0 : -1;
}

int
units_parse_time(const char *text, time_t now, int64_t *ms, const char **why)
{
	static const char *const dated[] = {
	    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S",
	    "%Y-%m-%dT%H:%M",    "%Y-%m-%d",
	};
	struct tm tm, today;
	const char *errstr = NULL;
	long long secs;
	time_t t;
	size_t i;

	*why = "not a time: HH:MM[:SS], YYYY-MM-DD [HH:MM[:SS]] or @SECONDS";
	if (text[0] == '@') {
		secs = strtonum(text + 1, 0, INT64_MAX / 1000, &errstr);
		if (errstr != NULL)
			return -1;
		*ms = secs * 1000;
		return 0;
	}
	for (i = 0; i < sizeof dated / sizeof dated[0]; i++) {
		if (units_strptime(text, dated[i], &tm) == 0)
			break;
	}
	if (i == sizeof dated / sizeof dated[0]) {
		if (units_strptime(text, "%H:%M:%S", &tm) == -1 &&
		    units_strptime(text, "%H:%M", &tm) == -1)
			return -1;
		localtime_r(&now, &today);
		tm.tm_year = today.tm_year;
		tm.tm_mon = today.tm_mon;
		tm.tm_mday = today.tm_mday;
		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) == (time_t)-1)
			return -1;
		if (t <= now) {
			tm.tm_mday++; /* mktime carries it into the month */
			tm.tm_isdst = -1;
			if ((t = mktime(&tm)) == (time_t)-1)
				return -1;
		}
		*ms = (int64_t)t * 1000;
		return 0;
	}
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1) {
		*why = "not a time this machine can represent";
		return -1;
	}
	*ms = (int64_t)t * 1000;
	return 0;
}
