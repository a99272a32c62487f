/* The checks of forqd.conf beyond one key's own value: names, keys
 * that bound each other, and what the system must have (groups, CPUs);
 * each error is told at its key's line. */
#include <sys/param.h>
#include <sys/socket.h>

#include <grp.h>
#include <stdio.h>
#include <string.h>

#include "common/compat.h"
#include "core/access.h"
#include "core/addr.h"
#include "core/conf_int.h"
#include "core/cpus.h"
#include "core/res.h"

int
conf_name_check(const char *name, size_t max)
{
	size_t len = strlen(name);

	if (len == 0 || len > max ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-") != len)
		return -1;
	return 0;
}

void
conf_format_error(char *err, size_t errlen, const char *file, int line,
		  const char *msg)
{
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", file, line, msg);
	else
		snprintf(err, errlen, "%s: %s", file, msg);
}

int
conf_check_relations(const struct conf *c, const char *file, char *err,
		     size_t errlen)
{
	char msg[CONF_ERROR_MAX];
	int line;

	if (c->heartbeat_timeout_ms < 2 * c->heartbeat_interval_ms) {
		snprintf(msg, sizeof msg,
			 "heartbeat_timeout (%lldms) must be at least twice "
			 "heartbeat_interval (%lldms)",
			 (long long)c->heartbeat_timeout_ms,
			 (long long)c->heartbeat_interval_ms);
		line = MAX(conf_key_line(c, "heartbeat_timeout"),
			   conf_key_line(c, "heartbeat_interval"));
		conf_format_error(err, errlen, file, line, msg);
		return -1;
	}
	if (c->restart_delay_max_ms < c->restart_delay_ms) {
		snprintf(msg, sizeof msg,
			 "restart_delay_max (%lldms) is shorter than "
			 "restart_delay (%lldms)",
			 (long long)c->restart_delay_max_ms,
			 (long long)c->restart_delay_ms);
		line = MAX(conf_key_line(c, "restart_delay_max"),
			   conf_key_line(c, "restart_delay"));
		conf_format_error(err, errlen, file, line, msg);
		return -1;
	}
	for (uint32_t i = 0; i < c->nqueues; i++) {
		struct res_grant g;
		char why[CONF_ERROR_MAX];

		if (c->queues[i].res[0] == '\0' ||
		    res_ask_parse(&c->res, c->queues[i].res, &g, why,
				  sizeof why) == 0)
			continue;
		snprintf(msg, sizeof msg, "[queue %s] res: %s",
			 c->queues[i].name, why);
		conf_format_error(err, errlen, file, c->queues[i].lines[7],
				  msg);
		return -1;
	}
	if (c->metrics_listen[0] != '\0') {
		struct sockaddr_storage ss;
		socklen_t sslen;
		char why[CONF_ERROR_MAX];

		if (addr_parse(c->metrics_listen, &ss, &sslen, why,
			       sizeof why) == -1) {
			snprintf(msg, sizeof msg, "metrics_listen: %s", why);
			conf_format_error(err, errlen, file,
					  conf_key_line(c, "metrics_listen"),
					  msg);
			return -1;
		}
	}
	if (c->node[0] != '\0' &&
	    conf_name_check(c->node, CONF_NODE_NAME_MAX) == -1) {
		snprintf(msg, sizeof msg,
			 "node: \"%s\" is not 1 to %d letters, digits, '_', "
			 "'.' or '-'",
			 c->node, CONF_NODE_NAME_MAX);
		conf_format_error(err, errlen, file, conf_key_line(c, "node"),
				  msg);
		return -1;
	}
	return 0;
}

int
conf_check(const struct conf *c, const cpu_set_t *allowed, char *err,
	   size_t errlen)
{
	char why[CONF_ERROR_MAX - 64], msg[CONF_ERROR_MAX];
	const char *file = c->path[0] != '\0' ? c->path : "(defaults)";
	struct access_policy policy;
	int cpus[CPU_SETSIZE];
	size_t n;

	if (cpus_plan(allowed, c->cpus, cpus, nitems(cpus), &n, why,
		      sizeof why) == -1) {
		snprintf(msg, sizeof msg, "cpus: %s", why);
		conf_format_error(err, errlen, file, conf_key_line(c, "cpus"),
				  msg);
		return -1;
	}
	if (c->socket_group[0] != '\0' && getgrnam(c->socket_group) == NULL) {
		snprintf(msg, sizeof msg, "socket_group: no group named \"%s\"",
			 c->socket_group);
		conf_format_error(err, errlen, file,
				  conf_key_line(c, "socket_group"), msg);
		return -1;
	}
	return conf_access_policy(c, &policy, err, errlen);
}

int
conf_access_policy(const struct conf *c, struct access_policy *p, char *err,
		   size_t errlen)
{
	const char *file = c->path[0] != '\0' ? c->path : "(defaults)";
	char why[CONF_ERROR_MAX - 64], msg[CONF_ERROR_MAX];
	const char *key;
	struct group *gr;

	memset(p, 0, sizeof *p);
	p->allow_root_jobs = c->allow_root_jobs != 0;
	if (c->admin_group[0] != '\0') {
		if ((gr = getgrnam(c->admin_group)) == NULL) {
			key = "admin_group";
			snprintf(why, sizeof why, "no group named \"%s\"",
				 c->admin_group);
			goto fail;
		}
		p->has_admin = true;
		p->admin_gid = gr->gr_gid;
	}
	key = "allow_users";
	if (access_list_parse(&p->allow, c->allow_users, why, sizeof why) == -1)
		goto fail;
	p->has_allow = p->allow.nuids + p->allow.ngids > 0;
	key = "deny_users";
	if (access_list_parse(&p->deny, c->deny_users, why, sizeof why) == -1)
		goto fail;
	return 0;
fail:
	snprintf(msg, sizeof msg, "%s: %s", key, why);
	conf_format_error(err, errlen, file, conf_key_line(c, key), msg);
	return -1;
}
