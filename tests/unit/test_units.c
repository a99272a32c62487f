/* Durations and sizes, as the conf file and the CLI read them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/units.h"

static int64_t
duration(const char *text)
{
	const char *why = NULL;
	int64_t ms = -1;

	assert_int_equal(units_parse_duration(text, &ms, &why), 0);
	return ms;
}

static const char *
duration_error(const char *text)
{
	const char *why = NULL;
	int64_t ms;

	assert_int_equal(units_parse_duration(text, &ms, &why), -1);
	assert_non_null(why);
	return why;
}

static void
test_duration_units(void **state)
{
	assert_int_equal(duration("500ms"), 500);
	assert_int_equal(duration("10s"), 10000);
	assert_int_equal(duration("2m"), 120000);
	assert_int_equal(duration("1h"), 3600000);
	assert_int_equal(duration("1d"), 86400000);
	assert_int_equal(duration("0s"), 0);
}

static void
test_duration_bare_number_is_seconds(void **state)
{
	assert_int_equal(duration("30"), 30000);
	assert_int_equal(duration("0"), 0);
}

static void
test_duration_compound(void **state)
{
	assert_int_equal(duration("1m30s"), 90000);
	assert_int_equal(duration("1h2m3s4ms"), 3723004);
}

static void
test_duration_rejects_garbage(void **state)
{
	assert_string_equal(duration_error(""), "empty duration");
	assert_string_equal(duration_error("10x"),
			    "unknown unit (use ms, s, m, h or d)");
	assert_string_equal(duration_error("10sec"),
			    "unknown unit (use ms, s, m, h or d)");
	assert_string_equal(duration_error("s"),
			    "expected a number such as 10s, 500ms or 2m");
	assert_string_equal(duration_error("-1s"),
			    "expected a number such as 10s, 500ms or 2m");
	assert_string_equal(duration_error("1 s"),
			    "unknown unit (use ms, s, m, h or d)");
}

static void
test_duration_overflow(void **state)
{
	assert_string_equal(duration_error("99999999999999999999s"),
			    "duration too large");
	assert_string_equal(duration_error("9999999999999999d"),
			    "duration too large");
	assert_string_equal(duration_error("99999999999999999"),
			    "duration too large");
}

static uint64_t
size(const char *text)
{
	const char *why = NULL;
	uint64_t n = 0;

	assert_int_equal(units_parse_size(text, &n, &why), 0);
	return n;
}

static void
test_size_units(void **state)
{
	assert_int_equal(size("4096"), 4096);
	assert_int_equal(size("64K"), 65536);
	assert_int_equal(size("64k"), 65536);
	assert_int_equal(size("1M"), 1048576);
	assert_int_equal(size("2G"), UINT64_C(2147483648));
	assert_int_equal(size("1T"), UINT64_C(1099511627776));
}

static void
test_size_rejects_garbage(void **state)
{
	const char *why;
	uint64_t n;

	assert_int_equal(units_parse_size("", &n, &why), -1);
	assert_int_equal(units_parse_size("1X", &n, &why), -1);
	assert_string_equal(why, "unknown unit (use K, M, G or T)");
	assert_int_equal(units_parse_size("1KB", &n, &why), -1);
	assert_int_equal(units_parse_size("-1", &n, &why), -1);
	assert_int_equal(units_parse_size("99999999999T", &n, &why), -1);
	assert_string_equal(why, "size too large");
	assert_int_equal(units_parse_size("99999999999999999999999", &n, &why),
			 -1);
	assert_string_equal(why, "size too large");
}

static void
test_duration_format(void **state)
{
	char buf[32];

	units_format_duration(250, buf, sizeof buf);
	assert_string_equal(buf, "250ms");
	units_format_duration(1500, buf, sizeof buf);
	assert_string_equal(buf, "1.5s");
	units_format_duration(62000, buf, sizeof buf);
	assert_string_equal(buf, "1m2s");
	units_format_duration(3723000, buf, sizeof buf);
	assert_string_equal(buf, "1h2m");
	units_format_duration(90000000, buf, sizeof buf);
	assert_string_equal(buf, "1d1h");
	units_format_duration(-1, buf, sizeof buf);
	assert_string_equal(buf, "-");
}

static void
test_format_size(void **state)
{
	char buf[32];

	units_format_size(512, buf, sizeof buf);
	assert_string_equal(buf, "512B");
	units_format_size(8 * 1024 * 1024, buf, sizeof buf);
	assert_string_equal(buf, "8M");
	units_format_size(1536, buf, sizeof buf);
	assert_string_equal(buf, "1.5K");
	units_format_size(UINT64_C(3) << 40, buf, sizeof buf);
	assert_string_equal(buf, "3T");
}

static void
test_time_forms(void **state)
{
	/* 2026-11-24 10:00:00 UTC */
	time_t now = 1795514400;
	const char *why;
	int64_t ms;

	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(units_parse_time("2026-11-24 12:30", now, &ms, &why),
			 0);
	assert_int_equal(ms, (now + 2 * 3600 + 1800) * INT64_C(1000));
	assert_int_equal(units_parse_time("2026-11-24T12:30:15", now, &ms,
					  &why),
			 0);
	assert_int_equal(ms, (now + 2 * 3600 + 1815) * INT64_C(1000));
	assert_int_equal(units_parse_time("2026-11-25", now, &ms, &why), 0);
	assert_int_equal(ms, (now + 14 * 3600) * INT64_C(1000));
	/* A time of day: today while it is ahead, else tomorrow. */
	assert_int_equal(units_parse_time("11:00", now, &ms, &why), 0);
	assert_int_equal(ms, (now + 3600) * INT64_C(1000));
	assert_int_equal(units_parse_time("09:59:30", now, &ms, &why), 0);
	assert_int_equal(ms, (now + 86400 - 30) * INT64_C(1000));
	assert_int_equal(units_parse_time("@1795514400", now, &ms, &why), 0);
	assert_int_equal(ms, now * INT64_C(1000));
	assert_int_equal(units_parse_time("tomorrow", now, &ms, &why), -1);
	assert_int_equal(units_parse_time("12:30 junk", now, &ms, &why), -1);
	assert_int_equal(units_parse_time("@-5", now, &ms, &why), -1);
	assert_int_equal(units_parse_time("", now, &ms, &why), -1);
	assert_non_null(strstr(why, "HH:MM"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_size),
	    cmocka_unit_test(test_duration_units),
	    cmocka_unit_test(test_duration_bare_number_is_seconds),
	    cmocka_unit_test(test_duration_compound),
	    cmocka_unit_test(test_duration_rejects_garbage),
	    cmocka_unit_test(test_duration_overflow),
	    cmocka_unit_test(test_size_units),
	    cmocka_unit_test(test_size_rejects_garbage),
	    cmocka_unit_test(test_duration_format),
	    cmocka_unit_test(test_time_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
