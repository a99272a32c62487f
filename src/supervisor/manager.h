/*
 * What forqd asks of the service manager it runs under (systemd, over
 * D-Bus): nothing when it runs under none.
 */
#ifndef FORQ_MANAGER_H
#define FORQ_MANAGER_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>

/* Whether the manager is stopping: the machine shuts down (or, for a
 * user's manager, the user's last session ends), so running jobs will
 * not outlive forqd by much, and are better stopped and recorded than
 * left. Asked once, at a stop signal, with a short timeout: the one
 * wait forqd makes on anything, made as it stops. */
bool manager_stopping(void);

/* forqd's scope: a transient scope unit of the manager's, delegated
 * (its cgroup is forqd's to divide), that holds the workers and the
 * jobs' cgroups apart from forqd's own unit, so that they outlive its
 * stop, and its restart finds its cgroup as systemd left it. */
struct manager_scope {
	char cgroup[PATH_MAX]; /* its path from the hierarchy's root */
	/* It lived on from a previous forqd (whose workers keep jobs):
	 * keeper was not moved into it. */
	bool existed;
	pid_t keeper; /* the process that holds it while forqd runs */
	int keeper_fd;
};

/* Makes the scope named unit, with a keeper process in it, or finds the
 * one a previous forqd left. -1 with err if the manager cannot be
 * reached or refuses. Waits, with a timeout, until the manager has made
 * it: called at start only. */
int manager_scope(const char *unit, struct manager_scope *sc, char *err,
		  size_t errlen);
/* forqd lets the scope go: its keeper exits. */
void manager_scope_close(struct manager_scope *sc);

#endif
