/*
 * forqd.conf: an INI file read with inih. Every key has a default, a
 * range and a line in conf/forqd.conf. Errors read "file:line: message".
 */
#ifndef FORQ_CONF_H
#define FORQ_CONF_H

#include <limits.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "common/log.h"
#include "core/res.h"
#include "core/rlimits.h"

#define CONF_DEFAULT_PATH "/etc/forq/forqd.conf"
#define CONF_FILE_MAX (1024 * 1024)
#define CONF_ERROR_MAX 512

/* [queue NAME] sections; "default" is always there, first. */
#define CONF_QUEUES_MAX 64
#define CONF_QUEUE_NAME_MAX 32

struct conf_queue {
	char name[CONF_QUEUE_NAME_MAX + 1];
	uint32_t parallel;  /* jobs of the queue running at once; 0: any */
	int32_t priority;   /* for jobs submitted without one */
	int64_t timeout_ms; /* for jobs submitted without one; 0: none */
	uint32_t retries;   /* for jobs submitted without them */
	int64_t retry_delay_ms;
	uint64_t mem;  /* for jobs submitted without --mem; 0: none */
	uint32_t cpus; /* for jobs submitted without --cpus; 0: one */
	char res[256]; /* for jobs submitted without --res: "gpu=1" */
	int lines[8];
};

/* Where the queue lives: this host's own file, or a database that
 * several hosts share. */
enum conf_backend {
	CONF_BACKEND_SQLITE = 0,
	CONF_BACKEND_POSTGRESQL = 1,
};

/* A node's name in a cluster: what forq nodes and a job's "node" show. */
#define CONF_NODE_NAME_MAX 63

enum conf_durability {
	CONF_DURABILITY_NORMAL = 0, /* survives a crash of forqd */
	CONF_DURABILITY_FULL = 1,   /* survives a power cut too: fsync */
};

struct conf {
	char path[PATH_MAX]; /* "" for the built-in defaults */

	/* [daemon] */
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint32_t socket_mode;
	char socket_group[64];
	char state_dir[PATH_MAX];
	uint64_t state_reserve;
	char pidfile[PATH_MAX];
	enum log_level log_level;
	int64_t stop_grace_ms;
	char metrics_listen[64]; /* "": no metrics endpoint */

	/* [workers] */
	char cpus[256];
	uint32_t slots;
	uint32_t slots_adapt; /* bool: slots is a worker's most (cpuload.h) */
	uint32_t pin_jobs;    /* bool: a job runs on its worker's CPU alone */
	int64_t heartbeat_interval_ms;
	int64_t heartbeat_timeout_ms;
	int64_t adopt_timeout_ms; /* a worker alone keeps its jobs this long */
	int64_t restart_delay_ms;
	int64_t restart_delay_max_ms;
	uint32_t crash_loop_limit;
	int64_t crash_loop_window_ms;
	int64_t crash_loop_hold_ms;

	/* [jobs] */
	uint32_t durability;   /* enum conf_durability */
	int64_t sync_delay_ms; /* a start or end made durable within it */
	int64_t kill_grace_ms;
	uint64_t output_max;
	uint32_t tasks_max; /* processes in a job's cgroup; 0: no limit */
	uint64_t mem_max;   /* the most --mem a job may ask; 0: any */
	int64_t retention_age_ms;
	uint32_t retention_count;
	uint32_t crash_requeue_max;
	char on_finish[1024]; /* run for every job that ends; "" none */
	int64_t on_finish_timeout_ms;
	uint32_t job_umask;
	struct job_rlimit_value job_rlimits[JOB_RLIMIT_COUNT];

	/* [limits] */
	uint64_t request_line_max;
	uint32_t argv_max;
	uint64_t argv_bytes_max;
	uint64_t env_bytes_max;
	uint32_t batch_max;
	uint32_t name_max;
	uint32_t queued_max_per_user;
	uint32_t connections_max;
	uint32_t metrics_clients_max; /* scrapers connected at once */
	int64_t metrics_timeout_ms;   /* a scraper idle this long is cut */
	uint32_t connections_reserved;
	uint32_t connections_per_user_max;
	int64_t request_timeout_ms;
	int64_t client_idle_timeout_ms;
	uint64_t client_backlog_max;
	uint32_t client_waits_max;
	/* [access] */
	uint32_t allow_root_jobs; /* bool */
	char admin_group[64];
	char allow_users[1024];
	char deny_users[1024];

	/* [store] */
	uint32_t backend;                  /* enum conf_backend */
	char dsn[1024];                    /* a libpq connection string */
	char node[CONF_NODE_NAME_MAX + 1]; /* "": the host name */
	int64_t lease_ms;
	char cluster_key[PATH_MAX]; /* the key job specs are signed with */

	/* [queue NAME] */
	struct conf_queue queues[CONF_QUEUES_MAX];
	uint32_t nqueues;

	/* [resources]: GPUs and other countable things (core/res.h). */
	struct res_kinds res;

	/* Where each key was set, for errors found after parsing. */
	int lines[80];
};

/* The conf's file for messages: its path, or "forqd.conf" for the
 * built-in defaults. */
const char *conf_name(const struct conf *c);

/* Where forqd looks without -c: /etc/forq/forqd.conf for root, else
 * $XDG_CONFIG_HOME/forq/forqd.conf or ~/.config/forq/forqd.conf. */
void conf_default_path(char *buf, size_t len, uid_t euid,
		       const char *config_home, const char *home);

/* Built-in defaults: system paths for root, per-user paths otherwise. */
void conf_defaults(struct conf *c, uid_t euid, const char *runtime_dir,
		   const char *state_home, const char *home);
/* Both fill err with "file:line: message" and return -1 on error. */
int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen);
int conf_load_string(struct conf *c, const char *name, const char *text,
		     size_t len, char *err, size_t errlen);
/* Checks what depends on the machine: the CPU list against the allowed
 * set, the socket group's existence. */
int conf_check(const struct conf *c, const cpu_set_t *allowed, char *err,
	       size_t errlen);
/* The queue of that name, or NULL. */
const struct conf_queue *conf_queue_find(const struct conf *c,
					 const char *name);
/* 0 if name may name a queue or a node: 1 to max of [A-Za-z0-9_.-]
 * (CONF_QUEUE_NAME_MAX, CONF_NODE_NAME_MAX). */
int conf_name_check(const char *name, size_t max);
struct access_policy;
/* The [access] keys with names resolved to ids; -1 and "file:line: ..."
 * for a user or group that does not exist. */
int conf_access_policy(const struct conf *c, struct access_policy *p, char *err,
		       size_t errlen);

#endif
