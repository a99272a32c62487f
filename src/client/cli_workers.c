/* `forq workers`: the scoreboard as a table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "common/units.h"

void
cli_format_ms(const json_t *ms, char *buf, size_t len)
{
	if (!json_is_integer(ms)) {
		strlcpy(buf, "-", len);
		return;
	}
	units_format_duration((int64_t)json_integer_value(ms), buf, len);
}

static const char *
cli_str(const json_t *o, const char *key, const char *none)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : none;
}

static long long
cli_int(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "12,13" for the jobs a worker runs, "-" for none. */
static void
cli_format_ids(const json_t *ids, char *buf, size_t len)
{
	const json_t *id;
	char one[24];
	size_t i;

	strlcpy(buf, json_array_size(ids) > 0 ? "" : "-", len);
	json_array_foreach(ids, i, id)
	{
		snprintf(one, sizeof one, "%s%lld", i > 0 ? "," : "",
			 (long long)json_integer_value(id));
		strlcat(buf, one, len);
	}
}

void
cli_print_workers(FILE *out, const json_t *workers)
{
	const json_t *w;
	char uptime[32], beat[32], pid[16], jobs[64];
	const char *state;
	size_t i;

	fprintf(out, "%-6s %-8s %-4s %-11s %-8s %-9s %-9s %-12s %s\n", "WORKER",
		"PID", "CPU", "STATE", "RESTARTS", "UPTIME", "HEARTBEAT",
		"JOBS", "LAST EXIT");
	json_array_foreach(workers, i, w)
	{
		cli_format_ms(json_object_get(w, "uptime_ms"), uptime,
			      sizeof uptime);
		cli_format_ms(json_object_get(w, "heartbeat_age_ms"), beat,
			      sizeof beat);
		if (cli_int(w, "pid") > 0)
			snprintf(pid, sizeof pid, "%lld", cli_int(w, "pid"));
		else
			strlcpy(pid, "-", sizeof pid);
		cli_format_ids(json_object_get(w, "jobs"), jobs, sizeof jobs);
		/* A worker of the previous forqd, taken on with its jobs. */
		state = cli_str(w, "state", "?");
		if (strcmp(state, "ready") == 0 &&
		    json_is_number(json_object_get(w, "adopted_at")))
			state = "adopted";
		fprintf(out,
			"%-6lld %-8s %-4lld %-11s %-8lld %-9s %-9s %-12s %s\n",
			cli_int(w, "worker"), pid, cli_int(w, "cpu"), state,
			cli_int(w, "restarts"), uptime, beat, jobs,
			cli_str(w, "last_exit", "-"));
	}
}

void
cli_print_nodes(FILE *out, const json_t *nodes)
{
	const json_t *n;
	char age[32], name[80];
	const char *state;
	size_t i;

	fprintf(out, "%-24s %-8s %-9s %-4s %-5s %-7s %-8s %-16s %s\n", "NODE",
		"STATE", "LEASE AGE", "CPUS", "SLOTS", "RUNNING", "PID", "HOST",
		"RESOURCES");
	json_array_foreach(nodes, i, n)
	{
		cli_format_ms(json_object_get(n, "lease_age_ms"), age,
			      sizeof age);
		/* Up by its own word, but past its lease: taken for dead. */
		state = cli_str(n, "state", "?");
		if (strcmp(state, "up") == 0 &&
		    !json_is_true(json_object_get(n, "alive")))
			state = "lost";
		snprintf(name, sizeof name, "%s%s", cli_str(n, "node", "?"),
			 json_is_true(json_object_get(n, "self")) ? " (this)"
								  : "");
		fprintf(out,
			"%-24s %-8s %-9s %-4lld %-5lld %-7lld %-8lld %-16s "
			"%s\n",
			name, state, age, cli_int(n, "cpus"),
			cli_int(n, "slots"), cli_int(n, "running"),
			cli_int(n, "pid"), cli_str(n, "host", "?"),
			cli_str(n, "res", "")[0] != '\0' ? cli_str(n, "res", "")
							 : "-");
	}
}

int
cli_job_exit_code(const json_t *job)
{
	const json_t *code = json_object_get(job, "exit_code");
	const json_t *sig = json_object_get(job, "signal");
	const char *state = json_string_value(json_object_get(job, "state"));

	if (json_is_integer(sig))
		return 128 + (int)json_integer_value(sig);
	if (json_is_integer(code))
		return (int)json_integer_value(code);
	if (state != NULL && strcmp(state, "failed") == 0)
		return 127; /* it never started: the status says why */
	if (state != NULL && strcmp(state, "succeeded") == 0)
		return 0;
	return 1;
}

static void
cli_join_argv(const json_t *argv, char *buf, size_t len)
{
	const json_t *a;
	size_t i;

	buf[0] = '\0';
	json_array_foreach(argv, i, a)
	{
		if (i > 0)
			strlcat(buf, " ", len);
		strlcat(buf, json_string_value(a) ? json_string_value(a) : "",
			len);
	}
}

void
cli_print_jobs(FILE *out, const json_t *jobs)
{
	cli_print_jobs_header(out);
	cli_print_jobs_rows(out, jobs);
}

void
cli_print_jobs_header(FILE *out)
{
	fprintf(out, "%-8s %-10s %-6s %-10s %4s %-16s %s\n", "ID", "STATE",
		"EXIT", "QUEUE", "PRIO", "NAME", "COMMAND");
}

void
cli_print_jobs_rows(FILE *out, const json_t *jobs)
{
	const json_t *j, *code, *sig;
	char cmd[61], result[16], id[48];
	size_t i;

	json_array_foreach(jobs, i, j)
	{
		/* A task as users name it: 41_7. */
		if (json_is_string(json_object_get(j, "task")))
			strlcpy(id,
				json_string_value(json_object_get(j, "task")),
				sizeof id);
		else
			snprintf(id, sizeof id, "%lld",
				 (long long)json_integer_value(
				     json_object_get(j, "id")));
		code = json_object_get(j, "exit_code");
		sig = json_object_get(j, "signal");
		if (json_is_integer(sig))
			snprintf(result, sizeof result, "sig%lld",
				 (long long)json_integer_value(sig));
		else if (json_is_integer(code))
			snprintf(result, sizeof result, "%lld",
				 (long long)json_integer_value(code));
		else
			strlcpy(result, "-", sizeof result);
		cli_join_argv(json_object_get(j, "argv"), cmd, sizeof cmd);
		fprintf(out, "%-8s %-10s %-6s %-10s %4lld %-16s %s\n", id,
			json_string_value(json_object_get(j, "state")), result,
			json_string_value(json_object_get(j, "queue")) != NULL
			    ? json_string_value(json_object_get(j, "queue"))
			    : "-",
			(long long)json_integer_value(
			    json_object_get(j, "priority")),
			json_string_value(json_object_get(j, "name")) != NULL
			    ? json_string_value(json_object_get(j, "name"))
			    : "-",
			cmd);
	}
}

void
cli_print_status(FILE *out, const json_t *job)
{
	static const char *const keys[] = {"id",
					   "task",
					   "array_max",
					   "array",
					   "name",
					   "state",
					   "exit_code",
					   "signal",
					   "error",
					   "argv",
					   "cwd",
					   "uid",
					   "gid",
					   "queue",
					   "priority",
					   "submitted_at",
					   "start_at",
					   "started_at",
					   "ended_at",
					   "timeout_ms",
					   "mem",
					   "cpus",
					   "attempt",
					   "worker",
					   "cpu",
					   "pid",
					   "adopted",
					   "adopted_at",
					   "user_us",
					   "sys_us",
					   "maxrss_kb",
					   "procs",
					   "env_count",
					   "retries",
					   "retry_delay_ms",
					   "retry_on",
					   "after_any",
					   "after_fail",
					   "unique",
					   "on_finish",
					   "stdout",
					   "stderr",
					   "stdin",
					   "append",
					   "umask",
					   "res",
					   "res_given"};
	const json_t *v, *a;
	char *text, what[64];
	size_t i;

	for (i = 0; i < nitems(keys); i++) {
		v = json_object_get(job, keys[i]);
		if (v == NULL || json_is_null(v))
			continue;
		if (json_is_string(v)) {
			fprintf(out, "%-13s %s\n", keys[i],
				json_string_value(v));
			continue;
		}
		text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
					 JSON_REAL_PRECISION(13));
		fprintf(out, "%-13s %s\n", keys[i], text != NULL ? text : "?");
		free(text);
	}
	json_array_foreach(json_object_get(job, "after"), i, a)
	    fprintf(out, "after %-7lld %s\n", cli_int(a, "id"),
		    cli_str(a, "state", "?"));
	/* The attempts before the last, a line each. */
	json_array_foreach(json_object_get(job, "attempts"), i, a)
	{
		if (json_is_string(json_object_get(a, "error")))
			strlcpy(what,
				json_string_value(json_object_get(a, "error")),
				sizeof what);
		else if (json_is_integer(json_object_get(a, "signal")))
			snprintf(what, sizeof what, "signal %lld",
				 cli_int(a, "signal"));
		else
			snprintf(what, sizeof what, "exit %lld",
				 cli_int(a, "exit_code"));
		fprintf(out, "attempt %-5lld %s, %s\n", cli_int(a, "attempt"),
			cli_str(a, "state", "?"), what);
	}
}
