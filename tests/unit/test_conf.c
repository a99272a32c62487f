/* The conf parser: every key, every kind of error, with its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/conf.h"
#include "core/cpus.h"

static struct conf conf;
static char err[CONF_ERROR_MAX];

static int
load(const char *text)
{
	conf_defaults(&conf, 0, NULL, NULL, NULL);
	err[0] = '\0';
	return conf_load_string(&conf, "t.conf", text, strlen(text), err,
				sizeof err);
}

static void
expect_error(const char *text, const char *message)
{
	assert_int_equal(load(text), -1);
	assert_string_equal(err, message);
}

static void
test_defaults_for_root(void **state)
{
	conf_defaults(&conf, 0, "/run/user/0", NULL, "/root");
	assert_string_equal(conf.socket, "/run/forq/forqd.sock");
	assert_string_equal(conf.pidfile, "/run/forq/forqd.pid");
	assert_string_equal(conf.state_dir, "/var/lib/forq");
	assert_string_equal(conf.cpus, "auto");
	assert_int_equal(conf.slots, 4);
	assert_true(conf.slots_adapt);
	assert_int_equal(conf.heartbeat_timeout_ms, 10000);
}

static void
test_defaults_for_a_user(void **state)
{
	conf_defaults(&conf, 1000, "/run/user/1000", NULL, "/home/u");
	assert_string_equal(conf.socket, "/run/user/1000/forq/forqd.sock");
	assert_string_equal(conf.state_dir, "/home/u/.local/state/forq");
	conf_defaults(&conf, 1000, "/run/user/1000", "/xdg/state", "/home/u");
	assert_string_equal(conf.state_dir, "/xdg/state/forq");
}

static void
test_default_path_by_user(void **state)
{
	char path[256];

	conf_default_path(path, sizeof path, 0, "/x", "/root");
	assert_string_equal(path, "/etc/forq/forqd.conf");
	conf_default_path(path, sizeof path, 1000, "/xdg/config", "/home/u");
	assert_string_equal(path, "/xdg/config/forq/forqd.conf");
	conf_default_path(path, sizeof path, 1000, NULL, "/home/u");
	assert_string_equal(path, "/home/u/.config/forq/forqd.conf");
}

static void
test_every_key_parses(void **state)
{
	assert_int_equal(load("[daemon]\n"
			      "socket = /tmp/x.sock\n"
			      "socket_mode = 0600\n"
			      "socket_group = root\n"
			      "state_dir = /tmp/state\n"
			      "pidfile = /tmp/x.pid\n"
			      "log_level = debug\n"
			      "stop_grace = 5s\n"
			      "[workers]\n"
			      "cpus = 0-1\n"
			      "slots = 4\n"
			      "heartbeat_interval = 250ms\n"
			      "heartbeat_timeout = 2s\n"
			      "restart_delay = 50ms\n"
			      "restart_delay_max = 5s\n"
			      "crash_loop_limit = 3\n"
			      "crash_loop_window = 30s\n"
			      "crash_loop_hold = 1m\n"
			      "[limits]\n"
			      "request_line_max = 64K\n"),
			 0);
	assert_string_equal(conf.socket, "/tmp/x.sock");
	assert_int_equal(conf.socket_mode, 0600);
	assert_string_equal(conf.socket_group, "root");
	assert_int_equal(conf.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(conf.stop_grace_ms, 5000);
	assert_string_equal(conf.cpus, "0-1");
	assert_int_equal(conf.slots, 4);
	assert_int_equal(conf.heartbeat_interval_ms, 250);
	assert_int_equal(conf.heartbeat_timeout_ms, 2000);
	assert_int_equal(conf.restart_delay_ms, 50);
	assert_int_equal(conf.restart_delay_max_ms, 5000);
	assert_int_equal(conf.crash_loop_limit, 3);
	assert_int_equal(conf.crash_loop_window_ms, 30000);
	assert_int_equal(conf.crash_loop_hold_ms, 60000);
	assert_int_equal(conf.request_line_max, 65536);
}

static void
test_comments_and_blank_lines(void **state)
{
	assert_int_equal(load("# a comment\n; another\n\n[workers]\n"
			      "slots = 2 ; inline\n"),
			 0);
	assert_int_equal(conf.slots, 2);
}

static void
test_unknown_key_names_its_line(void **state)
{
	expect_error("[workers]\nslots = 2\nslot = 3\n",
		     "t.conf:3: unknown key \"slot\" in [workers]");
}

static void
test_unknown_section_even_when_empty(void **state)
{
	expect_error("[daemon]\n[queues]\n",
		     "t.conf:2: unknown section [queues]");
	expect_error("[nope]\nx = 1\n", "t.conf:1: unknown section [nope]");
}

static void
test_store(void **state)
{
	assert_int_equal(load("[store]\nbackend = postgresql\n"
			      "dsn = host=/tmp/pg dbname=q\nnode = n-1.a\n"
			      "lease = 5s\n"),
			 0);
	assert_int_equal(conf.backend, CONF_BACKEND_POSTGRESQL);
	assert_string_equal(conf.dsn, "host=/tmp/pg dbname=q");
	assert_string_equal(conf.node, "n-1.a");
	assert_int_equal(conf.lease_ms, 5000);
	expect_error("[store]\nbackend = mysql\n",
		     "t.conf:2: backend: \"mysql\" is not sqlite or "
		     "postgresql");
	expect_error("[store]\nlease = 1s\n",
		     "t.conf:2: lease: 1s is out of range (2.0s to 1h0m)");
	expect_error("[store]\n\nnode = a b\n",
		     "t.conf:3: node: \"a b\" is not 1 to 63 letters, "
		     "digits, '_', '.' or '-'");
}

/* [resources]: each key a resource; a queue's res must ask for what
 * is declared, no more than there is. */
static void
test_resources(void **state)
{
	assert_int_equal(load("[resources]\ngpu = 0-3\nlicense.matlab = 2\n"
			      "[queue g]\nres = gpu=2\n"),
			 0);
	assert_int_equal(conf.res.n, 2);
	assert_int_equal(conf.res.kind[0].total, 4);
	assert_true(conf.res.kind[0].indexed);
	assert_int_equal(conf.res.kind[1].total, 2);
	expect_error("[resources]\ngpu = 0-1\n[queue g]\nres = gpu=3\n",
		     "t.conf:4: [queue g] res: gpu=3: there are 2");
	expect_error("[resources]\nGPU = 1\n",
		     "t.conf:2: [resources] a resource's name is 1 to 31 of "
		     "a-z, 0-9, '_', '.', '-'");
	expect_error("[resources]\ngpu = 3-1\n",
		     "t.conf:2: [resources] gpu = 3-1: a count from 1 to "
		     "65536, or indexes from 0 to 63 as 0-3 or 0,2,5");
}

static void
test_key_outside_section(void **state)
{
	expect_error("slots = 2\n", "t.conf:1: \"slots\" is outside a section "
				    "([daemon], [workers], [jobs], "
				    "[limits], [access], [store], "
				    "[resources] or [queue NAME])");
}

static void
test_queues(void **state)
{
	const struct conf_queue *q;

	assert_int_equal(load(""), 0);
	assert_int_equal(conf.nqueues, 1);
	assert_string_equal(conf.queues[0].name, "default");
	assert_int_equal(load("[queue gpu]\nparallel = 1\npriority = -5\n"
			      "timeout = 2h\n[queue empty]\n"
			      "[queue default]\npriority = 3\n"),
			 0);
	assert_int_equal(conf.nqueues, 3);
	assert_non_null(q = conf_queue_find(&conf, "gpu"));
	assert_int_equal(q->parallel, 1);
	assert_int_equal(q->priority, -5);
	assert_int_equal(q->timeout_ms, 2 * 3600 * 1000);
	assert_non_null(q = conf_queue_find(&conf, "empty"));
	assert_int_equal(q->parallel, 0);
	assert_int_equal(conf_queue_find(&conf, "default")->priority, 3);
	assert_null(conf_queue_find(&conf, "nope"));
	expect_error("[queue a b]\n",
		     "t.conf:1: [queue a b]: a queue's name is 1 to 32 "
		     "letters, digits, '_', '.' or '-'");
	expect_error("[queue q]\nparallel = 1\nparallel = 2\n",
		     "t.conf:3: \"parallel\" is set twice in [queue q] (first "
		     "on line 2)");
	expect_error("[queue q]\npriority = 1001\n",
		     "t.conf:2: priority: \"1001\" is too large (-1000 to "
		     "1000)");
	expect_error("[queue q]\nslots = 1\n",
		     "t.conf:2: unknown key \"slots\" in [queue q]");
}

static void
test_syntax_error(void **state)
{
	expect_error("[workers]\nslots 2\n", "t.conf:2: syntax error: expected "
					     "\"[section]\" or \"key = "
					     "value\"");
	expect_error("[workers\n", "t.conf:1: syntax error: expected "
				   "\"[section]\" or \"key = "
				   "value\"");
}

static void
test_duplicate_key(void **state)
{
	expect_error("[workers]\nslots = 2\n\nslots = 3\n",
		     "t.conf:4: \"slots\" is set twice (first on line 2)");
}

static void
test_bad_values(void **state)
{
	expect_error("[workers]\nslots = 0\n",
		     "t.conf:2: slots: \"0\" is too small (1 to 256)");
	expect_error("[workers]\nslots = many\n",
		     "t.conf:2: slots: \"many\" is invalid (1 to 256)");
	expect_error("[workers]\nheartbeat_timeout = 10x\n",
		     "t.conf:2: heartbeat_timeout: unknown unit (use ms, s, m, "
		     "h or "
		     "d): \"10x\"");
	expect_error("[workers]\nheartbeat_interval = 2h\n",
		     "t.conf:2: heartbeat_interval: 2h is out of range (10ms "
		     "to "
		     "1m0s)");
	expect_error("[limits]\nrequest_line_max = 1G\n",
		     "t.conf:2: request_line_max: 1G is out of range (1024 to "
		     "268435456 bytes)");
	expect_error("[daemon]\nsocket_mode = 0999\n",
		     "t.conf:2: socket_mode: \"0999\" is not an octal mode "
		     "such as "
		     "0660");
	expect_error("[daemon]\nsocket = relative.sock\n",
		     "t.conf:2: socket: \"relative.sock\" is not an absolute "
		     "path");
	expect_error("[daemon]\nlog_level = loud\n",
		     "t.conf:2: log_level: \"loud\" is not one of error, "
		     "warning, "
		     "info, debug");
	expect_error("[workers]\ncpus = 0-\n",
		     "t.conf:2: cpus: bad CPU range after 0: \"0-\"");
	expect_error("[access]\nallow_root_jobs = maybe\n",
		     "t.conf:2: allow_root_jobs: \"maybe\" is not yes or no");
	expect_error("[limits]\nrequest_timeout = 10ms\n",
		     "t.conf:2: request_timeout: 10ms is out of range (100ms "
		     "to 1h0m)");
	expect_error("[limits]\nconnections_per_user_max = 0\n",
		     "t.conf:2: connections_per_user_max: \"0\" is too small "
		     "(1 to 1000000)");
}

static void
test_relations_between_keys(void **state)
{
	expect_error("[workers]\nheartbeat_interval = 1s\n"
		     "heartbeat_timeout = 1500ms\n",
		     "t.conf:3: heartbeat_timeout (1500ms) must be at least "
		     "twice "
		     "heartbeat_interval (1000ms)");
	expect_error("[workers]\nrestart_delay_max = 10ms\n",
		     "t.conf:2: restart_delay_max (10ms) is shorter than "
		     "restart_delay (100ms)");
}

static void
test_overlong_line_and_nul(void **state)
{
	char text[400];

	snprintf(text, sizeof text, "[daemon]\nsocket = /%0300d\n", 0);
	expect_error(text, "t.conf:2: line longer than 198 characters");
	assert_int_equal(conf_load_string(&conf, "t.conf",
					  "[daemon]\n\0x = 1\n", 16, err,
					  sizeof err),
			 -1);
	assert_string_equal(err, "t.conf:2: NUL byte in line");
}

static void
test_check_cpus_against_allowed_set(void **state)
{
	cpu_set_t allowed;

	CPU_ZERO(&allowed);
	CPU_SET(0, &allowed);
	CPU_SET(1, &allowed);
	assert_int_equal(load("[workers]\n\ncpus = 1,3\n"), 0);
	assert_int_equal(conf_check(&conf, &allowed, err, sizeof err), -1);
	assert_string_equal(err, "t.conf:3: cpus: CPU 3 not in the allowed set "
				 "(0-1)");
	assert_int_equal(load("[workers]\ncpus = 1\n"), 0);
	assert_int_equal(conf_check(&conf, &allowed, err, sizeof err), 0);
}

static void
test_check_socket_group_exists(void **state)
{
	cpu_set_t allowed;

	CPU_ZERO(&allowed);
	CPU_SET(0, &allowed);
	assert_int_equal(load("[daemon]\nsocket_group = no-such-group-forq\n"),
			 0);
	assert_int_equal(conf_check(&conf, &allowed, err, sizeof err), -1);
	assert_string_equal(err, "t.conf:2: socket_group: no group named "
				 "\"no-such-group-forq\"");
}

static void
test_missing_file(void **state)
{
	assert_int_equal(conf_load_file(&conf, "/nonexistent/forqd.conf", err,
					sizeof err),
			 -1);
	assert_string_equal(err, "/nonexistent/forqd.conf: No such file or "
				 "directory");
}

/* The shipped conf/forqd.conf documents every key with its default:
 * with its "# key = value" lines uncommented it must parse and yield
 * exactly the built-in defaults. */
static void
test_shipped_conf_documents_the_defaults(void **state)
{
	char path[4096], line[512], text[16384] = "";
	struct conf shipped, defaults;
	size_t keys = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/conf/forqd.conf", FORQ_SOURCE_DIR);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
		    strstr(line, " =") != NULL) {
			strlcat(text, line + 1, sizeof text);
			keys++;
		} else if (line[0] != '#') {
			strlcat(text, line, sizeof text);
		}
	}
	fclose(f);
	assert_int_equal(keys, 75);
	conf_defaults(&defaults, 0, NULL, NULL, NULL);
	conf_defaults(&shipped, 0, NULL, NULL, NULL);
	assert_int_equal(conf_load_string(&shipped, "forqd.conf", text,
					  strlen(text), err, sizeof err),
			 0);
	memset(shipped.lines, 0, sizeof shipped.lines);
	memset(shipped.queues[0].lines, 0, sizeof shipped.queues[0].lines);
	memcpy(shipped.path, defaults.path, sizeof shipped.path);
	assert_memory_equal(&shipped, &defaults, sizeof shipped);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_for_root),
	    cmocka_unit_test(test_defaults_for_a_user),
	    cmocka_unit_test(test_default_path_by_user),
	    cmocka_unit_test(test_every_key_parses),
	    cmocka_unit_test(test_comments_and_blank_lines),
	    cmocka_unit_test(test_unknown_key_names_its_line),
	    cmocka_unit_test(test_unknown_section_even_when_empty),
	    cmocka_unit_test(test_key_outside_section),
	    cmocka_unit_test(test_resources),
	    cmocka_unit_test(test_store),
	    cmocka_unit_test(test_queues),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_duplicate_key),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_relations_between_keys),
	    cmocka_unit_test(test_overlong_line_and_nul),
	    cmocka_unit_test(test_check_cpus_against_allowed_set),
	    cmocka_unit_test(test_check_socket_group_exists),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_shipped_conf_documents_the_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
