/* Countable resources: declarations, asks, the pool (no index to two
 * jobs at once), grants kept and read back, the job's environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/res.h"

static void
kinds(struct res_kinds *k)
{
	char why[256];

	memset(k, 0, sizeof *k);
	assert_int_equal(res_kind_add(k, "gpu", "0-3", why, sizeof why), 0);
	assert_int_equal(res_kind_add(k, "license.matlab", "2", why,
				      sizeof why),
			 0);
	assert_int_equal(res_kind_add(k, "fpga", "1,5", why, sizeof why), 0);
}

static void
test_declarations(void **state)
{
	struct res_kinds k;
	char why[256];

	kinds(&k);
	assert_int_equal(k.n, 3);
	assert_true(k.kind[0].indexed);
	assert_int_equal(k.kind[0].total, 4);
	assert_false(k.kind[1].indexed);
	assert_int_equal(k.kind[1].total, 2);
	assert_int_equal(k.kind[2].indexes, (1 << 1) | (1 << 5));
	assert_int_equal(res_kind_add(&k, "gpu", "2", why, sizeof why), -1);
	assert_int_equal(res_kind_add(&k, "GPU", "2", why, sizeof why), -1);
	assert_int_equal(res_kind_add(&k, "x", "0", why, sizeof why), -1);
	assert_int_equal(res_kind_add(&k, "x", "3-1", why, sizeof why), -1);
	assert_int_equal(res_kind_add(&k, "x", "0-64", why, sizeof why), -1);
	assert_int_equal(res_kind_add(&k, "x", "1,1", why, sizeof why), -1);
	assert_int_equal(res_kind_add(&k, "x", "1,", why, sizeof why), -1);
}

/* The GPUs are the indexed "gpu", wherever it stands; a "gpu" that is a
 * count names no device, and no kind at all none. */
static void
test_gpu_kind(void **state)
{
	struct res_kinds k;
	char why[256];

	memset(&k, 0, sizeof k);
	assert_int_equal(res_gpu_kind(&k), -1);
	assert_int_equal(res_kind_add(&k, "license.matlab", "2", why,
				      sizeof why),
			 0);
	assert_int_equal(res_gpu_kind(&k), -1);
	assert_int_equal(res_kind_add(&k, "gpu", "0-3", why, sizeof why), 0);
	assert_int_equal(res_gpu_kind(&k), 1);
	memset(&k, 0, sizeof k);
	assert_int_equal(res_kind_add(&k, "gpu", "2", why, sizeof why), 0);
	assert_false(k.kind[0].indexed);
	assert_int_equal(res_gpu_kind(&k), -1);
}

/* What each node of a cluster has, told the others and added up as
 * the most one job may ask for. */
static void
test_cluster_totals(void **state)
{
	struct res_kinds k, all;
	struct res_grant g;
	char buf[128], small[10], why[256];

	kinds(&k);
	assert_int_equal(res_kinds_format(&k, buf, sizeof buf), 0);
	assert_string_equal(buf, "gpu=4,license.matlab=2,fpga=2");
	assert_int_equal(res_kinds_format(&k, small, sizeof small), -1);
	memset(&all, 0, sizeof all);
	assert_int_equal(res_kinds_merge(&all, ""), 0);
	assert_int_equal(all.n, 0);
	assert_int_equal(res_kinds_merge(&all, "gpu=2,license.matlab=5"), 0);
	assert_int_equal(res_kinds_merge(&all, buf), 0);
	assert_int_equal(all.n, 3);
	assert_int_equal(all.kind[0].total, 4);
	assert_int_equal(all.kind[1].total, 5);
	assert_false(all.kind[0].indexed);
	assert_int_equal(res_ask_parse(&all, "gpu=4,license.matlab=5", &g, why,
				       sizeof why),
			 0);
	assert_int_equal(res_ask_parse(&all, "gpu=5", &g, why, sizeof why), -2);
	assert_string_equal(why, "gpu=5: there are 4");
	assert_int_equal(res_ask_parse(&all, "tpu=1", &g, why, sizeof why), -1);
	assert_int_equal(res_kinds_merge(&all, "gpu=x"), -1);
	assert_int_equal(res_kinds_merge(&all, "=1"), -1);
	assert_int_equal(res_kinds_merge(&all, "GPU=1"), -1);
	assert_int_equal(res_kinds_merge(&all, "gpu=0"), -1);
	assert_int_equal(res_kinds_merge(&all, "gpu=1;"), -1);
	(void)state;
}

static void
test_asks(void **state)
{
	struct res_kinds k;
	struct res_grant g;
	char why[256];

	kinds(&k);
	assert_int_equal(res_ask_parse(&k, "gpu=2,license.matlab=1", &g, why,
				       sizeof why),
			 0);
	assert_int_equal(g.want[0], 2);
	assert_int_equal(g.want[1], 1);
	assert_true(res_asks(&g));
	assert_int_equal(res_ask_parse(&k, "gpu=5", &g, why, sizeof why), -2);
	assert_string_equal(why, "gpu=5: there are 4");
	assert_int_equal(res_ask_parse(&k, "tpu=1", &g, why, sizeof why), -1);
	assert_string_equal(why, "no resource named \"tpu\" in [resources]");
	assert_int_equal(res_ask_parse(&k, "gpu=0", &g, why, sizeof why), -1);
	assert_int_equal(res_ask_parse(&k, "gpu=1,gpu=1", &g, why, sizeof why),
			 -1);
	assert_int_equal(res_ask_parse(&k, "gpu", &g, why, sizeof why), -1);
}

/* Indexes never go to two holders; counts never pass their total; what
 * is given back is taken again. */
static void
test_pool(void **state)
{
	struct res_kinds k;
	struct res_pool p = {0};
	struct res_grant a, b, c, d;
	char why[256];

	kinds(&k);
	res_ask_parse(&k, "gpu=2,license.matlab=1", &a, why, sizeof why);
	res_ask_parse(&k, "gpu=2,license.matlab=1", &b, why, sizeof why);
	res_ask_parse(&k, "gpu=1", &c, why, sizeof why);
	assert_int_equal(res_take(&k, &p, &a), 0);
	assert_int_equal(a.mask[0], 0x3);
	assert_int_equal(res_take(&k, &p, &b), 0);
	assert_int_equal(b.mask[0], 0xc);
	assert_int_equal(res_take(&k, &p, &c), -1);
	assert_false(res_free(&k, &p, &c, 0));
	assert_int_equal(res_left(&k, &p, 0), 0);
	assert_int_equal(res_left(&k, &p, 1), 0);
	assert_int_equal(res_left(&k, &p, 2), 2);
	res_give_back(&k, &p, &a);
	assert_int_equal(res_left(&k, &p, 0), 2);
	assert_int_equal(res_left(&k, &p, 1), 1);
	assert_int_equal(res_take(&k, &p, &c), 0);
	assert_int_equal(c.mask[0], 0x1);
	/* A grant kept by the store, taken again after a restart. */
	char text[128];
	struct res_pool q = {0};

	assert_int_equal(res_grant_format(&k, &b, text, sizeof text), 0);
	assert_string_equal(text, "gpu:2:c;license.matlab:1:0");
	assert_int_equal(res_grant_parse(&k, text, &d), 0);
	assert_int_equal(res_take_given(&k, &q, &d), 0);
	assert_int_equal(res_take_given(&k, &q, &d), -1);
	assert_int_equal(res_grant_parse(&k, "tpu:1:1", &d), -1);
}

static void
test_environment(void **state)
{
	struct res_kinds k;
	struct res_pool p = {0};
	struct res_grant g;
	char why[256], env[256];
	size_t used;
	uint32_t n;

	kinds(&k);
	res_ask_parse(&k, "fpga=1,gpu=2,license.matlab=2", &g, why, sizeof why);
	p.used_mask[0] = 0x1;
	assert_int_equal(res_take(&k, &p, &g), 0);
	assert_int_equal(res_grant_env(&k, &g, env, sizeof env, &used, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(env, "FORQ_RES_GPU=1,2");
	assert_string_equal(env + strlen(env) + 1, "CUDA_VISIBLE_DEVICES=1,2");
	assert_non_null(memmem(env, used, "FORQ_RES_LICENSE_MATLAB=2", 25));
	assert_non_null(memmem(env, used, "FORQ_RES_FPGA=1", 15));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_declarations),
	    cmocka_unit_test(test_asks),
	    cmocka_unit_test(test_cluster_totals),
	    cmocka_unit_test(test_pool),
	    cmocka_unit_test(test_environment),
	    cmocka_unit_test(test_gpu_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
