/* Job states, the rules between them, their ends and retries; the
 * checked form of a submitted job is job_spec.c's. */
#include <sys/resource.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/compat.h"
#include "core/conf.h"
#include "core/job.h"
#include "forq/protocol.h"

static const char *const job_state_names[JOB_STATE_COUNT] = {
    [JOB_QUEUED] = "queued",       [JOB_RUNNING] = "running",
    [JOB_SCHEDULED] = "scheduled", [JOB_WAITING] = "waiting",
    [JOB_HELD] = "held",           [JOB_SUCCEEDED] = "succeeded",
    [JOB_FAILED] = "failed",       [JOB_TIMED_OUT] = "timed_out",
    [JOB_CANCELLED] = "cancelled", [JOB_LOST] = "lost",
};

const char *
job_state_name(enum job_state s)
{
	return (unsigned)s < JOB_STATE_COUNT ? job_state_names[s] : "unknown";
}

int
job_state_parse(const char *name, enum job_state *s)
{
	int i;

	for (i = 0; i < JOB_STATE_COUNT; i++) {
		if (strcmp(name, job_state_names[i]) == 0) {
			*s = (enum job_state)i;
			return 0;
		}
	}
	return -1;
}

bool
job_state_final(enum job_state s)
{
	return s >= JOB_SUCCEEDED;
}

enum job_state
job_pending_state(const struct job_spec *spec, int64_t now_ns, bool held)
{
	if (held)
		return JOB_HELD;
	if (spec->nafter > 0)
		return JOB_WAITING;
	return spec->start_at_ns > now_ns ? JOB_SCHEDULED : JOB_QUEUED;
}

bool
job_state_pending(enum job_state s)
{
	return s == JOB_QUEUED || s == JOB_SCHEDULED || s == JOB_WAITING ||
	       s == JOB_HELD;
}

/* (waiting ->) (scheduled ->) queued -> running -> final; any of the
 * first three -> held, cancelled or lost; held -> whichever of the
 * first three its release finds true; running -> queued when a crash
 * interrupted it and the policy re-queues it. A final state is never
 * left. */
bool
job_transition_allowed(enum job_state from, enum job_state to)
{
	switch (from) {
	case JOB_WAITING:
		return to == JOB_SCHEDULED || to == JOB_QUEUED ||
		       to == JOB_HELD || to == JOB_CANCELLED || to == JOB_LOST;
	case JOB_SCHEDULED:
		return to == JOB_QUEUED || to == JOB_HELD ||
		       to == JOB_CANCELLED || to == JOB_LOST;
	case JOB_QUEUED:
		return to == JOB_RUNNING || to == JOB_HELD ||
		       to == JOB_CANCELLED || to == JOB_LOST;
	case JOB_HELD:
		return to == JOB_QUEUED || to == JOB_SCHEDULED ||
		       to == JOB_WAITING || to == JOB_CANCELLED ||
		       to == JOB_LOST;
	case JOB_RUNNING:
		return to != JOB_RUNNING && to != JOB_HELD;
	default:
		return false;
	}
}

enum job_after
job_after_of(int v)
{
	return v == JOB_AFTER_ANY    ? JOB_AFTER_ANY
	       : v == JOB_AFTER_FAIL ? JOB_AFTER_FAIL
				     : JOB_AFTER_OK;
}

enum job_deps_verdict
job_deps_verdict(enum job_after mode, const enum job_state *states, size_t n,
		 size_t *culprit)
{
	size_t i;

	/* An outcome that decides does so at once; waiting for the rest
	 * changes nothing. */
	for (i = 0; mode != JOB_AFTER_ANY && i < n; i++) {
		if (job_state_final(states[i]) &&
		    (states[i] == JOB_SUCCEEDED) == (mode == JOB_AFTER_FAIL)) {
			*culprit = i;
			return JOB_DEPS_FAIL;
		}
	}
	for (i = 0; i < n; i++) {
		if (!job_state_final(states[i]))
			return JOB_DEPS_WAIT;
	}
	return JOB_DEPS_READY;
}

unsigned
job_retry_reason(enum job_state state, int signal)
{
	switch (state) {
	case JOB_FAILED:
		return signal != 0 ? JOB_RETRY_SIGNAL : JOB_RETRY_EXIT;
	case JOB_TIMED_OUT:
		return JOB_RETRY_TIMEOUT;
	case JOB_LOST:
		return JOB_RETRY_LOST;
	default:
		return 0;
	}
}

bool
job_retry_wanted(const struct job_result *r, uint32_t retry_on,
		 uint32_t attempt, uint32_t retries)
{
	unsigned why = job_retry_reason(r->state, r->signal);

	return why != 0 && (retry_on & why) && attempt < retries;
}

int64_t
job_retry_delay_ms(int64_t base_ms, uint32_t attempt, uint32_t jitter)
{
	int64_t d = base_ms;
	uint32_t i;

	for (i = 0; i < attempt && d < JOB_RETRY_DELAY_MAX_MS; i++)
		d *= 2;
	if (d > JOB_RETRY_DELAY_MAX_MS)
		d = JOB_RETRY_DELAY_MAX_MS;
	/* 0.8 to 1.2 of d */
	return d * 4 / 5 + (int64_t)((double)d * 0.4 * jitter / UINT32_MAX);
}

void
job_result_set_usage(struct job_result *r, const struct rusage *ru)
{
	r->user_us = ru->ru_utime.tv_sec * 1000000 + ru->ru_utime.tv_usec;
	r->sys_us = ru->ru_stime.tv_sec * 1000000 + ru->ru_stime.tv_usec;
	r->maxrss_kb = ru->ru_maxrss;
}

void
job_result_from_wait(struct job_result *r, int status, const struct rusage *ru)
{
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	job_result_set_usage(r, ru);
}

int
job_result_to_text(const struct job_result *r, char *buf, size_t len)
{
	char error[sizeof r->error];
	size_t i;
	int n;

	/* One line: the error's own newlines become spaces. */
	strlcpy(error, r->error, sizeof error);
	for (i = 0; error[i] != '\0'; i++) {
		if (error[i] == '\n' || error[i] == '\r')
			error[i] = ' ';
	}
	n = snprintf(buf, len, "%s %d %d %lld %lld %lld %lld %lld %u %s\n",
		     job_state_name(r->state), r->exit_code, r->signal,
		     (long long)r->start_ns, (long long)r->end_ns,
		     (long long)r->user_us, (long long)r->sys_us,
		     (long long)r->maxrss_kb, r->procs, error);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
job_result_from_text(const char *text, struct job_result *r)
{
	char state[16];
	long long start, end, user, sys, rss;
	const char *error;
	size_t n;
	int used = 0;

	memset(r, 0, sizeof *r);
	if (sscanf(text, "%15s %d %d %lld %lld %lld %lld %lld %u %n", state,
		   &r->exit_code, &r->signal, &start, &end, &user, &sys, &rss,
		   &r->procs, &used) < 9 ||
	    used == 0 || job_state_parse(state, &r->state) == -1 ||
	    !job_state_final(r->state))
		return -1;
	r->start_ns = start;
	r->end_ns = end;
	r->user_us = user;
	r->sys_us = sys;
	r->maxrss_kb = rss;
	error = text + used;
	n = strcspn(error, "\n");
	if (n >= sizeof r->error)
		n = sizeof r->error - 1;
	memcpy(r->error, error, n);
	r->error[n] = '\0';
	return 0;
}

void
job_describe_exit(int exit_code, int signal, char *buf, size_t len)
{
	const char *abbrev;

	if (signal > 0) {
		abbrev = sigabbrev_np(signal);
		snprintf(buf, len, "killed by signal %d (SIG%s)", signal,
			 abbrev != NULL ? abbrev : "?");
	} else {
		snprintf(buf, len, "exited %d", exit_code);
	}
}

json_t *
job_result_json(uint64_t id, const struct job_result *r)
{
	json_t *j = json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
			      job_state_name(r->state));

	json_object_set_new(j, "exit_code",
			    r->signal == 0 && r->exit_code >= 0
				? json_integer(r->exit_code)
				: json_null());
	json_object_set_new(j, "signal",
			    r->signal != 0 ? json_integer(r->signal)
					   : json_null());
	json_object_set_new(j, "error",
			    r->error[0] != '\0' ? json_string(r->error)
						: json_null());
	return j;
}
