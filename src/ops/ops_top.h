/* forq top's request: the running jobs and what they use now. */
#ifndef FORQ_OPS_TOP_H
#define FORQ_OPS_TOP_H

#include <jansson.h>

struct client;
struct ops;
struct request;

json_t *ops_top(struct ops *ops, struct client *c, const struct request *req);

#endif
