/* The requests of a cluster node that its shared queue answers. */
#ifndef FORQ_OPS_CLUSTER_H
#define FORQ_OPS_CLUSTER_H

#include <jansson.h>

struct client;
struct ops;
struct request;

/* The reply, or NULL when it comes later (most do: the database
 * answers in a later turn). Requests about jobs that are not kept
 * across nodes yet are refused. */
json_t *opsc_handle(struct ops *ops, struct client *c,
		    const struct request *req);

#endif
