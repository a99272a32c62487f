/* The forq CLI: shared helpers, and rendering as pure functions. */
#ifndef FORQ_CLI_H
#define FORQ_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/compat.h"
#include "forq/client.h"

struct cli {
	const char *socket;
	int json;
};

/* The table `forq workers` prints, from the reply's "workers" array. */
void cli_print_workers(FILE *out, const json_t *workers);
/* forq nodes: one line per node of the cluster. */
void cli_print_nodes(FILE *out, const json_t *nodes);
/* A duration given in milliseconds, or "-" for null. */
void cli_format_ms(const json_t *ms, char *buf, size_t len);
/* The exit status a job's end maps to: its own exit code, 128+signal
 * when killed, 127 when it could not start, 1 when lost. */
int cli_job_exit_code(const json_t *job);
void cli_print_jobs(FILE *out, const json_t *jobs);
/* The same in parts, for a list that comes in pages. */
void cli_print_jobs_header(FILE *out);
void cli_print_jobs_rows(FILE *out, const json_t *jobs);
void cli_print_status(FILE *out, const json_t *job);

__dead void cli_die(const struct forq_error *err);
__dead void cli_usage(void);
struct forq_conn *cli_connect(const struct cli *cli);
json_t *cli_call(struct forq_conn *conn, const char *op, json_t *fields);
void cli_print_json(json_t *reply);
int cli_parse_id(const char *text, json_int_t *id);
/* A job as a command names it: its id (an integer), or a task of an
 * array as "41_7" (a string forqd looks up); NULL if text is neither. */
json_t *cli_job_ref(const char *text);
/* Parses --json, the one option every command takes; operands from
 * optind on. */
void cli_options_json(struct cli *cli, int argc, char **argv);
/* One request; its reply as JSON (--json) or through print. */
int cli_show(const struct cli *cli, const char *op, json_t *fields,
	     void (*print)(const json_t *reply));
/* Waits for jobs (ids: array); progress on a terminal. Returns the
 * exit status of the first failure, else 0; *jobs gets the results. */
int cli_wait(struct forq_conn *conn, json_t *ids, bool progress, json_t **jobs);
/* The same for a request (wait or drain) with its fields in which
 * (taken): "jobs", "all" or "queue". */
int cli_wait_for(struct forq_conn *conn, const char *op, json_t *which,
		 bool progress, json_t **jobs);
/* A user's name or number: 0, or -1 if there is no such user. */
int cli_parse_user(const char *text, uid_t *uid);
/* Option values: 0, or -1 after saying on stderr what was wrong. */
int cli_opt_number(const char *opt, const char *arg, long long min,
		   long long max, long long *out);
int cli_opt_duration(const char *opt, const char *arg, int64_t *ms);
/* A size: 64M, 2G (K, M, G, T are powers of 1024). */
int cli_opt_size(const char *opt, const char *arg, uint64_t *bytes);
int cli_opt_user(const char *opt, const char *arg, uid_t *uid);
/* Copies a job's output descriptors to stdout and stderr. */
int cli_print_output(struct forq_conn *conn, json_int_t id, bool out, bool err);

int cmd_submit(struct cli *cli, int argc, char **argv);
/* forq-top's (cli_top.c): argv[0] is "top". */
int cmd_top(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_wait(struct cli *cli, int argc, char **argv);
int cmd_logs(struct cli *cli, int argc, char **argv);
int cmd_cancel(struct cli *cli, int argc, char **argv);
int cmd_hold(struct cli *cli, int argc, char **argv);
int cmd_release(struct cli *cli, int argc, char **argv);
int cmd_set(struct cli *cli, int argc, char **argv);
int cmd_pause(struct cli *cli, int argc, char **argv);
int cmd_queues(struct cli *cli, int argc, char **argv);
int cmd_retry(struct cli *cli, int argc, char **argv);
int cmd_clean(struct cli *cli, int argc, char **argv);

#endif
