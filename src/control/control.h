/*
 * Client connections on the supervisor's socket: line framing, the
 * peer's credentials, connection limits, backpressure, descriptor
 * passing, and replies that leave only after the turn's store commit.
 * What a request means is not known here: each goes to the request
 * callback, and each closed client to the gone callback.
 */
#ifndef FORQ_CONTROL_H
#define FORQ_CONTROL_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/event.h"

struct access_peer;
struct access_policy;
struct client;
struct conf;
struct control;
struct request;

struct control_cb {
	/* The reply to a request, or NULL when it comes later. */
	json_t *(*request)(void *arg, struct client *c,
			   const struct request *req);
	/* A client waits for something: it is not idle. */
	bool (*waiting)(void *arg, struct client *c);
	/* A client closed: whatever it waited for is dropped. */
	void (*gone)(void *arg, struct client *c);
	void *arg;
};

/* conf and access are read as they stand at each use (a reload
 * changes them in place). */
struct control *control_new(struct ev_loop *loop, const struct conf *conf,
			    const struct access_policy *access,
			    const struct control_cb *cb);
void control_free(struct control *ctl);
void control_accept(struct control *ctl, int fd);
void control_close_all(struct control *ctl);
/* End of a loop turn: sends what was answered, then frees closed
 * clients. failure: the turn's commit failed, with that error; clients
 * owed an acknowledgement are told so and dropped rather than told a
 * lie (no_space: for want of room). */
void control_end_turn(struct control *ctl, const char *failure, bool no_space);
/* Some client has a reply or event to be sent this turn. */
bool control_replies_due(const struct control *ctl);

/* The earliest request_timeout deadline (0: none), and what is due. */
int64_t control_next_deadline(const struct control *ctl);
void control_check(struct control *ctl, int64_t now_ns);

const struct ucred *control_cred(const struct client *c);
/* The peer as the kernel saw it connect: uid, gid and groups. */
void control_peer(const struct client *c, struct access_peer *out);
void control_push(struct client *c, json_t *msg);
/* Sends msg with descriptors attached (SCM_RIGHTS); they are dup'ed. */
int control_push_fds(struct client *c, json_t *msg, const int *fds, int n);

#endif
