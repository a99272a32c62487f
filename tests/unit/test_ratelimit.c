/* One line a second, and a count of the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/ratelimit.h"

#define SEC INT64_C(1000000000)

static void
test_first_is_told_the_rest_counted(void **state)
{
	struct ratelimit rl;
	int i;

	(void)state;
	ratelimit_init(&rl, SEC);
	assert_true(ratelimit_pass(&rl, 10 * SEC));
	assert_int_equal(ratelimit_due(&rl), 0);
	for (i = 0; i < 1000; i++)
		assert_false(ratelimit_pass(&rl, 10 * SEC + i));
	assert_int_equal(ratelimit_due(&rl), 11 * SEC);
	/* Not before the second is over. */
	assert_int_equal(ratelimit_flush(&rl, 11 * SEC - 1), 0);
	assert_int_equal(ratelimit_flush(&rl, 11 * SEC), 1000);
	assert_int_equal(ratelimit_due(&rl), 0);
	/* The count was the line of that second: the next waits a second. */
	assert_false(ratelimit_pass(&rl, 11 * SEC + 1));
	assert_int_equal(ratelimit_flush(&rl, 12 * SEC), 1);
}

static void
test_a_quiet_spell_tells_the_next_at_once(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, SEC);
	assert_true(ratelimit_pass(&rl, 5 * SEC));
	assert_true(ratelimit_pass(&rl, 7 * SEC));
	assert_false(ratelimit_pass(&rl, 7 * SEC + 5));
	/* A count still held back is told first. */
	assert_false(ratelimit_pass(&rl, 9 * SEC));
	assert_int_equal(ratelimit_flush(&rl, 9 * SEC), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_is_told_the_rest_counted),
	    cmocka_unit_test(test_a_quiet_spell_tells_the_next_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
