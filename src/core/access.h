/*
 * Who may use forqd and what they may see: the [access] keys of the conf
 * turned into ids once, and pure checks of a peer (from SO_PEERCRED and
 * SO_PEERGROUPS, never from what a client says) against them.
 */
#ifndef FORQ_ACCESS_H
#define FORQ_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ACCESS_LIST_MAX 64

/* Users and groups named by allow_users or deny_users. */
struct access_list {
	uid_t uids[ACCESS_LIST_MAX];
	gid_t gids[ACCESS_LIST_MAX];
	size_t nuids;
	size_t ngids;
};

struct access_policy {
	bool allow_root_jobs;
	bool has_admin;
	gid_t admin_gid;
	bool has_allow; /* allow_users was set: only those may connect */
	struct access_list allow;
	struct access_list deny;
};

/* A connected client, as the kernel reports it. */
struct access_peer {
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups */
	size_t ngroups;
};

/* Resolves a list such as "alice, 1001 @staff" (user names or uids;
 * @group names or @gids). -1 with err naming the entry it cannot use. */
int access_list_parse(struct access_list *l, const char *text, char *err,
		      size_t errlen);

/* 0 if the peer may connect; else -1 and why names the key. Root always
 * may: it owns the conf. */
int access_may_connect(const struct access_policy *p,
		       const struct access_peer *who, const char **why);

/* Root, or a member of admin_group: sees and acts on every job. */
bool access_is_admin(const struct access_policy *p,
		     const struct access_peer *who);

#endif
