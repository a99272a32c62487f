/*
 * forq-top: forq top's view, a program of its own so that only it loads
 * ncurses (forq execs it with the socket and the command's arguments:
 * forq-top [-s socket] top [--once] [--json]).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "forq/protocol.h"

int
main(int argc, char **argv)
{
	struct cli cli = {0};
	int ch;

	while ((ch = getopt(argc, argv, "+s:")) != -1) {
		if (ch != 's')
			goto usage;
		cli.socket = optarg;
	}
	if (optind >= argc || strcmp(argv[optind], "top") != 0)
		goto usage;
	return cmd_top(&cli, argc - optind, argv + optind);
usage:
	fprintf(stderr, "usage: forq-top [-s socket] top [--once] [--json]\n"
			"(run as forq top)\n");
	return FORQ_EXIT_USAGE;
}
