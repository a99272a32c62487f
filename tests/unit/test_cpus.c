/* The CPU plan: the allowed set narrowed by the conf's list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/cpus.h"

static cpu_set_t
set_of(const char *list)
{
	cpu_set_t set;
	char why[128];

	assert_int_equal(cpus_parse_list(list, &set, why, sizeof why), 0);
	return set;
}

static void
test_parse_list_ranges_and_singles(void **state)
{
	cpu_set_t set = set_of("0-3,6");

	assert_int_equal(CPU_COUNT(&set), 5);
	assert_true(CPU_ISSET(0, &set));
	assert_true(CPU_ISSET(3, &set));
	assert_false(CPU_ISSET(4, &set));
	assert_true(CPU_ISSET(6, &set));
}

static void
test_parse_list_errors(void **state)
{
	cpu_set_t set;
	char why[128];

	assert_int_equal(cpus_parse_list("", &set, why, sizeof why), -1);
	assert_int_equal(cpus_parse_list("a", &set, why, sizeof why), -1);
	assert_int_equal(cpus_parse_list("3-1", &set, why, sizeof why), -1);
	assert_string_equal(why, "bad CPU range after 3");
	assert_int_equal(cpus_parse_list("1;2", &set, why, sizeof why), -1);
	assert_string_equal(why, "unexpected ';' in CPU list");
	assert_int_equal(cpus_parse_list("1,", &set, why, sizeof why), -1);
	assert_int_equal(cpus_parse_list("5000", &set, why, sizeof why), -1);
}

static void
test_plan_auto_takes_the_allowed_set(void **state)
{
	cpu_set_t allowed = set_of("2,3");
	int cpus[8];
	char why[128];
	size_t n;

	assert_int_equal(cpus_plan(&allowed, "auto", cpus, 8, &n, why,
				   sizeof why),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(cpus[0], 2);
	assert_int_equal(cpus[1], 3);
}

static void
test_plan_list_narrows(void **state)
{
	cpu_set_t allowed = set_of("0-7");
	int cpus[8];
	char why[128];
	size_t n;

	assert_int_equal(cpus_plan(&allowed, "1,5-6", cpus, 8, &n, why,
				   sizeof why),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(cpus[0], 1);
	assert_int_equal(cpus[1], 5);
	assert_int_equal(cpus[2], 6);
}

static void
test_plan_refuses_cpus_not_allowed(void **state)
{
	cpu_set_t allowed = set_of("0-1");
	int cpus[8];
	char why[128];
	size_t n;

	assert_int_equal(cpus_plan(&allowed, "1-3,6", cpus, 8, &n, why,
				   sizeof why),
			 -1);
	assert_string_equal(why, "CPU 2-3,6 not in the allowed set (0-1)");
}

static void
test_plan_bounded_by_max(void **state)
{
	cpu_set_t allowed = set_of("0-7");
	int cpus[2];
	char why[128];
	size_t n;

	assert_int_equal(cpus_plan(&allowed, "auto", cpus, 2, &n, why,
				   sizeof why),
			 -1);
	assert_string_equal(why, "more than 2 CPUs");
}

static void
test_format_compresses_ranges(void **state)
{
	cpu_set_t set = set_of("0-3,6,8-9");
	char buf[64];

	cpus_format(&set, buf, sizeof buf);
	assert_string_equal(buf, "0-3,6,8-9");
	CPU_ZERO(&set);
	cpus_format(&set, buf, sizeof buf);
	assert_string_equal(buf, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_list_ranges_and_singles),
	    cmocka_unit_test(test_parse_list_errors),
	    cmocka_unit_test(test_plan_auto_takes_the_allowed_set),
	    cmocka_unit_test(test_plan_list_narrows),
	    cmocka_unit_test(test_plan_refuses_cpus_not_allowed),
	    cmocka_unit_test(test_plan_bounded_by_max),
	    cmocka_unit_test(test_format_compresses_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
