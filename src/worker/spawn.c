/* Starting a job: fork, then execve in the child. */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/spawn.h"

#define SPAWN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

struct spawn_report {
	int stage; /* enum spawn_stage */
	int err;
};

enum spawn_stage {
	SPAWN_STAGE_NONE,
	SPAWN_STAGE_CGROUP,
	SPAWN_STAGE_SETUP,
	SPAWN_STAGE_IDENTITY,
	SPAWN_STAGE_CHDIR,
	SPAWN_STAGE_STDIN, /* the files the user asked for, in this order */
	SPAWN_STAGE_STDOUT,
	SPAWN_STAGE_STDERR,
	SPAWN_STAGE_EXEC,
};

/* Splits a packed "a\0b\0" into a NULL-terminated vector. */
static char **
spawn_vector(const char *packed, uint32_t count)
{
	char **v = calloc(count + 1, sizeof *v);
	uint32_t i;

	if (v == NULL)
		return NULL;
	for (i = 0; i < count; i++) {
		v[i] = (char *)packed;
		packed += strlen(packed) + 1;
	}
	return v;
}

static bool
spawn_same_name(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");

	return strncmp(a, b, n) == 0 && b[n] == '=';
}

/* The job's environment: ours first (FORQ_JOB_ID, and HOME, USER,
 * LOGNAME, SHELL from the password database when it runs as another
 * user), then the submitted one without the names we set, so that no
 * name appears twice. */
static char **
spawn_environment(const char *packed, uint32_t count, char **ours, size_t n)
{
	char **v = calloc(count + n + 1, sizeof *v);
	size_t i, k, out = 0;

	if (v == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		v[out++] = ours[i];
	for (i = 0; i < count; i++, packed += strlen(packed) + 1) {
		for (k = 0; k < n && !spawn_same_name(ours[k], packed); k++)
			;
		if (k == n)
			v[out++] = (char *)packed;
	}
	return v;
}

int
spawn_identity_of(uid_t uid, struct spawn_identity *id, char *why,
		  size_t whylen)
{
	struct passwd *pw;
	int n = 64;

	memset(id, 0, sizeof *id);
	errno = 0;
	if ((pw = getpwuid(uid)) == NULL) {
		snprintf(why, whylen, "uid %u is not in the password database",
			 (unsigned)uid);
		return -1;
	}
	id->uid = uid;
	id->gid = pw->pw_gid;
	strlcpy(id->user, pw->pw_name, sizeof id->user);
	strlcpy(id->home, pw->pw_dir, sizeof id->home);
	strlcpy(id->shell, pw->pw_shell[0] ? pw->pw_shell : "/bin/sh",
		sizeof id->shell);
	for (;;) {
		if ((id->groups = reallocarray(id->groups, (size_t)n,
					       sizeof *id->groups)) == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		id->ngroups = n;
		if (getgrouplist(id->user, id->gid, id->groups, &id->ngroups) !=
		    -1)
			return 0;
		if (id->ngroups <= n) {
			snprintf(why, whylen, "cannot list the groups of %s",
				 id->user);
			return -1;
		}
		n = id->ngroups;
	}
}

void
spawn_identity_free(struct spawn_identity *id)
{
	free(id->groups);
	id->groups = NULL;
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

/* The job's limits, not forqd's: a limit that cannot be raised (forqd
 * is not root) is kept at the most it may have. */
static void
spawn_limits(const struct slot *slot)
{
	struct rlimit want, have;
	int i;

	umask((mode_t)slot->umask);
	for (i = 0; i < JOB_RLIMIT_COUNT; i++) {
		want.rlim_cur = slot->rlimits[i].soft;
		want.rlim_max = slot->rlimits[i].hard;
		if (setrlimit(rlimits_resource((enum job_rlimit)i), &want) ==
			0 ||
		    getrlimit(rlimits_resource((enum job_rlimit)i), &have) ==
			-1)
			continue;
		if (want.rlim_max > have.rlim_max)
			want.rlim_max = have.rlim_max;
		if (want.rlim_cur > want.rlim_max)
			want.rlim_cur = want.rlim_max;
		(void)setrlimit(rlimits_resource((enum job_rlimit)i), &want);
	}
}

/* The slot's file patterns (stdin, stdout, stderr) made paths, into
 * paths[i] (NULL: none): after cwd come the job's name and them. */
static void
spawn_file_paths(const struct slot *slot, char paths[3][4096], bool have[3])
{
	const char *at, *name, *pattern[3];
	size_t i;

	at = slot->data + slot->argv_len + slot->env_len + slot->cwd_len;
	name = at;
	at += strlen(at) + 1;
	pattern[1] = at; /* stdout */
	at += strlen(at) + 1;
	pattern[2] = at; /* stderr */
	at += strlen(at) + 1;
	pattern[0] = at; /* stdin */
	for (i = 0; i < 3; i++) {
		have[i] =
		    slot->files_len > 0 && pattern[i][0] != '\0' &&
		    job_path_expand(pattern[i], slot->job_id,
				    slot->array_id != 0, slot->array_index,
				    name[0] != '\0' ? name : NULL, paths[i],
				    sizeof paths[i]) == 0;
	}
}

/* The user's files as the job's stdin, stdout, stderr, opened as the
 * job's user in its directory, so that what they name is what that
 * user may open; made with the slot's file umask. -1 with the stage of
 * the file that failed. */
static int
spawn_open_files(const struct slot *slot, int *stage)
{
	char paths[3][4096];
	bool have[3];
	int fd, i, flags;
	mode_t old;

	if (slot->files_len == 0)
		return 0;
	spawn_file_paths(slot, paths, have);
	old = umask((mode_t)slot->file_umask);
	for (i = 0; i < 3; i++) {
		if (!have[i])
			continue;
		*stage = SPAWN_STAGE_STDIN + i;
		flags = i == 0 ? O_RDONLY
			       : O_WRONLY | O_CREAT |
				     ((slot->flags & SLOT_F_APPEND) ? O_APPEND
								    : O_TRUNC);
		if ((fd = open(paths[i], flags | O_NOCTTY, 0666)) == -1)
			return -1;
		if (dup2(fd, i) == -1)
			return -1;
		if (fd != i)
			close(fd);
	}
	umask(old);
	return 0;
}

/* Runs in the forked child, a copy of the worker: nothing it does, nor
 * a user stopping it, can hold the worker up. No return. */
static __attribute__((noreturn)) void
spawn_child(const struct spawn_request *req, char **argv, char **envp,
	    const char *cwd, const char *path, int report_fd)
{
	struct spawn_report report = {SPAWN_STAGE_NONE, 0};
	char candidate[4096];
	const size_t candlen = sizeof candidate;
	static const int defaults[] = {SIGINT,  SIGHUP,  SIGPIPE, SIGTERM,
				       SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2};
	const char *p, *end;
	size_t i, dirlen, namelen;
	sigset_t none;
	int32_t claimed;
	int seen_eacces = 0;

	/* Claimed first: a forqd that saw the worker die before this gave
	 * the slot up (-1) and queues the job again; then it must not run
	 * here too. */
	claimed = req->token;
	if (!__atomic_compare_exchange_n(req->pid_out, &claimed, getpid(),
					 false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST) &&
	    claimed != getpid()) /* its worker may have written it first */
		_exit(127);
	/* Into the slot's cgroup before anything else: all the job does,
	 * and every process it makes, is the group's. */
	report.stage = SPAWN_STAGE_CGROUP;
	for (i = 0; i < (size_t)req->ncg_fds; i++) {
		if (write(req->cg_fds[i], "0", 1) != 1)
			goto fail;
	}
	report.stage = SPAWN_STAGE_SETUP;
	/* Its worker's CPU is inherited; a gang's CPUs are set (joining a
	 * cpuset sets them too, but not everywhere: v2 keeps affinity). */
	if (req->slot->ncpus > 1 && sched_setaffinity(0, sizeof req->slot->cpus,
						      &req->slot->cpus) == -1)
		goto fail;
	for (i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		signal(defaults[i], SIG_DFL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1 ||
	    setpgid(0, 0) == -1 || dup2(req->stdin_fd, STDIN_FILENO) == -1 ||
	    dup2(req->stdout_fd, STDOUT_FILENO) == -1 ||
	    dup2(req->stderr_fd, STDERR_FILENO) == -1)
		goto fail;
	spawn_limits(req->slot);
	if (req->as != NULL) {
		/* Groups, then gid, then uid, each checked; and no way back. */
		report.stage = SPAWN_STAGE_IDENTITY;
		if (setgroups((size_t)req->as->ngroups, req->as->groups) ==
			-1 ||
		    setgid(req->as->gid) == -1 || setuid(req->as->uid) == -1)
			goto fail;
		if (getuid() != req->as->uid || geteuid() != req->as->uid ||
		    getgid() != req->as->gid || getegid() != req->as->gid ||
		    (req->as->uid != 0 && setuid(0) != -1)) {
			errno = EPERM;
			goto fail;
		}
	}
	report.stage = SPAWN_STAGE_CHDIR;
	if (chdir(cwd) == -1 ||
	    spawn_open_files(req->slot, &report.stage) == -1)
		goto fail;
	report.stage = SPAWN_STAGE_EXEC;
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
	/* The pipe closes on a successful exec; what comes through it is
	 * a failure, so exit status 127 never has to mean two things. */
	report.err = errno;
	(void)!write(report_fd, &report, sizeof report);
	_exit(127);
}

pid_t
spawn_job(const struct spawn_request *req, int *report_fd, char *why,
	  size_t whylen)
{
	const struct slot *slot = req->slot;
	char **argv, **envp, id_var[48], attempt_var[48], cpus_var[48];
	char array_var[48], index_var[48];
	char home[4200], user[300], logname[300], shell[4200];
	char *ours[9] = {id_var, attempt_var, cpus_var, array_var, index_var,
			 home,   user,        logname,  shell};
	size_t nours = 3;
	const char *cwd, *path;
	int report[2];
	pid_t pid;

	/* Like SLURM_JOB_ID: a job may want to know which one it is. */
	snprintf(id_var, sizeof id_var, "FORQ_JOB_ID=%llu",
		 (unsigned long long)slot->job_id);
	snprintf(attempt_var, sizeof attempt_var, "FORQ_JOB_ATTEMPT=%u",
		 slot->attempt + 1);
	snprintf(cpus_var, sizeof cpus_var, "FORQ_JOB_CPUS=%u",
		 slot->ncpus > 1 ? slot->ncpus : 1);
	/* Like SLURM_ARRAY_JOB_ID and SLURM_ARRAY_TASK_ID. */
	if (slot->array_id != 0) {
		snprintf(array_var, sizeof array_var, "FORQ_ARRAY_ID=%llu",
			 (unsigned long long)slot->array_id);
		snprintf(index_var, sizeof index_var, "FORQ_ARRAY_INDEX=%u",
			 slot->array_index);
		nours = 5;
	}
	if (req->as != NULL) {
		snprintf(home, sizeof home, "HOME=%s", req->as->home);
		snprintf(user, sizeof user, "USER=%s", req->as->user);
		snprintf(logname, sizeof logname, "LOGNAME=%s", req->as->user);
		snprintf(shell, sizeof shell, "SHELL=%s", req->as->shell);
		ours[nours++] = home;
		ours[nours++] = user;
		ours[nours++] = logname;
		ours[nours++] = shell;
	}
	argv = spawn_vector(slot->data, slot->argc);
	envp = spawn_environment(slot->data + slot->argv_len, slot->envc, ours,
				 nours);
	if (argv == NULL || envp == NULL) {
		free(argv);
		free(envp);
		snprintf(why, whylen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	cwd = slot->data + slot->argv_len + slot->env_len;
	path = spawn_path_of(envp);
	if (pipe2(report, O_CLOEXEC) == -1) {
		free(argv);
		free(envp);
		snprintf(why, whylen, "cannot make a pipe: %s",
			 strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0)
		spawn_child(req, argv, envp, cwd, path, report[1]);
	free(argv);
	free(envp);
	close(report[1]);
	if (pid == -1) {
		close(report[0]);
		snprintf(why, whylen, "cannot fork: %s", strerror(errno));
		return -1;
	}
	*report_fd = report[0];
	return pid;
}

int
spawn_failure(int report_fd, const struct slot *slot, char *why, size_t whylen)
{
	struct spawn_report r;
	const char *cwd = slot->data + slot->argv_len + slot->env_len;
	char paths[3][4096];
	bool have[3];
	ssize_t n;

	do
		n = read(report_fd, &r, sizeof r);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof r)
		return 0;
	switch (r.stage) {
	case SPAWN_STAGE_CHDIR:
		snprintf(why, whylen, "cannot change to directory %s: %s", cwd,
			 strerror(r.err));
		break;
	case SPAWN_STAGE_EXEC:
		snprintf(why, whylen, "cannot execute %s: %s", slot->data,
			 strerror(r.err));
		break;
	case SPAWN_STAGE_STDIN:
	case SPAWN_STAGE_STDOUT:
	case SPAWN_STAGE_STDERR:
		spawn_file_paths(slot, paths, have);
		snprintf(why, whylen, "cannot open its --%s file %s: %s",
			 r.stage == SPAWN_STAGE_STDIN    ? "stdin"
			 : r.stage == SPAWN_STAGE_STDOUT ? "stdout"
							 : "stderr",
			 paths[r.stage - SPAWN_STAGE_STDIN], strerror(r.err));
		break;
	case SPAWN_STAGE_IDENTITY:
		snprintf(why, whylen, "cannot become uid %u: %s",
			 (unsigned)slot->uid, strerror(r.err));
		break;
	case SPAWN_STAGE_CGROUP:
		snprintf(why, whylen, "cannot join its cgroup: %s",
			 strerror(r.err));
		break;
	default:
		snprintf(why, whylen, "cannot set up the job: %s",
			 strerror(r.err));
		break;
	}
	return 1;
}
