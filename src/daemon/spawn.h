/*
 * Starting a job: vfork + execve, so the worker's address space is not
 * copied. The child moves to its own process group, gets default
 * signals, stdin from /dev/null and its output files, and the job's cwd
 * and environment; PATH is searched in the job's environment. A failed
 * exec is reported through memory shared with the suspended parent, so
 * "not found" never hides behind exit status 127.
 */
#ifndef FORQ_SPAWN_H
#define FORQ_SPAWN_H

#include <sys/types.h>

#include "daemon/shm.h"

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
	int32_t *pid_out; /* the child writes its pid here first thing */
};

/* Fills id from the password and group databases; -1 with why. Called
 * before the fork: NSS lookups are not safe in a vfork child. */
int spawn_identity_of(uid_t uid, struct spawn_identity *id, char *why,
		      size_t whylen);
void spawn_identity_free(struct spawn_identity *id);

struct rlimit;
/* The RLIMIT_NOFILE jobs start with (forqd raises its own). */
void spawn_set_nofile(const struct rlimit *rl);

/* Returns the child's pid, or -1 with why[] saying what failed (fork,
 * chdir, exec) and errno set. */
pid_t spawn_job(const struct spawn_request *req, char *why, size_t whylen);

#endif
