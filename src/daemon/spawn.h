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

struct spawn_request {
	const struct slot *slot; /* argv, env and cwd */
	int stdin_fd;
	int stdout_fd;
	int stderr_fd;
	int32_t *pid_out; /* the child writes its pid here first thing */
};

/* Returns the child's pid, or -1 with why[] saying what failed (fork,
 * chdir, exec) and errno set. */
pid_t spawn_job(const struct spawn_request *req, char *why, size_t whylen);

#endif
