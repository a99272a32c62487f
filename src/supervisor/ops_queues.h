/* The requests about queues: pause, resume, drain, queues. */
#ifndef FORQ_OPS_QUEUES_H
#define FORQ_OPS_QUEUES_H

#include <jansson.h>

struct client;
struct ops;
struct request;

json_t *ops_pause(struct ops *ops, struct client *c, const struct request *req);
json_t *ops_queues(struct ops *ops, const struct request *req);

#endif
