/* forq set, pause, resume, drain and queues. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "client/cli.h"
#include "common/clock.h"
#include "common/units.h"
#include "forq/protocol.h"

/* forq set ID [--priority N] [--queue Q] [--at T | --in D] [--timeout D]
 * [--name N]: what is given changes, of a job not started yet. --in 0
 * (or an --at time past) lets a scheduled job start as soon as it may; an empty
 * --name takes its name away. */
int
cmd_set(struct cli *cli, int argc, char **argv)
{
	enum { OPT_AT = 256, OPT_IN, OPT_TIMEOUT };
	static const struct option longopts[] = {
	    {"priority", required_argument, NULL, 'p'},
	    {"queue", required_argument, NULL, 'q'},
	    {"at", required_argument, NULL, OPT_AT},
	    {"in", required_argument, NULL, OPT_IN},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"name", required_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	json_t *reply, *req = json_object(), *ref;
	long long prio = 0;
	int64_t ms;
	const char *why;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "p:q:n:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (cli_opt_number("--priority", optarg,
					   -FORQ_PRIORITY_MAX,
					   FORQ_PRIORITY_MAX, &prio) == -1)
				return FORQ_EXIT_USAGE;
			json_object_set_new(req, "priority",
					    json_integer((json_int_t)prio));
			break;
		case 'q':
			json_object_set_new(req, "queue", json_string(optarg));
			break;
		case OPT_AT:
			if (units_parse_time(optarg, time(NULL), &ms, &why) ==
			    -1) {
				fprintf(stderr, "forq: --at %s: %s\n", optarg,
					why);
				return FORQ_EXIT_USAGE;
			}
			json_object_set_new(req, "start_at_ms",
					    json_integer(ms));
			break;
		case OPT_IN:
			if (cli_opt_duration("--in", optarg, &ms) == -1)
				return FORQ_EXIT_USAGE;
			json_object_set_new(req, "start_at_ms",
					    ms == 0
						? json_null()
						: json_integer(clock_real_ns() /
								   NS_PER_MS +
							       ms));
			break;
		case OPT_TIMEOUT:
			if (cli_opt_duration("--timeout", optarg, &ms) == -1)
				return FORQ_EXIT_USAGE;
			json_object_set_new(req, "timeout_ms",
					    json_integer(ms));
			break;
		case 'n':
			json_object_set_new(req, "name",
					    optarg[0] != '\0'
						? json_string(optarg)
						: json_null());
			break;
		case 'j':
			cli->json = 1;
			break;
		default:
			cli_usage();
		}
	}
	if (json_object_size(req) == 0 || optind != argc - 1 ||
	    (ref = cli_job_ref(argv[optind])) == NULL)
		cli_usage();
	json_object_set_new(req, "job", ref);
	struct forq_conn *conn = cli_connect(cli);
	reply = cli_call(conn, "set", req);
	forq_close(conn);
	if (cli->json)
		cli_print_json(reply);
	json_decref(reply);
	return FORQ_EXIT_OK;
}

static void
print_nothing(const json_t *reply)
{
}

/* pause, resume, drain [QUEUE]: drain returns once what ran has ended. */
int
cmd_pause(struct cli *cli, int argc, char **argv)
{
	struct forq_conn *conn;
	json_t *fields = json_object(), *jobs;
	const char *op = argv[0];
	int status;

	cli_options_json(cli, argc, argv);
	if (optind < argc - 1)
		cli_usage();
	if (optind == argc - 1)
		json_object_set_new(fields, "queue", json_string(argv[optind]));
	if (strcmp(op, "drain") != 0)
		return cli_show(cli, op, fields, print_nothing);
	conn = cli_connect(cli);
	status = cli_wait_for(conn, "drain", fields,
			      !cli->json && isatty(STDERR_FILENO), &jobs);
	forq_close(conn);
	if (cli->json) {
		json_t *out = json_pack("{s:O}", "jobs", jobs);
		cli_print_json(out);
		json_decref(out);
	}
	json_decref(jobs);
	return status;
}

static void
print_queues(const json_t *reply)
{
	const json_t *q, *par, *timeout;
	char limit[16], to[32];
	size_t i;

	if (json_is_true(json_object_get(reply, "paused")))
		printf("all queues paused (forq resume)\n");
	printf("%-16s %-8s %8s %8s %8s %5s %s\n", "QUEUE", "STATE", "QUEUED",
	       "RUNNING", "PARALLEL", "PRIO", "TIMEOUT");
	json_array_foreach(json_object_get(reply, "queues"), i, q)
	{
		par = json_object_get(q, "parallel");
		timeout = json_object_get(q, "timeout_ms");
		if (json_is_integer(par))
			snprintf(limit, sizeof limit, "%lld",
				 (long long)json_integer_value(par));
		else
			strlcpy(limit, "-", sizeof limit);
		cli_format_ms(timeout, to, sizeof to);
		printf("%-16s %-8s %8lld %8lld %8s %5lld %s%s\n",
		       json_string_value(json_object_get(q, "name")),
		       json_is_true(json_object_get(q, "paused")) ? "paused"
								  : "active",
		       (long long)json_integer_value(
			   json_object_get(q, "queued")),
		       (long long)json_integer_value(
			   json_object_get(q, "running")),
		       limit,
		       (long long)json_integer_value(
			   json_object_get(q, "priority")),
		       to,
		       json_is_true(json_object_get(q, "declared"))
			   ? ""
			   : "  (not in forqd.conf)");
	}
	printf("%lld scheduled for later\n",
	       (long long)json_integer_value(
		   json_object_get(reply, "scheduled")));
}

int
cmd_queues(struct cli *cli, int argc, char **argv)
{
	cli_options_json(cli, argc, argv);
	if (optind != argc)
		cli_usage();
	return cli_show(cli, "queues", json_object(), print_queues);
}

/* forq retry ID...: each ended job runs again, as its next attempt;
 * an array's id, each of its tasks that ended. */
int
cmd_retry(struct cli *cli, int argc, char **argv)
{
	struct forq_conn *conn;
	json_t *reply, *ref;
	int i;

	cli_options_json(cli, argc, argv);
	if (optind >= argc)
		cli_usage();
	for (i = optind; i < argc; i++) {
		if ((ref = cli_job_ref(argv[i])) == NULL) {
			fprintf(stderr,
				"forq: \"%s\" is neither a job id nor a task "
				"(ARRAY_INDEX)\n",
				argv[i]);
			return FORQ_EXIT_USAGE;
		}
		json_decref(ref);
	}
	conn = cli_connect(cli);
	for (i = optind; i < argc; i++) {
		ref = cli_job_ref(argv[i]);
		reply = cli_call(conn, "retry", json_pack("{s:O}", "job", ref));
		if (cli->json) {
			json_object_set_new(reply, "job", ref);
			cli_print_json(reply);
		} else {
			json_decref(ref);
			if (json_object_get(reply, "tasks") != NULL)
				printf("%s: %lld tasks run again\n", argv[i],
				       (long long)json_integer_value(
					   json_object_get(reply, "tasks")));
			else
				printf("%s attempt %lld\n", argv[i],
				       (long long)json_integer_value(
					   json_object_get(reply, "attempt")));
		}
		json_decref(reply);
	}
	forq_close(conn);
	return FORQ_EXIT_OK;
}

/* forq clean: ended jobs and their logs, in batches until none is left
 * that matches. */
int
cmd_clean(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"older-than", required_argument, NULL, 'o'},
	    {"user", required_argument, NULL, 'u'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	struct forq_conn *conn;
	json_t *fields = json_object(), *reply, *out;
	long long removed = 0;
	int64_t ms;
	uid_t uid;
	bool more;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			json_object_set_new(fields, "state",
					    json_string(optarg));
			break;
		case 'o':
			if (cli_opt_duration("--older-than", optarg, &ms) ==
			    -1) {
				json_decref(fields);
				return FORQ_EXIT_USAGE;
			}
			json_object_set_new(fields, "older_than_ms",
					    json_integer(ms));
			break;
		case 'u':
			if (cli_opt_user("--user", optarg, &uid) == -1) {
				json_decref(fields);
				return FORQ_EXIT_USAGE;
			}
			json_object_set_new(fields, "uid", json_integer(uid));
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
	conn = cli_connect(cli);
	do {
		reply = cli_call(conn, "clean", json_incref(fields));
		removed +=
		    json_integer_value(json_object_get(reply, "removed"));
		more = json_is_true(json_object_get(reply, "more"));
		json_decref(reply);
	} while (more);
	forq_close(conn);
	json_decref(fields);
	if (cli->json) {
		out = json_pack("{s:I}", "removed", (json_int_t)removed);
		cli_print_json(out);
		json_decref(out);
	} else {
		printf("removed %lld jobs\n", removed);
	}
	return FORQ_EXIT_OK;
}
