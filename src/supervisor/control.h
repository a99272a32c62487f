/*
 * Client connections on the supervisor's socket: line framing, the
 * peer's credentials, backpressure, descriptor passing, and replies
 * that leave only after the turn's store commit.
 */
#ifndef FORQ_CONTROL_H
#define FORQ_CONTROL_H

#include <sys/socket.h>

#include <stdbool.h>

#include <jansson.h>

struct supervisor;
struct client;
struct waiter_list;

void control_accept(struct supervisor *sv, int fd);
void control_close_all(struct supervisor *sv);
/* End of a loop turn: sends what was answered (committed says whether
 * the store's commit succeeded; if not, clients owed an acknowledgement
 * are dropped rather than told a lie), then frees closed clients. */
void control_end_turn(struct supervisor *sv, bool committed);
/* Some client has a reply or event to be sent this turn. */
bool control_replies_due(const struct supervisor *sv);

/* The earliest request_timeout deadline (0: none), and what is due. */
int64_t control_next_deadline(const struct supervisor *sv);
void control_check(struct supervisor *sv, int64_t now_ns);

const struct ucred *control_cred(const struct client *c);
struct access_peer;
/* The peer as the kernel saw it connect: uid, gid and groups. */
void control_peer(const struct client *c, struct access_peer *out);
struct waiter_list *control_waiters(struct client *c);
void control_push(struct client *c, json_t *msg);
/* Sends msg with descriptors attached (SCM_RIGHTS); they are dup'ed. */
int control_push_fds(struct client *c, json_t *msg, const int *fds, int n);

#endif
