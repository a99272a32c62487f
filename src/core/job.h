/*
 * Jobs: their states, the rules between them, and the checked form of a
 * submitted job. Pure functions, so the state machine and the validator
 * are unit-tested without a daemon.
 */
#ifndef FORQ_JOB_H
#define FORQ_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "core/jobarray.h"
#include "forq/protocol.h"

/* The numbers are the store's: the final states are those from
 * JOB_SUCCEEDED up. */
enum job_state {
	JOB_QUEUED = 0,
	JOB_RUNNING = 1,
	JOB_SCHEDULED = 2, /* to be queued at its start time */
	JOB_WAITING = 3,   /* for the jobs it depends on */
	JOB_HELD = 4,      /* by its user or an admin, until released */
	JOB_SUCCEEDED = 5,
	JOB_FAILED = 6,
	JOB_TIMED_OUT = 7,
	JOB_CANCELLED = 8,
	JOB_LOST = 9,
};
#define JOB_STATE_COUNT 10
/* Which ends a job is retried after (its retry_on). */
enum job_retry_on {
	JOB_RETRY_EXIT = 1,    /* a non-zero exit, or no start at all */
	JOB_RETRY_SIGNAL = 2,  /* killed by a signal */
	JOB_RETRY_TIMEOUT = 4, /* its timeout */
	JOB_RETRY_LOST = 8,    /* interrupted by a crash */
	JOB_RETRY_ALL = 15,
};
#define JOB_RETRIES_MAX 1000
#define JOB_CPUS_MAX FORQ_CPUS_MAX
/* The most memory a job may ask for (--mem), in bytes. */
#define JOB_MEM_MAX (INT64_C(1) << 50)
#define JOB_RETRY_DELAY_MAX_MS (INT64_C(24) * 60 * 60 * 1000)
#define JOB_AFTER_MAX 256 /* jobs one job may wait for */

/* 9999-12-31T23:59:59Z: the latest start_at_ms a job may carry. */
#define JOB_START_AT_MS_MAX INT64_C(253402300799000)

/* "queued, running, ..." for error messages. */
#define JOB_STATE_LIST                                                         \
	"queued, running, scheduled, waiting, held, succeeded, failed, "       \
	"timed_out, cancelled, lost"

const char *job_state_name(enum job_state s);
int job_state_parse(const char *name, enum job_state *s);
bool job_state_final(enum job_state s);
/* Not started and not ended: queued, scheduled, waiting or held. */
bool job_state_pending(enum job_state s);
bool job_transition_allowed(enum job_state from, enum job_state to);

/* The limits a submission is checked against (conf [limits]). */
struct job_limits {
	uint32_t argv_max;       /* arguments per job */
	uint64_t argv_bytes_max; /* their bytes, NULs included */
	uint64_t env_bytes_max;  /* environment bytes, NULs included */
	uint32_t batch_max;      /* jobs per submit request */
	uint32_t name_max;       /* bytes of a job's name */
};

/* A submitted job, checked. Strings are packed NUL-separated. */
/* What a job with dependencies waits for: --after, --after-any,
 * --after-fail (Slurm's afterok, afterany, afternotok). The numbers are
 * stored. */
enum job_after {
	JOB_AFTER_OK = 0,   /* all succeeded */
	JOB_AFTER_ANY = 1,  /* all ended, whatever the outcome */
	JOB_AFTER_FAIL = 2, /* all ended, none succeeded */
};

struct job_spec {
	char *argv; /* "prog\0arg1\0..." */
	size_t argv_len;
	uint32_t argc;
	char *env; /* "K=V\0..." */
	size_t env_len;
	uint32_t envc;
	char *cwd;
	char *name;         /* NULL if none */
	int64_t timeout_ms; /* 0: none */
	bool has_timeout;   /* given, even as 0; else the queue's */
	uint64_t mem;       /* its cgroup's memory limit, bytes; 0: none */
	bool has_mem;       /* given, even as 0; else the queue's */
	uint32_t cpus;      /* CPUs it runs on; 0 or 1: its worker's one */
	bool has_cpus;      /* given; else the queue's */
	char *queue;        /* NULL: the default queue */
	int32_t priority;
	bool has_priority;   /* given; else the queue's */
	int64_t start_at_ns; /* CLOCK_REALTIME; 0: at once */
	uint32_t retries;    /* attempts after the first */
	bool has_retries;
	int64_t retry_delay_ms; /* before the first retry; doubles */
	bool has_retry_delay;
	uint32_t retry_on; /* enum job_retry_on bits */
	uint64_t *after;   /* jobs to wait for; NULL if none */
	uint32_t nafter;
	enum job_after after_mode; /* what of them it waits for */
	char *unique;              /* dedup key; NULL if none */
	char *on_finish; /* run by /bin/sh -c once it has ended; NULL */
	bool hold;       /* submitted held: starts once released */
	/* Its output and input where the user wants them (NULL: forqd's
	 * files, /dev/null): patterns of %j, %a, %x (%u made the user's
	 * name at submit), relative to cwd. */
	char *stdout_path, *stderr_path, *stdin_path;
	bool append;           /* to those output files, not over them */
	int32_t file_umask;    /* of the files it makes; -1: 077 */
	char *res;             /* [resources] it needs: "gpu=2"; NULL: none */
	struct jobarray array; /* its tasks' indexes; n = 0: not an array */
};

/* The jobs a spec stands for: its array's tasks, or itself. */
static inline size_t
job_spec_tasks(const struct job_spec *spec)
{
	return spec->array.n > 0 ? spec->array.n : 1;
}

struct job_error {
	const char *code;  /* protocol error code */
	const char *limit; /* the conf key, when a limit was hit */
	unsigned long long max;
	char message[256];
};

/* A --stdout/--stderr/--stdin pattern's file for a job: %j its id, %a
 * its task's index (nothing if it is no task), %x its name (nothing if
 * none), %% a %; 0, or -1 if it does not fit len. The pattern was
 * checked at submit: no other % is left in it. */
int job_path_expand(const char *pattern, uint64_t id, bool task, uint32_t index,
		    const char *name, char *buf, size_t len);

/* The pattern with each %u made user (a malloc'd copy; NULL if memory
 * runs out); %% and the other specifiers stay as they are. */
char *job_path_user(const char *pattern, const char *user);

/* Where a job not started stands at now_ns (CLOCK_REALTIME): held if
 * held, else waiting for its dependencies (they are settled from
 * there), else scheduled until its start time, else queued. At submit
 * held is spec->hold; at a release, false. */
enum job_state job_pending_state(const struct job_spec *spec, int64_t now_ns,
				 bool held);

/* What forq set changes of a job not started: the fields given. */
enum job_edit_field {
	JOB_EDIT_PRIORITY = 1,
	JOB_EDIT_QUEUE = 2,
	JOB_EDIT_START = 4, /* start_at_ns; 0: none, start as soon as it may */
	JOB_EDIT_TIMEOUT = 8,
	JOB_EDIT_NAME = 16, /* name; NULL: none */
};
struct job_edit {
	unsigned fields; /* enum job_edit_field bits */
	int32_t priority;
	char *queue;
	int64_t start_at_ns;
	int64_t timeout_ms;
	char *name;
};
/* The edit a set request asks for, checked as a submission's fields
 * are; at least one field. */
int job_edit_from_json(const json_t *req, const struct job_limits *limits,
		       struct job_edit *e, struct job_error *err);
void job_edit_free(struct job_edit *e);

/* Checks one job object; defaults (may be NULL) give env and cwd to
 * jobs that do not carry their own. */
int job_spec_from_json(const json_t *job, const json_t *defaults,
		       const struct job_limits *limits, struct job_spec *spec,
		       struct job_error *err);
void job_spec_free(struct job_spec *spec);
/* The job object job_spec_from_json reads back as the same spec, with
 * the values the spec holds as given (has_* set) and no defaults: how
 * a cluster node hands a job to the node that runs it. */
json_t *job_spec_to_json(const struct job_spec *spec);
/* NUL-separated strings (argv, env) as a JSON array. */
json_t *job_unpack(const char *packed, uint32_t count);
/* A priority as requests carry it: -FORQ_PRIORITY_MAX to the max. */
int job_priority_from_json(const json_t *v, int32_t *priority,
			   struct job_error *err);

/* How a job (or one attempt of it) ended. */
struct job_result {
	enum job_state state;
	int exit_code;
	int signal;
	int64_t start_ns; /* CLOCK_REALTIME */
	int64_t end_ns;
	int64_t user_us;
	int64_t sys_us;
	int64_t maxrss_kb; /* with a cgroup: the whole job's peak */
	uint32_t procs;    /* with a cgroup: most processes at once */
	char error[256];
};

/* A job's end as the protocol shows it: id, state, exit_code, signal,
 * error. */
json_t *job_result_json(uint64_t id, const struct job_result *r);

struct rusage;
/* Exit code or signal and resource use from wait4(2)'s status. */
void job_result_from_wait(struct job_result *r, int status,
			  const struct rusage *ru);
void job_result_set_usage(struct job_result *r, const struct rusage *ru);

/* A final result as one line of text, for a file that must outlive its
 * writer: "state exit signal start end user sys maxrss procs error...";
 * -1 if it does not fit. */
int job_result_to_text(const struct job_result *r, char *buf, size_t len);
/* Back from that text: -1 if it is not one (a final state, numbers). */
int job_result_from_text(const char *text, struct job_result *r);

/* The retry_on bit an end falls under; 0 for a success or a cancel,
 * which are never retried. */
unsigned job_retry_reason(enum job_state state, int signal);
/* Whether an end of attempt (0: the first) calls for another, by the
 * job's retry_on and retries. */
bool job_retry_wanted(const struct job_result *r, uint32_t retry_on,
		      uint32_t attempt, uint32_t retries);
/* The wait before the retry that follows attempt (0: the first):
 * base_ms doubled per attempt, capped at JOB_RETRY_DELAY_MAX_MS, then
 * spread by up to 20% either way by jitter (uniform over uint32). */
int64_t job_retry_delay_ms(int64_t base_ms, uint32_t attempt, uint32_t jitter);
/* "exit,signal" for retry_on bits, into buf. */
void job_retry_on_format(unsigned bits, char *buf, size_t len);

/* What the states of the jobs a waiting job depends on mean for it. */
enum job_deps_verdict {
	JOB_DEPS_WAIT,  /* one of them has not ended */
	JOB_DEPS_READY, /* it may run */
	JOB_DEPS_FAIL,  /* what it waits for can no longer come */
};

/* The stored number back; an unknown one reads as JOB_AFTER_OK. */
enum job_after job_after_of(int v);
/* By mode; on JOB_DEPS_FAIL, *culprit is the index of the first that
 * decided it: one that did not succeed (OK), or one that did (FAIL). */
enum job_deps_verdict job_deps_verdict(enum job_after mode,
				       const enum job_state *states, size_t n,
				       size_t *culprit);

/* "exited 3", "killed by SIGKILL", ... for a final job. */
void job_describe_exit(int exit_code, int signal, char *buf, size_t len);

#endif
