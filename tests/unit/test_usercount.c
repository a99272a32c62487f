/* Queued jobs per user. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/usercount.h"

static void
test_counts_per_user(void **state)
{
	struct usercount_tree *t = usercount_new();

	assert_non_null(t);
	assert_int_equal(usercount_get(t, 1000), 0);
	assert_int_equal(usercount_add(t, 1000, 5), 0);
	assert_int_equal(usercount_add(t, 1001, 1), 0);
	assert_int_equal(usercount_add(t, 1000, -2), 0);
	assert_int_equal(usercount_get(t, 1000), 3);
	assert_int_equal(usercount_get(t, 1001), 1);
	/* Never below zero; a user at zero has no entry. */
	assert_int_equal(usercount_add(t, 1001, -7), 0);
	assert_int_equal(usercount_get(t, 1001), 0);
	assert_int_equal(usercount_add(t, 4242, -1), 0);
	assert_int_equal(usercount_get(t, 4242), 0);
	usercount_clear(t);
	assert_int_equal(usercount_get(t, 1000), 0);
	usercount_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts_per_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
