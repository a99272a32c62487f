/* The restart policy, driven with a made-up clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/compat.h"
#include "core/restart.h"

#define MS NS_PER_MS
#define SEC NS_PER_SEC

static const struct restart_policy policy = {
    .delay_ns = 100 * MS,
    .delay_max_ns = 1 * SEC,
    .crash_loop_limit = 5,
    .crash_loop_window_ns = 60 * SEC,
    .crash_loop_hold_ns = 30 * SEC,
};

static int
setup(void **state)
{
	static struct restart_state s;

	if (restart_state_init(&s) == -1)
		return -1;
	*state = &s;
	return 0;
}

static int
teardown(void **state)
{
	restart_state_free(*state);
	return 0;
}

static void
test_first_young_death_restarts_at_once(void **state)
{
	struct restart_decision d =
	    restart_decide(&policy, *state, 0, 2 * SEC, -1);

	assert_int_equal(d.action, RESTART_NOW);
	assert_int_equal(d.at_ns, 2 * SEC);
}

static void
test_backoff_doubles_to_the_cap(void **state)
{
	static const int64_t want[] = {0, 100 * MS, 200 * MS, 400 * MS};
	struct restart_policy p = policy;
	struct restart_decision d;
	int64_t now = 0;
	size_t i;

	p.crash_loop_limit = 100;
	for (i = 0; i < nitems(want); i++) {
		now += 1 * SEC;
		d = restart_decide(&p, *state, now - 10 * MS, now, 1);
		assert_int_equal(d.at_ns - now, want[i]);
		assert_int_equal(d.action,
				 i == 0 ? RESTART_NOW : RESTART_LATER);
	}
	for (i = 0; i < 5; i++) {
		now += 1 * SEC;
		d = restart_decide(&p, *state, now - 10 * MS, now, 1);
	}
	assert_int_equal(d.action, RESTART_LATER);
	assert_int_equal(d.at_ns - now, p.delay_max_ns);
}

static void
test_respawn_holds_after_crash_loop(void **state)
{
	struct restart_decision d;
	int64_t now = 0;
	int i;

	for (i = 0; i < 4; i++) {
		now += 1 * SEC;
		d = restart_decide(&policy, *state, now - 1, now, -1);
		assert_int_not_equal(d.action, RESTART_HOLD);
	}
	now += 1 * SEC;
	d = restart_decide(&policy, *state, now - 1, now, -1);
	assert_int_equal(d.action, RESTART_HOLD);
	assert_int_equal(d.deaths_in_window, 5);
	assert_int_equal(d.at_ns, now + policy.crash_loop_hold_ns);

	/* After the hold it gets a fresh start. */
	now = d.at_ns + 1 * SEC;
	d = restart_decide(&policy, *state, now - 1, now, -1);
	assert_int_equal(d.action, RESTART_NOW);
}

static void
test_deaths_outside_the_window_do_not_count(void **state)
{
	struct restart_decision d;
	int64_t now = 0;
	int i;

	/* Young deaths (lived 1s) 20s apart: at most 3 fall within 60s. */
	for (i = 0; i < 20; i++) {
		now += 20 * SEC;
		d = restart_decide(&policy, *state, now - 1 * SEC, now, -1);
		assert_int_not_equal(d.action, RESTART_HOLD);
		assert_true(d.deaths_in_window <= 3);
	}
}

static void
test_long_lived_worker_resets_history(void **state)
{
	struct restart_decision d;
	int64_t now = 0;
	int i;

	for (i = 0; i < 3; i++) {
		now += 1 * SEC;
		d = restart_decide(&policy, *state, now - 1, now, -1);
	}
	assert_int_equal(d.action, RESTART_LATER);
	/* This one lived past the window: restart at once, forget. */
	now += 120 * SEC;
	d = restart_decide(&policy, *state, now - 61 * SEC, now, -1);
	assert_int_equal(d.action, RESTART_NOW);
	now += 1 * SEC;
	d = restart_decide(&policy, *state, now - 1, now, -1);
	assert_int_equal(d.action, RESTART_NOW);
}

static void
test_fatal_config_exit_is_never_restarted(void **state)
{
	struct restart_decision d =
	    restart_decide(&policy, *state, 0, 90 * SEC, FORQ_EXIT_CONFIG);

	assert_int_equal(d.action, RESTART_NEVER);
}

static void
test_lowered_limit_after_reload(void **state)
{
	struct restart_policy p = policy;
	struct restart_decision d;
	int64_t now = 0;
	int i;

	p.crash_loop_limit = 10;
	for (i = 0; i < 8; i++) {
		now += 1 * SEC;
		restart_decide(&p, *state, now - 1, now, -1);
	}
	p.crash_loop_limit = 2;
	now += 1 * SEC;
	d = restart_decide(&p, *state, now - 1, now, -1);
	assert_int_not_equal(d.action, RESTART_HOLD);
	now += 1 * SEC;
	d = restart_decide(&p, *state, now - 1, now, -1);
	assert_int_equal(d.action, RESTART_HOLD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_first_young_death_restarts_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backoff_doubles_to_the_cap,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_respawn_holds_after_crash_loop,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_deaths_outside_the_window_do_not_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_long_lived_worker_resets_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_fatal_config_exit_is_never_restarted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lowered_limit_after_reload,
					    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
