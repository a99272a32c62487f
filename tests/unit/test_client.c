/* The client side: which socket, what `forq workers` prints, and the
 * hello that goes with the first request. */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A daemon of one connection in a child: it reads `want` lines (1 or
 * 2), checks the first is the hello and the second a ping, each whole,
 * and answers the hello with hello_reply and the ping with ping_reply.
 * With want = 1 it closes after the hello's reply, as forqd does with a
 * client it refuses. Returns the child; *path is its socket. */
static pid_t
fake_daemon(char *path, size_t len, int want, const char *hello_reply,
	    const char *ping_reply)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char buf[4096], *nl;
	size_t have = 0;
	ssize_t n;
	pid_t pid;
	int lfd, fd, lines = 0;

	snprintf(path, len, "/tmp/forq-test-client.%d.sock", (int)getpid());
	unlink(path);
	strlcpy(sun.sun_path, path, sizeof sun.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_not_equal(lfd, -1);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(lfd, 1), 0);
	if ((pid = fork()) != 0) {
		close(lfd);
		return pid;
	}
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(2);
	while (lines < want &&
	       (n = read(fd, buf + have, sizeof buf - 1 - have)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(buf, '\n')) != NULL && lines < want) {
			*nl = '\0';
			if (strstr(buf, lines == 0 ? "\"op\":\"hello\""
						   : "\"op\":\"ping\"") == NULL)
				_exit(3);
			lines++;
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
	}
	if (lines < want)
		_exit(4);
	/* A client that heard enough may have closed before the second. */
	if (send(fd, hello_reply, strlen(hello_reply), MSG_NOSIGNAL) == -1)
		_exit(5);
	if (ping_reply != NULL)
		(void)send(fd, ping_reply, strlen(ping_reply), MSG_NOSIGNAL);
	_exit(0);
}

static void
reap(pid_t pid, const char *path)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unlink(path);
}

/* The hello is not waited for: it and the first request arrive
 * together, and the reply to the request is the request's. */
static void
test_hello_goes_with_first_request(void **state)
{
	struct forq_error err;
	struct forq_conn *conn;
	char path[108];
	json_t *reply;
	pid_t pid;

	pid = fake_daemon(path, sizeof path, 2,
			  "{\"id\":1,\"ok\":true,\"version\":1}\n",
			  "{\"id\":2,\"ok\":true,\"pid\":7}\n");
	assert_non_null(conn = forq_connect(path, &err));
	assert_non_null(reply = forq_call(conn, "ping", NULL, &err));
	assert_int_equal(json_integer_value(json_object_get(reply, "pid")), 7);
	json_decref(reply);
	forq_close(conn);
	reap(pid, path);
}

/* A refused hello is what the caller hears, not the hello_required the
 * request after it got. */
static void
test_refused_hello_is_the_error(void **state)
{
	struct forq_error err;
	struct forq_conn *conn;
	char path[108];
	pid_t pid;

	pid = fake_daemon(path, sizeof path, 2,
			  "{\"id\":1,\"ok\":false,\"error\":{\"code\":"
			  "\"unsupported_version\",\"message\":\"not this "
			  "one\"}}\n",
			  "{\"id\":2,\"ok\":false,\"error\":{\"code\":"
			  "\"hello_required\",\"message\":\"hello first\"}}\n");
	assert_non_null(conn = forq_connect(path, &err));
	assert_null(forq_call(conn, "ping", NULL, &err));
	assert_string_equal(err.code, "unsupported_version");
	assert_string_equal(err.message, "not this one");
	/* And every read after. */
	assert_null(forq_read(conn, &err));
	assert_string_equal(err.code, "unsupported_version");
	forq_close(conn);
	reap(pid, path);
}

/* forqd refuses a client after reading its hello, says why and closes.
 * A request written after that fails with EPIPE; the caller still
 * hears forqd's reason, not the broken pipe. */
static void
test_refusal_heard_after_broken_pipe(void **state)
{
	struct forq_error err;
	struct forq_conn *conn;
	char path[108];
	pid_t pid;

	pid = fake_daemon(path, sizeof path, 1,
			  "{\"ok\":false,\"error\":{\"code\":"
			  "\"not_permitted\",\"message\":\"uid 7 may not use "
			  "this forqd (allow_users)\"}}\n",
			  NULL);
	assert_non_null(conn = forq_connect(path, &err));
	/* The daemon has closed its end before the request is written. */
	reap(pid, path);
	assert_null(forq_call(conn, "ping", NULL, &err));
	assert_int_equal(err.kind, FORQ_E_SERVER);
	assert_string_equal(err.code, "not_permitted");
	assert_string_equal(err.message,
			    "uid 7 may not use this forqd (allow_users)");
	forq_close(conn);
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
	    cmocka_unit_test(test_hello_goes_with_first_request),
	    cmocka_unit_test(test_refused_hello_is_the_error),
	    cmocka_unit_test(test_refusal_heard_after_broken_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
