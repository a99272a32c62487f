/*
 * Client connections on the supervisor's socket: line framing, the
 * peer's credentials, backpressure, and the dispatch of requests.
 */
#ifndef FORQ_CONTROL_H
#define FORQ_CONTROL_H

struct supervisor;

void control_accept(struct supervisor *sv, int fd);
void control_close_all(struct supervisor *sv);
/* Frees the clients closed during this loop turn. */
void control_reap(struct supervisor *sv);

#endif
