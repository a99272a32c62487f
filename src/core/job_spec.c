/* The checked form of a submitted job: its JSON read into a spec with
 * every field and limit checked, and written back (a cluster node hands
 * a job on so); the fields forq set changes; file patterns. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/compat.h"
#include "core/conf.h"
#include "core/job.h"
#include "forq/protocol.h"

static int job_fail(struct job_error *err, const char *code, const char *fmt,
		    ...) __printflike(3, 4);

static int
job_fail(struct job_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->limit = NULL;
	err->max = 0;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return -1;
}

static int
job_limit(struct job_error *err, const char *limit, unsigned long long max,
	  const char *what)
{
	job_fail(err, FORQ_ERR_LIMIT, "%s over %s (%llu)", what, limit, max);
	err->limit = limit;
	err->max = max;
	return -1;
}

/* A JSON string usable as a C string: no NUL inside. */
static const char *
job_cstring(const json_t *v, size_t *len)
{
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	*len = json_string_length(v);
	return strlen(s) == *len ? s : NULL;
}

/* Packs an array of strings NUL-separated; -1 with err set. */
static int
job_pack(const json_t *array, const char *field, uint64_t bytes_max,
	 const char *bytes_limit, bool need_equals, char **out, size_t *outlen,
	 uint32_t *count, struct job_error *err)
{
	const json_t *v;
	const char *s;
	size_t i, len, total = 0;
	char *p;

	if (!json_is_array(array))
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"%s\" must be an array of strings", field);
	json_array_foreach(array, i, v)
	{
		if ((s = job_cstring(v, &len)) == NULL)
			return job_fail(err, FORQ_ERR_BAD_REQUEST,
					"\"%s\"[%zu] must be a string without "
					"NUL",
					field, i);
		if (need_equals &&
		    (len == 0 || s[0] == '=' || memchr(s, '=', len) == NULL))
			return job_fail(err, FORQ_ERR_BAD_REQUEST,
					"\"%s\"[%zu] must look like NAME=VALUE",
					field, i);
		total += len + 1;
		if (total > bytes_max)
			return job_limit(err, bytes_limit, bytes_max, field);
	}
	if ((*out = malloc(total > 0 ? total : 1)) == NULL)
		return job_fail(err, FORQ_ERR_INTERNAL, "out of memory");
	p = *out;
	json_array_foreach(array, i, v)
	{
		len = json_string_length(v);
		memcpy(p, json_string_value(v), len + 1);
		p += len + 1;
	}
	*outlen = total;
	*count = (uint32_t)json_array_size(array);
	return 0;
}

static const json_t *
job_field(const json_t *job, const json_t *defaults, const char *key)
{
	const json_t *v = json_object_get(job, key);

	if (v == NULL && defaults != NULL)
		v = json_object_get(defaults, key);
	return v;
}

static const char *const job_retry_names[] = {"exit", "signal", "timeout",
					      "lost"};

static int
job_retry_fields(const json_t *job, const json_t *defaults,
		 struct job_spec *spec, struct job_error *err)
{
	const json_t *v = job_field(job, defaults, "retries"), *e;
	size_t i, k;

	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > JOB_RETRIES_MAX)
			return job_fail(err, FORQ_ERR_BAD_REQUEST,
					"\"retries\" must be an integer from 0 "
					"to %d",
					JOB_RETRIES_MAX);
		spec->retries = (uint32_t)json_integer_value(v);
		spec->has_retries = true;
	}
	v = job_field(job, defaults, "retry_delay_ms");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > JOB_RETRY_DELAY_MAX_MS)
			return job_fail(err, FORQ_ERR_BAD_REQUEST,
					"\"retry_delay_ms\" must be an integer "
					"from 0 to %lld (a day)",
					(long long)JOB_RETRY_DELAY_MAX_MS);
		spec->retry_delay_ms = json_integer_value(v);
		spec->has_retry_delay = true;
	}
	v = job_field(job, defaults, "retry_on");
	spec->retry_on = JOB_RETRY_ALL;
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_array(v))
			goto bad_on;
		spec->retry_on = 0;
		json_array_foreach(v, i, e)
		{
			for (k = 0; k < nitems(job_retry_names); k++) {
				if (json_is_string(e) &&
				    strcmp(json_string_value(e),
					   job_retry_names[k]) == 0)
					break;
			}
			if (k == nitems(job_retry_names))
				goto bad_on;
			spec->retry_on |= 1U << k;
		}
	}
	return 0;
bad_on:
	return job_fail(err, FORQ_ERR_BAD_REQUEST,
			"\"retry_on\" must be an array of exit, signal, "
			"timeout, lost");
}

static int
job_after_fields(const json_t *job, const json_t *defaults,
		 struct job_spec *spec, struct job_error *err)
{
	const json_t *v, *e;
	size_t i, k;

	static const struct {
		const char *key;
		enum job_after mode;
	} modes[] = {{"after_any", JOB_AFTER_ANY},
		     {"after_fail", JOB_AFTER_FAIL}};

	spec->after_mode = JOB_AFTER_OK;
	for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		v = job_field(job, defaults, modes[i].key);
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_boolean(v))
			return job_fail(err, FORQ_ERR_BAD_REQUEST,
					"\"%s\" must be true or false",
					modes[i].key);
		if (!json_is_true(v))
			continue;
		if (spec->after_mode != JOB_AFTER_OK)
			return job_fail(err, FORQ_ERR_BAD_REQUEST,
					"\"after_any\" and \"after_fail\" "
					"exclude each other");
		spec->after_mode = modes[i].mode;
	}
	v = job_field(job, defaults, "after");
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"after\" must be an array of job ids");
	if (json_array_size(v) > JOB_AFTER_MAX)
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"after\" names %zu jobs; at most %d",
				json_array_size(v), JOB_AFTER_MAX);
	if (json_array_size(v) == 0)
		return 0;
	if ((spec->after = calloc(json_array_size(v), sizeof *spec->after)) ==
	    NULL)
		return job_fail(err, FORQ_ERR_INTERNAL, "out of memory");
	json_array_foreach(v, i, e)
	{
		if (!json_is_integer(e) || json_integer_value(e) < 1)
			return job_fail(err, FORQ_ERR_BAD_REQUEST,
					"\"after\" must be an array of job "
					"ids");
		/* Named twice is waited for once. */
		for (k = 0; k < spec->nafter &&
			    spec->after[k] != (uint64_t)json_integer_value(e);
		     k++)
			;
		if (k == spec->nafter)
			spec->after[spec->nafter++] =
			    (uint64_t)json_integer_value(e);
	}
	return 0;
}

void
job_retry_on_format(unsigned bits, char *buf, size_t len)
{
	size_t k;

	buf[0] = '\0';
	for (k = 0; k < nitems(job_retry_names); k++) {
		if (!(bits & (1U << k)))
			continue;
		if (buf[0] != '\0')
			strlcat(buf, ",", len);
		strlcat(buf, job_retry_names[k], len);
	}
}

int
job_priority_from_json(const json_t *v, int32_t *priority,
		       struct job_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < -FORQ_PRIORITY_MAX ||
	    json_integer_value(v) > FORQ_PRIORITY_MAX)
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"priority\" must be an integer from %d to %d",
				-FORQ_PRIORITY_MAX, FORQ_PRIORITY_MAX);
	*priority = (int32_t)json_integer_value(v);
	return 0;
}

/* A file pattern: a path (PATH_MAX), whose % are %j, %a, %x, %u or
 * %% (and, on stdin, none). */
static int
job_path_of(const json_t *v, const char *key, char **path,
	    struct job_error *err)
{
	const char *s, *p;
	size_t len;

	if ((s = job_cstring(v, &len)) == NULL || len == 0 || len >= 4096)
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"%s\" must be a path (under 4096 bytes)",
				key);
	for (p = s; (p = strchr(p, '%')) != NULL; p += 2) {
		if (p[1] == '\0' || strchr("jaxu%", p[1]) == NULL ||
		    (strcmp(key, "stdin") == 0 && p[1] != '%'))
			return job_fail(err, FORQ_ERR_BAD_REQUEST,
					"\"%s\": %%%c is not one of %s", key,
					p[1] != '\0' ? p[1] : ' ',
					strcmp(key, "stdin") == 0
					    ? "%%"
					    : "%j (job id), %a (array index), "
					      "%x (name), %u (user), %%");
	}
	if ((*path = strdup(s)) == NULL)
		return job_fail(err, FORQ_ERR_INTERNAL, "out of memory");
	return 0;
}

/* stdout, stderr, stdin, append, umask. */
static int
job_file_fields(const json_t *job, const json_t *defaults,
		struct job_spec *spec, struct job_error *err)
{
	static const char *const keys[] = {"stdout", "stderr", "stdin"};
	char **paths[] = {&spec->stdout_path, &spec->stderr_path,
			  &spec->stdin_path};
	const json_t *v;
	size_t i;

	for (i = 0; i < nitems(keys); i++) {
		v = job_field(job, defaults, keys[i]);
		if (v != NULL && !json_is_null(v) &&
		    job_path_of(v, keys[i], paths[i], err) == -1)
			return -1;
	}
	v = job_field(job, defaults, "append");
	if (v != NULL && !json_is_null(v) && !json_is_boolean(v))
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"append\" must be true or false");
	spec->append = json_is_true(v);
	spec->file_umask = -1;
	v = job_field(job, defaults, "umask");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 0777)
			return job_fail(err, FORQ_ERR_BAD_REQUEST,
					"\"umask\" must be an integer from 0 "
					"to 0777 (511)");
		spec->file_umask = (int32_t)json_integer_value(v);
	}
	if ((spec->append || spec->file_umask != -1) &&
	    spec->stdout_path == NULL && spec->stderr_path == NULL)
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"append\" and \"umask\" are about the files "
				"of \"stdout\" and \"stderr\": give one");
	return 0;
}

char *
job_path_user(const char *pattern, const char *user)
{
	size_t len = strlen(pattern), ulen = strlen(user), n = 0;
	const char *p;
	char *out;

	/* At most as many %u as half the pattern's length. */
	if ((out = malloc(len + (len / 2) * ulen + 1)) == NULL)
		return NULL;
	for (p = pattern; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			memcpy(out + n, user, ulen);
			n += ulen;
			p++;
			continue;
		}
		if (p[0] == '%' && p[1] != '\0')
			out[n++] = *p++;
		out[n++] = *p;
	}
	out[n] = '\0';
	return out;
}

int
job_path_expand(const char *pattern, uint64_t id, bool task, uint32_t index,
		const char *name, char *buf, size_t len)
{
	const char *p;
	size_t n = 0;
	int w;

	for (p = pattern; *p != '\0'; p++) {
		if (*p != '%') {
			if (n + 1 >= len)
				return -1;
			buf[n++] = *p;
			continue;
		}
		p++;
		if (*p == 'j')
			w = snprintf(buf + n, len - n, "%llu",
				     (unsigned long long)id);
		else if (*p == 'a')
			w = task ? snprintf(buf + n, len - n, "%u", index) : 0;
		else if (*p == 'x')
			w = snprintf(buf + n, len - n, "%s",
				     name != NULL ? name : "");
		else
			w = snprintf(buf + n, len - n, "%%");
		if (w < 0 || (size_t)w >= len - n)
			return -1;
		n += (size_t)w;
	}
	if (n >= len)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The fields a submission and an edit (forq set) share; each checks
 * one value, not null, and fills its place (a string strdup'd). */
static int
job_name_of(const json_t *v, const struct job_limits *limits, char **name,
	    struct job_error *err)
{
	const char *s;
	size_t len;

	if ((s = job_cstring(v, &len)) == NULL)
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"name\" must be a string without NUL");
	if (len > limits->name_max)
		return job_limit(err, "name_max", limits->name_max, "job name");
	if ((*name = strdup(s)) == NULL)
		return job_fail(err, FORQ_ERR_INTERNAL, "out of memory");
	return 0;
}

static int
job_timeout_of(const json_t *v, int64_t *timeout_ms, struct job_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > INT64_C(1) << 40)
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"timeout_ms\" must be an integer from 0 "
				"(none) to 2^40");
	*timeout_ms = json_integer_value(v);
	return 0;
}

static int
job_queue_of(const json_t *v, char **queue, struct job_error *err)
{
	const char *s;
	size_t len;

	if ((s = job_cstring(v, &len)) == NULL ||
	    conf_name_check(s, CONF_QUEUE_NAME_MAX) == -1)
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"queue\" must be a queue's name: 1 to %d "
				"letters, digits, '_', '.' or '-'",
				CONF_QUEUE_NAME_MAX);
	if ((*queue = strdup(s)) == NULL)
		return job_fail(err, FORQ_ERR_INTERNAL, "out of memory");
	return 0;
}

static int
job_start_of(const json_t *v, int64_t *start_at_ns, struct job_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > JOB_START_AT_MS_MAX)
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"start_at_ms\" must be a time in "
				"milliseconds since 1970, before the year "
				"10000");
	*start_at_ns = json_integer_value(v) * NS_PER_MS;
	return 0;
}

int
job_edit_from_json(const json_t *req, const struct job_limits *limits,
		   struct job_edit *e, struct job_error *err)
{
	static const char *const fields[] = {"priority", "queue", "start_at_ms",
					     "timeout_ms", "name"};
	const json_t *v;
	size_t i;

	memset(e, 0, sizeof *e);
	for (i = 0; i < nitems(fields); i++) {
		if ((v = json_object_get(req, fields[i])) == NULL)
			continue;
		e->fields |= 1U << i;
		/* null: no start time (now), no name. */
		if (json_is_null(v) && (i == 2 || i == 4))
			continue;
		if ((i == 0 &&
		     job_priority_from_json(v, &e->priority, err) == -1) ||
		    (i == 1 && job_queue_of(v, &e->queue, err) == -1) ||
		    (i == 2 && job_start_of(v, &e->start_at_ns, err) == -1) ||
		    (i == 3 && job_timeout_of(v, &e->timeout_ms, err) == -1) ||
		    (i == 4 && job_name_of(v, limits, &e->name, err) == -1)) {
			job_edit_free(e);
			return -1;
		}
	}
	if (e->fields == 0)
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"nothing to change: give \"priority\", "
				"\"queue\", \"start_at_ms\", \"timeout_ms\" "
				"or \"name\"");
	return 0;
}

void
job_edit_free(struct job_edit *e)
{
	free(e->queue);
	free(e->name);
	e->queue = e->name = NULL;
}

int
job_spec_from_json(const json_t *job, const json_t *defaults,
		   const struct job_limits *limits, struct job_spec *spec,
		   struct job_error *err)
{
	static const char *const known[] =
	    {"argv",     "env",      "cwd",         "name",    "timeout_ms",
	     "queue",    "priority", "start_at_ms", "retries", "retry_delay_ms",
	     "retry_on", "after",    "after_any",   "unique",  "on_finish",
	     "mem",      "cpus",     "after_fail",  "hold",    "array",
	     "stdout",   "stderr",   "stdin",       "append",  "umask",
	     "res"};
	const json_t *argv, *env, *cwd, *name, *timeout, *queue, *priority,
	    *start_at, *v2;
	const char *key, *s;
	json_t *v;
	size_t len, i;

	memset(spec, 0, sizeof *spec);
	if (!json_is_object(job))
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"a job must be a JSON object");
	json_object_foreach((json_t *)job, key, v)
	{
		for (i = 0; i < nitems(known); i++) {
			if (strcmp(key, known[i]) == 0)
				break;
		}
		if (i == nitems(known))
			return job_fail(err, FORQ_ERR_BAD_REQUEST,
					"unknown job field \"%.64s\"", key);
	}
	argv = json_object_get(job, "argv");
	if (!json_is_array(argv) || json_array_size(argv) == 0)
		return job_fail(err, FORQ_ERR_BAD_REQUEST,
				"\"argv\" must be a non-empty array of "
				"strings");
	if (json_array_size(argv) > limits->argv_max)
		return job_limit(err, "argv_max", limits->argv_max,
				 "argument count");
	if (job_pack(argv, "argv", limits->argv_bytes_max, "argv_bytes_max",
		     false, &spec->argv, &spec->argv_len, &spec->argc,
		     err) == -1)
		goto fail;
	if (spec->argv[0] == '\0') {
		job_fail(err, FORQ_ERR_BAD_REQUEST, "\"argv\"[0] is empty");
		goto fail;
	}
	env = job_field(job, defaults, "env");
	if (env == NULL) {
		if ((spec->env = calloc(1, 1)) == NULL) {
			job_fail(err, FORQ_ERR_INTERNAL, "out of memory");
			goto fail;
		}
	} else if (job_pack(env, "env", limits->env_bytes_max, "env_bytes_max",
			    true, &spec->env, &spec->env_len, &spec->envc,
			    err) == -1) {
		goto fail;
	}
	cwd = job_field(job, defaults, "cwd");
	if ((s = job_cstring(cwd, &len)) == NULL || s[0] != '/' ||
	    len >= 4096) {
		job_fail(err, FORQ_ERR_BAD_REQUEST,
			 "\"cwd\" must be an absolute path (under 4096 bytes)");
		goto fail;
	}
	spec->cwd = strdup(s);
	name = json_object_get(job, "name");
	if (name != NULL && !json_is_null(name) &&
	    job_name_of(name, limits, &spec->name, err) == -1)
		goto fail;
	timeout = job_field(job, defaults, "timeout_ms");
	if (timeout != NULL && !json_is_null(timeout)) {
		if (job_timeout_of(timeout, &spec->timeout_ms, err) == -1)
			goto fail;
		spec->has_timeout = true;
	}
	v2 = job_field(job, defaults, "mem");
	if (v2 != NULL && !json_is_null(v2)) {
		if (!json_is_integer(v2) || json_integer_value(v2) < 0 ||
		    json_integer_value(v2) > JOB_MEM_MAX) {
			job_fail(err, FORQ_ERR_BAD_REQUEST,
				 "\"mem\" must be a number of bytes from 0 "
				 "(none) to 2^50");
			goto fail;
		}
		spec->mem = (uint64_t)json_integer_value(v2);
		spec->has_mem = true;
	}
	v2 = job_field(job, defaults, "cpus");
	if (v2 != NULL && !json_is_null(v2)) {
		if (!json_is_integer(v2) || json_integer_value(v2) < 1 ||
		    json_integer_value(v2) > JOB_CPUS_MAX) {
			job_fail(err, FORQ_ERR_BAD_REQUEST,
				 "\"cpus\" must be an integer from 1 to %d",
				 JOB_CPUS_MAX);
			goto fail;
		}
		spec->cpus = (uint32_t)json_integer_value(v2);
		spec->has_cpus = true;
	}
	queue = job_field(job, defaults, "queue");
	if (queue != NULL && !json_is_null(queue) &&
	    job_queue_of(queue, &spec->queue, err) == -1)
		goto fail;
	priority = job_field(job, defaults, "priority");
	if (priority != NULL && !json_is_null(priority)) {
		if (job_priority_from_json(priority, &spec->priority, err) ==
		    -1)
			goto fail;
		spec->has_priority = true;
	}
	start_at = job_field(job, defaults, "start_at_ms");
	if (start_at != NULL && !json_is_null(start_at) &&
	    job_start_of(start_at, &spec->start_at_ns, err) == -1)
		goto fail;
	if (job_retry_fields(job, defaults, spec, err) == -1 ||
	    job_after_fields(job, defaults, spec, err) == -1)
		goto fail;
	v2 = job_field(job, defaults, "unique");
	if (v2 != NULL && !json_is_null(v2)) {
		if ((s = job_cstring(v2, &len)) == NULL || len == 0) {
			job_fail(err, FORQ_ERR_BAD_REQUEST,
				 "\"unique\" must be a non-empty string "
				 "without NUL");
			goto fail;
		}
		if (len > limits->name_max) {
			job_limit(err, "name_max", limits->name_max,
				  "unique key");
			goto fail;
		}
		spec->unique = strdup(s);
	}
	/* An array is the job's own, never a default: --batch lines are
	 * jobs of their own. */
	v2 = json_object_get(job, "array");
	if (v2 != NULL && !json_is_null(v2)) {
		char why[240];
		int rc;

		if ((s = job_cstring(v2, &len)) == NULL) {
			job_fail(err, FORQ_ERR_BAD_REQUEST,
				 "\"array\" must be a string: 1-100%%8");
			goto fail;
		}
		if ((rc = jobarray_parse(s, limits->batch_max, &spec->array,
					 why, sizeof why)) == -2) {
			job_limit(err, "batch_max", limits->batch_max,
				  "array tasks");
			goto fail;
		}
		if (rc == -1) {
			job_fail(err, FORQ_ERR_BAD_REQUEST,
				 "\"array\" %.40s: %s", s, why);
			goto fail;
		}
		if (spec->unique != NULL) {
			job_fail(err, FORQ_ERR_BAD_REQUEST,
				 "\"array\" and \"unique\" exclude each "
				 "other: a key stands for one job");
			goto fail;
		}
	}
	if (job_file_fields(job, defaults, spec, err) == -1)
		goto fail;
	/* Resources: checked against [resources] by forqd. */
	v2 = job_field(job, defaults, "res");
	if (v2 != NULL && !json_is_null(v2)) {
		if ((s = job_cstring(v2, &len)) == NULL || len == 0 ||
		    len > 255) {
			job_fail(err, FORQ_ERR_BAD_REQUEST,
				 "\"res\" must be NAME=N[,NAME=N...] (under "
				 "256 bytes)");
			goto fail;
		}
		spec->res = strdup(s);
	}
	v2 = job_field(job, defaults, "hold");
	if (v2 != NULL && !json_is_boolean(v2)) {
		job_fail(err, FORQ_ERR_BAD_REQUEST,
			 "\"hold\" must be true or false");
		goto fail;
	}
	spec->hold = json_is_true(v2);
	v2 = job_field(job, defaults, "on_finish");
	if (v2 != NULL && !json_is_null(v2)) {
		if ((s = job_cstring(v2, &len)) == NULL || len == 0) {
			job_fail(err, FORQ_ERR_BAD_REQUEST,
				 "\"on_finish\" must be a non-empty command "
				 "without NUL");
			goto fail;
		}
		if (len + sizeof "/bin/sh\0-c\0" > limits->argv_bytes_max) {
			job_limit(err, "argv_bytes_max", limits->argv_bytes_max,
				  "on_finish command");
			goto fail;
		}
		spec->on_finish = strdup(s);
	}
	return 0;
fail:
	job_spec_free(spec);
	return -1;
}

void
job_spec_free(struct job_spec *spec)
{
	free(spec->argv);
	free(spec->env);
	free(spec->cwd);
	free(spec->name);
	free(spec->queue);
	free(spec->after);
	free(spec->unique);
	free(spec->on_finish);
	free(spec->stdout_path);
	free(spec->stderr_path);
	free(spec->stdin_path);
	free(spec->res);
	jobarray_free(&spec->array);
	memset(spec, 0, sizeof *spec);
}

json_t *
job_unpack(const char *packed, uint32_t count)
{
	json_t *a = json_array();
	uint32_t i;

	for (i = 0; i < count; i++) {
		json_array_append_new(a, json_string(packed));
		packed += strlen(packed) + 1;
	}
	return a;
}

json_t *
job_spec_to_json(const struct job_spec *spec)
{
	json_t *j = json_object(), *a;
	uint32_t i;
	size_t k;

	json_object_set_new(j, "argv", job_unpack(spec->argv, spec->argc));
	json_object_set_new(j, "env", job_unpack(spec->env, spec->envc));
	json_object_set_new(j, "cwd", json_string(spec->cwd));
	if (spec->name != NULL)
		json_object_set_new(j, "name", json_string(spec->name));
	if (spec->has_timeout)
		json_object_set_new(j, "timeout_ms",
				    json_integer(spec->timeout_ms));
	if (spec->has_mem)
		json_object_set_new(j, "mem",
				    json_integer((json_int_t)spec->mem));
	if (spec->has_cpus)
		json_object_set_new(j, "cpus", json_integer(spec->cpus));
	if (spec->queue != NULL)
		json_object_set_new(j, "queue", json_string(spec->queue));
	if (spec->has_priority)
		json_object_set_new(j, "priority",
				    json_integer(spec->priority));
	if (spec->start_at_ns > 0)
		json_object_set_new(j, "start_at_ms",
				    json_integer(spec->start_at_ns /
						 NS_PER_MS));
	if (spec->has_retries)
		json_object_set_new(j, "retries", json_integer(spec->retries));
	if (spec->has_retry_delay)
		json_object_set_new(j, "retry_delay_ms",
				    json_integer(spec->retry_delay_ms));
	if (spec->retry_on != JOB_RETRY_ALL) {
		a = json_array();
		for (k = 0; k < nitems(job_retry_names); k++) {
			if (spec->retry_on & (1U << k))
				json_array_append_new(a,
						      json_string(
							  job_retry_names[k]));
		}
		json_object_set_new(j, "retry_on", a);
	}
	if (spec->nafter > 0) {
		a = json_array();
		for (i = 0; i < spec->nafter; i++)
			json_array_append_new(a,
					      json_integer(
						  (json_int_t)spec->after[i]));
		json_object_set_new(j, "after", a);
		if (spec->after_mode == JOB_AFTER_ANY)
			json_object_set_new(j, "after_any", json_true());
		else if (spec->after_mode == JOB_AFTER_FAIL)
			json_object_set_new(j, "after_fail", json_true());
	}
	if (spec->unique != NULL)
		json_object_set_new(j, "unique", json_string(spec->unique));
	if (spec->on_finish != NULL)
		json_object_set_new(j, "on_finish",
				    json_string(spec->on_finish));
	if (spec->hold)
		json_object_set_new(j, "hold", json_true());
	if (spec->stdout_path != NULL)
		json_object_set_new(j, "stdout",
				    json_string(spec->stdout_path));
	if (spec->stderr_path != NULL)
		json_object_set_new(j, "stderr",
				    json_string(spec->stderr_path));
	if (spec->stdin_path != NULL)
		json_object_set_new(j, "stdin", json_string(spec->stdin_path));
	if (spec->append)
		json_object_set_new(j, "append", json_true());
	if (spec->file_umask >= 0)
		json_object_set_new(j, "umask", json_integer(spec->file_umask));
	if (spec->res != NULL)
		json_object_set_new(j, "res", json_string(spec->res));
	return j;
}
