/* Parsing and checking of forqd.conf. */
#include <sys/param.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "common/compat.h"
#include "common/units.h"
#include "core/access.h"
#include "core/addr.h"
#include "core/conf.h"
#include "core/cpus.h"
#include "core/job.h"
#include "forq/protocol.h"

enum conf_type {
	CONF_STRING,
	CONF_PATH,
	CONF_MODE,
	CONF_UINT,
	CONF_DURATION,
	CONF_SIZE,
	CONF_LOG_LEVEL,
	CONF_CPUS,
	CONF_DURABILITY,
	CONF_BOOL,
	CONF_INT,
	CONF_RLIMIT, /* min: which enum job_rlimit */
	CONF_BACKEND,
};

struct conf_key {
	const char *section;
	const char *name;
	enum conf_type type;
	size_t offset;
	size_t size;
	int64_t min;
	int64_t max;
};

#define KEY(sec, name, member, type, min, max)                                 \
	{                                                                      \
		sec, name, type, offsetof(struct conf, member),                \
		    sizeof(((struct conf *)0)->member), min, max               \
	}
#define DAY_MS (INT64_C(24) * 60 * 60 * 1000)

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

static const char *const conf_sections[] = {"daemon", "workers", "jobs",
					    "limits", "access",  "store"};

_Static_assert(nitems(conf_keys) <= nitems(((struct conf *)0)->lines),
	       "struct conf lines[] too small for the key table");

struct conf_parse {
	struct conf *conf;
	const char *name;
	const char *p;
	const char *end;
	int line;
	int err_line;
	char err[CONF_ERROR_MAX];
};

static void conf_error(struct conf_parse *ps, const char *fmt, ...)
    __printflike(2, 3);

static void
conf_error(struct conf_parse *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->err_line != 0)
		return;
	ps->err_line = ps->line;
	va_start(ap, fmt);
	vsnprintf(ps->err, sizeof ps->err, fmt, ap);
	va_end(ap);
}

static void
conf_queue_defaults(struct conf_queue *q, const char *name)
{
	memset(q, 0, sizeof *q);
	strlcpy(q->name, name, sizeof q->name);
	q->retry_delay_ms = 1000;
}

int
conf_queue_name_check(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CONF_QUEUE_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-") != len)
		return -1;
	return 0;
}

int
conf_node_name_check(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CONF_NODE_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-") != len)
		return -1;
	return 0;
}

const struct conf_queue *
conf_queue_find(const struct conf *c, const char *name)
{
	uint32_t i;

	for (i = 0; i < c->nqueues; i++) {
		if (strcmp(c->queues[i].name, name) == 0)
			return &c->queues[i];
	}
	return NULL;
}

/* "queue NAME": the queue, declared on first sight; NULL (and the
 * error set) when the name or the count is wrong. */
static struct conf_queue *
conf_queue_section(struct conf_parse *ps, const char *section)
{
	const char *name = section + strlen("queue ");
	struct conf_queue *q;

	if (conf_queue_name_check(name) == -1) {
		conf_error(ps,
			   "[%s]: a queue's name is 1 to %d letters, digits, "
			   "'_', '.' or '-'",
			   section, CONF_QUEUE_NAME_MAX);
		return NULL;
	}
	if ((q = (struct conf_queue *)conf_queue_find(ps->conf, name)) != NULL)
		return q;
	if (ps->conf->nqueues == CONF_QUEUES_MAX) {
		conf_error(ps, "[%s]: more than %d queues", section,
			   CONF_QUEUES_MAX);
		return NULL;
	}
	q = &ps->conf->queues[ps->conf->nqueues++];
	conf_queue_defaults(q, name);
	return q;
}

static bool
conf_is_queue_section(const char *name)
{
	return strncmp(name, "queue ", strlen("queue ")) == 0;
}

static int
conf_known_section(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(conf_sections); i++) {
		if (strcmp(conf_sections[i], name) == 0)
			return 1;
	}
	return 0;
}

/* Sections with no keys never reach the handler, so look at them here. */
static void
conf_check_section_line(struct conf_parse *ps, const char *line, size_t len)
{
	char name[64];
	const char *close;

	while (len > 0 && isspace((unsigned char)*line)) {
		line++;
		len--;
	}
	if (len == 0 || *line != '[')
		return;
	close = memchr(line, ']', len);
	if (close == NULL || (size_t)(close - line - 1) >= sizeof name)
		return; /* inih reports it as a syntax error */
	memcpy(name, line + 1, (size_t)(close - line - 1));
	name[close - line - 1] = '\0';
	if (conf_is_queue_section(name))
		(void)conf_queue_section(ps, name);
	else if (strcmp(name, "resources") != 0 && !conf_known_section(name))
		conf_error(ps, "unknown section [%s]", name);
}

/* An ini_reader over a buffer that counts lines and refuses what inih
 * would silently split or misread: overlong lines and NUL bytes. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *ps = stream;
	const char *nl;
	size_t len, body;

	if (ps->p >= ps->end)
		return NULL;
	nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
	len = nl != NULL ? (size_t)(nl - ps->p) + 1 : (size_t)(ps->end - ps->p);
	body = nl != NULL ? len - 1 : len;
	ps->line++;
	if (memchr(ps->p, '\0', len) != NULL) {
		conf_error(ps, "NUL byte in line");
		str[0] = '\0';
	} else if (body > (size_t)num - 2) {
		conf_error(ps, "line longer than %d characters", num - 2);
		str[0] = '\0';
	} else {
		conf_check_section_line(ps, ps->p, body);
		memcpy(str, ps->p, len);
		str[len] = '\0';
	}
	ps->p += len;
	return str;
}

static int
conf_set_duration(struct conf_parse *ps, const struct conf_key *k,
		  const char *value, int64_t *out)
{
	char lo[32], hi[32];
	const char *why;
	int64_t ms;

	if (units_parse_duration(value, &ms, &why) == -1) {
		conf_error(ps, "%s: %s: \"%s\"", k->name, why, value);
		return -1;
	}
	if (ms < k->min || ms > k->max) {
		units_format_duration(k->min, lo, sizeof lo);
		units_format_duration(k->max, hi, sizeof hi);
		conf_error(ps, "%s: %s is out of range (%s to %s)", k->name,
			   value, lo, hi);
		return -1;
	}
	*out = ms;
	return 0;
}

static int
conf_set_number(struct conf_parse *ps, const struct conf_key *k,
		const char *value, void *out)
{
	const char *why = NULL;
	uint64_t size;
	long long n;

	switch (k->type) {
	case CONF_UINT:
	case CONF_INT:
		n = strtonum(value, k->min, k->max, &why);
		if (why != NULL) {
			conf_error(ps, "%s: \"%s\" is %s (%lld to %lld)",
				   k->name, value, why, (long long)k->min,
				   (long long)k->max);
			return -1;
		}
		if (k->type == CONF_INT)
			*(int32_t *)out = (int32_t)n;
		else
			*(uint32_t *)out = (uint32_t)n;
		return 0;
	case CONF_SIZE:
		if (units_parse_size(value, &size, &why) == -1) {
			conf_error(ps, "%s: %s: \"%s\"", k->name, why, value);
			return -1;
		}
		if (size < (uint64_t)k->min || size > (uint64_t)k->max) {
			conf_error(ps,
				   "%s: %s is out of range (%lld to %lld "
				   "bytes)",
				   k->name, value, (long long)k->min,
				   (long long)k->max);
			return -1;
		}
		*(uint64_t *)out = size;
		return 0;
	case CONF_RLIMIT:
		if (rlimits_parse((enum job_rlimit)k->min, value,
				  (struct job_rlimit_value *)out, &why) == -1) {
			conf_error(ps, "%s: %s: \"%s\"", k->name, why, value);
			return -1;
		}
		return 0;
	case CONF_MODE:
		if (value[0] == '\0' ||
		    strspn(value, "01234567") != strlen(value) ||
		    (n = strtoll(value, NULL, 8)) > k->max) {
			conf_error(ps,
				   "%s: \"%s\" is not an octal mode such as "
				   "0660",
				   k->name, value);
			return -1;
		}
		*(uint32_t *)out = (uint32_t)n;
		return 0;
	default:
		return conf_set_duration(ps, k, value, out);
	}
}

static int
conf_set(struct conf_parse *ps, void *base, const struct conf_key *k,
	 const char *value)
{
	char *field = (char *)base + k->offset;
	char why[128];
	cpu_set_t set;
	enum log_level level;

	switch (k->type) {
	case CONF_PATH:
		if (value[0] != '/') {
			conf_error(ps, "%s: \"%s\" is not an absolute path",
				   k->name, value);
			return -1;
		}
		/* FALLTHROUGH */
	case CONF_STRING:
		if (strlcpy(field, value, k->size) >= k->size) {
			conf_error(ps, "%s: longer than %zu characters",
				   k->name, k->size - 1);
			return -1;
		}
		return 0;
	case CONF_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "on") == 0 || strcmp(value, "1") == 0)
			*(uint32_t *)field = 1;
		else if (strcmp(value, "no") == 0 ||
			 strcmp(value, "false") == 0 ||
			 strcmp(value, "off") == 0 || strcmp(value, "0") == 0)
			*(uint32_t *)field = 0;
		else {
			conf_error(ps, "%s: \"%s\" is not yes or no", k->name,
				   value);
			return -1;
		}
		return 0;
	case CONF_DURABILITY:
		if (strcmp(value, "full") != 0 &&
		    strcmp(value, "normal") != 0) {
			conf_error(ps, "%s: \"%s\" is not full or normal",
				   k->name, value);
			return -1;
		}
		*(uint32_t *)field = strcmp(value, "full") == 0
					 ? CONF_DURABILITY_FULL
					 : CONF_DURABILITY_NORMAL;
		return 0;
	case CONF_BACKEND:
		if (strcmp(value, "sqlite") == 0)
			*(uint32_t *)field = CONF_BACKEND_SQLITE;
		else if (strcmp(value, "postgresql") == 0)
			*(uint32_t *)field = CONF_BACKEND_POSTGRESQL;
		else {
			conf_error(ps, "%s: \"%s\" is not sqlite or postgresql",
				   k->name, value);
			return -1;
		}
		return 0;
	case CONF_LOG_LEVEL:
		if (log_level_parse(value, &level) == -1) {
			conf_error(ps,
				   "%s: \"%s\" is not one of error, warning, "
				   "info, debug",
				   k->name, value);
			return -1;
		}
		*(enum log_level *)field = level;
		return 0;
	case CONF_CPUS:
		if (strcmp(value, "auto") != 0 &&
		    cpus_parse_list(value, &set, why, sizeof why) == -1) {
			conf_error(ps, "%s: %s: \"%s\"", k->name, why, value);
			return -1;
		}
		if (strlcpy(field, value, k->size) >= k->size) {
			conf_error(ps, "%s: longer than %zu characters",
				   k->name, k->size - 1);
			return -1;
		}
		return 0;
	default:
		return conf_set_number(ps, k, value, field);
	}
}

static int
conf_handler(void *user, const char *section, const char *name,
	     const char *value)
{
	struct conf_parse *ps = user;
	const struct conf_key *k;
	struct conf_queue *q;
	size_t i;

	if (section[0] == '\0') {
		conf_error(ps,
			   "\"%s\" is outside a section ([daemon], "
			   "[workers], [jobs], [limits], [access], [store], "
			   "[resources] or [queue NAME])",
			   name);
		return 0;
	}
	/* Each key a resource of its own name. */
	if (strcmp(section, "resources") == 0) {
		char why[CONF_ERROR_MAX];

		if (res_kind_add(&ps->conf->res, name, value, why,
				 sizeof why) == -1) {
			conf_error(ps, "[resources] %s", why);
			return 0;
		}
		return 1;
	}
	if (conf_is_queue_section(section)) {
		if ((q = conf_queue_section(ps, section)) == NULL)
			return 0;
		for (i = 0; i < nitems(conf_queue_keys) &&
			    strcmp(conf_queue_keys[i].name, name) != 0;
		     i++)
			;
		if (i == nitems(conf_queue_keys)) {
			conf_error(ps, "unknown key \"%s\" in [%s]", name,
				   section);
			return 0;
		}
		if (q->lines[i] != 0) {
			conf_error(ps,
				   "\"%s\" is set twice in [%s] (first on "
				   "line %d)",
				   name, section, q->lines[i]);
			return 0;
		}
		q->lines[i] = ps->line;
		return conf_set(ps, q, &conf_queue_keys[i], value) == 0;
	}
	if (!conf_known_section(section)) {
		conf_error(ps, "unknown section [%s]", section);
		return 0;
	}
	for (i = 0; i < nitems(conf_keys); i++) {
		k = &conf_keys[i];
		if (strcmp(k->section, section) == 0 &&
		    strcmp(k->name, name) == 0)
			break;
	}
	if (i == nitems(conf_keys)) {
		conf_error(ps, "unknown key \"%s\" in [%s]", name, section);
		return 0;
	}
	if (ps->conf->lines[i] != 0) {
		conf_error(ps, "\"%s\" is set twice (first on line %d)", name,
			   ps->conf->lines[i]);
		return 0;
	}
	ps->conf->lines[i] = ps->line;
	return conf_set(ps, ps->conf, k, value) == 0;
}

static int
conf_key_line(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < nitems(conf_keys); i++) {
		if (strcmp(conf_keys[i].name, name) == 0)
			return c->lines[i];
	}
	return 0;
}

static void
conf_format_error(char *err, size_t errlen, const char *file, int line,
		  const char *msg)
{
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", file, line, msg);
	else
		snprintf(err, errlen, "%s: %s", file, msg);
}

/* Rules that tie two keys together, reported at the later one's line. */
static int
conf_check_relations(const struct conf *c, const char *file, char *err,
		     size_t errlen)
{
	char msg[CONF_ERROR_MAX];
	int line;

	if (c->heartbeat_timeout_ms < 2 * c->heartbeat_interval_ms) {
		snprintf(msg, sizeof msg,
			 "heartbeat_timeout (%lldms) must be at least twice "
			 "heartbeat_interval (%lldms)",
			 (long long)c->heartbeat_timeout_ms,
			 (long long)c->heartbeat_interval_ms);
		line = MAX(conf_key_line(c, "heartbeat_timeout"),
			   conf_key_line(c, "heartbeat_interval"));
		conf_format_error(err, errlen, file, line, msg);
		return -1;
	}
	if (c->restart_delay_max_ms < c->restart_delay_ms) {
		snprintf(msg, sizeof msg,
			 "restart_delay_max (%lldms) is shorter than "
			 "restart_delay (%lldms)",
			 (long long)c->restart_delay_max_ms,
			 (long long)c->restart_delay_ms);
		line = MAX(conf_key_line(c, "restart_delay_max"),
			   conf_key_line(c, "restart_delay"));
		conf_format_error(err, errlen, file, line, msg);
		return -1;
	}
	for (uint32_t i = 0; i < c->nqueues; i++) {
		struct res_grant g;
		char why[CONF_ERROR_MAX];

		if (c->queues[i].res[0] == '\0' ||
		    res_ask_parse(&c->res, c->queues[i].res, &g, why,
				  sizeof why) == 0)
			continue;
		snprintf(msg, sizeof msg, "[queue %s] res: %s",
			 c->queues[i].name, why);
		conf_format_error(err, errlen, file, c->queues[i].lines[7],
				  msg);
		return -1;
	}
	if (c->metrics_listen[0] != '\0') {
		struct sockaddr_storage ss;
		socklen_t sslen;
		char why[CONF_ERROR_MAX];

		if (addr_parse(c->metrics_listen, &ss, &sslen, why,
			       sizeof why) == -1) {
			snprintf(msg, sizeof msg, "metrics_listen: %s", why);
			conf_format_error(err, errlen, file,
					  conf_key_line(c, "metrics_listen"),
					  msg);
			return -1;
		}
	}
	if (c->node[0] != '\0' && conf_node_name_check(c->node) == -1) {
		snprintf(msg, sizeof msg,
			 "node: \"%s\" is not 1 to %d letters, digits, '_', "
			 "'.' or '-'",
			 c->node, CONF_NODE_NAME_MAX);
		conf_format_error(err, errlen, file, conf_key_line(c, "node"),
				  msg);
		return -1;
	}
	return 0;
}

int
conf_load_string(struct conf *c, const char *name, const char *text, size_t len,
		 char *err, size_t errlen)
{
	struct conf_parse ps = {.conf = c,
				.name = name,
				.p = text,
				.end = text + len};
	int rc;

	memset(c->lines, 0, sizeof c->lines);
	if (strlcpy(c->path, name, sizeof c->path) >= sizeof c->path) {
		snprintf(err, errlen, "%s: path too long", name);
		return -1;
	}
	rc = ini_parse_stream(conf_reader, &ps, conf_handler, &ps);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot parse (%d)", name, rc);
		return -1;
	}
	if (rc > 0 && (ps.err_line == 0 || rc < ps.err_line)) {
		/* inih found it: a line that is neither a section nor a key. */
		conf_format_error(err, errlen, name, rc,
				  "syntax error: expected \"[section]\" or "
				  "\"key = value\"");
		return -1;
	}
	if (ps.err_line != 0) {
		conf_format_error(err, errlen, name, ps.err_line, ps.err);
		return -1;
	}
	return conf_check_relations(c, name, err, errlen);
}

int
conf_load_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *text;
	ssize_t n;
	size_t got = 0;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONF_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 !S_ISREG(st.st_mode) ? "not a regular file"
					      : "larger than 1 MiB");
		close(fd);
		return -1;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, text + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	text[got] = '\0';
	rc = conf_load_string(c, path, text, got, err, errlen);
	free(text);
	return rc;
}

int
conf_check(const struct conf *c, const cpu_set_t *allowed, char *err,
	   size_t errlen)
{
	char why[CONF_ERROR_MAX - 64], msg[CONF_ERROR_MAX];
	const char *file = c->path[0] != '\0' ? c->path : "(defaults)";
	struct access_policy policy;
	int cpus[CPU_SETSIZE];
	size_t n;

	if (cpus_plan(allowed, c->cpus, cpus, nitems(cpus), &n, why,
		      sizeof why) == -1) {
		snprintf(msg, sizeof msg, "cpus: %s", why);
		conf_format_error(err, errlen, file, conf_key_line(c, "cpus"),
				  msg);
		return -1;
	}
	if (c->socket_group[0] != '\0' && getgrnam(c->socket_group) == NULL) {
		snprintf(msg, sizeof msg, "socket_group: no group named \"%s\"",
			 c->socket_group);
		conf_format_error(err, errlen, file,
				  conf_key_line(c, "socket_group"), msg);
		return -1;
	}
	return conf_access_policy(c, &policy, err, errlen);
}

int
conf_access_policy(const struct conf *c, struct access_policy *p, char *err,
		   size_t errlen)
{
	const char *file = c->path[0] != '\0' ? c->path : "(defaults)";
	char why[CONF_ERROR_MAX - 64], msg[CONF_ERROR_MAX];
	const char *key;
	struct group *gr;

	memset(p, 0, sizeof *p);
	p->allow_root_jobs = c->allow_root_jobs != 0;
	if (c->admin_group[0] != '\0') {
		if ((gr = getgrnam(c->admin_group)) == NULL) {
			key = "admin_group";
			snprintf(why, sizeof why, "no group named \"%s\"",
				 c->admin_group);
			goto fail;
		}
		p->has_admin = true;
		p->admin_gid = gr->gr_gid;
	}
	key = "allow_users";
	if (access_list_parse(&p->allow, c->allow_users, why, sizeof why) == -1)
		goto fail;
	p->has_allow = p->allow.nuids + p->allow.ngids > 0;
	key = "deny_users";
	if (access_list_parse(&p->deny, c->deny_users, why, sizeof why) == -1)
		goto fail;
	return 0;
fail:
	snprintf(msg, sizeof msg, "%s: %s", key, why);
	conf_format_error(err, errlen, file, conf_key_line(c, key), msg);
	return -1;
}

void
conf_default_path(char *buf, size_t len, uid_t euid, const char *config_home,
		  const char *home)
{
	if (euid == 0)
		strlcpy(buf, CONF_DEFAULT_PATH, len);
	else if (config_home != NULL && config_home[0] == '/')
		snprintf(buf, len, "%s/forq/forqd.conf", config_home);
	else if (home != NULL && home[0] == '/')
		snprintf(buf, len, "%s/.config/forq/forqd.conf", home);
	else
		strlcpy(buf, CONF_DEFAULT_PATH, len);
}

void
conf_defaults(struct conf *c, uid_t euid, const char *runtime_dir,
	      const char *state_home, const char *home)
{
	char run[PATH_MAX];

	memset(c, 0, sizeof *c);
	if (euid == 0 || runtime_dir == NULL || runtime_dir[0] != '/')
		strlcpy(run, "/run/forq", sizeof run);
	else
		snprintf(run, sizeof run, "%s/forq", runtime_dir);
	/* A runtime directory too long for a socket falls back to root's. */
	if (snprintf(c->socket, sizeof c->socket, "%s/forqd.sock", run) >=
		(int)sizeof c->socket ||
	    snprintf(c->pidfile, sizeof c->pidfile, "%s/forqd.pid", run) >=
		(int)sizeof c->pidfile) {
		strlcpy(c->socket, "/run/forq/forqd.sock", sizeof c->socket);
		strlcpy(c->pidfile, "/run/forq/forqd.pid", sizeof c->pidfile);
	}
	if (euid == 0)
		strlcpy(c->state_dir, "/var/lib/forq", sizeof c->state_dir);
	else if (state_home != NULL && state_home[0] == '/')
		snprintf(c->state_dir, sizeof c->state_dir, "%s/forq",
			 state_home);
	else if (home != NULL && home[0] == '/')
		snprintf(c->state_dir, sizeof c->state_dir,
			 "%s/.local/state/forq", home);
	else
		strlcpy(c->state_dir, "/var/lib/forq", sizeof c->state_dir);
	c->state_reserve = 8 * 1024 * 1024;
	c->socket_mode = 0660;
	c->log_level = LOG_LEVEL_INFO;
	c->stop_grace_ms = 30 * 1000;

	strlcpy(c->cpus, "auto", sizeof c->cpus);
	/* Four at most, as many as a CPU's load lets in (slots_adapt):
	 * one CPU-bound job per CPU, a few that mostly wait. */
	c->slots = 4;
	c->slots_adapt = 1;
	c->pin_jobs = 1;
	c->heartbeat_interval_ms = 1000;
	c->heartbeat_timeout_ms = 10 * 1000;
	c->adopt_timeout_ms = 5 * 60 * 1000;
	c->restart_delay_ms = 100;
	c->restart_delay_max_ms = 10 * 1000;
	c->crash_loop_limit = 5;
	c->crash_loop_window_ms = 60 * 1000;
	c->crash_loop_hold_ms = 60 * 1000;

	c->durability = CONF_DURABILITY_FULL;
	c->kill_grace_ms = 5 * 1000;
	c->sync_delay_ms = 10;
	c->output_max = UINT64_C(1) << 30;
	c->tasks_max = 4096;
	c->retention_age_ms = 7 * DAY_MS;
	c->retention_count = 100000;
	c->crash_requeue_max = 3;
	c->on_finish_timeout_ms = 60 * 1000;
	c->job_umask = 022;
	rlimits_defaults(c->job_rlimits);

	c->request_line_max = 16 * 1024 * 1024;
	c->argv_max = 4096;
	c->argv_bytes_max = 128 * 1024;
	c->env_bytes_max = 128 * 1024;
	c->batch_max = 100000;
	c->name_max = 256;
	c->queued_max_per_user = 100000;
	c->connections_max = 1024;
	c->metrics_clients_max = 16;
	c->metrics_timeout_ms = 10 * 1000;
	c->connections_reserved = 4;
	c->connections_per_user_max = 128;
	c->request_timeout_ms = 30 * 1000;
	c->client_idle_timeout_ms = 10 * 60 * 1000;
	c->client_backlog_max = 64 * 1024 * 1024;
	c->client_waits_max = 64;

	c->allow_root_jobs = 0;

	c->backend = CONF_BACKEND_SQLITE;
	strlcpy(c->dsn, "host=/run/postgresql dbname=forq", sizeof c->dsn);
	c->lease_ms = 30 * 1000;
	if (euid == 0)
		strlcpy(c->cluster_key, "/etc/forq/cluster.key",
			sizeof c->cluster_key);
	else
		snprintf(c->cluster_key, sizeof c->cluster_key,
			 "%s/cluster.key", c->state_dir);

	c->nqueues = 1;
	conf_queue_defaults(&c->queues[0], "default");
}

const char *
conf_name(const struct conf *c)
{
	return c->path[0] != '\0' ? c->path : "forqd.conf";
}
