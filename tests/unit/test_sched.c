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

static void
test_held_workers_take_nothing(void **state)
{
	struct sched_worker w[2] = {
	    {.ready = true, .held = true, .slots = 4},
	    {.ready = true, .busy = 3, .slots = 4},
	};
	size_t cursor = 0;

	assert_int_equal(sched_pick(w, 2, &cursor), 1);
	w[1].busy = 4;
	assert_int_equal(sched_pick(w, 2, &cursor), -1);
}

/* A gang holds the least busy workers first, so it starts soonest;
 * held and restarting ones are not its to take. */
static void
test_gang_takes_least_busy_free_workers(void **state)
{
	struct sched_worker w[5] = {
	    {.ready = true, .busy = 2, .slots = 4},
	    {.ready = true, .busy = 0, .slots = 4},
	    {.ready = false, .busy = 0, .slots = 4},
	    {.ready = true, .held = true, .slots = 4},
	    {.ready = true, .busy = 1, .slots = 4},
	};
	int chosen[5];

	assert_int_equal(sched_gang_pick(w, 5, 2, chosen), 2);
	assert_int_equal(chosen[0], 1);
	assert_int_equal(chosen[1], 4);
	/* Fewer than it wants: what there is (it waits for the rest). */
	assert_int_equal(sched_gang_pick(w, 5, 4, chosen), 3);
	assert_int_equal(chosen[2], 0);
	assert_int_equal(sched_gang_pick(w, 5, 0, chosen), 0);
}

static void
test_gang_ties_go_to_the_lower_index(void **state)
{
	struct sched_worker w[3] = {
	    {.ready = true, .busy = 1, .slots = 2},
	    {.ready = true, .busy = 1, .slots = 2},
	    {.ready = true, .busy = 1, .slots = 2},
	};
	int chosen[3];

	assert_int_equal(sched_gang_pick(w, 3, 2, chosen), 2);
	assert_int_equal(chosen[0], 0);
	assert_int_equal(chosen[1], 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_least_busy_ready_worker_wins),
	    cmocka_unit_test(test_ties_go_round_robin),
	    cmocka_unit_test(test_no_free_slot_means_none),
	    cmocka_unit_test(test_held_workers_take_nothing),
	    cmocka_unit_test(test_gang_takes_least_busy_free_workers),
	    cmocka_unit_test(test_gang_ties_go_to_the_lower_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
