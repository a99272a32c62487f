/* forq submit: one job from the command line, or a batch from a file. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/cli.h"
#include "client/cmdline.h"
#include "common/clock.h"
#include "common/units.h"
#include "forq/protocol.h"

extern char **environ;

static json_t *
env_array(bool clean, json_t *extra)
{
	json_t *env = json_array();
	char **e;

	if (!clean) {
		for (e = environ; *e != NULL; e++) {
			if (strchr(*e, '=') != NULL && **e != '=')
				json_array_append_new(env, json_string(*e));
		}
	}
	json_array_extend(env, extra);
	return env;
}

/* Batch lines: one job each, blank lines skipped; a line of plain words
 * is exec'd as they are, any other is run by /bin/sh -c. */
static json_t *
read_batch(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	json_t *jobs, *argv;
	char *line = NULL, **words;
	size_t cap = 0, nwords, i;
	ssize_t n;

	if (f == NULL) {
		fprintf(stderr, "forq: %s: %s\n", path, strerror(errno));
		exit(FORQ_EXIT_USAGE);
	}
	jobs = json_array();
	while ((n = getline(&line, &cap, f)) != -1) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strspn(line, " \t") == (size_t)n)
			continue;
		if ((words = cmdline_simple_split(line, &nwords)) != NULL) {
			argv = json_array();
			for (i = 0; i < nwords; i++)
				json_array_append_new(argv,
						      json_string(words[i]));
			free(words);
			json_array_append_new(jobs,
					      json_pack("{s:o}", "argv", argv));
			continue;
		}
		json_array_append_new(jobs, json_pack("{s:[s,s,s]}", "argv",
						      "/bin/sh", "-c", line));
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return jobs;
}

/* What submit prints: each job's id, an array's once (its tasks are
 * named ARRAY_INDEX). */
static void
print_ids(const json_t *reply, const json_t *ids)
{
	const json_t *arrays = json_object_get(reply, "arrays"), *a, *id;
	size_t i, k, t = 0, tasks;

	json_array_foreach(arrays, k, a)
	{
		printf("%lld\n",
		       (long long)json_integer_value(json_object_get(a, "id")));
		t += (size_t)json_integer_value(json_object_get(a, "tasks"));
	}
	/* A submit has either arrays or plain jobs: one job a request. */
	tasks = t;
	json_array_foreach(ids, i, id)
	{
		if (i >= tasks)
			printf("%lld\n", (long long)json_integer_value(id));
	}
}

int
cmd_submit(struct cli *cli, int argc, char **argv)
{
	enum {
		OPT_TIMEOUT = 256,
		OPT_CWD,
		OPT_ENV,
		OPT_CLEAN,
		OPT_BATCH,
		OPT_AT,
		OPT_IN,
		OPT_RETRIES,
		OPT_RETRY_DELAY,
		OPT_RETRY_ON,
		OPT_AFTER,
		OPT_AFTER_ANY,
		OPT_AFTER_FAIL,
		OPT_UNIQUE,
		OPT_ON_FINISH,
		OPT_MEM,
		OPT_CPUS,
		OPT_HOLD,
		OPT_ARRAY,
		OPT_STDOUT,
		OPT_STDERR,
		OPT_STDIN,
		OPT_APPEND,
		OPT_UMASK,
		OPT_RES,
		OPT_GPUS,
	};
	static const struct option longopts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"priority", required_argument, NULL, 'p'},
	    {"queue", required_argument, NULL, 'q'},
	    {"at", required_argument, NULL, OPT_AT},
	    {"in", required_argument, NULL, OPT_IN},
	    {"retries", required_argument, NULL, OPT_RETRIES},
	    {"retry-delay", required_argument, NULL, OPT_RETRY_DELAY},
	    {"retry-on", required_argument, NULL, OPT_RETRY_ON},
	    {"after", required_argument, NULL, OPT_AFTER},
	    {"after-any", required_argument, NULL, OPT_AFTER_ANY},
	    {"after-fail", required_argument, NULL, OPT_AFTER_FAIL},
	    {"unique", required_argument, NULL, OPT_UNIQUE},
	    {"on-finish", required_argument, NULL, OPT_ON_FINISH},
	    {"hold", no_argument, NULL, OPT_HOLD},
	    {"array", required_argument, NULL, OPT_ARRAY},
	    {"stdout", required_argument, NULL, OPT_STDOUT},
	    {"stderr", required_argument, NULL, OPT_STDERR},
	    {"stdin", required_argument, NULL, OPT_STDIN},
	    {"append", no_argument, NULL, OPT_APPEND},
	    {"umask", required_argument, NULL, OPT_UMASK},
	    {"res", required_argument, NULL, OPT_RES},
	    {"gpus", required_argument, NULL, OPT_GPUS},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"mem", required_argument, NULL, OPT_MEM},
	    {"cpus", required_argument, NULL, OPT_CPUS},
	    {"cwd", required_argument, NULL, OPT_CWD},
	    {"env", required_argument, NULL, OPT_ENV},
	    {"clean-env", no_argument, NULL, OPT_CLEAN},
	    {"wait", no_argument, NULL, 'w'},
	    {"output", no_argument, NULL, 'o'},
	    {"batch", required_argument, NULL, OPT_BATCH},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const char *name = NULL, *batch = NULL, *array = NULL, *why;
	char cwd[PATH_MAX] = "", here[PATH_MAX] = "";
	json_t *extra = json_array(), *defaults, *jobs, *job, *reply, *ids;
	json_t *results;
	struct forq_conn *conn;
	int64_t timeout_ms = -1, start_at_ms = -1, delay_ms, retry_delay = -1;
	uint64_t mem = 0;
	bool has_mem = false, hold = false, append = false;
	const char *files[3] = {NULL, NULL, NULL}; /* stdout, stderr, stdin */
	static const char *const file_keys[3] = {"stdout", "stderr", "stdin"};
	long umask_v = -1;
	char *end, res[256] = "";
	long long gpus;
	long long cpus = 0;
	long long retries = -1;
	json_t *retry_on = NULL, *after = NULL;
	int after_mode = 0; /* OPT_AFTER, _ANY or _FAIL once given */
	json_int_t dep;
	char *list, *word;
	const char *queue = NULL, *unique = NULL, *on_finish = NULL;
	long long priority = 0;
	bool clean = false, wait = false, output = false, has_priority = false;
	size_t i;
	int ch, status = 0;

	/* 0, not 1: glibc then forgets the "+" (stop at the first operand)
	 * of the top-level parse and permutes again. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+n:p:q:wo", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'n':
			name = optarg;
			break;
		case 'p':
			if (cli_opt_number("--priority", optarg,
					   -FORQ_PRIORITY_MAX,
					   FORQ_PRIORITY_MAX, &priority) == -1)
				goto usage;
			has_priority = true;
			break;
		case 'q':
			queue = optarg;
			break;
		case OPT_AT:
			if (units_parse_time(optarg, time(NULL), &start_at_ms,
					     &why) == -1) {
				fprintf(stderr, "forq: --at %s: %s\n", optarg,
					why);
				goto usage;
			}
			break;
		case OPT_IN:
			if (cli_opt_duration("--in", optarg, &delay_ms) == -1)
				goto usage;
			start_at_ms = clock_real_ns() / NS_PER_MS + delay_ms;
			break;
		case OPT_RETRIES:
			if (cli_opt_number("--retries", optarg, 0, 1000,
					   &retries) == -1)
				goto usage;
			break;
		case OPT_RETRY_DELAY:
			if (cli_opt_duration("--retry-delay", optarg,
					     &retry_delay) == -1)
				goto usage;
			break;
		case OPT_AFTER:
		case OPT_AFTER_ANY:
		case OPT_AFTER_FAIL:
			if (after_mode != 0 && after_mode != ch) {
				fprintf(stderr, "forq: --after, --after-any "
						"and --after-fail do not go "
						"together\n");
				goto usage;
			}
			after_mode = ch;
			if (after == NULL)
				after = json_array();
			list = optarg;
			while ((word = strsep(&list, ",")) != NULL) {
				if (cli_parse_id(word, &dep) == -1) {
					fprintf(stderr,
						"forq: --after: \"%s\" is not "
						"a job id\n",
						word);
					goto usage;
				}
				json_array_append_new(after, json_integer(dep));
			}
			break;
		case OPT_UNIQUE:
			unique = optarg;
			break;
		case OPT_ON_FINISH:
			on_finish = optarg;
			break;
		case OPT_HOLD:
			hold = true;
			break;
		case OPT_ARRAY:
			array = optarg;
			break;
		case OPT_STDOUT:
		case OPT_STDERR:
		case OPT_STDIN:
			files[ch - OPT_STDOUT] = optarg;
			break;
		case OPT_APPEND:
			append = true;
			break;
		case OPT_GPUS:
		case OPT_RES:
			/* --gpus N is --res gpu=N; each adds to the list. */
			if (ch == OPT_GPUS &&
			    cli_opt_number("--gpus", optarg, 1, 64, &gpus) ==
				-1)
				goto usage;
			if (strlcat(res, res[0] != '\0' ? "," : "",
				    sizeof res) >= sizeof res ||
			    (ch == OPT_GPUS
				 ? (size_t)snprintf(res + strlen(res),
						    sizeof res - strlen(res),
						    "gpu=%lld", gpus) >=
				       sizeof res - strlen(res)
				 : strlcat(res, optarg, sizeof res) >=
				       sizeof res)) {
				fprintf(stderr,
					"forq: --res and --gpus: over 255 "
					"bytes in all\n");
				goto usage;
			}
			break;
		case OPT_UMASK:
			errno = 0;
			umask_v = strtol(optarg, &end, 8);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    umask_v < 0 || umask_v > 0777) {
				fprintf(stderr,
					"forq: --umask %s: an octal mode "
					"from 0 to 777\n",
					optarg);
				goto usage;
			}
			break;
		case OPT_RETRY_ON:
			/* The daemon checks the words. */
			json_decref(retry_on);
			retry_on = json_array();
			list = optarg;
			while ((word = strsep(&list, ",")) != NULL) {
				if (word[0] != '\0')
					json_array_append_new(retry_on,
							      json_string(
								  word));
			}
			break;
		case OPT_MEM:
			if (cli_opt_size("--mem", optarg, &mem) == -1)
				goto usage;
			has_mem = true;
			break;
		case OPT_CPUS:
			if (cli_opt_number("--cpus", optarg, 1, FORQ_CPUS_MAX,
					   &cpus) == -1)
				goto usage;
			break;
		case OPT_TIMEOUT:
			if (cli_opt_duration("--timeout", optarg,
					     &timeout_ms) == -1)
				goto usage;
			break;
		case OPT_CWD:
			if (realpath(optarg, cwd) == NULL) {
				fprintf(stderr, "forq: --cwd %s: %s\n", optarg,
					strerror(errno));
				goto usage;
			}
			break;
		case OPT_ENV:
			if (strchr(optarg, '=') == NULL || optarg[0] == '=') {
				fprintf(stderr,
					"forq: --env %s: expected NAME=VALUE\n",
					optarg);
				goto usage;
			}
			json_array_append_new(extra, json_string(optarg));
			break;
		case OPT_CLEAN:
			clean = true;
			break;
		case 'w':
			wait = true;
			break;
		case 'o':
			output = true;
			break;
		case OPT_BATCH:
			batch = optarg;
			break;
		case 'j':
			cli->json = 1;
			break;
		default:
			cli_usage();
		}
	}
	if ((batch == NULL) == (optind >= argc)) {
		fprintf(stderr, "forq: submit takes a command after --, or "
				"--batch FILE\n");
		goto usage;
	}
	if (array != NULL && (batch != NULL || output)) {
		fprintf(stderr, "forq: --array does not go with %s\n",
			batch != NULL ? "--batch (its lines are jobs)"
				      : "-o (it prints one job's output)");
		goto usage;
	}
	if (cwd[0] != '/' && getcwd(cwd, sizeof cwd) == NULL) {
		fprintf(stderr, "forq: getcwd: %s\n", strerror(errno));
		return FORQ_EXIT_FAILURE;
	}
	if (getcwd(here, sizeof here) == NULL)
		here[0] = '\0';
	defaults =
	    json_pack("{s:o, s:s}", "env", env_array(clean, extra), "cwd", cwd);
	/* What is not given, the queue's conf section gives. */
	if (timeout_ms >= 0)
		json_object_set_new(defaults, "timeout_ms",
				    json_integer(timeout_ms));
	if (has_mem)
		json_object_set_new(defaults, "mem",
				    json_integer((json_int_t)mem));
	if (cpus > 0)
		json_object_set_new(defaults, "cpus", json_integer(cpus));
	if (has_priority)
		json_object_set_new(defaults, "priority",
				    json_integer(priority));
	if (queue != NULL)
		json_object_set_new(defaults, "queue", json_string(queue));
	if (start_at_ms >= 0)
		json_object_set_new(defaults, "start_at_ms",
				    json_integer(start_at_ms));
	if (retries >= 0)
		json_object_set_new(defaults, "retries", json_integer(retries));
	if (retry_delay >= 0)
		json_object_set_new(defaults, "retry_delay_ms",
				    json_integer(retry_delay));
	if (retry_on != NULL)
		json_object_set_new(defaults, "retry_on", retry_on);
	if (unique != NULL)
		json_object_set_new(defaults, "unique", json_string(unique));
	if (on_finish != NULL)
		json_object_set_new(defaults, "on_finish",
				    json_string(on_finish));
	if (hold)
		json_object_set_new(defaults, "hold", json_true());
	/* Relative to where forq was run, whatever --cwd says. */
	for (i = 0; i < 3; i++) {
		if (files[i] == NULL)
			continue;
		if (files[i][0] == '/' || here[0] == '\0') {
			json_object_set_new(defaults, file_keys[i],
					    json_string(files[i]));
		} else {
			char *abs = NULL;

			if (asprintf(&abs, "%s/%s", here, files[i]) == -1) {
				fprintf(stderr, "forq: out of memory\n");
				goto usage;
			}
			json_object_set_new(defaults, file_keys[i],
					    json_string(abs));
			free(abs);
		}
	}
	if (append)
		json_object_set_new(defaults, "append", json_true());
	if (res[0] != '\0')
		json_object_set_new(defaults, "res", json_string(res));
	if (umask_v >= 0)
		json_object_set_new(defaults, "umask", json_integer(umask_v));
	if (after != NULL) {
		json_object_set_new(defaults, "after", after);
		json_object_set_new(defaults, "after_any",
				    json_boolean(after_mode == OPT_AFTER_ANY));
		json_object_set_new(defaults, "after_fail",
				    json_boolean(after_mode == OPT_AFTER_FAIL));
	}
	if (batch != NULL) {
		jobs = read_batch(batch);
		if (json_array_size(jobs) == 0) {
			fprintf(stderr, "forq: %s has no jobs\n", batch);
			return FORQ_EXIT_USAGE;
		}
	} else {
		job = json_pack("{s:[]}", "argv");
		for (i = (size_t)optind; i < (size_t)argc; i++)
			json_array_append_new(json_object_get(job, "argv"),
					      json_string(argv[i]));
		if (name != NULL)
			json_object_set_new(job, "name", json_string(name));
		if (array != NULL)
			json_object_set_new(job, "array", json_string(array));
		jobs = json_pack("[o]", job);
	}
	json_decref(extra);
	conn = cli_connect(cli);
	reply = cli_call(conn, "submit",
			 json_pack("{s:o, s:o}", "jobs", jobs, "defaults",
				   defaults));
	ids = json_incref(json_object_get(reply, "ids"));
	if (!cli->json) {
		json_array_foreach(json_object_get(reply, "existing"), i, job)
		    fprintf(stderr,
			    "forq: job %lld, not ended, holds the key \"%s\"; "
			    "its id stands for this one\n",
			    (long long)json_integer_value(job), unique);
	}
	if (!wait) {
		if (cli->json)
			cli_print_json(reply);
		else
			print_ids(reply, ids);
		json_decref(reply);
		json_decref(ids);
		forq_close(conn);
		return FORQ_EXIT_OK;
	}
	if (!cli->json && batch == NULL && array == NULL)
		fprintf(stderr, "forq: job %lld\n",
			(long long)json_integer_value(json_array_get(ids, 0)));
	else if (!cli->json) {
		/* A batch or an array prints its ids as without --wait; a
		 * single job its id on stderr, so that -w -o prints only what
		 * the job did. */
		print_ids(reply, ids);
		fflush(stdout);
	}
	json_decref(reply);
	if (array != NULL)
		batch = array; /* waited for and told of as a batch */
	status = cli_wait(conn, ids,
			  batch != NULL && !cli->json && isatty(STDERR_FILENO),
			  &results);
	if (output && batch == NULL)
		cli_print_output(conn,
				 json_integer_value(json_array_get(ids, 0)),
				 true, true);
	if (cli->json) {
		reply = json_pack("{s:O, s:O}", "ids", ids, "jobs", results);
		cli_print_json(reply);
		json_decref(reply);
	} else if (batch != NULL) {
		json_array_foreach(results, i, job)
		{
			if (cli_job_exit_code(job) != 0)
				fprintf(stderr, "forq: job %lld %s\n",
					(long long)json_integer_value(
					    json_object_get(job, "id")),
					json_string_value(
					    json_object_get(job, "state")));
		}
	}
	json_decref(results);
	json_decref(ids);
	forq_close(conn);
	return status;
usage:
	json_decref(extra);
	json_decref(retry_on);
	json_decref(after);
	return FORQ_EXIT_USAGE;
}
