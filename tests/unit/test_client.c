/* The client side: which socket, and what `forq workers` prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/cli.h"
#include "forq/client.h"
#include "forq/protocol.h"

static int
exists_yes(const char *path)
{
	return 1;
}

static int
exists_no(const char *path)
{
	return 0;
}

static void
test_socket_explicit_wins(void **state)
{
	char out[256];

	forq_socket_path_from("/a.sock", "/env.sock", "/run/user/1", exists_yes,
			      out, sizeof out);
	assert_string_equal(out, "/a.sock");
}

static void
test_socket_env_next(void **state)
{
	char out[256];

	forq_socket_path_from(NULL, "/env.sock", "/run/user/1", exists_yes, out,
			      sizeof out);
	assert_string_equal(out, "/env.sock");
}

static void
test_socket_user_runtime_when_present(void **state)
{
	char out[256];

	forq_socket_path_from(NULL, NULL, "/run/user/1", exists_yes, out,
			      sizeof out);
	assert_string_equal(out, "/run/user/1/forq/forqd.sock");
	forq_socket_path_from(NULL, "", "/run/user/1", exists_no, out,
			      sizeof out);
	assert_string_equal(out, FORQ_SOCKET_SYSTEM);
	forq_socket_path_from(NULL, NULL, NULL, exists_yes, out, sizeof out);
	assert_string_equal(out, FORQ_SOCKET_SYSTEM);
}

static void
test_error_exit_codes_are_distinct(void **state)
{
	struct forq_error e = {.kind = FORQ_E_CONNECT};

	assert_int_equal(forq_error_exit_code(&e), FORQ_EXIT_NOT_RUNNING);
	e.kind = FORQ_E_SERVER;
	strcpy(e.code, FORQ_ERR_BAD_REQUEST);
	assert_int_equal(forq_error_exit_code(&e), FORQ_EXIT_INVALID);
	e.kind = FORQ_E_PROTOCOL;
	assert_int_equal(forq_error_exit_code(&e), FORQ_EXIT_PROTOCOL);
}

static void
test_workers_table(void **state)
{
	json_t *workers =
	    json_loads("[{\"worker\":0,\"pid\":123,\"cpu\":2,\"state\":"
		       "\"ready\","
		       "\"restarts\":1,\"jobs\":[7,9],\"uptime_ms\":62000,"
		       "\"heartbeat_age_"
		       "ms\":300,"
		       "\"last_exit\":\"killed by signal 9 (SIGKILL)\"},"
		       "{\"worker\":1,\"pid\":0,\"cpu\":3,\"state\":\"crash-"
		       "loop\","
		       "\"restarts\":5,\"uptime_ms\":null,\"heartbeat_age_ms\":"
		       "null,"
		       "\"last_exit\":\"exited with status 1\"}]",
		       0, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	cli_print_workers(out, workers);
	fclose(out);
	assert_string_equal(text, "WORKER PID      CPU  STATE       RESTARTS "
				  "UPTIME    HEARTBEAT "
				  "JOBS         LAST EXIT\n"
				  "0      123      2    ready       1        "
				  "1m2s      300ms     "
				  "7,9          killed by signal 9 (SIGKILL)\n"
				  "1      -        3    crash-loop  5        - "
				  "        -         "
				  "-            exited with status 1\n");
	free(text);
	json_decref(workers);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_socket_explicit_wins),
	    cmocka_unit_test(test_socket_env_next),
	    cmocka_unit_test(test_socket_user_runtime_when_present),
	    cmocka_unit_test(test_error_exit_codes_are_distinct),
	    cmocka_unit_test(test_workers_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
