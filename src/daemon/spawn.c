/* Starting a job with vfork + execve. */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/spawn.h"

#define SPAWN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

enum spawn_stage {
	SPAWN_STAGE_NONE,
	SPAWN_STAGE_SETUP,
	SPAWN_STAGE_CHDIR,
	SPAWN_STAGE_EXEC,
};

/* Splits a packed "a\0b\0" into a NULL-terminated vector. */
static char **
spawn_vector(const char *packed, uint32_t count, uint32_t extra)
{
	char **v = calloc(count + extra + 1, sizeof *v);
	uint32_t i;

	/* The first extra entries are left for the caller to fill. */
	if (v == NULL)
		return NULL;
	for (i = extra; i < count + extra; i++) {
		v[i] = (char *)packed;
		packed += strlen(packed) + 1;
	}
	return v;
}

static const char *
spawn_path_of(char *const *envp)
{
	for (; *envp != NULL; envp++) {
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	}
	return SPAWN_DEFAULT_PATH;
}

/* Runs in the vfork child: only async-signal-safe calls, no return.
 * Not inlined, so its locals live in its own frame below the parent's. */
static __attribute__((noreturn, noinline)) void
spawn_child(const struct spawn_request *req, char **argv, char **envp,
	    const char *cwd, const char *path, char *candidate, size_t candlen,
	    volatile int *stage, volatile int *err)
{
	static const int defaults[] = {SIGINT,  SIGHUP,  SIGPIPE, SIGTERM,
				       SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2};
	const char *p, *end;
	size_t i, dirlen, namelen;
	sigset_t none;
	int seen_eacces = 0;

	*req->pid_out = getpid();
	*stage = SPAWN_STAGE_SETUP;
	for (i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		signal(defaults[i], SIG_DFL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1 ||
	    setpgid(0, 0) == -1 || dup2(req->stdin_fd, STDIN_FILENO) == -1 ||
	    dup2(req->stdout_fd, STDOUT_FILENO) == -1 ||
	    dup2(req->stderr_fd, STDERR_FILENO) == -1)
		goto fail;
	*stage = SPAWN_STAGE_CHDIR;
	if (chdir(cwd) == -1)
		goto fail;
	*stage = SPAWN_STAGE_EXEC;
	if (strchr(argv[0], '/') != NULL) {
		execve(argv[0], argv, envp);
		goto fail;
	}
	namelen = strlen(argv[0]);
	for (p = path;; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		dirlen = (size_t)(end - p);
		if (dirlen == 0) {
			candidate[0] = '.';
			dirlen = 1;
		} else if (dirlen + namelen + 2 <= candlen) {
			memcpy(candidate, p, dirlen);
		} else {
			dirlen = 0;
		}
		if (dirlen > 0 && dirlen + namelen + 2 <= candlen) {
			candidate[dirlen] = '/';
			memcpy(candidate + dirlen + 1, argv[0], namelen + 1);
			execve(candidate, argv, envp);
			if (errno == EACCES)
				seen_eacces = 1;
			else if (errno != ENOENT && errno != ENOTDIR)
				goto fail;
		}
		if (*end == '\0')
			break;
	}
	errno = seen_eacces ? EACCES : ENOENT;
fail:
	*err = errno;
	_exit(127);
}

pid_t
spawn_job(const struct spawn_request *req, char *why, size_t whylen)
{
	const struct slot *slot = req->slot;
	volatile int stage = SPAWN_STAGE_NONE, err = 0;
	char **argv, **envp, candidate[4096], id_var[48], attempt_var[48];
	const char *cwd, *path;
	pid_t pid;

	argv = spawn_vector(slot->data, slot->argc, 0);
	envp = spawn_vector(slot->data + slot->argv_len, slot->envc, 2);
	if (argv == NULL || envp == NULL) {
		free(argv);
		free(envp);
		snprintf(why, whylen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	/* Like SLURM_JOB_ID: a job may want to know which one it is.
	 * First, so that they win over inherited ones of the same name. */
	snprintf(id_var, sizeof id_var, "FORQ_JOB_ID=%llu",
		 (unsigned long long)slot->job_id);
	snprintf(attempt_var, sizeof attempt_var, "FORQ_JOB_ATTEMPT=%u",
		 slot->attempt + 1);
	envp[0] = id_var;
	envp[1] = attempt_var;
	cwd = slot->data + slot->argv_len + slot->env_len;
	path = spawn_path_of(envp);

	pid = vfork();
	if (pid == 0)
		spawn_child(req, argv, envp, cwd, path, candidate,
			    sizeof candidate, &stage, &err);
	free(argv);
	free(envp);
	if (pid == -1) {
		snprintf(why, whylen, "cannot fork: %s", strerror(errno));
		return -1;
	}
	if (err == 0)
		return pid;
	/* The child told us why it could not exec; it has exited 127. */
	waitpid(pid, NULL, 0);
	switch (stage) {
	case SPAWN_STAGE_CHDIR:
		snprintf(why, whylen, "cannot change to directory %s: %s", cwd,
			 strerror(err));
		break;
	case SPAWN_STAGE_EXEC:
		snprintf(why, whylen, "cannot execute %s: %s", slot->data,
			 strerror(err));
		break;
	default:
		snprintf(why, whylen, "cannot set up the job: %s",
			 strerror(err));
		break;
	}
	errno = err;
	return -1;
}
