/* The requests clients make: the dispatch to one handler each. */
#ifndef FORQ_OPS_H
#define FORQ_OPS_H

#include <jansson.h>

struct client;
struct ops;
struct request;

/* The reply, or NULL when it comes later (a wait that waits). */
json_t *ops_handle(struct ops *ops, struct client *c,
		   const struct request *req);

#endif
