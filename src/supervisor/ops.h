/* The requests clients make, one handler each. */
#ifndef FORQ_OPS_H
#define FORQ_OPS_H

#include <jansson.h>

struct supervisor;
struct client;
struct request;

/* The reply, or NULL when it comes later (a wait that waits). */
json_t *ops_handle(struct supervisor *sv, struct client *c,
		   const struct request *req);

#endif
