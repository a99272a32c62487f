/*
 * Owed replies in a list: they are few (one per client request that
 * waits on the database) and short-lived, so a walk on a client's
 * going away costs nothing worth a tree.
 */
#include <stdlib.h>

#include "control/control.h"
#include "control/later.h"

struct later_reply {
	struct later_reply *prev, *next;
	struct client *client; /* NULL: it went away */
	json_t *req_id;
};

struct later {
	struct later_reply *head;
};

struct later *
later_new(void)
{
	return calloc(1, sizeof(struct later));
}

static void
later_unlink(struct later *l, struct later_reply *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	json_decref(r->req_id);
	free(r);
}

void
later_free(struct later *l)
{
	if (l == NULL)
		return;
	while (l->head != NULL)
		later_unlink(l, l->head);
	free(l);
}

struct later_reply *
later_add(struct later *l, struct client *c, json_t *req_id)
{
	struct later_reply *r;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	r->client = c;
	r->req_id = json_incref(req_id);
	r->next = l->head;
	if (l->head != NULL)
		l->head->prev = r;
	l->head = r;
	return r;
}

json_t *
later_req_id(const struct later_reply *r)
{
	return r->req_id;
}

void
later_answer(struct later *l, struct later_reply *r, json_t *reply)
{
	if (r->client != NULL)
		control_push(r->client, reply);
	else
		json_decref(reply);
	later_unlink(l, r);
}

int
later_answer_fds(struct later *l, struct later_reply *r, json_t *reply,
		 const int *fds, int n)
{
	int rc = 0;

	if (r->client != NULL)
		rc = control_push_fds(r->client, reply, fds, n);
	else
		json_decref(reply);
	later_unlink(l, r);
	return rc;
}

struct client *
later_client(const struct later_reply *r)
{
	return r->client;
}

void
later_drop(struct later *l, struct later_reply *r)
{
	later_unlink(l, r);
}

void
later_client_gone(struct later *l, struct client *c)
{
	struct later_reply *r;

	for (r = l->head; r != NULL; r = r->next) {
		if (r->client == c)
			r->client = NULL;
	}
}

size_t
later_pending(const struct later *l, const struct client *c)
{
	const struct later_reply *r;
	size_t n = 0;

	for (r = l->head; r != NULL; r = r->next)
		n += r->client == c;
	return n;
}
