/*
 * Replies that wait for the database: a request whose answer needs a
 * round trip to a store across the network is answered when the rows
 * come, in a later turn. Each such reply is a token that the client's
 * going away voids, so an answer never reaches a closed client.
 */
#ifndef FORQ_LATER_H
#define FORQ_LATER_H

#include <stddef.h>

#include <jansson.h>

struct client;
struct later;
struct later_reply;

struct later *later_new(void);
void later_free(struct later *l);
/* A reply owed to client c for the request of id req_id (kept). */
struct later_reply *later_add(struct later *l, struct client *c,
			      json_t *req_id);
json_t *later_req_id(const struct later_reply *r);
/* The reply is sent (reply is taken) if its client is still there,
 * and the token is gone. */
void later_answer(struct later *l, struct later_reply *r, json_t *reply);
/* The client owed it, or NULL if it went away. */
struct client *later_client(const struct later_reply *r);
/* The same, the reply carrying n descriptors (dup'ed; -1 if they could
 * not be passed, and the reply is not sent). */
int later_answer_fds(struct later *l, struct later_reply *r, json_t *reply,
		     const int *fds, int n);
/* The token goes, and no reply: the client is answered another way. */
void later_drop(struct later *l, struct later_reply *r);
void later_client_gone(struct later *l, struct client *c);
/* How many replies a client is owed. */
size_t later_pending(const struct later *l, const struct client *c);

#endif
