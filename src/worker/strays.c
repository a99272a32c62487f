/* Processes a job left behind, found among the worker's children. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/strays.h"

uint64_t
strays_job_id(const char *env, size_t n)
{
	const char *p = env, *end = env + n, *nul, *d;
	uint64_t id = 0;

	while (p < end) {
		if ((nul = memchr(p, '\0', (size_t)(end - p))) == NULL)
			nul = end;
		if (nul - p >= 12 && memcmp(p, "FORQ_JOB_ID=", 12) == 0) {
			/* Read within the bytes given: the last variable of
			 * an environment cut at the buffer has no NUL. */
			for (d = p + 12; d < nul && *d >= '0' && *d <= '9'; d++)
				id = id * 10 + (uint64_t)(*d - '0');
			return id;
		}
		p = nul + 1;
	}
	return 0;
}

/* The job a process came from (strays_job_id), and its owner; 0 if
 * none is known. */
static uint64_t
strays_job_of(pid_t pid, uid_t *uid)
{
	char path[64], env[32768];
	struct stat st;
	ssize_t n;
	int fd;

	*uid = (uid_t)-1; /* gone: nobody's */
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	if (stat(path, &st) == -1)
		return 0;
	*uid = st.st_uid;
	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, env, sizeof env);
	close(fd);
	return n > 0 ? strays_job_id(env, (size_t)n) : 0;
}

static bool
strays_is_job(const struct stray_owner *jobs, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (jobs[i].pid == pid)
			return true;
	}
	return false;
}

void
strays_scan(const struct stray_owner *jobs, size_t n)
{
	char path[64], list[4096], *p, *end;
	const struct stray_owner *owner;
	uint64_t id;
	uid_t uid;
	ssize_t len;
	size_t i;
	pid_t pid;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)getpid(),
		 (int)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	len = read(fd, list, sizeof list - 1);
	close(fd);
	if (len <= 0)
		return;
	list[len] = '\0';
	for (p = list; *p != '\0'; p = end) {
		pid = (pid_t)strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid <= 0 || strays_is_job(jobs, n, pid))
			continue;
		id = strays_job_of(pid, &uid);
		owner = NULL;
		for (i = 0; i < n; i++) {
			if (jobs[i].uid == uid &&
			    (id == 0 || jobs[i].job_id == id)) {
				owner = &jobs[i];
				break;
			}
		}
		if (owner == NULL) {
			kill(pid, SIGKILL);
			continue;
		}
		/* Its job is being stopped: as its group is, TERM, then
		 * KILL once kill_grace is over. */
		if (id != 0 && owner->stop_signal != 0)
			kill(pid, owner->stop_signal);
	}
}

bool
strays_reap(const struct stray_owner *jobs, size_t n)
{
	siginfo_t si;
	bool reaped = false;

	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 ||
		    si.si_pid == 0)
			break;
		/* A job's: not ours to reap, and waitid would show it
		 * first again. */
		if (strays_is_job(jobs, n, si.si_pid))
			break;
		waitpid(si.si_pid, NULL, WNOHANG);
		reaped = true;
	}
	return reaped;
}
