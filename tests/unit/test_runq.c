/* The order in which ready jobs run: priorities, FIFO, queue limits,
 * per-user fairness, pause; and the heap under it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/heap.h"
#include "core/runq.h"

static void
push(struct runq *q, int queue, uid_t uid, uint64_t id, int32_t prio)
{
	struct runq_job j = {.id = id, .priority = prio};

	assert_int_equal(runq_push(q, queue, uid, &j), 0);
}

static uint64_t
pop(struct runq *q)
{
	struct runq_pick p;

	if (runq_pop(q, &p) == -1)
		return 0;
	return p.job.id;
}

static bool
int_before(const void *a, const void *b)
{
	return *(const int *)a < *(const int *)b;
}

static void
test_heap_sorts(void **state)
{
	struct heap h;
	int i, v, last = -1;

	heap_init(&h, sizeof(int), int_before);
	srand(7);
	for (i = 0; i < 5000; i++) {
		v = rand() % 1000;
		assert_int_equal(heap_push(&h, &v), 0);
	}
	for (i = 0; i < 5000; i++) {
		assert_int_equal(heap_pop(&h, &v), 0);
		assert_true(v >= last);
		last = v;
	}
	assert_int_equal(heap_pop(&h, &v), -1);
	assert_null(heap_top(&h));
	heap_free(&h);
}

static void
test_higher_priority_first_fifo_within(void **state)
{
	struct runq *q = runq_new();
	int d = runq_queue(q, "default");

	push(q, d, 1000, 1, 0);
	push(q, d, 1000, 2, 5);
	push(q, d, 1000, 3, 0);
	push(q, d, 1000, 4, 5);
	push(q, d, 1000, 5, -3);
	assert_int_equal(pop(q), 2);
	assert_int_equal(pop(q), 4);
	assert_int_equal(pop(q), 1);
	assert_int_equal(pop(q), 3);
	assert_int_equal(pop(q), 5);
	assert_int_equal(pop(q), 0);
	assert_int_equal(runq_ready(q), 0);
	runq_free(q);
}

static void
test_priority_wins_across_queues(void **state)
{
	struct runq *q = runq_new();
	int a = runq_queue(q, "a"), b = runq_queue(q, "b");

	push(q, a, 1000, 1, 0);
	push(q, b, 1000, 2, 1);
	assert_int_equal(pop(q), 2);
	assert_int_equal(pop(q), 1);
	runq_free(q);
}

static void
test_queue_at_its_limit_waits_while_others_run(void **state)
{
	struct runq *q = runq_new();
	int gpu = runq_queue(q, "gpu"), d = runq_queue(q, "default");
	struct runq_pick p;

	runq_set_parallel(q, gpu, 1);
	push(q, gpu, 1000, 1, 0);
	push(q, gpu, 1000, 2, 0);
	push(q, d, 1000, 3, 0);
	assert_int_equal(runq_pop(q, &p), 0);
	assert_int_equal(p.job.id, 1);
	assert_int_equal(p.queue, gpu);
	assert_int_equal(runq_started(q, gpu, 1000), 0);
	/* gpu is full: job 2 waits, job 3 goes. */
	assert_int_equal(pop(q), 3);
	assert_int_equal(pop(q), 0);
	runq_ended(q, gpu, 1000);
	assert_int_equal(pop(q), 2);
	runq_free(q);
}

static void
test_one_users_many_jobs_do_not_starve_anothers_one(void **state)
{
	struct runq *q = runq_new();
	int d = runq_queue(q, "default");
	struct runq_pick p;
	uint64_t id;

	/* uid 1 queued 1000 jobs and runs 2 of them; uid 2 queues one. */
	for (id = 1; id <= 1000; id++)
		push(q, d, 1, id, 0);
	for (id = 0; id < 2; id++) {
		assert_int_equal(runq_pop(q, &p), 0);
		assert_int_equal(runq_started(q, d, p.uid), 0);
	}
	push(q, d, 2, 5000, 0);
	assert_int_equal(runq_pop(q, &p), 0);
	assert_int_equal(p.job.id, 5000);
	assert_int_equal(p.uid, 2);
	runq_free(q);
}

static void
test_fair_turns_between_users(void **state)
{
	struct runq *q = runq_new();
	int d = runq_queue(q, "default");
	struct runq_pick p;
	int i, n1 = 0, n2 = 0;

	for (i = 0; i < 10; i++) {
		push(q, d, 1, (uint64_t)i + 1, 0);
		push(q, d, 2, (uint64_t)i + 100, 0);
	}
	/* With each job left running, the users take turns. */
	for (i = 0; i < 8; i++) {
		assert_int_equal(runq_pop(q, &p), 0);
		assert_int_equal(runq_started(q, d, p.uid), 0);
		if (p.uid == 1)
			n1++;
		else
			n2++;
		assert_true(abs(n1 - n2) <= 1);
	}
	runq_free(q);
}

static void
test_turns_one_at_a_time(void **state)
{
	struct runq *q = runq_new();
	int one = runq_queue(q, "one");
	struct runq_pick p;
	char order[8] = "";
	int i;

	/* A queue that runs one job at a time: each start and end comes
	 * before the next pick, so nobody is running when it is made. */
	runq_set_parallel(q, one, 1);
	for (i = 0; i < 4; i++)
		push(q, one, 1, (uint64_t)i + 1, 0);
	push(q, one, 2, 10, 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(runq_pop(q, &p), 0);
		assert_int_equal(runq_started(q, one, p.uid), 0);
		assert_int_equal(runq_pop(q, &(struct runq_pick){0}), -1);
		runq_ended(q, one, p.uid);
		order[i] = p.uid == 1 ? 'A' : 'B';
	}
	assert_string_equal(order, "ABAAA");
	runq_free(q);
}

static void
test_pause_one_queue_or_all(void **state)
{
	struct runq *q = runq_new();
	int a = runq_queue(q, "a"), b = runq_queue(q, "b");

	push(q, a, 1, 1, 0);
	push(q, b, 1, 2, 0);
	runq_set_paused(q, a, true);
	assert_int_equal(pop(q), 2);
	assert_int_equal(pop(q), 0);
	runq_set_paused(q, RUNQ_ALL, true);
	runq_set_paused(q, a, false);
	assert_int_equal(pop(q), 0);
	assert_true(runq_paused(q, RUNQ_ALL));
	runq_set_paused(q, RUNQ_ALL, false);
	assert_int_equal(pop(q), 1);
	runq_free(q);
}

static void
test_queues_are_found_by_name(void **state)
{
	struct runq *q = runq_new();
	struct runq_info info;

	assert_int_equal(runq_queue(q, "default"), 0);
	assert_int_equal(runq_queue(q, "gpu"), 1);
	assert_int_equal(runq_queue(q, "default"), 0);
	assert_int_equal(runq_find(q, "gpu"), 1);
	assert_int_equal(runq_find(q, "nope"), -1);
	assert_int_equal(runq_queues(q), 2);
	runq_set_parallel(q, 1, 3);
	push(q, 1, 7, 9, 0);
	runq_info(q, 1, &info);
	assert_string_equal(info.name, "gpu");
	assert_int_equal(info.parallel, 3);
	assert_int_equal(info.ready, 1);
	assert_int_equal(info.running, 0);
	runq_free(q);
}

static size_t
ready(const struct runq *q, int queue)
{
	struct runq_info info;

	runq_info(q, queue, &info);
	return info.ready;
}

/* Stale entries are not counted ready: a job held (or cancelled) and
 * skipped when popped, a job held and released before its entry came
 * up (its old entry good again, the new one stale), and a count that
 * drifted above the entries left starts over once the heaps are
 * empty. */
static void
test_stale_entries_are_not_counted_ready(void **state)
{
	struct runq *q = runq_new();
	struct runq_pick p;
	int a = runq_queue(q, "a");

	push(q, a, 1, 1, 0);
	push(q, a, 1, 2, 0);
	runq_went_stale(q, a); /* 1 held */
	assert_int_equal(ready(q, a), 1);
	assert_int_equal(runq_ready(q), 1);
	assert_int_equal(runq_pop(q, &p), 0); /* 1: skipped */
	runq_skipped(q, a);
	assert_int_equal(ready(q, a), 1);
	push(q, a, 1, 1, 0); /* 1 released */
	assert_int_equal(ready(q, a), 2);
	runq_went_stale(q, a); /* 2 held, released: a second entry */
	push(q, a, 1, 2, 0);
	assert_int_equal(ready(q, a), 2);
	assert_int_equal(pop(q), 1);
	assert_int_equal(pop(q), 2);
	assert_int_equal(ready(q, a), 0);
	assert_int_equal(runq_pop(q, &p), 0); /* 2 again: skipped */
	runq_skipped(q, a);
	assert_int_equal(ready(q, a), 0);
	assert_int_equal(runq_ready(q), 0);
	/* Drift: said stale twice, one entry. */
	push(q, a, 1, 3, 0);
	runq_went_stale(q, a);
	runq_went_stale(q, a);
	assert_int_equal(ready(q, a), 0);
	assert_int_equal(pop(q), 3);
	push(q, a, 1, 4, 0);
	assert_int_equal(ready(q, a), 1);
	runq_free(q);
}

static uint64_t
pop_start(struct runq *q)
{
	struct runq_pick p;

	if (runq_pop(q, &p) == -1)
		return 0;
	assert_int_equal(runq_started(q, p.queue, p.uid), 0);
	return p.job.id;
}

/* An array with a limit of its own (2) in a queue with one (3): its
 * tasks start while both allow, count in both, and pause with the
 * queue; its queue is shown under the parent's name, its ready jobs in
 * the parent's count, and serves the next array once idle. */
static void
test_an_arrays_limit_within_its_queues(void **state)
{
	struct runq *q = runq_new();
	struct runq_info info;
	int a = runq_queue(q, "a"), arr, other, started;

	runq_set_parallel(q, a, 3);
	arr = runq_subqueue(q, a, 41, 2);
	assert_true(arr > a);
	assert_int_equal(runq_subqueue(q, a, 41, 2), arr);
	assert_int_equal(runq_find(q, "a"), a);
	for (uint64_t id = 41; id <= 45; id++)
		push(q, arr, 1, id, 0);
	push(q, a, 1, 50, 0);
	push(q, a, 1, 51, 0);
	runq_info(q, a, &info);
	assert_int_equal(info.ready, 7);
	assert_int_equal(info.parent, -1);
	runq_info(q, arr, &info);
	assert_string_equal(info.name, "a");
	assert_int_equal(info.parent, a);
	/* Three start (the queue's limit), two of them tasks at most (the
	 * array's); then nothing more. */
	started = pop_start(q) < 50;
	started += pop_start(q) < 50;
	started += pop_start(q) < 50;
	assert_int_equal(started, 2);
	assert_int_equal(pop_start(q), 0);
	runq_info(q, a, &info);
	assert_int_equal(info.running, 3);
	runq_info(q, arr, &info);
	assert_int_equal(info.running, 2);
	/* A task ends: the array is under its limit, but only one job may
	 * start (the queue's limit), and a paused queue starts none. */
	runq_ended(q, arr, 1);
	runq_set_paused(q, a, true);
	assert_int_equal(pop_start(q), 0);
	runq_set_paused(q, a, false);
	assert_int_not_equal(pop_start(q), 0);
	assert_int_equal(pop_start(q), 0);
	/* What is left runs, two tasks at a time at most. */
	runq_ended(q, a, 1);
	runq_ended(q, arr, 1);
	runq_ended(q, arr, 1);
	runq_info(q, arr, &info);
	while (info.ready > 0 || info.running > 0) {
		assert_true(info.running <= 2);
		if (pop_start(q) == 0)
			runq_ended(q, arr, 1);
		runq_info(q, arr, &info);
	}
	/* Idle: the next array takes it over. */
	other = runq_subqueue(q, a, 99, 1);
	assert_int_equal(other, arr);
	runq_free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_heap_sorts),
	    cmocka_unit_test(test_stale_entries_are_not_counted_ready),
	    cmocka_unit_test(test_an_arrays_limit_within_its_queues),
	    cmocka_unit_test(test_higher_priority_first_fifo_within),
	    cmocka_unit_test(test_priority_wins_across_queues),
	    cmocka_unit_test(test_queue_at_its_limit_waits_while_others_run),
	    cmocka_unit_test(
		test_one_users_many_jobs_do_not_starve_anothers_one),
	    cmocka_unit_test(test_fair_turns_between_users),
	    cmocka_unit_test(test_turns_one_at_a_time),
	    cmocka_unit_test(test_pause_one_queue_or_all),
	    cmocka_unit_test(test_queues_are_found_by_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
