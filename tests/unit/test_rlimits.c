/* The limits a job starts with: parsing SOFT[:HARD], and the defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/rlimits.h"

static void
test_soft_and_hard(void **state)
{
	struct job_rlimit_value v;
	const char *why;

	(void)state;
	assert_int_equal(rlimits_parse(JOB_RLIMIT_NOFILE, "1024:4096", &v,
				       &why),
			 0);
	assert_int_equal(v.soft, 1024);
	assert_int_equal(v.hard, 4096);
	/* One value sets both. */
	assert_int_equal(rlimits_parse(JOB_RLIMIT_NOFILE, "2048", &v, &why), 0);
	assert_int_equal(v.soft, 2048);
	assert_int_equal(v.hard, 2048);
	assert_int_equal(rlimits_parse(JOB_RLIMIT_CORE, "0:unlimited", &v,
				       &why),
			 0);
	assert_int_equal(v.soft, 0);
	assert_true(v.hard == RLIMITS_UNLIMITED);
}

static void
test_sizes_only_where_bytes(void **state)
{
	struct job_rlimit_value v;
	const char *why;

	(void)state;
	assert_int_equal(rlimits_parse(JOB_RLIMIT_STACK, "8M", &v, &why), 0);
	assert_int_equal(v.soft, 8 << 20);
	assert_int_equal(rlimits_parse(JOB_RLIMIT_NOFILE, "8M", &v, &why), -1);
	assert_int_equal(rlimits_parse(JOB_RLIMIT_CPU, "60", &v, &why), 0);
	assert_int_equal(v.soft, 60);
}

static void
test_bad_values_say_why(void **state)
{
	struct job_rlimit_value v;
	const char *why = NULL;

	(void)state;
	assert_int_equal(rlimits_parse(JOB_RLIMIT_NOFILE, "4096:1024", &v,
				       &why),
			 -1);
	assert_string_equal(why, "the soft limit is above the hard one");
	assert_int_equal(rlimits_parse(JOB_RLIMIT_NOFILE, "", &v, &why), -1);
	assert_int_equal(rlimits_parse(JOB_RLIMIT_NOFILE, ":5", &v, &why), -1);
	assert_int_equal(rlimits_parse(JOB_RLIMIT_NOFILE, "-1", &v, &why), -1);
	assert_int_equal(rlimits_parse(JOB_RLIMIT_NOFILE, "12x", &v, &why), -1);
	assert_int_equal(rlimits_parse(JOB_RLIMIT_CORE, "kernel", &v, &why),
			 -1);
	assert_string_equal(why, "only limit_nproc may be \"kernel\"");
}

static void
test_defaults_are_a_logins(void **state)
{
	struct job_rlimit_value d[JOB_RLIMIT_COUNT], r[JOB_RLIMIT_COUNT];

	(void)state;
	rlimits_defaults(d);
	assert_int_equal(d[JOB_RLIMIT_CORE].soft, 0);
	assert_true(d[JOB_RLIMIT_CORE].hard == RLIMITS_UNLIMITED);
	assert_int_equal(d[JOB_RLIMIT_NOFILE].soft, 1024);
	assert_int_equal(d[JOB_RLIMIT_NOFILE].hard, 524288);
	assert_int_equal(d[JOB_RLIMIT_STACK].soft, 8 << 20);
	assert_true(d[JOB_RLIMIT_NPROC].soft == RLIMITS_KERNEL);
	rlimits_resolve(r, d, 1234);
	assert_int_equal(r[JOB_RLIMIT_NPROC].soft, 1234);
	assert_int_equal(r[JOB_RLIMIT_NPROC].hard, 1234);
	assert_int_equal(r[JOB_RLIMIT_NOFILE].soft, 1024);
	assert_string_equal(rlimits_key(JOB_RLIMIT_NPROC), "limit_nproc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_soft_and_hard),
	    cmocka_unit_test(test_sizes_only_where_bytes),
	    cmocka_unit_test(test_bad_values_say_why),
	    cmocka_unit_test(test_defaults_are_a_logins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
