/* forq: the command line client of forqd. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/cli.h"
#include "core/jobarray.h"
#include "forq/protocol.h"
#include "version.h"

void
cli_usage(void)
{
	fprintf(stderr,
		"usage: forq [-s socket] command [options] [args]\n"
		"\n"
		"commands:\n"
		"  submit [options] -- CMD [ARG...]   queue a job, print its "
		"id\n"
		"      -n, --name NAME      a name to find it by\n"
		"      --timeout DUR        TERM (then KILL) after DUR: 30s, "
		"5m\n"
		"      --mem SIZE           its memory limit: 64M, 2G (in its "
		"cgroup)\n"
		"      --cpus N             N CPUs of its own (whole workers)\n"
		"      --cwd DIR            working directory (default: here)\n"
		"      --env K=V            set a variable (repeatable)\n"
		"      --clean-env          start from an empty environment\n"
		"      -w, --wait           wait, exit with the job's status\n"
		"      -o, --output         with --wait: print its output\n"
		"      --batch FILE|-       one job per line, run by /bin/sh "
		"-c\n"
		"      -q, --queue NAME     a queue of forqd.conf (default: "
		"default)\n"
		"      -p, --priority N     -1000..1000; higher runs first\n"
		"      --at TIME            start then: 14:30, 2026-12-01 "
		"02:00\n"
		"      --in DUR             start after DUR: 10m, 2h\n"
		"      --retries N          run again up to N times if it "
		"fails\n"
		"      --retry-delay DUR    before the first retry (1s); "
		"doubles\n"
		"      --retry-on LIST      exit,signal,timeout,lost (all)\n"
		"      --after ID,...       start once these have succeeded\n"
		"      --after-any ID,...   start once these have ended\n"
		"      --after-fail ID,...  start once these have ended, none "
		"succeeded\n"
		"      --unique KEY         not if a job of mine with KEY has "
		"not ended\n"
		"      --on-finish CMD      run CMD (sh -c) once it has "
		"ended\n"
		"      --hold               held: it starts once released\n"
		"      --res NAME=N         N of [resources] NAME (--gpus N: "
		"gpu=N)\n"
		"      --array 1-100%%8      tasks ARRAY_INDEX (1,3,5-9, "
		"1-99:2), %%N at once\n"
		"  status ID                everything known about a job\n"
		"  list [--state S] [--queue Q] [--name N] [--user U] "
		"[--array ID]\n"
		"       [--limit N]\n"
		"                           jobs, newest first\n"
		"  wait ID...|-|--all|--queue Q   wait; exit status of the "
		"first failure\n"
		"  logs [-f] [--tail N] [--stdout|--stderr] ID   a job's "
		"output\n"
		"  cancel ID...             cancel queued or running jobs\n"
		"  hold ID...               keep jobs not started from "
		"starting\n"
		"  release ID...            let held jobs start\n"
		"  set ID [--priority N] [--queue Q] [--at T|--in DUR] "
		"[--timeout DUR] [--name N]\n"
		"                           change a job not started yet\n"
		"  retry ID...              run ended jobs again, as a new "
		"attempt\n"
		"  clean [--state S] [--older-than DUR] [--user U]\n"
		"                           remove ended jobs and their "
		"output\n"
		"  queues                   the queues, their limits and "
		"load\n"
		"  pause [QUEUE]            start no more jobs (all queues "
		"or one)\n"
		"  resume [QUEUE]           start jobs again\n"
		"  drain [QUEUE]            pause, and return once running "
		"jobs end\n"
		"  workers                  the workers and the jobs they run\n"
		"  top [--once]             a live view: workers, queues, "
		"running jobs\n"
		"  metrics                  forqd's metrics (OpenMetrics "
		"text)\n"
		"  nodes                    the cluster's nodes, their leases "
		"and load\n"
		"  shutdown [--kill-jobs|--drain]\n"
		"                           stop forqd; running jobs stay "
		"for the next\n"
		"  ping                     check that forqd answers\n"
		"\n"
		"Every command takes --json. The socket is -s, else "
		"$FORQ_SOCKET,\n"
		"else $XDG_RUNTIME_DIR/%s if it exists, else %s.\n",
		FORQ_SOCKET_USER_SUBPATH, FORQ_SOCKET_SYSTEM);
	exit(FORQ_EXIT_USAGE);
}

struct forq_conn *
cli_connect(const struct cli *cli)
{
	struct forq_error err = {0};
	struct forq_conn *conn;
	char path[4096];

	forq_socket_path(cli->socket, path, sizeof path);
	if ((conn = forq_connect(path, &err)) == NULL)
		cli_die(&err);
	return conn;
}

json_t *
cli_call(struct forq_conn *conn, const char *op, json_t *fields)
{
	struct forq_error err = {0};
	json_t *reply = forq_call(conn, op, fields, &err);

	if (reply == NULL)
		cli_die(&err);
	return reply;
}

void
cli_print_json(json_t *reply)
{
	json_object_del(reply, "id");
	json_object_del(reply, "ok");
	json_dumpf(reply, stdout, JSON_COMPACT);
	fputc('\n', stdout);
}

int
cli_parse_id(const char *text, json_int_t *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return -1;
	*id = v;
	return 0;
}

json_t *
cli_job_ref(const char *text)
{
	json_int_t id;
	uint64_t array;
	uint32_t index;

	if (cli_parse_id(text, &id) == 0)
		return json_integer(id);
	if (jobarray_task_parse(text, &array, &index) == 0)
		return json_string(text);
	return NULL;
}

void
cli_options_json(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	/* 0, not 1: glibc then forgets the "+" (stop at the first operand)
	 * of the top-level parse and permutes again. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'j')
			cli_usage();
		cli->json = 1;
	}
}

int
cli_show(const struct cli *cli, const char *op, json_t *fields,
	 void (*print)(const json_t *reply))
{
	struct forq_conn *conn = cli_connect(cli);
	json_t *reply = cli_call(conn, op, fields);

	forq_close(conn);
	if (cli->json)
		cli_print_json(reply);
	else
		print(reply);
	json_decref(reply);
	return FORQ_EXIT_OK;
}

static void
print_ping(const json_t *reply)
{
	char up[32];

	cli_format_ms(json_object_get(reply, "uptime_ms"), up, sizeof up);
	printf("forqd pid %lld is up %s, %lld workers ready\n",
	       (long long)json_integer_value(json_object_get(reply, "pid")), up,
	       (long long)json_integer_value(
		   json_object_get(reply, "workers_ready")));
}

static void
print_workers(const json_t *reply)
{
	cli_print_workers(stdout, json_object_get(reply, "workers"));
}

static int
cmd_ping(struct cli *cli, int argc, char **argv)
{
	cli_options_json(cli, argc, argv);
	if (optind != argc)
		cli_usage();
	return cli_show(cli, "ping", NULL, print_ping);
}

/* As it comes: OpenMetrics text, for node_exporter's textfile
 * collector (forq metrics > dir/forq.prom.tmp && mv ...). */
static void
print_metrics(const json_t *reply)
{
	fputs(json_string_value(json_object_get(reply, "text")), stdout);
}

static int
cmd_metrics(struct cli *cli, int argc, char **argv)
{
	cli_options_json(cli, argc, argv);
	if (optind != argc)
		cli_usage();
	return cli_show(cli, "metrics", NULL, print_metrics);
}

static int
cmd_workers(struct cli *cli, int argc, char **argv)
{
	cli_options_json(cli, argc, argv);
	if (optind != argc)
		cli_usage();
	return cli_show(cli, "workers", NULL, print_workers);
}

static void
print_nodes(const json_t *reply)
{
	cli_print_nodes(stdout, json_object_get(reply, "nodes"));
}

static int
cmd_nodes(struct cli *cli, int argc, char **argv)
{
	cli_options_json(cli, argc, argv);
	if (optind != argc)
		cli_usage();
	return cli_show(cli, "nodes", NULL, print_nodes);
}

static void
print_shutdown(const json_t *reply)
{
	const char *how = json_string_value(json_object_get(reply, "jobs"));
	json_int_t n = json_integer_value(json_object_get(reply, "running"));

	if (how == NULL)
		how = "?";
	if (strcmp(how, "leave") == 0)
		printf("forqd is stopping; %lld running jobs keep running for "
		       "the next forqd to take on\n",
		       (long long)n);
	else if (strcmp(how, "drain") == 0)
		printf("forqd is stopping once its %lld running jobs have "
		       "ended (or stop_grace has passed)\n",
		       (long long)n);
	else
		printf("forqd is stopping; its %lld running jobs are stopped "
		       "and queued again\n",
		       (long long)n);
}

/* shutdown [--kill-jobs|--drain]: by default running jobs stay, for the
 * next forqd, as at a restart. */
static int
cmd_shutdown(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"kill-jobs", no_argument, NULL, 'k'},
	    {"drain", no_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const char *how = NULL;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
		case 'd':
			if (how != NULL) {
				fprintf(stderr, "forq: shutdown: --kill-jobs "
						"and --drain exclude each "
						"other\n");
				return FORQ_EXIT_USAGE;
			}
			how = ch == 'k' ? "kill" : "drain";
			break;
		case 'j':
			cli->json = 1;
			break;
		default:
			cli_usage();
		}
	}
	if (optind != argc)
		cli_usage();
	return cli_show(cli, "shutdown",
			json_pack("{s:s}", "jobs", how != NULL ? how : "leave"),
			print_shutdown);
}

/* forq top is a program of its own, forq-top: only it loads ncurses,
 * whose loading would cost every other command's start (a third of a
 * millisecond, measured). It is looked for beside this forq (a build
 * tree, or both installed in one directory), then where the package
 * puts it; it gets the socket and the command's own arguments. */
static int
cmd_top_helper(struct cli *cli, int argc, char **argv)
{
	static const char helper[] = FORQ_LIBEXECDIR "/forq-top";
	char self[PATH_MAX], path[PATH_MAX + 16], *slash;
	char **args;
	ssize_t n;
	int i, k = 0;

	if ((args = calloc((size_t)argc + 4, sizeof *args)) == NULL) {
		fprintf(stderr, "forq: out of memory\n");
		return FORQ_EXIT_FAILURE;
	}
	args[k++] = "forq-top";
	if (cli->socket != NULL) {
		args[k++] = "-s";
		args[k++] = (char *)cli->socket;
	}
	for (i = 0; i < argc; i++)
		args[k++] = argv[i];
	args[k] = NULL;
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		snprintf(path, sizeof path, "%s/forq-top", self);
		if (access(path, X_OK) == 0)
			execv(path, args);
	}
	execv(helper, args);
	fprintf(stderr, "forq: top: cannot run %s: %s\n", helper,
		strerror(errno));
	free(args);
	return FORQ_EXIT_FAILURE;
}

static const struct command {
	const char *name;
	int (*run)(struct cli *, int, char **);
} commands[] = {
    {"submit", cmd_submit},   {"status", cmd_status},
    {"list", cmd_list},       {"wait", cmd_wait},
    {"logs", cmd_logs},       {"cancel", cmd_cancel},
    {"workers", cmd_workers}, {"ping", cmd_ping},
    {"set", cmd_set},         {"pause", cmd_pause},
    {"resume", cmd_pause},    {"drain", cmd_pause},
    {"queues", cmd_queues},   {"retry", cmd_retry},
    {"clean", cmd_clean},     {"shutdown", cmd_shutdown},
    {"nodes", cmd_nodes},     {"hold", cmd_hold},
    {"release", cmd_release}, {"metrics", cmd_metrics},
    {"top", cmd_top_helper},
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cli cli = {0};
	size_t i;
	int ch;

	/* '+': stop at the command name; its own options follow it. */
	while ((ch = getopt_long(argc, argv, "+s:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			cli.socket = optarg;
			break;
		case 'V':
			printf("forq %s\n", FORQ_VERSION);
			return 0;
		default:
			cli_usage();
		}
	}
	if (optind >= argc)
		cli_usage();
	for (i = 0; i < nitems(commands); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].run(&cli, argc - optind,
					       argv + optind);
	}
	fprintf(stderr, "forq: unknown command \"%s\"\n", argv[optind]);
	cli_usage();
}
