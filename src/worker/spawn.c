/* Starting a job: a child that shares the worker's memory until its
 * exec, or a forked copy (see spawn.h). */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef FORQ_HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "core/rlimits.h"
#include "worker/spawn.h"

#define SPAWN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
/* The child's stack: its frames hold a path of PATH_MAX and little
 * else; pages it never touches cost nothing. */
#define SPAWN_STACK_SIZE (128 * 1024)

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

/* The system calls of the child. A child that shares the worker's
 * memory shares its errno too (one thread-local word, at the same
 * address): the child must not write it while the worker runs on, so
 * its calls go to the kernel directly and return -errno. */
#if defined(__x86_64__)
#define SPAWN_SHARED_VM 1
static inline long
spawn_sys(long n, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}
#else
/* Elsewhere the child is always a forked copy, its errno its own. */
static long
spawn_sys(long n, long a, long b, long c, long d)
{
	long ret = syscall(n, a, b, c, d);

	return ret == -1 ? -errno : ret;
}
#endif
#define SYS0(n) spawn_sys((n), 0, 0, 0, 0)
#define SYS1(n, a) spawn_sys((n), (long)(a), 0, 0, 0)
#define SYS2(n, a, b) spawn_sys((n), (long)(a), (long)(b), 0, 0)
#define SYS3(n, a, b, c) spawn_sys((n), (long)(a), (long)(b), (long)(c), 0)
#define SYS4(n, a, b, c, d)                                                    \
	spawn_sys((n), (long)(a), (long)(b), (long)(c), (long)(d))

/* The kernel's struct sigaction, for SIG_DFL: no handler, no restorer. */
struct spawn_ksigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

/* Everything the child reads, kept by its slot from the spawn until
 * its job has ended: a child sharing the worker's memory reads it while
 * the worker goes on, so none of it may be on the worker's stack. */
struct spawn_slot {
	char *stack; /* SPAWN_STACK_SIZE, a guard page at its low end */
	/* The request's copy; its as is not kept (on the caller's stack):
	 * the identity the child needs is copied below. */
	struct spawn_request req;
	char **argv;
	char **envp;
	const char *cwd;
	const char *path;
	bool files; /* --stdin, --stdout, --stderr: forked */
	bool as;    /* become uid, gid, groups */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
	struct spawn_report *report;
	char vars[9][4200]; /* FORQ_JOB_ID=... HOME=... */
};

struct spawner {
	uint32_t nslots;
	bool shared_vm;
	struct spawn_report *reports; /* MAP_SHARED: a forked child's too */
	struct spawn_slot slots[];
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
spawn_environment(const char *packed, uint32_t count, char vars[][4200],
		  size_t n)
{
	char **v = calloc(count + n + 1, sizeof *v);
	size_t i, k, out = 0;

	if (v == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		v[out++] = vars[i];
	for (i = 0; i < count; i++, packed += strlen(packed) + 1) {
		for (k = 0; k < n && !spawn_same_name(vars[k], packed); k++)
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

struct spawner *
spawner_new(uint32_t nslots)
{
	struct spawner *sp;
	void *p;
	uint32_t i;

	if ((sp = calloc(1, sizeof *sp + nslots * sizeof sp->slots[0])) == NULL)
		return NULL;
	p = mmap(NULL, nslots * sizeof *sp->reports, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		free(sp);
		return NULL;
	}
	sp->reports = p;
	sp->nslots = nslots;
#ifdef SPAWN_SHARED_VM
	sp->shared_vm = true;
#endif
#ifdef FORQ_HAVE_VALGRIND_H
	/* valgrind runs no clone that shares memory but CLONE_THREAD's. */
	if (RUNNING_ON_VALGRIND)
		sp->shared_vm = false;
#endif
	for (i = 0; i < nslots; i++)
		sp->slots[i].report = &sp->reports[i];
	return sp;
}

/* The last job's vectors and groups: its child has left. */
static void
spawn_slot_clear(struct spawn_slot *ss)
{
	free(ss->argv);
	free(ss->envp);
	free(ss->groups);
	ss->argv = ss->envp = NULL;
	ss->groups = NULL;
}

void
spawner_free(struct spawner *sp)
{
	uint32_t i;

	if (sp == NULL)
		return;
	for (i = 0; i < sp->nslots; i++) {
		spawn_slot_clear(&sp->slots[i]);
		if (sp->slots[i].stack != NULL)
			munmap(sp->slots[i].stack, SPAWN_STACK_SIZE);
	}
	munmap(sp->reports, sp->nslots * sizeof *sp->reports);
	free(sp);
}

#if defined(__clang__) || __GNUC__ >= 8
#define SPAWN_NO_SANITIZE __attribute__((no_sanitize("address", "undefined")))
#else
#define SPAWN_NO_SANITIZE
#endif

/* The job's limits, not forqd's: a limit that cannot be raised (forqd
 * is not root) is kept at the most it may have. */
SPAWN_NO_SANITIZE static void
spawn_limits(const struct slot *slot)
{
	struct rlimit want, have;
	int i, res;

	SYS1(SYS_umask, slot->umask);
	for (i = 0; i < JOB_RLIMIT_COUNT; i++) {
		res = rlimits_resource((enum job_rlimit)i);
		want.rlim_cur = slot->rlimits[i].soft;
		want.rlim_max = slot->rlimits[i].hard;
		if (SYS4(SYS_prlimit64, 0, res, &want, NULL) == 0 ||
		    SYS4(SYS_prlimit64, 0, res, NULL, &have) < 0)
			continue;
		if (want.rlim_max > have.rlim_max)
			want.rlim_max = have.rlim_max;
		if (want.rlim_cur > want.rlim_max)
			want.rlim_cur = want.rlim_max;
		(void)SYS4(SYS_prlimit64, 0, res, &want, NULL);
	}
}

/* After cwd come the job's name and its file patterns (stdout, stderr,
 * stdin; empty: none); pattern[] in the order stdin, stdout, stderr. */
static const char *
spawn_patterns(const struct slot *slot, const char *pattern[3])
{
	const char *at, *name;

	if (slot->files_len == 0) {
		pattern[0] = pattern[1] = pattern[2] = "";
		return "";
	}
	at = slot->data + slot->argv_len + slot->env_len + slot->cwd_len;
	name = at;
	at += strlen(at) + 1;
	pattern[1] = at; /* stdout */
	at += strlen(at) + 1;
	pattern[2] = at; /* stderr */
	at += strlen(at) + 1;
	pattern[0] = at; /* stdin */
	return name;
}

static bool
spawn_has_files(const struct slot *slot)
{
	const char *pattern[3];

	spawn_patterns(slot, pattern);
	return pattern[0][0] != '\0' || pattern[1][0] != '\0' ||
	       pattern[2][0] != '\0';
}

/* The slot's file patterns (stdin, stdout, stderr) made paths, into
 * paths[i] (have[i] false: none). */
static void
spawn_file_paths(const struct slot *slot, char paths[3][4096], bool have[3])
{
	const char *name, *pattern[3];
	size_t i;

	name = spawn_patterns(slot, pattern);
	for (i = 0; i < 3; i++) {
		have[i] =
		    pattern[i][0] != '\0' &&
		    job_path_expand(pattern[i], slot->job_id,
				    slot->array_id != 0, slot->array_index,
				    name[0] != '\0' ? name : NULL, paths[i],
				    sizeof paths[i]) == 0;
	}
}

/* The user's files as the job's stdin, stdout, stderr, opened as the
 * job's user in its directory, so that what they name is what that
 * user may open; made with the slot's file umask. Only in a forked
 * child (opening a FIFO waits for its other end). -err with the stage
 * of the file that failed. */
static long
spawn_open_files(const struct slot *slot, int *stage)
{
	char paths[3][4096];
	bool have[3];
	long fd, r;
	int i, flags;

	spawn_file_paths(slot, paths, have);
	SYS1(SYS_umask, slot->file_umask);
	for (i = 0; i < 3; i++) {
		if (!have[i])
			continue;
		*stage = SPAWN_STAGE_STDIN + i;
		flags = i == 0 ? O_RDONLY
			       : O_WRONLY | O_CREAT |
				     ((slot->flags & SLOT_F_APPEND) ? O_APPEND
								    : O_TRUNC);
		if ((fd = SYS4(SYS_openat, AT_FDCWD, paths[i], flags | O_NOCTTY,
			       0666)) < 0)
			return fd;
		if (fd != i) {
			r = SYS3(SYS_dup3, fd, i, 0);
			SYS1(SYS_close, fd);
			if (r < 0)
				return r;
		}
	}
	SYS1(SYS_umask, slot->umask);
	return 0;
}

SPAWN_NO_SANITIZE static size_t
spawn_strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

SPAWN_NO_SANITIZE static long
spawn_dup2(int from, int to)
{
	return from == to ? to : SYS3(SYS_dup3, from, to, 0);
}

/* Runs in the child, in the worker's memory (or a forked copy of it),
 * on the slot's own stack, while the worker goes on: it reads only
 * ss, writes only its report and the slot's pid, and calls only the
 * kernel (and no sanitizer, whose state is the worker's). No return. */
SPAWN_NO_SANITIZE static int
spawn_child(void *arg)
{
	struct spawn_slot *ss = arg;
	static const int defaults[] = {SIGINT,  SIGHUP,  SIGPIPE, SIGTERM,
				       SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2};
	const struct spawn_ksigaction dfl = {0};
	unsigned long none = 0;
	struct spawn_report report = {SPAWN_STAGE_NONE, 0};
	char candidate[4096];
	const size_t candlen = sizeof candidate;
	const char *p, *end, *name = ss->argv[0];
	size_t i, dirlen, namelen;
	int32_t claimed, me;
	long r = 0, seen_eacces = 0;

	/* Claimed first: a forqd that saw the worker die before this gave
	 * the slot up (-1) and queues the job again; then it must not run
	 * here too. */
	me = (int32_t)SYS0(SYS_getpid);
	claimed = ss->req.token;
	if (!__atomic_compare_exchange_n(ss->req.pid_out, &claimed, me, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) &&
	    claimed != me) /* its worker may have written it first */
		SYS1(SYS_exit_group, 127);
	/* Into the slot's cgroup before anything else: all the job does,
	 * and every process it makes, is the group's. */
	report.stage = SPAWN_STAGE_CGROUP;
	for (i = 0; i < (size_t)ss->req.ncg_fds; i++) {
		if ((r = SYS3(SYS_write, ss->req.cg_fds[i], "0", 1)) != 1) {
			r = r < 0 ? r : -EIO;
			goto fail;
		}
	}
	report.stage = SPAWN_STAGE_SETUP;
	/* Its worker's CPU is inherited; a gang's CPUs are set (joining a
	 * cpuset sets them too, but not everywhere: v2 keeps affinity). */
	if (ss->req.slot->ncpus > 1 &&
	    (r = SYS3(SYS_sched_setaffinity, 0, sizeof ss->req.slot->cpus,
		      &ss->req.slot->cpus)) < 0)
		goto fail;
	for (i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		(void)SYS4(SYS_rt_sigaction, defaults[i], &dfl, NULL,
			   sizeof none);
	if ((r = SYS2(SYS_setpgid, 0, 0)) < 0 ||
	    (r = spawn_dup2(ss->req.stdin_fd, STDIN_FILENO)) < 0 ||
	    (r = spawn_dup2(ss->req.stdout_fd, STDOUT_FILENO)) < 0 ||
	    (r = spawn_dup2(ss->req.stderr_fd, STDERR_FILENO)) < 0)
		goto fail;
	spawn_limits(ss->req.slot);
	if (ss->as) {
		/* Groups, then gid, then uid, each checked; and no way back. */
		report.stage = SPAWN_STAGE_IDENTITY;
		if ((r = SYS2(SYS_setgroups, ss->ngroups, ss->groups)) < 0 ||
		    (r = SYS3(SYS_setresgid, ss->gid, ss->gid, ss->gid)) < 0 ||
		    (r = SYS3(SYS_setresuid, ss->uid, ss->uid, ss->uid)) < 0)
			goto fail;
		if ((uid_t)SYS0(SYS_getuid) != ss->uid ||
		    (uid_t)SYS0(SYS_geteuid) != ss->uid ||
		    (gid_t)SYS0(SYS_getgid) != ss->gid ||
		    (gid_t)SYS0(SYS_getegid) != ss->gid ||
		    (ss->uid != 0 && SYS3(SYS_setresuid, 0, 0, 0) >= 0)) {
			r = -EPERM;
			goto fail;
		}
	}
	report.stage = SPAWN_STAGE_CHDIR;
	if ((r = SYS1(SYS_chdir, ss->cwd)) < 0)
		goto fail;
	if (ss->files &&
	    (r = spawn_open_files(ss->req.slot, &report.stage)) < 0)
		goto fail;
	report.stage = SPAWN_STAGE_EXEC;
	/* Signals come through only now, the job's own from here on. */
	if ((r = SYS4(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL,
		      sizeof none)) < 0)
		goto fail;
	for (p = name; *p != '\0' && *p != '/'; p++)
		;
	if (*p == '/') {
		r = SYS3(SYS_execve, name, ss->argv, ss->envp);
		goto fail;
	}
	namelen = spawn_strlen(name);
	for (p = ss->path;; p = end + 1) {
		for (end = p; *end != '\0' && *end != ':'; end++)
			;
		dirlen = (size_t)(end - p);
		if (dirlen == 0) {
			candidate[0] = '.';
			dirlen = 1;
		} else if (dirlen + namelen + 2 <= candlen) {
			for (i = 0; i < dirlen; i++)
				candidate[i] = p[i];
		} else {
			dirlen = 0;
		}
		if (dirlen > 0 && dirlen + namelen + 2 <= candlen) {
			candidate[dirlen] = '/';
			for (i = 0; i <= namelen; i++)
				candidate[dirlen + 1 + i] = name[i];
			r = SYS3(SYS_execve, candidate, ss->argv, ss->envp);
			if (r == -EACCES)
				seen_eacces = 1;
			else if (r != -ENOENT && r != -ENOTDIR)
				goto fail;
		}
		if (*end == '\0')
			break;
	}
	r = seen_eacces ? -EACCES : -ENOENT;
fail:
	/* A report with a stage is a failure, so that exit status 127
	 * never has to mean two things. */
	report.err = (int)-r;
	*ss->report = report;
	SYS1(SYS_exit_group, 127);
	return 127;
}

/* The slot's stack, made on its first job. */
static char *
spawn_stack_top(struct spawn_slot *ss)
{
	void *p;

	if (ss->stack == NULL) {
		p = mmap(NULL, SPAWN_STACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		if (mprotect(p, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE) ==
		    -1) {
			munmap(p, SPAWN_STACK_SIZE);
			return NULL;
		}
		ss->stack = p;
	}
	return ss->stack + SPAWN_STACK_SIZE;
}

pid_t
spawn_job(struct spawner *sp, uint32_t slot_no, const struct spawn_request *req,
	  char *why, size_t whylen)
{
	struct spawn_slot *ss = &sp->slots[slot_no];
	const struct slot *slot = req->slot;
	size_t nvars = 3;
	sigset_t all, old;
	char *stack;
	pid_t pid;

	/* The slot's last child has long exited: its job has ended. */
	spawn_slot_clear(ss);
	/* Like SLURM_JOB_ID: a job may want to know which one it is. */
	snprintf(ss->vars[0], sizeof ss->vars[0], "FORQ_JOB_ID=%llu",
		 (unsigned long long)slot->job_id);
	snprintf(ss->vars[1], sizeof ss->vars[1], "FORQ_JOB_ATTEMPT=%u",
		 slot->attempt + 1);
	snprintf(ss->vars[2], sizeof ss->vars[2], "FORQ_JOB_CPUS=%u",
		 slot->ncpus > 1 ? slot->ncpus : 1);
	/* Like SLURM_ARRAY_JOB_ID and SLURM_ARRAY_TASK_ID. */
	if (slot->array_id != 0) {
		snprintf(ss->vars[3], sizeof ss->vars[3], "FORQ_ARRAY_ID=%llu",
			 (unsigned long long)slot->array_id);
		snprintf(ss->vars[4], sizeof ss->vars[4], "FORQ_ARRAY_INDEX=%u",
			 slot->array_index);
		nvars = 5;
	}
	ss->as = req->as != NULL;
	if (req->as != NULL) {
		snprintf(ss->vars[nvars++], sizeof ss->vars[0], "HOME=%s",
			 req->as->home);
		snprintf(ss->vars[nvars++], sizeof ss->vars[0], "USER=%s",
			 req->as->user);
		snprintf(ss->vars[nvars++], sizeof ss->vars[0], "LOGNAME=%s",
			 req->as->user);
		snprintf(ss->vars[nvars++], sizeof ss->vars[0], "SHELL=%s",
			 req->as->shell);
		ss->uid = req->as->uid;
		ss->gid = req->as->gid;
		ss->ngroups = req->as->ngroups;
		if ((ss->groups = calloc((size_t)ss->ngroups + 1,
					 sizeof *ss->groups)) != NULL)
			memcpy(ss->groups, req->as->groups,
			       (size_t)ss->ngroups * sizeof *ss->groups);
	}
	ss->argv = spawn_vector(slot->data, slot->argc);
	ss->envp = spawn_environment(slot->data + slot->argv_len, slot->envc,
				     ss->vars, nvars);
	if (ss->argv == NULL || ss->envp == NULL ||
	    (req->as != NULL && ss->groups == NULL)) {
		spawn_slot_clear(ss);
		snprintf(why, whylen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	ss->req = *req;
	ss->req.as = NULL;
	ss->files = spawn_has_files(slot);
	ss->cwd = slot->data + slot->argv_len + slot->env_len;
	ss->path = spawn_path_of(ss->envp);
	*ss->report = (struct spawn_report){SPAWN_STAGE_NONE, 0};
	/* No handler of the worker's may run in the child; it clears the
	 * mask just before its exec. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	/* Opening a file of the job's waits as long as it takes (a FIFO,
	 * for its other end): a forked copy does that, with memory and an
	 * errno of its own. */
	if (!sp->shared_vm || ss->files) {
		if ((pid = fork()) == 0)
			spawn_child(ss);
	} else if ((stack = spawn_stack_top(ss)) == NULL) {
		pid = -1;
	} else {
		pid = clone(spawn_child, stack, CLONE_VM | SIGCHLD, ss);
	}
	if (pid == -1)
		snprintf(why, whylen, "cannot start a process: %s",
			 strerror(errno));
	sigprocmask(SIG_SETMASK, &old, NULL);
	return pid;
}

int
spawn_failure(struct spawner *sp, uint32_t slot_no, const struct slot *slot,
	      char *why, size_t whylen)
{
	const char *cwd = slot->data + slot->argv_len + slot->env_len;
	struct spawn_report r = sp->reports[slot_no];
	char paths[3][4096];
	bool have[3];

	/* Its child has exited: nothing of the job's is used any more. */
	spawn_slot_clear(&sp->slots[slot_no]);
	if (r.stage == SPAWN_STAGE_NONE)
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
