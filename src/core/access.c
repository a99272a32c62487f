/* Who may use forqd: the [access] keys of the conf. */
#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/compat.h"
#include "core/access.h"

/* A uid or gid written as a number, up to 2^31 - 1. */
static int
access_number(const char *s, unsigned int *out)
{
	const char *why = NULL;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	*out = (unsigned int)strtonum(s, 0, 0x7fffffff, &why);
	return why == NULL ? 0 : -1;
}

static int
access_add(struct access_list *l, const char *name, char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;
	unsigned int id;

	if (name[0] == '@') {
		if (l->ngids == ACCESS_LIST_MAX)
			goto full;
		if (access_number(name + 1, &id) == 0)
			l->gids[l->ngids++] = (gid_t)id;
		else if ((gr = getgrnam(name + 1)) != NULL)
			l->gids[l->ngids++] = gr->gr_gid;
		else {
			snprintf(err, errlen, "no group named \"%s\"",
				 name + 1);
			return -1;
		}
		return 0;
	}
	if (l->nuids == ACCESS_LIST_MAX)
		goto full;
	if (access_number(name, &id) == 0)
		l->uids[l->nuids++] = (uid_t)id;
	else if ((pw = getpwnam(name)) != NULL)
		l->uids[l->nuids++] = pw->pw_uid;
	else {
		snprintf(err, errlen, "no user named \"%s\" (groups take @)",
			 name);
		return -1;
	}
	return 0;
full:
	snprintf(err, errlen, "more than %d %s", ACCESS_LIST_MAX,
		 name[0] == '@' ? "groups" : "users");
	return -1;
}

int
access_list_parse(struct access_list *l, const char *text, char *err,
		  size_t errlen)
{
	char name[256];
	size_t len;

	memset(l, 0, sizeof *l);
	for (;;) {
		text += strspn(text, " \t,");
		if (*text == '\0')
			return 0;
		len = strcspn(text, " \t,");
		if (len >= sizeof name) {
			snprintf(err, errlen,
				 "a name longer than %zu characters",
				 sizeof name - 1);
			return -1;
		}
		memcpy(name, text, len);
		name[len] = '\0';
		if (strcmp(name, "@") == 0) {
			snprintf(err, errlen, "\"@\" without a group name");
			return -1;
		}
		if (access_add(l, name, err, errlen) == -1)
			return -1;
		text += len;
	}
}

static bool
access_in_group(const struct access_peer *who, gid_t gid)
{
	size_t i;

	if (who->gid == gid)
		return true;
	for (i = 0; i < who->ngroups; i++) {
		if (who->groups[i] == gid)
			return true;
	}
	return false;
}

static bool
access_listed(const struct access_list *l, const struct access_peer *who)
{
	size_t i;

	for (i = 0; i < l->nuids; i++) {
		if (l->uids[i] == who->uid)
			return true;
	}
	for (i = 0; i < l->ngids; i++) {
		if (access_in_group(who, l->gids[i]))
			return true;
	}
	return false;
}

int
access_may_connect(const struct access_policy *p, const struct access_peer *who,
		   const char **why)
{
	if (who->uid == 0)
		return 0;
	if (access_listed(&p->deny, who)) {
		*why = "deny_users";
		return -1;
	}
	if (p->has_allow && !access_listed(&p->allow, who)) {
		*why = "allow_users";
		return -1;
	}
	return 0;
}

bool
access_is_admin(const struct access_policy *p, const struct access_peer *who)
{
	return who->uid == 0 ||
	       (p->has_admin && access_in_group(who, p->admin_gid));
}
