/* forq: the command line client of forqd. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "common/compat.h"
#include "forq/client.h"
#include "forq/protocol.h"
#include "version.h"

struct cli {
	const char *socket;
	int json;
};

static __dead void
usage(void)
{
	fprintf(stderr,
		"usage: forq [-s socket] [--json] command [args]\n"
		"\n"
		"commands:\n"
		"  ping        check that forqd answers\n"
		"  workers     the workers: pid, cpu, state, restarts, "
		"heartbeat\n"
		"\n"
		"The socket is -s, else $FORQ_SOCKET, else\n"
		"$XDG_RUNTIME_DIR/%s if it exists, else %s.\n",
		FORQ_SOCKET_USER_SUBPATH, FORQ_SOCKET_SYSTEM);
	exit(FORQ_EXIT_USAGE);
}

static __dead void
die(const struct forq_error *err)
{
	fprintf(stderr, "forq: %s\n", err->message);
	exit(forq_error_exit_code(err));
}

static void
print_json(json_t *reply)
{
	json_object_del(reply, "id");
	json_object_del(reply, "ok");
	json_dumpf(reply, stdout, JSON_COMPACT);
	fputc('\n', stdout);
}

/* Parses the options every command takes after its name. */
static void
command_options(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == 'j')
			cli->json = 1;
		else
			usage();
	}
	if (optind != argc)
		usage();
}

static json_t *
call(const struct cli *cli, const char *op, json_t *fields)
{
	struct forq_error err = {0};
	struct forq_conn *conn;
	char path[4096];
	json_t *reply;

	forq_socket_path(cli->socket, path, sizeof path);
	if ((conn = forq_connect(path, &err)) == NULL)
		die(&err);
	reply = forq_call(conn, op, fields, &err);
	forq_close(conn);
	if (reply == NULL)
		die(&err);
	return reply;
}

static int
cmd_ping(struct cli *cli, int argc, char **argv)
{
	json_t *reply;
	char up[32];

	command_options(cli, argc, argv);
	reply = call(cli, "ping", NULL);
	if (cli->json) {
		print_json(reply);
	} else {
		cli_format_ms(json_object_get(reply, "uptime_ms"), up,
			      sizeof up);
		printf("forqd pid %lld is up %s, %lld workers ready\n",
		       (long long)json_integer_value(
			   json_object_get(reply, "pid")),
		       up,
		       (long long)json_integer_value(
			   json_object_get(reply, "workers_ready")));
	}
	json_decref(reply);
	return FORQ_EXIT_OK;
}

static int
cmd_workers(struct cli *cli, int argc, char **argv)
{
	json_t *reply;

	command_options(cli, argc, argv);
	reply = call(cli, "workers", NULL);
	if (cli->json)
		print_json(reply);
	else
		cli_print_workers(stdout, json_object_get(reply, "workers"));
	json_decref(reply);
	return FORQ_EXIT_OK;
}

static const struct command {
	const char *name;
	int (*run)(struct cli *, int, char **);
} commands[] = {
    {"ping", cmd_ping},
    {"workers", cmd_workers},
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
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
		case 'j':
			cli.json = 1;
			break;
		case 'V':
			printf("forq %s\n", FORQ_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	for (i = 0; i < nitems(commands); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].run(&cli, argc - optind,
					       argv + optind);
	}
	fprintf(stderr, "forq: unknown command \"%s\"\n", argv[optind]);
	usage();
}
