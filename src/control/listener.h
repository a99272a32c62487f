/* The listening socket: creating it safely, accepting, backing off. */
#ifndef FORQ_LISTENER_H
#define FORQ_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include "common/event.h"

struct conf;
struct listener;

/* Each accepted connection, non-blocking and close-on-exec. */
typedef void listener_accept_fn(void *arg, int fd);

/* NULL, with err, when the socket cannot be had. */
struct listener *listener_open(struct ev_loop *loop, const struct conf *c,
			       listener_accept_fn *accept, void *arg, char *err,
			       size_t errlen);
/* Stops accepting and removes the socket file it made; stays valid. */
void listener_stop(struct listener *l);
void listener_close(struct listener *l);
/* Where it listens, for the log. */
const char *listener_path(const struct listener *l);
/* The end of an accept() backoff (monotonic), or 0. */
int64_t listener_next_deadline(const struct listener *l);
void listener_check(struct listener *l, int64_t now_ns);

#endif
