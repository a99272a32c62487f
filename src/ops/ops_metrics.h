/* forqd's metrics page. */
#ifndef FORQ_OPS_METRICS_H
#define FORQ_OPS_METRICS_H

#include <jansson.h>

struct buf;
struct ops;
struct request;

/* The page as OpenMetrics text into b; -1 (errno) if it does not fit. */
int ops_metrics_page(struct ops *ops, struct buf *b);
json_t *ops_metrics(struct ops *ops, const struct request *req);

#endif
