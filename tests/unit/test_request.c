/* Client requests: every accepted shape and every error shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/request.h"
#include "forq/protocol.h"

static struct request req;
static struct req_error err;

static int
decode(const char *line)
{
	return request_decode(line, strlen(line), &req, &err);
}

static int
teardown(void **state)
{
	request_free(&req);
	return 0;
}

static void
expect_error(const char *line, const char *code, const char *message)
{
	assert_int_equal(decode(line), -1);
	assert_string_equal(err.code, code);
	if (message != NULL)
		assert_string_equal(err.message, message);
	request_free(&req);
}

static void
test_hello_with_version(void **state)
{
	assert_int_equal(decode("{\"op\":\"hello\",\"id\":1,\"version\":1}"),
			 0);
	assert_int_equal(req.op, REQ_HELLO);
	assert_int_equal(req.version, FORQ_PROTOCOL_VERSION);
	assert_int_equal(json_integer_value(req.id), 1);
}

static void
test_ping_and_workers_with_string_ids(void **state)
{
	assert_int_equal(decode("{\"op\":\"ping\",\"id\":\"a\"}"), 0);
	assert_int_equal(req.op, REQ_PING);
	assert_string_equal(json_string_value(req.id), "a");
	request_free(&req);
	assert_int_equal(decode("{\"op\":\"workers\"}"), 0);
	assert_int_equal(req.op, REQ_WORKERS);
	assert_null(req.id);
}

static void
test_not_json(void **state)
{
	expect_error("{\"op\":", FORQ_ERR_BAD_REQUEST, NULL);
	assert_non_null(strstr(err.message, "not valid JSON"));
	expect_error("\xff\xfe", FORQ_ERR_BAD_REQUEST, NULL);
	expect_error("", FORQ_ERR_BAD_REQUEST, NULL);
}

static void
test_not_an_object(void **state)
{
	expect_error("[1,2]", FORQ_ERR_BAD_REQUEST,
		     "a request must be a JSON object");
	expect_error("42", FORQ_ERR_BAD_REQUEST,
		     "a request must be a JSON object");
}

static void
test_missing_or_wrong_op(void **state)
{
	expect_error("{\"id\":3}", FORQ_ERR_BAD_REQUEST,
		     "\"op\" (a string) is required");
	expect_error("{\"op\":7}", FORQ_ERR_BAD_REQUEST,
		     "\"op\" (a string) is required");
	expect_error("{\"op\":\"fly\",\"id\":4}", FORQ_ERR_UNKNOWN_OP,
		     "unknown op \"fly\"");
}

static void
test_error_keeps_the_id(void **state)
{
	assert_int_equal(decode("{\"op\":\"fly\",\"id\":9}"), -1);
	assert_int_equal(json_integer_value(err.id), 9);
}

static void
test_bad_id_type(void **state)
{
	expect_error("{\"op\":\"ping\",\"id\":[1]}", FORQ_ERR_BAD_REQUEST,
		     "\"id\" must be an integer or a string");
	assert_null(err.id);
}

static void
test_duplicate_keys_rejected(void **state)
{
	expect_error("{\"op\":\"ping\",\"op\":\"hello\"}", FORQ_ERR_BAD_REQUEST,
		     NULL);
}

static void
test_hello_version_checked(void **state)
{
	expect_error("{\"op\":\"hello\"}", FORQ_ERR_BAD_REQUEST,
		     "hello needs \"version\" (an integer)");
	expect_error("{\"op\":\"hello\",\"version\":\"1\"}",
		     FORQ_ERR_BAD_REQUEST,
		     "hello needs \"version\" (an integer)");
	expect_error("{\"op\":\"hello\",\"version\":2}",
		     FORQ_ERR_UNSUPPORTED_VERSION,
		     "protocol version 2 is not supported; this forqd speaks "
		     "version "
		     "1");
}

static void
test_deep_nesting_is_an_error_not_a_crash(void **state)
{
	static char deep[200000];

	memset(deep, '[', sizeof deep - 1);
	expect_error(deep, FORQ_ERR_BAD_REQUEST, NULL);
}

static void
test_job_ids_deduped_in_order(void **state)
{
	uint64_t *ids;
	size_t n;

	assert_int_equal(decode("{\"op\":\"wait\",\"jobs\":[5,3,5,9,3]}"), 0);
	assert_int_equal(req.op, REQ_WAIT);
	assert_int_equal(request_job_ids(&req, "jobs", &ids, &n, 10, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 5);
	assert_int_equal(ids[1], 3);
	assert_int_equal(ids[2], 9);
	free(ids);
}

static void
test_job_ids_errors(void **state)
{
	uint64_t *ids, id;
	size_t n;
	bool b;

	assert_int_equal(decode("{\"op\":\"cancel\",\"jobs\":[1,\"2\"],"
				"\"job\":0,\"follow\":1}"),
			 0);
	assert_int_equal(request_job_ids(&req, "jobs", &ids, &n, 10, &err), -1);
	assert_string_equal(err.code, FORQ_ERR_BAD_REQUEST);
	assert_int_equal(request_job_ids(&req, "none", &ids, &n, 10, &err), -1);
	assert_int_equal(request_job_id(&req, "job", &id, &err), -1);
	assert_string_equal(err.message,
			    "\"job\" must be a job id (a positive integer)");
	assert_int_equal(request_bool(&req, "follow", &b, &err), -1);
	assert_int_equal(request_bool(&req, "absent", &b, &err), 0);
	assert_false(b);
	request_free(&req);
	assert_int_equal(decode("{\"op\":\"wait\",\"jobs\":[1,2,3]}"), 0);
	assert_int_equal(request_job_ids(&req, "jobs", &ids, &n, 2, &err), -1);
	assert_string_equal(err.code, FORQ_ERR_LIMIT);
}

static void
test_reply_shapes(void **state)
{
	json_t *id = json_integer(5), *r, *e;
	char *text;

	r = reply_ok(id);
	text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"id\":5,\"ok\":true}");
	free(text);
	json_decref(r);

	r = reply_error(id, FORQ_ERR_UNKNOWN_OP, "nope");
	text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text,
			    "{\"error\":{\"code\":\"unknown_op\","
			    "\"message\":\"nope\"},\"id\":5,\"ok\":false}");
	free(text);
	json_decref(r);

	r = reply_limit(NULL, "request_line_max", 1024, "too long");
	e = json_object_get(r, "error");
	assert_string_equal(json_string_value(json_object_get(e, "code")),
			    FORQ_ERR_LIMIT);
	assert_string_equal(json_string_value(json_object_get(e, "limit")),
			    "request_line_max");
	assert_int_equal(json_integer_value(json_object_get(e, "max")), 1024);
	assert_null(json_object_get(r, "id"));
	json_decref(r);
	json_decref(id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_hello_with_version, teardown),
	    cmocka_unit_test_teardown(test_ping_and_workers_with_string_ids,
				      teardown),
	    cmocka_unit_test_teardown(test_not_json, teardown),
	    cmocka_unit_test_teardown(test_not_an_object, teardown),
	    cmocka_unit_test_teardown(test_missing_or_wrong_op, teardown),
	    cmocka_unit_test_teardown(test_error_keeps_the_id, teardown),
	    cmocka_unit_test_teardown(test_bad_id_type, teardown),
	    cmocka_unit_test_teardown(test_duplicate_keys_rejected, teardown),
	    cmocka_unit_test_teardown(test_hello_version_checked, teardown),
	    cmocka_unit_test_teardown(test_deep_nesting_is_an_error_not_a_crash,
				      teardown),
	    cmocka_unit_test_teardown(test_job_ids_deduped_in_order, teardown),
	    cmocka_unit_test_teardown(test_job_ids_errors, teardown),
	    cmocka_unit_test(test_reply_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
