/* The requests that read: workers, status, list, wait, logs. */
#ifndef FORQ_OPS_READ_H
#define FORQ_OPS_READ_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct client;
struct ops;
struct request;

struct store_job;
/* A job as status (full) and list show it. */
json_t *ops_job_json(struct ops *ops, const struct store_job *j, bool full);
/* "array": {"tasks": 100, "succeeded": 90, "running": 8, ...} into a
 * job's object, from counts by state (the states no task is in left
 * out). */
void ops_array_json(json_t *job, const uint64_t *counts);
struct store_attempt;
/* An attempt before a job's last, as status shows it, appended to the
 * array arg. */
int ops_attempt_one(void *arg, const struct store_attempt *at);
json_t *ops_workers(struct ops *ops, const struct request *req);
json_t *ops_status(struct ops *ops, struct client *c,
		   const struct request *req);
struct store_filter;
/* A list request's filter and limit, checked: NULL, or the error. */
json_t *ops_list_filter(struct ops *ops, struct client *c,
			const struct request *req, struct store_filter *f,
			uint32_t *limit);
json_t *ops_list(struct ops *ops, struct client *c, const struct request *req);
json_t *ops_wait(struct ops *ops, struct client *c, const struct request *req);
/* forq nodes: the cluster's nodes, answered once the database has. */
json_t *ops_nodes(struct ops *ops, struct client *c, const struct request *req);
/* A job's output file ("out", "err") in the state directory, read
 * only; create: made empty if it is not there, else an empty memfd
 * then. -1 if it cannot be. */
int ops_open_log(struct ops *ops, uint64_t id, const char *ext, bool create);
/* A memfd holding len bytes of data, at offset 0; -1 on failure. */
int ops_memfd(const char *name, const unsigned char *data, size_t len);
json_t *ops_logs(struct ops *ops, struct client *c, const struct request *req);

#endif
