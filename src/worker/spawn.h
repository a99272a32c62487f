/*
 * Starting a job: fork, then in the child its own process group,
 * default signals, stdin from /dev/null and its output files, the job's
 * limits and umask, its user, its cwd and environment; PATH is searched
 * in the job's environment, as the job's user. The worker never waits
 * for the child: not vfork, whose parent stays suspended until the
 * exec, so that a user who stops their own child before its exec would
 * freeze the worker and every job on it. A failed exec is reported
 * through a close-on-exec pipe, so "not found" never hides behind exit
 * status 127.
 */
#ifndef FORQ_SPAWN_H
#define FORQ_SPAWN_H

#include <sys/types.h>

#include "ipc/shm.h"

/* Who the job runs as, when forqd runs as root. */
struct spawn_identity {
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups, as initgroups would set */
	int ngroups;
	char home[4096];
	char user[256];
	char shell[4096];
};

struct spawn_request {
	const struct spawn_identity *as; /* NULL: forqd's own user */
	const struct slot *slot;         /* argv, env and cwd */
	int stdin_fd;
	int stdout_fd;
	int stderr_fd;
	/* The child claims it first thing, its pid in place of token (below
	 * -1); one that finds anything else but its pid (-1: forqd gave the
	 * slot up, its worker dead) exits unrun. */
	int32_t *pid_out;
	int32_t token;
	const int *cg_fds; /* cgroup.procs of the job's cgroup, to join */
	int ncg_fds;
};

/* Fills id from the password and group databases; -1 with why. Called
 * before the fork, in the worker. */
int spawn_identity_of(uid_t uid, struct spawn_identity *id, char *why,
		      size_t whylen);
void spawn_identity_free(struct spawn_identity *id);

/* Returns the child's pid and *report_fd, a pipe's read end to hand to
 * spawn_failure once the child has exited; or -1 with why[] saying what
 * failed (pipe, fork) and errno set. */
pid_t spawn_job(const struct spawn_request *req, int *report_fd, char *why,
		size_t whylen);
/* After the child exited: 1 and why[] if it never got to exec (what
 * failed: joining its cgroup, becoming the user, chdir, exec), 0 if it
 * did. */
int spawn_failure(int report_fd, const struct slot *slot, char *why,
		  size_t whylen);

#endif
