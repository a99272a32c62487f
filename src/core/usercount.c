/* Queued jobs per user: a red-black tree keyed by uid. */
#include <sys/tree.h>

#include <stdlib.h>

#include "common/compat.h"
#include "core/usercount.h"

struct usercount {
	RB_ENTRY(usercount) node;
	uid_t uid;
	uint64_t n;
};

static int
usercount_cmp(const struct usercount *a, const struct usercount *b)
{
	return a->uid < b->uid ? -1 : a->uid > b->uid;
}

RB_HEAD(usercount_tree, usercount);
RB_GENERATE_STATIC(usercount_tree, usercount, node, usercount_cmp)

struct usercount_tree *
usercount_new(void)
{
	struct usercount_tree *t = malloc(sizeof *t);

	if (t != NULL)
		RB_INIT(t);
	return t;
}

void
usercount_clear(struct usercount_tree *t)
{
	struct usercount *u;

	while ((u = RB_ROOT(t)) != NULL) {
		RB_REMOVE(usercount_tree, t, u);
		free(u);
	}
}

void
usercount_free(struct usercount_tree *t)
{
	if (t == NULL)
		return;
	usercount_clear(t);
	free(t);
}

int
usercount_add(struct usercount_tree *t, uid_t uid, int64_t delta)
{
	struct usercount key = {.uid = uid}, *u;

	u = RB_FIND(usercount_tree, t, &key);
	if (u == NULL) {
		if (delta <= 0)
			return 0;
		if ((u = calloc(1, sizeof *u)) == NULL)
			return -1;
		u->uid = uid;
		RB_INSERT(usercount_tree, t, u);
	}
	if (delta < 0 && (uint64_t)-delta >= u->n) {
		RB_REMOVE(usercount_tree, t, u);
		free(u);
		return 0;
	}
	u->n += (uint64_t)delta;
	return 0;
}

uint64_t
usercount_get(const struct usercount_tree *t, uid_t uid)
{
	struct usercount key = {.uid = uid}, *u;

	u = RB_FIND(usercount_tree, (struct usercount_tree *)t, &key);
	return u != NULL ? u->n : 0;
}
