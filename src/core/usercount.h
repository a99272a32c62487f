/*
 * How many jobs each user has queued, kept in memory so that checking
 * queued_max_per_user costs the same with a million jobs queued as
 * with none. One entry per user with queued jobs.
 */
#ifndef FORQ_USERCOUNT_H
#define FORQ_USERCOUNT_H

#include <stdint.h>
#include <sys/types.h>

struct usercount_tree;

struct usercount_tree *usercount_new(void);
void usercount_free(struct usercount_tree *t);
/* -1 only when memory runs out. A count never goes below zero. */
int usercount_add(struct usercount_tree *t, uid_t uid, int64_t delta);
uint64_t usercount_get(const struct usercount_tree *t, uid_t uid);
void usercount_clear(struct usercount_tree *t);

#endif
