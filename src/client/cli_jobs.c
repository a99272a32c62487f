/* forq status, list, wait, logs, cancel, hold and release, and the waits and
 * output that submit --wait shares. */
#include <sys/inotify.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/cli.h"
#include "common/clock.h"
#include "common/units.h"
#include "forq/protocol.h"

static void
draw_progress(size_t done, size_t failed, size_t total, int64_t t0)
{
	double secs = (double)(clock_mono_ns() - t0) / 1e9;
	double rate = secs > 0 ? (double)done / secs : 0;
	char bar[31];
	size_t fill = total ? done * 30 / total : 30, i;

	for (i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	fprintf(stderr, "\r[%s] %zu/%zu done, %zu failed, %.0f/s, ETA %.0fs ",
		bar, done, total, failed, rate,
		rate > 0 ? (double)(total - done) / rate : 0.0);
	fflush(stderr);
}

int
cli_wait(struct forq_conn *conn, json_t *ids, bool progress, json_t **jobs)
{
	return cli_wait_for(conn, "wait", json_pack("{s:O}", "jobs", ids),
			    progress, jobs);
}

int
cli_wait_for(struct forq_conn *conn, const char *op, json_t *which,
	     bool progress, json_t **jobs)
{
	struct forq_error err = {0};
	json_t *msg, *j;
	size_t total = json_array_size(json_object_get(which, "jobs")),
	       done = 0, failed = 0, i;
	int64_t t0 = clock_mono_ns(), drawn = 0;
	long long id;
	int status = 0;

	json_object_set_new(which, "events", json_boolean(progress));
	id = forq_send(conn, op, which, &err);
	if (id == -1)
		cli_die(&err);
	for (;;) {
		if ((msg = forq_read(conn, &err)) == NULL)
			cli_die(&err);
		/* --all, --queue: the daemon says how many it waits for. */
		if (json_is_integer(json_object_get(msg, "waiting"))) {
			total = (size_t)json_integer_value(
			    json_object_get(msg, "waiting"));
			json_decref(msg);
			continue;
		}
		if (json_object_get(msg, "event") != NULL) {
			j = json_object_get(msg, "job");
			done++;
			failed += cli_job_exit_code(j) != 0;
			if (progress &&
			    (clock_mono_ns() - drawn > 100 * NS_PER_MS ||
			     done == total)) {
				draw_progress(done, failed, total, t0);
				drawn = clock_mono_ns();
			}
			json_decref(msg);
			continue;
		}
		if (json_integer_value(json_object_get(msg, "id")) != id) {
			json_decref(msg);
			continue;
		}
		if ((msg = forq_check_reply(msg, &err)) == NULL)
			cli_die(&err);
		break;
	}
	if (progress) {
		draw_progress(total, failed, total, t0);
		fputc('\n', stderr);
	}
	*jobs = json_incref(json_object_get(msg, "jobs"));
	json_decref(msg);
	json_array_foreach(*jobs, i, j)
	{
		if (status == 0)
			status = cli_job_exit_code(j);
	}
	return status;
}

/* Moves fd's offset to where its last n lines begin (a last line
 * without its newline counts), reading backwards from the end. */
static void
seek_tail(int fd, long long n)
{
	char buf[65536];
	off_t end = lseek(fd, 0, SEEK_END), pos = end, start = 0;
	ssize_t got, i;
	long long seen = 0;

	if (end <= 0)
		return;
	if (n == 0) {
		start = end;
		goto found;
	}
	while (pos > 0) {
		got = (ssize_t)(pos < (off_t)sizeof buf ? pos
							: (off_t)sizeof buf);
		pos -= got;
		if (pread(fd, buf, (size_t)got, pos) != got)
			break;
		for (i = got - 1; i >= 0; i--) {
			/* The file's last byte ends the last line. */
			if (buf[i] != '\n' || pos + i == end - 1)
				continue;
			if (++seen == n) {
				start = pos + i + 1;
				goto found;
			}
		}
	}
found:
	lseek(fd, start, SEEK_SET);
}

static int
copy_fd(int from, int to)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(from, buf, sizeof buf)) > 0) {
		if (write(to, buf, (size_t)n) != n)
			return -1;
	}
	return n == -1 ? -1 : 0;
}

/* Asks for the output files and returns the reply (fds taken). */
static json_t *
request_logs(struct forq_conn *conn, json_t *ref, bool follow, int fds[2])
{
	json_t *reply =
	    cli_call(conn, "logs",
		     json_pack("{s:o, s:b}", "job", ref, "follow", follow));

	fds[0] = fds[1] = -1;
	if (json_integer_value(json_object_get(reply, "fds")) == 2) {
		fds[0] = forq_take_fd(conn);
		fds[1] = forq_take_fd(conn);
	}
	return reply;
}

int
cli_print_output(struct forq_conn *conn, json_int_t id, bool out, bool err)
{
	json_t *reply;
	int fds[2];

	fflush(stdout);
	reply = request_logs(conn, json_integer(id), false, fds);
	json_decref(reply);
	if (fds[0] != -1 && out)
		copy_fd(fds[0], STDOUT_FILENO);
	if (fds[1] != -1 && err)
		copy_fd(fds[1], STDERR_FILENO);
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	return 0;
}

/* The one job a command names: its id, or a task as "41_7". */
static json_t *
one_id(int argc, char **argv)
{
	json_t *ref;

	if (optind != argc - 1 || (ref = cli_job_ref(argv[optind])) == NULL)
		cli_usage();
	return ref;
}

static json_t *
many_ids(int argc, char **argv)
{
	json_t *ids = json_array(), *ref;
	int i;

	if (optind >= argc)
		cli_usage();
	for (i = optind; i < argc; i++) {
		if ((ref = cli_job_ref(argv[i])) == NULL) {
			fprintf(stderr,
				"forq: \"%s\" is neither a job id nor a task "
				"(ARRAY_INDEX)\n",
				argv[i]);
			exit(FORQ_EXIT_USAGE);
		}
		json_array_append_new(ids, ref);
	}
	return ids;
}

static void
print_status(const json_t *reply)
{
	cli_print_status(stdout, json_object_get(reply, "job"));
}

static int list_pages(struct cli *cli, json_t *fields);

int
cmd_status(struct cli *cli, int argc, char **argv)
{
	json_t *ref;

	cli_options_json(cli, argc, argv);
	ref = one_id(argc, argv);
	return cli_show(cli, "status", json_pack("{s:o}", "job", ref),
			print_status);
}

int
cmd_list(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"limit", required_argument, NULL, 'l'},
	    {"queue", required_argument, NULL, 'q'},
	    {"name", required_argument, NULL, 'n'},
	    {"user", required_argument, NULL, 'u'},
	    {"array", required_argument, NULL, 'a'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	json_t *fields = json_object();
	json_int_t limit, array;
	uid_t uid;
	int ch;

	/* 0, not 1: glibc then forgets the "+" (stop at the first operand)
	 * of the top-level parse and permutes again. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			json_object_set_new(fields, "state",
					    json_string(optarg));
			break;
		case 'l':
			if (cli_parse_id(optarg, &limit) == -1)
				cli_usage();
			json_object_set_new(fields, "limit",
					    json_integer(limit));
			break;
		case 'q':
			json_object_set_new(fields, "queue",
					    json_string(optarg));
			break;
		case 'n':
			json_object_set_new(fields, "name",
					    json_string(optarg));
			break;
		case 'a':
			if (cli_parse_id(optarg, &array) == -1)
				cli_usage();
			json_object_set_new(fields, "array",
					    json_integer(array));
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
	return list_pages(cli, fields);
}

/* forqd answers a long list in pages of bounded size ("more"): each is
 * asked for from the last id shown, until the limit is reached. The
 * table is printed page by page; --json gathers them into one. */
static int
list_pages(struct cli *cli, json_t *fields)
{
	struct forq_conn *conn = cli_connect(cli);
	json_int_t left = json_integer_value(json_object_get(fields, "limit"));
	json_t *reply, *jobs, *all = NULL, *last;
	bool more;

	if (left <= 0)
		left = 20;
	if (!cli->json)
		cli_print_jobs_header(stdout);
	for (;;) {
		json_object_set_new(fields, "limit", json_integer(left));
		reply = cli_call(conn, "list", json_incref(fields));
		jobs = json_object_get(reply, "jobs");
		more = json_is_true(json_object_get(reply, "more")) &&
		       json_array_size(jobs) > 0;
		left -= (json_int_t)json_array_size(jobs);
		last = json_array_get(jobs, json_array_size(jobs) - 1);
		if (more && left > 0)
			json_object_set_new(fields, "before",
					    json_integer(json_integer_value(
						json_object_get(last, "id"))));
		if (cli->json && all == NULL) {
			all = json_incref(reply);
		} else if (cli->json) {
			json_array_extend(json_object_get(all, "jobs"), jobs);
		} else {
			cli_print_jobs_rows(stdout, jobs);
		}
		json_decref(reply);
		if (!more || left <= 0)
			break;
	}
	forq_close(conn);
	json_decref(fields);
	if (all != NULL) {
		json_object_del(all, "more");
		cli_print_json(all);
		json_decref(all);
	}
	return FORQ_EXIT_OK;
}

/* Ids on standard input, one or more a line (what submit prints). */
static json_t *
ids_from_stdin(void)
{
	json_t *ids = json_array(), *ref;
	char word[32];

	while (scanf("%31s", word) == 1) {
		if ((ref = cli_job_ref(word)) == NULL) {
			fprintf(stderr,
				"forq: \"%s\" is neither a job id nor a task "
				"(ARRAY_INDEX)\n",
				word);
			exit(FORQ_EXIT_USAGE);
		}
		json_array_append_new(ids, ref);
	}
	return ids;
}

int
cmd_wait(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"queue", required_argument, NULL, 'q'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	struct forq_conn *conn;
	json_t *ids, *jobs, *out, *which = NULL;
	bool many;
	int ch, status;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			which = json_pack("{s:b}", "all", 1);
			break;
		case 'q':
			which = json_pack("{s:s}", "queue", optarg);
			break;
		case 'j':
			cli->json = 1;
			break;
		default:
			cli_usage();
		}
	}
	if (which != NULL) {
		if (optind != argc)
			cli_usage();
		ids = NULL;
	} else if (optind == argc - 1 && strcmp(argv[optind], "-") == 0) {
		ids = ids_from_stdin();
	} else {
		ids = many_ids(argc, argv);
	}
	many = which != NULL || json_array_size(ids) > 1;
	conn = cli_connect(cli);
	if (which != NULL)
		status =
		    cli_wait_for(conn, "wait", which,
				 many && !cli->json && isatty(STDERR_FILENO),
				 &jobs);
	else
		status = cli_wait(conn, ids,
				  many && !cli->json && isatty(STDERR_FILENO),
				  &jobs);
	forq_close(conn);
	if (cli->json) {
		out = json_pack("{s:O}", "jobs", jobs);
		cli_print_json(out);
		json_decref(out);
	}
	json_decref(jobs);
	json_decref(ids);
	return status;
}

/* -f: print what there is, then what is added, until the job ends.
 * inotify on the descriptor's /proc link sees the file grow. */
static void
follow(struct forq_conn *conn, int fds[2], bool out, bool err)
{
	struct forq_error e = {0};
	struct pollfd pfd[2];
	char path[64], buf[4096];
	json_t *msg;
	int in, i;

	if ((in = inotify_init1(IN_CLOEXEC)) == -1) {
		fprintf(stderr, "forq: inotify: %s\n", strerror(errno));
		exit(FORQ_EXIT_FAILURE);
	}
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
		inotify_add_watch(in, path, IN_MODIFY);
	}
	pfd[0] = (struct pollfd){.fd = in, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = forq_socket_fd(conn), .events = POLLIN};
	for (;;) {
		if (out)
			copy_fd(fds[0], STDOUT_FILENO);
		if (err)
			copy_fd(fds[1], STDERR_FILENO);
		/* The end may have come in with the reply: do not poll for
		 * what is already read. */
		pfd[0].revents = pfd[1].revents = 0;
		if (forq_pending(conn))
			pfd[1].revents = POLLIN;
		else if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			(void)!read(in, buf, sizeof buf);
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			if ((msg = forq_read(conn, &e)) == NULL)
				cli_die(&e);
			if (json_object_get(msg, "event") != NULL) {
				json_decref(msg);
				break;
			}
			json_decref(msg);
		}
	}
	if (out)
		copy_fd(fds[0], STDOUT_FILENO);
	if (err)
		copy_fd(fds[1], STDERR_FILENO);
	close(in);
}

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t
utf8_len(const unsigned char *p, size_t left)
{
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	n = (p[0] & 0xe0) == 0xc0   ? 2
	    : (p[0] & 0xf0) == 0xe0 ? 3
	    : (p[0] & 0xf8) == 0xf0 ? 4
				    : 0;
	if (n == 0 || n > left || (n == 2 && p[0] < 0xc2))
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	}
	return n;
}

/* A file's content as a JSON string; bytes that are not UTF-8 become
 * U+FFFD, as JSON cannot carry them. */
static json_t *
fd_as_json_string(int fd)
{
	unsigned char buf[65536];
	char *text = NULL;
	size_t len = 0, i, n;
	FILE *mem = open_memstream(&text, &len);
	ssize_t got;
	json_t *s;

	while ((got = read(fd, buf, sizeof buf)) > 0) {
		for (i = 0; i < (size_t)got; i += n) {
			n = utf8_len(buf + i, (size_t)got - i);
			if (n == 0) {
				fputs("\xef\xbf\xbd", mem);
				n = 1;
			} else {
				fwrite(buf + i, 1, n, mem);
			}
		}
	}
	fclose(mem);
	s = json_stringn(text, len);
	free(text);
	return s != NULL ? s : json_string("");
}

int
cmd_logs(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {"stdout", no_argument, NULL, 'O'},
	    {"stderr", no_argument, NULL, 'E'},
	    {"tail", required_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	struct forq_conn *conn;
	json_t *reply, *ref;
	bool f = false, out = true, err = true;
	long long tail = -1;
	int ch, fds[2];

	/* 0, not 1: glibc then forgets the "+" (stop at the first operand)
	 * of the top-level parse and permutes again. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "fn:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			f = true;
			break;
		case 'n':
			if (cli_opt_number("--tail", optarg, 0, 1LL << 40,
					   &tail) == -1)
				return FORQ_EXIT_USAGE;
			break;
		case 'O':
			err = false;
			break;
		case 'E':
			out = false;
			break;
		case 'j':
			cli->json = 1;
			break;
		default:
			cli_usage();
		}
	}
	ref = one_id(argc, argv);
	if (cli->json && f) {
		fprintf(stderr, "forq: logs --json does not go with -f\n");
		json_decref(ref);
		return FORQ_EXIT_USAGE;
	}
	conn = cli_connect(cli);
	reply = request_logs(conn, ref, f, fds);
	if (tail >= 0 && fds[0] != -1) {
		seek_tail(fds[0], tail);
		seek_tail(fds[1], tail);
	}
	if (cli->json) {
		if (out)
			json_object_set_new(reply, "stdout",
					    fds[0] != -1
						? fd_as_json_string(fds[0])
						: json_string(""));
		if (err)
			json_object_set_new(reply, "stderr",
					    fds[1] != -1
						? fd_as_json_string(fds[1])
						: json_string(""));
		json_object_del(reply, "fds");
		cli_print_json(reply);
		if (fds[0] != -1) {
			close(fds[0]);
			close(fds[1]);
		}
	} else if (fds[0] != -1) {
		/* A cluster's job that ran on another node: what is here,
		 * and where the rest is. */
		if (json_is_string(json_object_get(reply, "elsewhere")))
			fprintf(stderr, "forq: %s\n",
				json_string_value(
				    json_object_get(reply, "elsewhere")));
		if (f && !json_is_true(json_object_get(reply, "final")))
			follow(conn, fds, out, err);
		else {
			if (out)
				copy_fd(fds[0], STDOUT_FILENO);
			if (err)
				copy_fd(fds[1], STDERR_FILENO);
		}
		close(fds[0]);
		close(fds[1]);
	}
	json_decref(reply);
	forq_close(conn);
	return FORQ_EXIT_OK;
}

/* cancel, hold, release ID...: a line per job, the state it is in now
 * (or "stopping"); a job it could not act on says why on stderr, and
 * the exit status is the last such reason's. */
static int
cli_each_job(struct cli *cli, const char *op, int argc, char **argv)
{
	struct forq_conn *conn;
	json_t *reply, *j;
	const char *state, *error;
	size_t i;
	int status = FORQ_EXIT_OK;

	cli_options_json(cli, argc, argv);
	conn = cli_connect(cli);
	reply = cli_call(conn, op,
			 json_pack("{s:o}", "jobs", many_ids(argc, argv)));
	forq_close(conn);
	json_array_foreach(json_object_get(reply, "jobs"), i, j)
	{
		long long id = json_integer_value(json_object_get(j, "id"));
		char name[48];

		/* A task as users name it: 41_7. */
		if (json_is_string(json_object_get(j, "task")))
			strlcpy(name,
				json_string_value(json_object_get(j, "task")),
				sizeof name);
		else
			snprintf(name, sizeof name, "%lld", id);
		state = json_string_value(json_object_get(j, "state"));
		error = json_string_value(json_object_get(j, "error"));
		if (error == NULL) {
			if (!cli->json)
				printf("%s %s\n", name,
				       json_is_true(
					   json_object_get(j, "stopping"))
					   ? "stopping"
					   : state);
		} else if (strcmp(error, FORQ_ERR_NOT_PERMITTED) == 0) {
			fprintf(stderr,
				"forq: job %s belongs to another user\n", name);
			status = FORQ_EXIT_NOT_PERMITTED;
		} else if (strcmp(error, FORQ_ERR_NOT_PENDING) == 0) {
			fprintf(stderr,
				"forq: job %s is %s: only a job not started "
				"is held\n",
				name, state);
			status = FORQ_EXIT_INVALID;
		} else if (strcmp(error, FORQ_ERR_NOT_HELD) == 0) {
			fprintf(stderr, "forq: job %s is %s, not held\n", name,
				state);
			status = FORQ_EXIT_INVALID;
		} else {
			fprintf(stderr, "forq: no such job: %lld\n", id);
			status = FORQ_EXIT_NO_SUCH_JOB;
		}
	}
	if (cli->json)
		cli_print_json(reply);
	json_decref(reply);
	return status;
}

int
cmd_cancel(struct cli *cli, int argc, char **argv)
{
	return cli_each_job(cli, "cancel", argc, argv);
}

int
cmd_hold(struct cli *cli, int argc, char **argv)
{
	return cli_each_job(cli, "hold", argc, argv);
}

int
cmd_release(struct cli *cli, int argc, char **argv)
{
	return cli_each_job(cli, "release", argc, argv);
}
