/* The job state machine and the validation of submitted jobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/job.h"
#include "forq/protocol.h"

static const struct job_limits limits = {
    .argv_max = 4,
    .argv_bytes_max = 64,
    .env_bytes_max = 32,
    .batch_max = 10,
    .name_max = 8,
};

static struct job_spec spec;
static struct job_error err;

static int
check(const char *job, const char *defaults)
{
	json_t *j = json_loads(job, JSON_ALLOW_NUL, NULL);
	json_t *d = defaults != NULL ? json_loads(defaults, 0, NULL) : NULL;
	int rc;

	assert_non_null(j);
	rc = job_spec_from_json(j, d, &limits, &spec, &err);
	json_decref(j);
	json_decref(d);
	return rc;
}

static int
teardown(void **state)
{
	job_spec_free(&spec);
	return 0;
}

static void
expect_error(const char *job, const char *code, const char *message)
{
	assert_int_equal(check(job, NULL), -1);
	assert_string_equal(err.code, code);
	assert_string_equal(err.message, message);
}

static void
test_final_states(void **state)
{
	assert_false(job_state_final(JOB_QUEUED));
	assert_false(job_state_final(JOB_RUNNING));
	assert_false(job_state_final(JOB_SCHEDULED));
	assert_false(job_state_final(JOB_WAITING));
	assert_false(job_state_final(JOB_HELD));
	assert_true(job_state_pending(JOB_HELD));
	assert_true(job_state_pending(JOB_WAITING));
	assert_false(job_state_pending(JOB_RUNNING));
	assert_false(job_state_pending(JOB_SUCCEEDED));
	assert_true(job_state_final(JOB_SUCCEEDED));
	assert_true(job_state_final(JOB_FAILED));
	assert_true(job_state_final(JOB_TIMED_OUT));
	assert_true(job_state_final(JOB_CANCELLED));
	assert_true(job_state_final(JOB_LOST));
}

static void
test_transitions(void **state)
{
	int from, to;

	assert_true(job_transition_allowed(JOB_QUEUED, JOB_RUNNING));
	assert_true(job_transition_allowed(JOB_QUEUED, JOB_CANCELLED));
	assert_false(job_transition_allowed(JOB_QUEUED, JOB_SUCCEEDED));
	assert_true(job_transition_allowed(JOB_RUNNING, JOB_SUCCEEDED));
	assert_true(job_transition_allowed(JOB_RUNNING, JOB_QUEUED));
	assert_false(job_transition_allowed(JOB_RUNNING, JOB_RUNNING));
	assert_true(job_transition_allowed(JOB_RUNNING, JOB_SCHEDULED));
	assert_true(job_transition_allowed(JOB_SCHEDULED, JOB_QUEUED));
	assert_true(job_transition_allowed(JOB_SCHEDULED, JOB_CANCELLED));
	assert_false(job_transition_allowed(JOB_SCHEDULED, JOB_RUNNING));
	assert_true(job_transition_allowed(JOB_WAITING, JOB_QUEUED));
	assert_true(job_transition_allowed(JOB_WAITING, JOB_SCHEDULED));
	assert_true(job_transition_allowed(JOB_WAITING, JOB_CANCELLED));
	assert_false(job_transition_allowed(JOB_WAITING, JOB_RUNNING));
	/* Held: from any pending state, never from running; released to
	 * whichever pending state holds, never straight to running. */
	assert_true(job_transition_allowed(JOB_QUEUED, JOB_HELD));
	assert_true(job_transition_allowed(JOB_SCHEDULED, JOB_HELD));
	assert_true(job_transition_allowed(JOB_WAITING, JOB_HELD));
	assert_false(job_transition_allowed(JOB_RUNNING, JOB_HELD));
	assert_true(job_transition_allowed(JOB_HELD, JOB_QUEUED));
	assert_true(job_transition_allowed(JOB_HELD, JOB_SCHEDULED));
	assert_true(job_transition_allowed(JOB_HELD, JOB_WAITING));
	assert_true(job_transition_allowed(JOB_HELD, JOB_CANCELLED));
	assert_false(job_transition_allowed(JOB_HELD, JOB_RUNNING));
	assert_false(job_transition_allowed(JOB_HELD, JOB_SUCCEEDED));
	/* A final state is never left. */
	for (from = JOB_SUCCEEDED; from < JOB_STATE_COUNT; from++)
		for (to = 0; to < JOB_STATE_COUNT; to++)
			assert_false(job_transition_allowed(from, to));
}

static void
test_state_names_round_trip(void **state)
{
	enum job_state s;
	int i;

	for (i = 0; i < JOB_STATE_COUNT; i++) {
		assert_int_equal(job_state_parse(job_state_name(i), &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(job_state_parse("done", &s), -1);
}

static void
test_valid_job_packs_its_strings(void **state)
{
	assert_int_equal(check("{\"argv\":[\"echo\",\"a b\"],\"env\":[\"A=1\"],"
			       "\"cwd\":\"/tmp\",\"name\":\"n\","
			       "\"timeout_ms\":500}",
			       NULL),
			 0);
	assert_int_equal(spec.argc, 2);
	assert_int_equal(spec.argv_len, 9);
	assert_memory_equal(spec.argv, "echo\0a b\0", 9);
	assert_int_equal(spec.envc, 1);
	assert_memory_equal(spec.env, "A=1\0", 4);
	assert_string_equal(spec.cwd, "/tmp");
	assert_string_equal(spec.name, "n");
	assert_int_equal(spec.timeout_ms, 500);
}

/* A spec written out and read back is the same spec: how a cluster node
 * hands a job to the node that runs it. */
static void
test_spec_round_trips_through_json(void **state)
{
	const char *text =
	    "{\"argv\":[\"sh\",\"-c\",\"x\"],\"env\":[\"A=1\",\"B=\"],"
	    "\"cwd\":\"/t\",\"name\":\"n\",\"timeout_ms\":0,\"mem\":4096,"
	    "\"cpus\":2,\"queue\":\"q\",\"priority\":-3,"
	    "\"start_at_ms\":1700000000000,\"retries\":2,"
	    "\"retry_delay_ms\":10,\"retry_on\":[\"exit\",\"lost\"],"
	    "\"after\":[4,5],\"after_fail\":true,\"unique\":\"k\","
	    "\"on_finish\":\"true\",\"stdout\":\"o-%j\",\"stderr\":\"/e\","
	    "\"stdin\":\"in\",\"append\":true,\"umask\":18,"
	    "\"res\":\"gpu=2,license.matlab=1\"}";
	json_t *in = json_loads(text, 0, NULL), *out;

	assert_int_equal(check(text, NULL), 0);
	out = job_spec_to_json(&spec);
	assert_true(json_equal(in, out));
	json_decref(out);
	job_spec_free(&spec);
	/* Only what was given: a bare job stays bare. */
	assert_int_equal(check("{\"argv\":[\"true\"],\"cwd\":\"/\"}", NULL), 0);
	out = job_spec_to_json(&spec);
	json_decref(in);
	in = json_loads("{\"argv\":[\"true\"],\"env\":[],\"cwd\":\"/\"}", 0,
			NULL);
	assert_true(json_equal(in, out));
	json_decref(in);
	json_decref(out);
}

static void
test_defaults_fill_missing_fields(void **state)
{
	assert_int_equal(check("{\"argv\":[\"true\"]}",
			       "{\"env\":[\"X=y\"],\"cwd\":\"/\","
			       "\"timeout_ms\":7}"),
			 0);
	assert_memory_equal(spec.env, "X=y\0", 4);
	assert_string_equal(spec.cwd, "/");
	assert_int_equal(spec.timeout_ms, 7);
	job_spec_free(&spec);
	assert_int_equal(check("{\"argv\":[\"true\"],\"cwd\":\"/a\"}",
			       "{\"cwd\":\"/b\"}"),
			 0);
	assert_string_equal(spec.cwd, "/a");
}

static void
test_shape_errors(void **state)
{
	expect_error("{\"cwd\":\"/\"}", FORQ_ERR_BAD_REQUEST,
		     "\"argv\" must be a non-empty array of strings");
	expect_error("{\"argv\":[],\"cwd\":\"/\"}", FORQ_ERR_BAD_REQUEST,
		     "\"argv\" must be a non-empty array of strings");
	expect_error("{\"argv\":[1],\"cwd\":\"/\"}", FORQ_ERR_BAD_REQUEST,
		     "\"argv\"[0] must be a string without NUL");
	expect_error("{\"argv\":[\"a\\u0000b\"],\"cwd\":\"/\"}",
		     FORQ_ERR_BAD_REQUEST,
		     "\"argv\"[0] must be a string without NUL");
	expect_error("{\"argv\":[\"\"],\"cwd\":\"/\"}", FORQ_ERR_BAD_REQUEST,
		     "\"argv\"[0] is empty");
	expect_error("{\"argv\":[\"a\"]}", FORQ_ERR_BAD_REQUEST,
		     "\"cwd\" must be an absolute path (under 4096 bytes)");
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"rel\"}", FORQ_ERR_BAD_REQUEST,
		     "\"cwd\" must be an absolute path (under 4096 bytes)");
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"/\",\"env\":[\"NOEQ\"]}",
		     FORQ_ERR_BAD_REQUEST,
		     "\"env\"[0] must look like NAME=VALUE");
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"/\",\"env\":[\"=x\"]}",
		     FORQ_ERR_BAD_REQUEST,
		     "\"env\"[0] must look like NAME=VALUE");
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"/\",\"timeout_ms\":-1}",
		     FORQ_ERR_BAD_REQUEST,
		     "\"timeout_ms\" must be an integer from 0 (none) to 2^40");
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"/\",\"shell\":true}",
		     FORQ_ERR_BAD_REQUEST, "unknown job field \"shell\"");
}

static void
test_limits_are_named(void **state)
{
	expect_error("{\"argv\":[\"a\",\"b\",\"c\",\"d\",\"e\"],\"cwd\":\"/\"}",
		     FORQ_ERR_LIMIT, "argument count over argv_max (4)");
	assert_string_equal(err.limit, "argv_max");
	assert_int_equal(err.max, 4);
	expect_error("{\"argv\":["
		     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaa\"],\"cwd\":\"/\"}",
		     FORQ_ERR_LIMIT, "argv over argv_bytes_max (64)");
	assert_string_equal(err.limit, "argv_bytes_max");
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"/"
		     "\",\"env\":[\"A=1234567890\","
		     "\"B=1234567890\",\"C=1234567890\"]}",
		     FORQ_ERR_LIMIT, "env over env_bytes_max (32)");
	assert_string_equal(err.limit, "env_bytes_max");
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"/\",\"name\":\"123456789\"}",
		     FORQ_ERR_LIMIT, "job name over name_max (8)");
	assert_string_equal(err.limit, "name_max");
}

static void
test_describe_exit(void **state)
{
	char buf[64];

	job_describe_exit(3, 0, buf, sizeof buf);
	assert_string_equal(buf, "exited 3");
	job_describe_exit(-1, 9, buf, sizeof buf);
	assert_string_equal(buf, "killed by signal 9 (SIGKILL)");
}

/* The backoff: doubled per attempt, capped at a day, and spread by a
 * fifth either way with the jitter's extremes. */
static void
test_retry_backoff_schedule(void **state)
{
	assert_int_equal(job_retry_delay_ms(1000, 0, UINT32_MAX / 2), 999);
	assert_int_equal(job_retry_delay_ms(1000, 0, 0), 800);
	assert_int_equal(job_retry_delay_ms(1000, 0, UINT32_MAX), 1200);
	assert_int_equal(job_retry_delay_ms(1000, 1, 0), 1600);
	assert_int_equal(job_retry_delay_ms(1000, 3, UINT32_MAX), 9600);
	assert_int_equal(job_retry_delay_ms(1000, 40, 0),
			 JOB_RETRY_DELAY_MAX_MS * 4 / 5);
	assert_int_equal(job_retry_delay_ms(1000, 1000, UINT32_MAX),
			 JOB_RETRY_DELAY_MAX_MS * 6 / 5);
	assert_int_equal(job_retry_delay_ms(0, 5, UINT32_MAX), 0);
}

static void
test_dependency_verdicts(void **state)
{
	enum job_state ok2[] = {JOB_SUCCEEDED, JOB_SUCCEEDED};
	enum job_state wait[] = {JOB_SUCCEEDED, JOB_RUNNING};
	enum job_state failed[] = {JOB_QUEUED, JOB_SUCCEEDED, JOB_FAILED};
	enum job_state cancelled[] = {JOB_CANCELLED, JOB_WAITING};
	enum job_state mixed[] = {JOB_TIMED_OUT, JOB_LOST, JOB_SUCCEEDED};
	size_t culprit = 99;

	assert_int_equal(job_deps_verdict(JOB_AFTER_OK, ok2, 2, &culprit),
			 JOB_DEPS_READY);
	assert_int_equal(job_deps_verdict(JOB_AFTER_OK, wait, 2, &culprit),
			 JOB_DEPS_WAIT);
	/* A failure cancels the dependent without waiting for the rest. */
	assert_int_equal(job_deps_verdict(JOB_AFTER_OK, failed, 3, &culprit),
			 JOB_DEPS_FAIL);
	assert_int_equal(culprit, 2);
	assert_int_equal(job_deps_verdict(JOB_AFTER_OK, cancelled, 2, &culprit),
			 JOB_DEPS_FAIL);
	assert_int_equal(culprit, 0);
	/* --after-any: every end will do, once all have ended. */
	assert_int_equal(job_deps_verdict(JOB_AFTER_ANY, mixed, 3, &culprit),
			 JOB_DEPS_READY);
	assert_int_equal(job_deps_verdict(JOB_AFTER_ANY, failed, 3, &culprit),
			 JOB_DEPS_WAIT);
	assert_int_equal(job_deps_verdict(JOB_AFTER_ANY, NULL, 0, &culprit),
			 JOB_DEPS_READY);
	/* --after-fail: all ended and none succeeded; a success decides at
	 * once, as a failure does for --after. */
	enum job_state bad2[] = {JOB_FAILED, JOB_TIMED_OUT};
	enum job_state bad_wait[] = {JOB_CANCELLED, JOB_RUNNING};
	assert_int_equal(job_deps_verdict(JOB_AFTER_FAIL, bad2, 2, &culprit),
			 JOB_DEPS_READY);
	assert_int_equal(job_deps_verdict(JOB_AFTER_FAIL, bad_wait, 2,
					  &culprit),
			 JOB_DEPS_WAIT);
	assert_int_equal(job_deps_verdict(JOB_AFTER_FAIL, failed, 3, &culprit),
			 JOB_DEPS_FAIL);
	assert_int_equal(culprit, 1);
	assert_int_equal(job_deps_verdict(JOB_AFTER_FAIL, mixed, 3, &culprit),
			 JOB_DEPS_FAIL);
	assert_int_equal(culprit, 2);
}

static void
test_retry_reasons(void **state)
{
	char buf[64];

	assert_int_equal(job_retry_reason(JOB_FAILED, 0), JOB_RETRY_EXIT);
	assert_int_equal(job_retry_reason(JOB_FAILED, 9), JOB_RETRY_SIGNAL);
	assert_int_equal(job_retry_reason(JOB_TIMED_OUT, 15),
			 JOB_RETRY_TIMEOUT);
	assert_int_equal(job_retry_reason(JOB_LOST, 0), JOB_RETRY_LOST);
	assert_int_equal(job_retry_reason(JOB_SUCCEEDED, 0), 0);
	assert_int_equal(job_retry_reason(JOB_CANCELLED, 15), 0);
	job_retry_on_format(JOB_RETRY_EXIT | JOB_RETRY_LOST, buf, sizeof buf);
	assert_string_equal(buf, "exit,lost");
}

/* The one decision both a host and a cluster node take at an end. */
static void
test_retry_wanted(void **state)
{
	struct job_result failed = {.state = JOB_FAILED, .exit_code = 1};
	struct job_result killed = {.state = JOB_FAILED, .signal = 9};
	struct job_result ok = {.state = JOB_SUCCEEDED};
	struct job_result cancelled = {.state = JOB_CANCELLED, .signal = 15};

	(void)state;
	assert_true(job_retry_wanted(&failed, JOB_RETRY_EXIT, 0, 1));
	assert_false(job_retry_wanted(&failed, JOB_RETRY_EXIT, 1, 1));
	assert_false(job_retry_wanted(&failed, JOB_RETRY_SIGNAL, 0, 3));
	assert_true(job_retry_wanted(&killed, JOB_RETRY_SIGNAL, 2, 3));
	assert_false(job_retry_wanted(&ok, ~0u, 0, 3));
	assert_false(job_retry_wanted(&cancelled, ~0u, 0, 3));
	assert_false(job_retry_wanted(&failed, ~0u, 0, 0));
}

static void
test_retry_and_after_fields(void **state)
{
	assert_int_equal(check("{\"argv\":[\"a\"],\"cwd\":\"/\","
			       "\"retries\":3,\"retry_on\":[\"timeout\","
			       "\"signal\"],\"after\":[4,2,4],"
			       "\"after_any\":true,\"unique\":\"k\"}",
			       NULL),
			 0);
	assert_int_equal(spec.retries, 3);
	assert_true(spec.has_retries);
	assert_false(spec.has_retry_delay);
	assert_int_equal(spec.retry_on, JOB_RETRY_TIMEOUT | JOB_RETRY_SIGNAL);
	assert_int_equal(spec.nafter, 2);
	assert_int_equal(spec.after[0], 4);
	assert_int_equal(spec.after[1], 2);
	assert_int_equal(spec.after_mode, JOB_AFTER_ANY);
	assert_string_equal(spec.unique, "k");
	job_spec_free(&spec);
	assert_int_equal(check("{\"argv\":[\"a\"],\"cwd\":\"/\","
			       "\"after\":[4],\"after_fail\":true}",
			       NULL),
			 0);
	assert_int_equal(spec.after_mode, JOB_AFTER_FAIL);
	job_spec_free(&spec);
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"/\",\"after\":[4],"
		     "\"after_any\":true,\"after_fail\":true}",
		     FORQ_ERR_BAD_REQUEST,
		     "\"after_any\" and \"after_fail\" exclude each other");
	assert_int_equal(check("{\"argv\":[\"a\"],\"cwd\":\"/\"}", NULL), 0);
	assert_int_equal(spec.retry_on, JOB_RETRY_ALL);
	job_spec_free(&spec);
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"/\",\"retries\":1001}",
		     FORQ_ERR_BAD_REQUEST,
		     "\"retries\" must be an integer from 0 to 1000");
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"/\","
		     "\"retry_on\":[\"exit\",\"oops\"]}",
		     FORQ_ERR_BAD_REQUEST,
		     "\"retry_on\" must be an array of exit, signal, timeout, "
		     "lost");
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"/\",\"after\":[0]}",
		     FORQ_ERR_BAD_REQUEST,
		     "\"after\" must be an array of job ids");
	expect_error("{\"argv\":[\"a\"],\"cwd\":\"/\",\"unique\":\"\"}",
		     FORQ_ERR_BAD_REQUEST,
		     "\"unique\" must be a non-empty string without NUL");
}

/* File patterns: %j, %a (nothing outside an array), %x (nothing
 * without a name), %%; %u is made the user's name at submit, and only
 * %u. */
static void
test_file_patterns(void **state)
{
	char buf[64], *p;

	assert_int_equal(job_path_expand("o-%j-%a-%x-%%.out", 41, true, 7,
					 "build", buf, sizeof buf),
			 0);
	assert_string_equal(buf, "o-41-7-build-%.out");
	assert_int_equal(job_path_expand("o-%j-%a-%x.out", 41, false, 0, NULL,
					 buf, sizeof buf),
			 0);
	assert_string_equal(buf, "o-41--.out");
	assert_int_equal(job_path_expand("%j%j%j", 123456789, false, 0, NULL,
					 buf, 20),
			 -1);
	p = job_path_user("/home/%u/%%u-%j-%u", "ann");
	assert_string_equal(p, "/home/ann/%%u-%j-ann");
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_patterns),
	    cmocka_unit_test(test_final_states),
	    cmocka_unit_test(test_retry_wanted),
	    cmocka_unit_test(test_transitions),
	    cmocka_unit_test(test_state_names_round_trip),
	    cmocka_unit_test_teardown(test_valid_job_packs_its_strings,
				      teardown),
	    cmocka_unit_test_teardown(test_spec_round_trips_through_json,
				      teardown),
	    cmocka_unit_test_teardown(test_defaults_fill_missing_fields,
				      teardown),
	    cmocka_unit_test_teardown(test_shape_errors, teardown),
	    cmocka_unit_test_teardown(test_limits_are_named, teardown),
	    cmocka_unit_test(test_describe_exit),
	    cmocka_unit_test(test_retry_backoff_schedule),
	    cmocka_unit_test(test_retry_reasons),
	    cmocka_unit_test(test_dependency_verdicts),
	    cmocka_unit_test_teardown(test_retry_and_after_fields, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
