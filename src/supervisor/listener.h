/* The listening socket: creating it safely, accepting, backing off. */
#ifndef FORQ_LISTENER_H
#define FORQ_LISTENER_H

#include <stddef.h>
#include <stdint.h>

struct supervisor;

int listener_open(struct supervisor *sv, char *err, size_t errlen);
void listener_close(struct supervisor *sv);
void listener_check(struct supervisor *sv, int64_t now_ns);

#endif
