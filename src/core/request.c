/* Client request decoding and reply shapes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/compat.h"
#include "core/request.h"
#include "forq/protocol.h"

static const char *const req_op_names[] = {
    [REQ_HELLO] = "hello",       [REQ_PING] = "ping",
    [REQ_WORKERS] = "workers",   [REQ_SUBMIT] = "submit",
    [REQ_STATUS] = "status",     [REQ_LIST] = "list",
    [REQ_WAIT] = "wait",         [REQ_LOGS] = "logs",
    [REQ_CANCEL] = "cancel",     [REQ_SET] = "set",
    [REQ_PAUSE] = "pause",       [REQ_RESUME] = "resume",
    [REQ_DRAIN] = "drain",       [REQ_QUEUES] = "queues",
    [REQ_RETRY] = "retry",       [REQ_CLEAN] = "clean",
    [REQ_SHUTDOWN] = "shutdown", [REQ_NODES] = "nodes",
    [REQ_HOLD] = "hold",         [REQ_RELEASE] = "release",
    [REQ_METRICS] = "metrics",   [REQ_TOP] = "top",
};

const char *
request_op_name(enum req_op op)
{
	return op < nitems(req_op_names) ? req_op_names[op] : "?";
}

static int request_fail(struct req_error *err, const char *code,
			const char *fmt, ...) __printflike(3, 4);

static int
request_fail(struct req_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return -1;
}

int
request_decode(const char *line, size_t len, struct request *req,
	       struct req_error *err)
{
	json_error_t jerr;
	json_t *op, *version;
	const char *name;
	size_t i;

	memset(req, 0, sizeof *req);
	err->id = NULL;
	req->root = json_loadb(line, len,
			       JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (req->root == NULL)
		return request_fail(err, FORQ_ERR_BAD_REQUEST,
				    "not valid JSON: %s", jerr.text);
	if (!json_is_object(req->root))
		return request_fail(err, FORQ_ERR_BAD_REQUEST, "%s",
				    "a request must be a JSON object");
	req->id = json_object_get(req->root, "id");
	if (req->id != NULL && !json_is_integer(req->id) &&
	    !json_is_string(req->id)) {
		req->id = NULL;
		return request_fail(err, FORQ_ERR_BAD_REQUEST, "%s",
				    "\"id\" must be an integer or a string");
	}
	err->id = req->id;
	op = json_object_get(req->root, "op");
	if (!json_is_string(op))
		return request_fail(err, FORQ_ERR_BAD_REQUEST, "%s",
				    "\"op\" (a string) is required");
	name = json_string_value(op);
	for (i = 0; i < nitems(req_op_names); i++) {
		if (strcmp(name, req_op_names[i]) == 0)
			break;
	}
	if (i == nitems(req_op_names))
		return request_fail(err, FORQ_ERR_UNKNOWN_OP,
				    "unknown op \"%.64s\"", name);
	req->op = (enum req_op)i;
	if (req->op == REQ_HELLO) {
		version = json_object_get(req->root, "version");
		if (!json_is_integer(version))
			return request_fail(err, FORQ_ERR_BAD_REQUEST, "%s",
					    "hello needs \"version\" (an "
					    "integer)");
		if (json_integer_value(version) != FORQ_PROTOCOL_VERSION) {
			err->code = FORQ_ERR_UNSUPPORTED_VERSION;
			snprintf(err->message, sizeof err->message,
				 "protocol version %lld is not supported; this "
				 "forqd speaks version %d",
				 (long long)json_integer_value(version),
				 FORQ_PROTOCOL_VERSION);
			return -1;
		}
		req->version = FORQ_PROTOCOL_VERSION;
	}
	return 0;
}

static int
request_cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Drops repeated ids, keeping the first of each in its place; n log n,
 * so a wait on a 100,000-job batch costs nothing to check. */
static size_t
request_dedupe(uint64_t *ids, size_t n)
{
	uint64_t *sorted, *hit;
	unsigned char *seen;
	size_t i, out = 0;

	if (n < 2 || (sorted = malloc(n * sizeof *sorted)) == NULL)
		return n;
	memcpy(sorted, ids, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, request_cmp_id);
	for (i = 1; i < n && sorted[i] != sorted[i - 1]; i++)
		;
	if (i == n || (seen = calloc(n, 1)) == NULL) {
		free(sorted);
		return n;
	}
	for (i = 0; i < n; i++) {
		hit =
		    bsearch(&ids[i], sorted, n, sizeof *sorted, request_cmp_id);
		while (hit > sorted && hit[-1] == ids[i])
			hit--;
		if (seen[hit - sorted])
			continue;
		seen[hit - sorted] = 1;
		ids[out++] = ids[i];
	}
	free(seen);
	free(sorted);
	return out;
}

static int
request_id_value(const json_t *v, uint64_t *id)
{
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return -1;
	*id = (uint64_t)json_integer_value(v);
	return 0;
}

int
request_job_id(const struct request *req, const char *key, uint64_t *id,
	       struct req_error *err)
{
	err->id = req->id;
	if (request_id_value(json_object_get(req->root, key), id) == -1)
		return request_fail(err, FORQ_ERR_BAD_REQUEST,
				    "\"%s\" must be a job id (a positive "
				    "integer)",
				    key);
	return 0;
}

/* A list of job ids, duplicates dropped, order kept. */
int
request_job_ids(const struct request *req, const char *key, uint64_t **ids,
		size_t *n, size_t max, struct req_error *err)
{
	const json_t *list = json_object_get(req->root, key), *v;
	size_t i, count = 0;
	uint64_t id;

	err->id = req->id;
	*ids = NULL;
	*n = 0;
	if (!json_is_array(list) || json_array_size(list) == 0)
		return request_fail(err, FORQ_ERR_BAD_REQUEST,
				    "\"%s\" must be a non-empty array of job "
				    "ids",
				    key);
	if (json_array_size(list) > max) {
		err->code = FORQ_ERR_LIMIT;
		snprintf(err->message, sizeof err->message,
			 "more than batch_max (%zu) job ids", max);
		return -1;
	}
	if ((*ids = calloc(json_array_size(list), sizeof **ids)) == NULL)
		return request_fail(err, FORQ_ERR_INTERNAL, "%s",
				    "out of memory");
	json_array_foreach(list, i, v)
	{
		if (request_id_value(v, &id) == -1) {
			free(*ids);
			*ids = NULL;
			return request_fail(err, FORQ_ERR_BAD_REQUEST,
					    "\"%s\" must be a non-empty array "
					    "of job ids",
					    key);
		}
		(*ids)[count++] = id;
	}
	*n = request_dedupe(*ids, count);
	return 0;
}

int
request_bool(const struct request *req, const char *key, bool *value,
	     struct req_error *err)
{
	const json_t *v = json_object_get(req->root, key);

	err->id = req->id;
	if (v == NULL || json_is_null(v)) {
		*value = false;
		return 0;
	}
	if (!json_is_boolean(v))
		return request_fail(err, FORQ_ERR_BAD_REQUEST,
				    "\"%s\" must be true or false", key);
	*value = json_is_true(v);
	return 0;
}

int
request_string(const struct request *req, const char *key, const char **value,
	       struct req_error *err)
{
	const json_t *v = json_object_get(req->root, key);

	err->id = req->id;
	*value = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return request_fail(err, FORQ_ERR_BAD_REQUEST,
				    "\"%s\" must be a string without NUL", key);
	*value = json_string_value(v);
	return 0;
}

void
request_free(struct request *req)
{
	json_decref(req->root);
	req->root = NULL;
	req->id = NULL;
}

json_t *
reply_ok(json_t *id)
{
	json_t *reply = json_object();

	if (id != NULL)
		json_object_set(reply, "id", id);
	json_object_set_new(reply, "ok", json_true());
	return reply;
}

json_t *
reply_error(json_t *id, const char *code, const char *message)
{
	json_t *reply = json_object();

	if (id != NULL)
		json_object_set(reply, "id", id);
	json_object_set_new(reply, "ok", json_false());
	json_object_set_new(reply, "error",
			    json_pack("{s:s, s:s}", "code", code, "message",
				      message));
	return reply;
}

json_t *
reply_limit(json_t *id, const char *limit, unsigned long long max,
	    const char *message)
{
	json_t *reply = reply_error(id, FORQ_ERR_LIMIT, message);
	json_t *error = json_object_get(reply, "error");

	json_object_set_new(error, "limit", json_string(limit));
	json_object_set_new(error, "max", json_integer((json_int_t)max));
	return reply;
}
