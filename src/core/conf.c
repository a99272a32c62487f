/* Reading forqd.conf: the parser, each key's value, the defaults
 * (the keys: conf_keys.c; checks across keys: conf_check.c). */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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
#include "core/conf.h"
#include "core/conf_int.h"
#include "core/cpus.h"

static const char *const conf_sections[] = {"daemon", "workers", "jobs",
					    "limits", "access",  "store"};

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

	if (conf_name_check(name, CONF_QUEUE_NAME_MAX) == -1) {
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
		if ((k = conf_queue_key_find(name, &i)) == NULL) {
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
		return conf_set(ps, q, k, value) == 0;
	}
	if (!conf_known_section(section)) {
		conf_error(ps, "unknown section [%s]", section);
		return 0;
	}
	if ((k = conf_key_find(section, name, &i)) == NULL) {
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
