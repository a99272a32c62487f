/*
 * Inside the request handlers, shared by ops.c (the dispatch, reads and
 * what they share), ops_jobs.c (requests that change jobs) and
 * ops_queues.c (queues, pause, drain).
 */
#ifndef FORQ_OPS_IMPL_H
#define FORQ_OPS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/compat.h"

struct supervisor;
struct client;
struct request;
struct req_error;
struct store_job;

/* Error replies: a code and a message; a named limit and its value; the
 * store's last error; a request's field error. */
json_t *ops_error(const struct request *req, const char *code, const char *fmt,
		  ...) __printflike(3, 4);
json_t *ops_limit(const struct request *req, const char *limit,
		  unsigned long long max, const char *fmt, ...)
    __printflike(4, 5);
json_t *ops_store_error(struct supervisor *sv, const struct request *req);
json_t *ops_req_error(const struct req_error *err);
json_t *ops_not_found(const struct request *req, uint64_t id);
json_t *ops_not_permitted(const struct request *req, uint64_t id);
/* Seconds since the epoch, or null for 0. */
json_t *ops_time(int64_t ns);

/* Root or a member of admin_group: sees and acts on every job. */
bool ops_is_admin(struct supervisor *sv, const struct client *c);
/* A user sees and acts on their own jobs; an admin on everyone's. */
bool ops_may_touch(struct supervisor *sv, struct client *c,
		   const struct store_job *job);
/* The job a request names, if it exists and the client may see it;
 * else the error reply. */
json_t *ops_get_job(struct supervisor *sv, struct client *c,
		    const struct request *req, uint64_t id,
		    struct store_job *job);
/* As ops_get_job, for a request that makes the job run again or
 * changes it: that stays with its owner and root, admin_group or not. */
json_t *ops_get_own_job(struct supervisor *sv, struct client *c,
			const struct request *req, uint64_t id,
			struct store_job *job, const char *what);
/* Whose jobs a list or clean is about (see ops.c). */
json_t *ops_whose(struct supervisor *sv, struct client *c,
		  const struct request *req, int64_t *uid);
/* Before the events of a wait for jobs the client did not name. */
void ops_push_waiting(struct client *c, const struct request *req, size_t n);

/* ops_jobs.c */
json_t *ops_submit(struct supervisor *sv, struct client *c,
		   const struct request *req);
json_t *ops_cancel(struct supervisor *sv, struct client *c,
		   const struct request *req);
json_t *ops_retry(struct supervisor *sv, struct client *c,
		  const struct request *req);
json_t *ops_set(struct supervisor *sv, struct client *c,
		const struct request *req);
json_t *ops_clean(struct supervisor *sv, struct client *c,
		  const struct request *req);

/* ops_queues.c */
json_t *ops_pause(struct supervisor *sv, struct client *c,
		  const struct request *req);
json_t *ops_queues(struct supervisor *sv, const struct request *req);

#endif
