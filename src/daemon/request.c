/* Client request decoding and reply shapes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/compat.h"
#include "daemon/request.h"
#include "forq/protocol.h"

static const char *const req_op_names[] = {
    [REQ_HELLO] = "hello",
    [REQ_PING] = "ping",
    [REQ_WORKERS] = "workers",
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
