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

#define MS 1000000LL

static void
test_a_claim_waits_for_half_the_room_at_most_the_gather_time(void **state)
{
	(void)state;
	/* Half the slots or more free: at once, put off before or not. */
	assert_int_equal(sched_claim_wait(4, 8, 0, 100 * MS, 5 * MS), 0);
	assert_int_equal(sched_claim_wait(8, 8, 99 * MS, 100 * MS, 5 * MS), 0);
	/* Fewer: it waits the whole time from the first put-off... */
	assert_int_equal(sched_claim_wait(1, 8, 0, 100 * MS, 5 * MS), 5 * MS);
	assert_int_equal(sched_claim_wait(3, 8, 0, 100 * MS, 5 * MS), 5 * MS);
	/* ...what is left of it later, and not past it. */
	assert_int_equal(sched_claim_wait(2, 8, 98 * MS, 100 * MS, 5 * MS),
			 3 * MS);
	assert_int_equal(sched_claim_wait(2, 8, 95 * MS, 100 * MS, 5 * MS), 0);
	assert_int_equal(sched_claim_wait(2, 8, 90 * MS, 100 * MS, 5 * MS), 0);
	/* A node of one or two slots never waits; nor with no gather time. */
	assert_int_equal(sched_claim_wait(1, 2, 0, 100 * MS, 5 * MS), 0);
	assert_int_equal(sched_claim_wait(1, 1, 0, 100 * MS, 5 * MS), 0);
	assert_int_equal(sched_claim_wait(1, 8, 0, 100 * MS, 0), 0);
	/* Odd rooms: 3 of 7 is less than half, 4 of 7 is not. */
	assert_int_equal(sched_claim_wait(3, 7, 0, 100 * MS, 5 * MS), 5 * MS);
	assert_int_equal(sched_claim_wait(4, 7, 0, 100 * MS, 5 * MS), 0);
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
	    cmocka_unit_test(
		test_a_claim_waits_for_half_the_room_at_most_the_gather_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
