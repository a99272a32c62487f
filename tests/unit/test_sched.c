/* The scheduler's choice of worker, and the queue of job ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/jobq.h"
#include "daemon/sched.h"

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
test_queue_is_fifo_across_growth(void **state)
{
	struct jobq q;
	struct jobq_entry e;
	uint64_t i;

	jobq_init(&q);
	/* Interleave pushes and pops so the ring wraps, then grows. */
	for (i = 1; i <= 1500; i++)
		assert_int_equal(jobq_push(&q, i, (uint32_t)i % 3), 0);
	for (i = 1; i <= 1000; i++) {
		assert_int_equal(jobq_pop(&q, &e), 0);
		assert_int_equal(e.id, i);
	}
	for (i = 1501; i <= 5000; i++)
		assert_int_equal(jobq_push(&q, i, 0), 0);
	for (i = 1001; i <= 5000; i++) {
		assert_int_equal(jobq_pop(&q, &e), 0);
		assert_int_equal(e.id, i);
	}
	assert_int_equal(jobq_pop(&q, &e), -1);
	jobq_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_least_busy_ready_worker_wins),
	    cmocka_unit_test(test_ties_go_round_robin),
	    cmocka_unit_test(test_no_free_slot_means_none),
	    cmocka_unit_test(test_queue_is_fifo_across_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
