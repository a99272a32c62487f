/* The requests about queues: pause, resume, drain, queues. */
#ifndef FORQ_OPS_QUEUES_H
#define FORQ_OPS_QUEUES_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct client;
struct ops;
struct request;

json_t *ops_pause(struct ops *ops, struct client *c, const struct request *req);
struct conf_queue;
/* One queue as forq queues shows it (cq: its section, NULL if none). */
json_t *ops_queue_json(const char *name, const struct conf_queue *cq,
		       uint64_t queued, uint64_t running, bool paused,
		       uint32_t parallel);
json_t *ops_queues(struct ops *ops, const struct request *req);

#endif
