/* forqd.conf's keys: where each goes in struct conf, of what type,
 * within which bounds. */
#include <string.h>

#include "common/compat.h"
#include "core/conf_int.h"
#include "core/job.h"
#include "forq/protocol.h"

#define KEY(sec, name, member, type, min, max)                                 \
	{                                                                      \
		sec, name, type, offsetof(struct conf, member),                \
		    sizeof(((struct conf *)0)->member), min, max               \
	}

static const struct conf_key conf_keys[] = {
    KEY("daemon", "socket", socket, CONF_PATH, 0, 0),
    KEY("daemon", "socket_mode", socket_mode, CONF_MODE, 0, 0777),
    KEY("daemon", "socket_group", socket_group, CONF_STRING, 0, 0),
    KEY("daemon", "state_dir", state_dir, CONF_PATH, 0, 0),
    KEY("daemon", "state_reserve", state_reserve, CONF_SIZE, 0,
	INT64_C(1) << 30),
    KEY("daemon", "pidfile", pidfile, CONF_PATH, 0, 0),
    KEY("daemon", "log_level", log_level, CONF_LOG_LEVEL, 0, 0),
    KEY("daemon", "stop_grace", stop_grace_ms, CONF_DURATION, 0, DAY_MS),
    KEY("daemon", "metrics_listen", metrics_listen, CONF_STRING, 0, 0),
    KEY("workers", "cpus", cpus, CONF_CPUS, 0, 0),
    KEY("workers", "slots", slots, CONF_UINT, 1, 256),
    KEY("workers", "slots_adapt", slots_adapt, CONF_BOOL, 0, 0),
    KEY("workers", "pin_jobs", pin_jobs, CONF_BOOL, 0, 0),
    KEY("workers", "heartbeat_interval", heartbeat_interval_ms, CONF_DURATION,
	10, 60 * 1000),
    KEY("workers", "heartbeat_timeout", heartbeat_timeout_ms, CONF_DURATION,
	100, 60 * 60 * 1000),
    KEY("workers", "adopt_timeout", adopt_timeout_ms, CONF_DURATION, 0, DAY_MS),
    KEY("workers", "restart_delay", restart_delay_ms, CONF_DURATION, 1,
	60 * 1000),
    KEY("workers", "restart_delay_max", restart_delay_max_ms, CONF_DURATION, 1,
	60 * 60 * 1000),
    KEY("workers", "crash_loop_limit", crash_loop_limit, CONF_UINT, 1, 1000),
    KEY("workers", "crash_loop_window", crash_loop_window_ms, CONF_DURATION,
	100, DAY_MS),
    KEY("workers", "crash_loop_hold", crash_loop_hold_ms, CONF_DURATION, 100,
	DAY_MS),
    KEY("jobs", "durability", durability, CONF_DURABILITY, 0, 0),
    KEY("jobs", "sync_delay", sync_delay_ms, CONF_DURATION, 0, 1000),
    KEY("jobs", "kill_grace", kill_grace_ms, CONF_DURATION, 0, 60 * 60 * 1000),
    KEY("jobs", "output_max", output_max, CONF_SIZE, 0, INT64_C(1) << 50),
    KEY("jobs", "tasks_max", tasks_max, CONF_UINT, 0, 4194304),
    KEY("jobs", "mem_max", mem_max, CONF_SIZE, 0, JOB_MEM_MAX),
    KEY("jobs", "retention_age", retention_age_ms, CONF_DURATION, 0,
	3650 * DAY_MS),
    KEY("jobs", "retention_count", retention_count, CONF_UINT, 0, 1000000000),
    KEY("jobs", "crash_requeue_max", crash_requeue_max, CONF_UINT, 0, 1000),
    KEY("jobs", "on_finish", on_finish, CONF_STRING, 0, 0),
    KEY("jobs", "on_finish_timeout", on_finish_timeout_ms, CONF_DURATION, 100,
	60 * 60 * 1000),
    KEY("jobs", "umask", job_umask, CONF_MODE, 0, 0777),
#define RLIMIT_KEY(name, which)                                                \
	KEY("jobs", name, job_rlimits[which], CONF_RLIMIT, which, which)
    RLIMIT_KEY("limit_core", JOB_RLIMIT_CORE),
    RLIMIT_KEY("limit_cpu", JOB_RLIMIT_CPU),
    RLIMIT_KEY("limit_data", JOB_RLIMIT_DATA),
    RLIMIT_KEY("limit_fsize", JOB_RLIMIT_FSIZE),
    RLIMIT_KEY("limit_memlock", JOB_RLIMIT_MEMLOCK),
    RLIMIT_KEY("limit_nofile", JOB_RLIMIT_NOFILE),
    RLIMIT_KEY("limit_nproc", JOB_RLIMIT_NPROC),
    RLIMIT_KEY("limit_stack", JOB_RLIMIT_STACK),
    RLIMIT_KEY("limit_as", JOB_RLIMIT_AS),
#undef RLIMIT_KEY
    KEY("limits", "request_line_max", request_line_max, CONF_SIZE, 1024,
	256 * 1024 * 1024),
    KEY("limits", "argv_max", argv_max, CONF_UINT, 1, 65536),
    KEY("limits", "argv_bytes_max", argv_bytes_max, CONF_SIZE, 256,
	1024 * 1024),
    KEY("limits", "env_bytes_max", env_bytes_max, CONF_SIZE, 0, 1024 * 1024),
    KEY("limits", "batch_max", batch_max, CONF_UINT, 1, 10000000),
    KEY("limits", "name_max", name_max, CONF_UINT, 1, 4096),
    KEY("limits", "queued_max_per_user", queued_max_per_user, CONF_UINT, 1,
	100000000),
    KEY("limits", "connections_max", connections_max, CONF_UINT, 1, 1000000),
    KEY("limits", "metrics_clients_max", metrics_clients_max, CONF_UINT, 1,
	10000),
    KEY("limits", "metrics_timeout", metrics_timeout_ms, CONF_DURATION, 1000,
	60 * 60 * 1000),
    KEY("limits", "connections_reserved", connections_reserved, CONF_UINT, 0,
	1000),
    KEY("limits", "connections_per_user_max", connections_per_user_max,
	CONF_UINT, 1, 1000000),
    KEY("limits", "client_idle_timeout", client_idle_timeout_ms, CONF_DURATION,
	100, 7 * DAY_MS),
    KEY("limits", "client_backlog_max", client_backlog_max, CONF_SIZE,
	64 * 1024, INT64_C(1) << 30),
    KEY("limits", "client_waits_max", client_waits_max, CONF_UINT, 1, 1000000),
    KEY("limits", "request_timeout", request_timeout_ms, CONF_DURATION, 100,
	60 * 60 * 1000),
    KEY("access", "allow_root_jobs", allow_root_jobs, CONF_BOOL, 0, 0),
    KEY("access", "admin_group", admin_group, CONF_STRING, 0, 0),
    KEY("access", "allow_users", allow_users, CONF_STRING, 0, 0),
    KEY("access", "deny_users", deny_users, CONF_STRING, 0, 0),
    KEY("store", "backend", backend, CONF_BACKEND, 0, 0),
    KEY("store", "dsn", dsn, CONF_STRING, 0, 0),
    KEY("store", "node", node, CONF_STRING, 0, 0),
    KEY("store", "lease", lease_ms, CONF_DURATION, 2000, 60 * 60 * 1000),
    KEY("store", "cluster_key", cluster_key, CONF_PATH, 0, 0),
};

#define QKEY(name, member, type, min, max)                                     \
	{                                                                      \
		"queue", name, type, offsetof(struct conf_queue, member),      \
		    sizeof(((struct conf_queue *)0)->member), min, max         \
	}

/* The keys of a [queue NAME] section; offsets into struct conf_queue. */
static const struct conf_key conf_queue_keys[] = {
    QKEY("parallel", parallel, CONF_UINT, 0, 1000000),
    QKEY("priority", priority, CONF_INT, -FORQ_PRIORITY_MAX, FORQ_PRIORITY_MAX),
    QKEY("timeout", timeout_ms, CONF_DURATION, 0, 3650 * DAY_MS),
    QKEY("retries", retries, CONF_UINT, 0, JOB_RETRIES_MAX),
    QKEY("retry_delay", retry_delay_ms, CONF_DURATION, 0,
	 JOB_RETRY_DELAY_MAX_MS),
    QKEY("mem", mem, CONF_SIZE, 0, JOB_MEM_MAX),
    QKEY("cpus", cpus, CONF_UINT, 0, JOB_CPUS_MAX),
    QKEY("res", res, CONF_STRING, 0, 0),
};

_Static_assert(nitems(conf_queue_keys) <=
		   nitems(((struct conf_queue *)0)->lines),
	       "struct conf_queue lines[] too small for its keys");

_Static_assert(nitems(conf_keys) <= nitems(((struct conf *)0)->lines),
	       "struct conf lines[] too small for the key table");

const struct conf_key *
conf_key_find(const char *section, const char *name, size_t *index)
{
	size_t i;

	for (i = 0; i < nitems(conf_keys); i++) {
		if (strcmp(conf_keys[i].section, section) == 0 &&
		    strcmp(conf_keys[i].name, name) == 0) {
			*index = i;
			return &conf_keys[i];
		}
	}
	return NULL;
}

const struct conf_key *
conf_queue_key_find(const char *name, size_t *index)
{
	size_t i;

	for (i = 0; i < nitems(conf_queue_keys); i++) {
		if (strcmp(conf_queue_keys[i].name, name) == 0) {
			*index = i;
			return &conf_queue_keys[i];
		}
	}
	return NULL;
}

int
conf_key_line(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < nitems(conf_keys); i++) {
		if (strcmp(conf_keys[i].name, name) == 0)
			return c->lines[i];
	}
	return 0;
}
