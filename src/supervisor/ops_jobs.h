/* The requests that change jobs: submit, cancel, retry, set, clean. */
#ifndef FORQ_OPS_JOBS_H
#define FORQ_OPS_JOBS_H

#include <jansson.h>

struct client;
struct ops;
struct request;

json_t *ops_submit(struct ops *ops, struct client *c,
		   const struct request *req);
json_t *ops_cancel(struct ops *ops, struct client *c,
		   const struct request *req);
json_t *ops_retry(struct ops *ops, struct client *c, const struct request *req);
json_t *ops_set(struct ops *ops, struct client *c, const struct request *req);
json_t *ops_clean(struct ops *ops, struct client *c, const struct request *req);

#endif
