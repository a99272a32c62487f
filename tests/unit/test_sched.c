/* The scheduler's choice of worker (the choice of job: test_runq.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/sched.h"

static void
test_least_busy_ready_worker_wins(void **state)
{
	struct sched_worker w[3] = {
	    {.ready = true, .busy = 2, .slots = 4},
	    {.ready = true, .busy = 1, .slots = 4},
	    {.ready = false, .busy = 0, .slots = 4},
	};
	size_t cursor = 0;

	assert_int_equal(sched_pick(w, 3, &cursor), 1);
}

static void
test_ties_go_round_robin(void **state)
{
	struct sched_worker w[3] = {
	    {.ready = true, .slots = 1},
	    {.ready = true, .slots = 1},
	    {.ready = true, .slots = 1},
	};
	size_t cursor = 0;

	assert_int_equal(sched_pick(w, 3, &cursor), 0);
	assert_int_equal(sched_pick(w, 3, &cursor), 1);
	assert_int_equal(sched_pick(w, 3, &cursor), 2);
	assert_int_equal(sched_pick(w, 3, &cursor), 0);
}

static void
test_no_free_slot_means_none(void **state)
{
	struct sched_worker w[2] = {
	    {.ready = true, .busy = 1, .slots = 1},
	    {.ready = false, .busy = 0, .slots = 1},
	};
	size_t cursor = 0;

	assert_int_equal(sched_pick(w, 2, &cursor), -1);
	assert_int_equal(sched_pick(w, 0, &cursor), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_least_busy_ready_worker_wins),
	    cmocka_unit_test(test_ties_go_round_robin),
	    cmocka_unit_test(test_no_free_slot_means_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
