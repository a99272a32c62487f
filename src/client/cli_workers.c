/* `forq workers`: the scoreboard as a table. */
#include <stdio.h>
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

void
cli_print_workers(FILE *out, const json_t *workers)
{
	const json_t *w;
	const char *last;
	char uptime[32], beat[32], pid[16];
	size_t i;

	fprintf(out, "%-6s %-8s %-4s %-11s %-8s %-9s %-9s %s\n", "WORKER",
		"PID", "CPU", "STATE", "RESTARTS", "UPTIME", "HEARTBEAT",
		"LAST EXIT");
	json_array_foreach(workers, i, w)
	{
		cli_format_ms(json_object_get(w, "uptime_ms"), uptime,
			      sizeof uptime);
		cli_format_ms(json_object_get(w, "heartbeat_age_ms"), beat,
			      sizeof beat);
		if (json_integer_value(json_object_get(w, "pid")) > 0)
			snprintf(pid, sizeof pid, "%lld",
				 (long long)json_integer_value(
				     json_object_get(w, "pid")));
		else
			strlcpy(pid, "-", sizeof pid);
		last = json_string_value(json_object_get(w, "last_exit"));
		fprintf(out, "%-6lld %-8s %-4lld %-11s %-8lld %-9s %-9s %s\n",
			(long long)json_integer_value(
			    json_object_get(w, "worker")),
			pid,
			(long long)json_integer_value(
			    json_object_get(w, "cpu")),
			json_string_value(json_object_get(w, "state")) != NULL
			    ? json_string_value(json_object_get(w, "state"))
			    : "?",
			(long long)json_integer_value(
			    json_object_get(w, "restarts")),
			uptime, beat, last != NULL ? last : "-");
	}
}
