/* The gangs: which workers a job with CPUs of its own holds, and when
 * it may start (the choice of those workers: test_sched.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/sched.h"
#include "engine/gangs.h"

/* Worker w's CPU: 4, none, 6. */
static int
cpu_of(void *arg, int w)
{
	static const int cpu[3] = {4, -1, 6};

	(void)arg;
	return cpu[w];
}

static struct gangs *
with_gang(uint32_t nworkers, uint64_t id, uint32_t cpus)
{
	struct gangs *g = gangs_new(nworkers);
	struct store_job job;
	struct job_run run;

	assert_non_null(g);
	memset(&job, 0, sizeof job);
	memset(&run, 0, sizeof run);
	job.id = id;
	job.spec.cpus = cpus;
	assert_int_equal(gangs_add(g, &job, &run), 0);
	return g;
}

static void
test_holds_the_least_busy_and_waits_for_them_to_empty(void **state)
{
	struct sched_worker v[3] = {
	    {.ready = true, .busy = 1, .slots = 1},
	    {.ready = true, .busy = 0, .slots = 1},
	    {.ready = true, .busy = 1, .slots = 1},
	};
	struct gangs *g = with_gang(3, 7, 2);

	/* Worker 1 is free; of the busy two, the lower index. */
	assert_false(gangs_hold(g, 0, v));
	assert_int_equal(gangs_holder(g, 0), 7);
	assert_int_equal(gangs_holder(g, 1), 7);
	assert_int_equal(gangs_holder(g, 2), 0);
	assert_true(v[0].held && v[1].held && !v[2].held);
	/* Held, worker 0 takes nothing new; once it empties, the gang may
	 * start, on the first of its workers. */
	v[0].busy = 0;
	assert_true(gangs_hold(g, 0, v));
	assert_int_equal(gangs_first_worker(g, 7), 0);
	gangs_free(g);
}

static void
test_a_held_worker_that_died_is_replaced(void **state)
{
	struct sched_worker v[3] = {
	    {.ready = true, .slots = 1},
	    {.ready = true, .slots = 1},
	    {.ready = true, .busy = 1, .slots = 1},
	};
	struct gangs *g = with_gang(3, 9, 2);

	assert_true(gangs_hold(g, 0, v));
	v[1].ready = false;
	/* Worker 2 is the only one left, and busy: held, not yet empty. */
	assert_false(gangs_hold(g, 0, v));
	assert_int_equal(gangs_holder(g, 1), 0);
	assert_int_equal(gangs_holder(g, 2), 9);
	assert_int_equal(gangs_at(g, 0)->have, 2);
	v[2].busy = 0;
	assert_true(gangs_hold(g, 0, v));
	gangs_free(g);
}

static void
test_too_few_workers_holds_what_there_is(void **state)
{
	struct sched_worker v[2] = {
	    {.ready = true, .slots = 1},
	    {.ready = false, .slots = 1},
	};
	struct gangs *g = with_gang(2, 3, 2);

	assert_false(gangs_hold(g, 0, v));
	assert_int_equal(gangs_holder(g, 0), 3);
	assert_int_equal(gangs_at(g, 0)->have, 1);
	v[1].ready = true;
	assert_true(gangs_hold(g, 0, v));
	gangs_free(g);
}

static void
test_release_cpus_and_removal(void **state)
{
	struct sched_worker v[3] = {
	    {.ready = true, .slots = 1},
	    {.ready = true, .slots = 1},
	    {.ready = true, .slots = 1},
	};
	struct gangs *g = with_gang(3, 5, 3);
	struct gang out;
	cpu_set_t set;

	assert_true(gangs_hold(g, 0, v));
	CPU_ZERO(&set);
	gangs_cpus(g, 5, cpu_of, NULL, &set);
	assert_int_equal(CPU_COUNT(&set), 2);
	assert_true(CPU_ISSET(4, &set) && CPU_ISSET(6, &set));
	assert_int_equal(gangs_find(g, 5), 0);
	assert_int_equal(gangs_find(g, 6), -1);
	gangs_remove(g, 0, &out);
	assert_int_equal(out.job.id, 5);
	assert_int_equal(gangs_waiting(g), 0);
	/* Running now: its workers stay held until it ends. */
	assert_int_equal(gangs_holder(g, 2), 5);
	gangs_release(g, 5);
	assert_int_equal(gangs_holder(g, 0), 0);
	assert_int_equal(gangs_first_worker(g, 5), -1);
	gangs_free(g);
}

static void
test_one_gang_per_worker_at_most(void **state)
{
	struct gangs *g = with_gang(1, 1, 1);
	struct store_job job = {.id = 2};
	struct job_run run;

	memset(&run, 0, sizeof run);
	assert_int_equal(gangs_add(g, &job, &run), -1);
	assert_int_equal(gangs_waiting(g), 1);
	gangs_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_holds_the_least_busy_and_waits_for_them_to_empty),
	    cmocka_unit_test(test_a_held_worker_that_died_is_replaced),
	    cmocka_unit_test(test_too_few_workers_holds_what_there_is),
	    cmocka_unit_test(test_release_cpus_and_removal),
	    cmocka_unit_test(test_one_gang_per_worker_at_most),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
