/* CPU load from /proc/stat's text, and the slots it allows a worker. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/cpuload.h"

static const char stat_text[] = "cpu  300 10 200 5000 40 3 2 1 0 0\n"
				"cpu0 100 0 50 2000 10 1 1 0 0 0\n"
				"cpu2 200 10 150 3000 30 2 1 1 0 0\n"
				"intr 12345 0 0\n"
				"cpu7 1 1 1 1 1 1 1 1 0 0\n";

static void
test_parse_reads_each_cpu_line_and_stops_after_them(void **state)
{
	struct cpu_ticks t[4] = {{7, 7}, {7, 7}, {7, 7}, {7, 7}};

	(void)state;
	assert_int_equal(cpuload_parse(stat_text, t, 4), 2);
	/* busy: user nice system irq softirq steal; idle and iowait not. */
	assert_int_equal(t[0].busy, 100 + 50 + 1 + 1);
	assert_int_equal(t[0].total, 152 + 2000 + 10);
	assert_int_equal(t[2].busy, 200 + 10 + 150 + 2 + 1 + 1);
	assert_int_equal(t[2].total, 364 + 3000 + 30);
	/* An offline CPU has no line: left alone. */
	assert_int_equal(t[1].busy, 7);
	/* The "cpu7" past the intr line is not a CPU line of this file. */
	assert_int_equal(t[3].busy, 7);
}

static void
test_parse_skips_cpus_past_max_and_a_line_cut_short(void **state)
{
	struct cpu_ticks t[1] = {{0, 0}};

	(void)state;
	assert_int_equal(cpuload_parse(stat_text, t, 1), 1);
	assert_int_equal(t[0].busy, 152);
	t[0].busy = 9;
	assert_int_equal(cpuload_parse("cpu0 100 0 50 2000", t, 1), 0);
	assert_int_equal(t[0].busy, 9);
	/* An old kernel's four fields still count. */
	assert_int_equal(cpuload_parse("cpu0 1 2 3 4\n", t, 1), 1);
	assert_int_equal(t[0].busy, 6);
	assert_int_equal(t[0].total, 10);
}

static void
test_busy_is_the_fraction_between_readings(void **state)
{
	struct cpu_ticks a = {100, 1000}, b = {175, 1100}, c = {300, 1150};

	(void)state;
	assert_float_equal(cpuload_busy(&a, &b), 0.75, 1e-9);
	/* More busy than total ticks (counters read apart): 1. */
	assert_float_equal(cpuload_busy(&b, &c), 1.0, 1e-9);
	/* No tick, or counters that went back (a CPU replugged): unknown. */
	assert_true(cpuload_busy(&a, &a) < 0);
	assert_true(cpuload_busy(&b, &a) < 0);
}

static void
test_slots_grow_only_when_full_and_the_cpu_has_time(void **state)
{
	(void)state;
	assert_int_equal(cpuload_slots(1, 4, 1, true, 0.10), 2);
	assert_int_equal(cpuload_slots(3, 4, 3, true, 0.74), 4);
	assert_int_equal(cpuload_slots(4, 4, 4, true, 0.10), 4);
	/* Not full: no demand for another slot. */
	assert_int_equal(cpuload_slots(2, 4, 1, false, 0.10), 2);
	/* Between the two marks: as they are. */
	assert_int_equal(cpuload_slots(2, 4, 2, true, 0.80), 2);
	assert_int_equal(cpuload_slots(2, 4, 2, true, 0.95), 2);
}

static void
test_slots_shrink_when_the_cpu_is_saturated_or_they_stay_free(void **state)
{
	(void)state;
	assert_int_equal(cpuload_slots(3, 4, 3, true, 0.99), 2);
	assert_int_equal(cpuload_slots(1, 4, 1, true, 1.0), 1);
	/* Two or more free all along: CPU-bound jobs after waiting ones
	 * should not find them all. */
	assert_int_equal(cpuload_slots(4, 4, 0, false, 0.05), 3);
	assert_int_equal(cpuload_slots(4, 4, 2, false, 0.05), 3);
	assert_int_equal(cpuload_slots(4, 4, 3, false, 0.05), 4);
}

static void
test_slots_unknown_load_keeps_them_within_bounds(void **state)
{
	(void)state;
	assert_int_equal(cpuload_slots(3, 4, 3, true, -1), 3);
	assert_int_equal(cpuload_slots(0, 4, 0, false, -1), 1);
	/* A smaller most after a reload: cut to it. */
	assert_int_equal(cpuload_slots(8, 4, 0, false, -1), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_parse_reads_each_cpu_line_and_stops_after_them),
	    cmocka_unit_test(
		test_parse_skips_cpus_past_max_and_a_line_cut_short),
	    cmocka_unit_test(test_busy_is_the_fraction_between_readings),
	    cmocka_unit_test(
		test_slots_grow_only_when_full_and_the_cpu_has_time),
	    cmocka_unit_test(
		test_slots_shrink_when_the_cpu_is_saturated_or_they_stay_free),
	    cmocka_unit_test(test_slots_unknown_load_keeps_them_within_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
