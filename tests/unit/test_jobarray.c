/* Job arrays as users write them: index lists, limits, task names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/jobarray.h"

static void
expect(const char *text, const char *want, uint32_t max)
{
	struct jobarray a;
	char why[256], got[256] = "";
	size_t k;

	assert_int_equal(jobarray_parse(text, 1000, &a, why, sizeof why), 0);
	for (k = 0; k < a.n; k++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%u",
			 k > 0 ? "," : "", a.index[k]);
	assert_string_equal(got, want);
	assert_int_equal(a.max, max);
	jobarray_free(&a);
}

static void
test_the_forms(void **state)
{
	expect("7", "7", 0);
	expect("1-5", "1,2,3,4,5", 0);
	expect("1-10:3", "1,4,7,10", 0);
	expect("1,3,5-9", "1,3,5,6,7,8,9", 0);
	expect("1-4%2", "1,2,3,4", 2);
	expect("9,0-1", "0,1,9", 0);
	expect("0-0", "0", 0);
}

static void
test_what_is_refused(void **state)
{
	static const char *const bad[] = {
	    "",      "-1",   "a",    "1-",      "5-1",       "1-5:0",
	    "1-5:",  "1,,2", "1,",   "1%0",     "1%",        "1%2%3",
	    "1 - 2", "+1",   "1-2x", "4000001", "1-4000001", "1%4000001",
	};
	struct jobarray a;
	char why[256];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(jobarray_parse(bad[i], 1000, &a, why,
						sizeof why),
				 -1);
		assert_non_null(strstr(why, "an array is indexes"));
	}
	assert_int_equal(jobarray_parse("1-3,2", 1000, &a, why, sizeof why),
			 -1);
	assert_string_equal(why, "index 2 is given twice");
	/* More tasks than a batch may hold: said apart, before memory
	 * for them all is taken. */
	assert_int_equal(jobarray_parse("0-4000000", 1000, &a, why, sizeof why),
			 -2);
	assert_int_equal(jobarray_parse("1-1000", 1000, &a, why, sizeof why),
			 0);
	jobarray_free(&a);
}

static void
test_task_names(void **state)
{
	uint64_t array;
	uint32_t index;

	assert_int_equal(jobarray_task_parse("41_7", &array, &index), 0);
	assert_int_equal(array, 41);
	assert_int_equal(index, 7);
	assert_int_equal(jobarray_task_parse("41_0", &array, &index), 0);
	assert_int_equal(index, 0);
	assert_int_equal(jobarray_task_parse("41", &array, &index), -1);
	assert_int_equal(jobarray_task_parse("41_", &array, &index), -1);
	assert_int_equal(jobarray_task_parse("_7", &array, &index), -1);
	assert_int_equal(jobarray_task_parse("0_7", &array, &index), -1);
	assert_int_equal(jobarray_task_parse("41_7x", &array, &index), -1);
	assert_int_equal(jobarray_task_parse("41_-7", &array, &index), -1);
	assert_int_equal(jobarray_task_parse("41_4000001", &array, &index), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_forms),
	    cmocka_unit_test(test_what_is_refused),
	    cmocka_unit_test(test_task_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
