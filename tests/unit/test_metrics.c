/* OpenMetrics text: histograms, escaping, and a page that fails whole. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buffer.h"
#include "core/metrics.h"

static const struct hist_bounds three = {.n = 3, .le = {0.1, 1, 10}};

static char *
text(struct buf *b)
{
	assert_int_equal(buf_append(b, "", 1), 0);
	return b->data;
}

static void
test_hist_buckets(void **state)
{
	struct hist h;

	hist_init(&h, &three);
	hist_observe(&h, 0.05);
	hist_observe(&h, 0.1); /* on a bound: in it (le is <=) */
	hist_observe(&h, 5);
	hist_observe(&h, 50);
	hist_observe(&h, -3); /* a clock set back: 0 */
	assert_int_equal(h.count[0], 3);
	assert_int_equal(h.count[1], 0);
	assert_int_equal(h.count[2], 1);
	assert_int_equal(h.count[3], 1);
	assert_int_equal(hist_total(&h), 5);
	assert_true(h.sum > 55.14 && h.sum < 55.16);
}

static void
test_page(void **state)
{
	const char *labels[] = {"queue", "a\"b\\c\nd", "state", "queued"};
	struct buf b;
	struct om om;
	struct hist h;

	buf_init(&b, 1 << 16);
	hist_init(&h, &three);
	hist_observe(&h, 0.5);
	hist_observe(&h, 2);
	om_begin(&om, &b);
	om_family(&om, "forq_jobs", OM_GAUGE, NULL, "Jobs.");
	om_sample_u64(&om, "forq_jobs", labels, 2, 7);
	om_family(&om, "forq_wait_seconds", OM_HISTOGRAM, "seconds", "Wait.");
	om_hist(&om, "forq_wait_seconds", labels, 1, &h);
	om_sample(&om, "x", NULL, 0, 0.25);
	assert_int_equal(om_end(&om), 0);
	assert_string_equal(text(&b), "# TYPE forq_jobs gauge\n"
				      "# HELP forq_jobs Jobs.\n"
				      "forq_jobs{queue=\"a\\\"b\\\\c\\nd\","
				      "state=\"queued\"} 7\n"
				      "# TYPE forq_wait_seconds histogram\n"
				      "# UNIT forq_wait_seconds seconds\n"
				      "# HELP forq_wait_seconds Wait.\n"
				      "forq_wait_seconds_bucket{queue="
				      "\"a\\\"b\\\\c\\nd\",le=\"0.1\"} 0\n"
				      "forq_wait_seconds_bucket{queue="
				      "\"a\\\"b\\\\c\\nd\",le=\"1\"} 1\n"
				      "forq_wait_seconds_bucket{queue="
				      "\"a\\\"b\\\\c\\nd\",le=\"10\"} 2\n"
				      "forq_wait_seconds_bucket{queue="
				      "\"a\\\"b\\\\c\\nd\",le=\"+Inf\"} 2\n"
				      "forq_wait_seconds_count{queue="
				      "\"a\\\"b\\\\c\\nd\"} 2\n"
				      "forq_wait_seconds_sum{queue="
				      "\"a\\\"b\\\\c\\nd\"} 2.5\n"
				      "x 0.25\n"
				      "# EOF\n");
	buf_free(&b);
}

static void
test_page_too_big_fails_whole(void **state)
{
	struct buf b;
	struct om om;
	int i;

	buf_init(&b, 64);
	om_begin(&om, &b);
	for (i = 0; i < 10; i++)
		om_sample_u64(&om, "forq_something_long", NULL, 0, 1);
	assert_int_equal(om_end(&om), -1);
	assert_int_equal(errno, ENOBUFS);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hist_buckets),
	    cmocka_unit_test(test_page),
	    cmocka_unit_test(test_page_too_big_fails_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
