/*
 * Decoding client requests and shaping replies: pure functions over
 * JSON, so every request and error shape is unit-tested without a
 * daemon.
 */
#ifndef FORQ_REQUEST_H
#define FORQ_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum req_op {
	REQ_HELLO,
	REQ_PING,
	REQ_WORKERS,
	REQ_SUBMIT,
	REQ_STATUS,
	REQ_LIST,
	REQ_WAIT,
	REQ_LOGS,
	REQ_CANCEL,
	REQ_SET,
	REQ_PAUSE,
	REQ_RESUME,
	REQ_DRAIN,
	REQ_QUEUES,
	REQ_RETRY,
	REQ_CLEAN,
	REQ_SHUTDOWN,
	REQ_NODES,
	REQ_HOLD,
	REQ_RELEASE,
	REQ_METRICS,
	REQ_TOP,
};

struct request {
	enum req_op op;
	json_t *root; /* owns the parsed object */
	json_t *id;   /* borrowed from root; NULL if absent */
	int version;  /* hello only */
};

struct req_error {
	const char *code;
	char message[256];
	json_t *id; /* borrowed, may be NULL */
};

/* 0 and a request, or -1 and an error whose id is borrowed from a root
 * the caller must release with request_free. */
int request_decode(const char *line, size_t len, struct request *req,
		   struct req_error *err);
void request_free(struct request *req);
const char *request_op_name(enum req_op op);

/* Typed fields of a request; -1 with err filled when wrong. */
int request_job_id(const struct request *req, const char *key, uint64_t *id,
		   struct req_error *err);
int request_job_ids(const struct request *req, const char *key, uint64_t **ids,
		    size_t *n, size_t max, struct req_error *err);
int request_bool(const struct request *req, const char *key, bool *value,
		 struct req_error *err);
/* An optional string: NULL when absent or null. */
int request_string(const struct request *req, const char *key,
		   const char **value, struct req_error *err);

json_t *reply_ok(json_t *id);
json_t *reply_error(json_t *id, const char *code, const char *message);
/* An error about a named limit: says the limit's name and value. */
json_t *reply_limit(json_t *id, const char *limit, unsigned long long max,
		    const char *message);

#endif
