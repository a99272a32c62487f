/* Starting a job: a child that shares the worker's memory until its
 * exec, or a forked copy (see spawn.h). */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
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

#include "common/compat.h"
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

struct spawn_slot;

/* The most descriptors a standby is handed: stdin, stdout, stderr and
 * the job's groups. */
#define SPAWN_HANDED_MAX (3 + 8)

/* A process cloned ahead of its job, on stack k of its slot: it joins
 * the slot's groups at once, keeps none of the worker's descriptors but
 * its end of the slot's socket, and waits there to be handed its job's
 * descriptors: then it is the slot's next job. */
struct spawn_standby {
	struct spawn_slot *ss;
	const int *cg_fds; /* the groups it joins first */
	int ncg_fds;
	int sock;       /* its end of the slot's socket */
	int32_t joined; /* 0: joining, 1: in the groups, -errno: failed */
};

/* What the worker sends a standby, with the descriptors. */
struct spawn_go {
	pid_t to; /* a dead standby's message is not the next one's */
	int nfds;
};

/* Everything the child reads, kept by its slot from the spawn until
 * its job has ended: a child sharing the worker's memory reads it while
 * the worker goes on, so none of it may be on the worker's stack. */
struct spawn_slot {
	/* Two stacks (SPAWN_STACK_SIZE, a guard page at the low end of
	 * each): a standby for the next job is cloned while this job's
	 * child may still be on the other, before its exec. A stack is
	 * free once the last process cloned on it has exited (its pidfd
	 * says so; -1: none, or none is kept). */
	char *stack[2];
	int on_stack[2];
	int next;    /* the stack of the slot's next clone */
	pid_t spare; /* the standby, on stack spare_k; 0: none */
	int spare_k;
	/* One per stack, as no two standbys are ever on one: the worker
	 * sends on [k][0], the standby on stack k reads [k][1]. */
	int sock[2][2];
	struct spawn_standby standby[2];
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
	bool pidfds;   /* pidfd_open works: stacks are known free */
	bool standbys; /* and close_range: standbys */
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
	if (sp->shared_vm) {
		int fd = sys_pidfd_open(getpid());

		sp->pidfds = fd != -1;
		if (fd != -1)
			close(fd);
		/* Linux 5.9: a standby drops the worker's descriptors. */
		sp->standbys =
		    sp->pidfds && syscall(SYS_close_range, ~0U, ~0U, 0) == 0;
	}
	for (i = 0; i < nslots; i++) {
		struct spawn_slot *ss = &sp->slots[i];

		ss->report = &sp->reports[i];
		ss->on_stack[0] = ss->on_stack[1] = -1;
		ss->sock[0][0] = ss->sock[0][1] = -1;
		ss->sock[1][0] = ss->sock[1][1] = -1;
		if (sp->standbys &&
		    (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				ss->sock[0]) == -1 ||
		     socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				ss->sock[1]) == -1))
			sp->standbys = false;
	}
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
	int k;

	if (sp == NULL)
		return;
	for (i = 0; i < sp->nslots; i++) {
		spawn_dismiss(sp, i);
		spawn_slot_clear(&sp->slots[i]);
		for (k = 0; k < 2; k++) {
			if (sp->slots[i].on_stack[k] != -1)
				close(sp->slots[i].on_stack[k]);
			/* A stack whose process may still run on it stays. */
			if (sp->slots[i].stack[k] != NULL &&
			    sp->slots[i].on_stack[k] == -1)
				munmap(sp->slots[i].stack[k], SPAWN_STACK_SIZE);
			if (sp->slots[i].sock[k][0] != -1)
				close(sp->slots[i].sock[k][0]);
			if (sp->slots[i].sock[k][1] != -1)
				close(sp->slots[i].sock[k][1]);
		}
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
 * kernel (and no sanitizer, whose state is the worker's). The first
 * joined of the request's groups it is in already. No return. */
SPAWN_NO_SANITIZE static void
spawn_run(struct spawn_slot *ss, const int io[3], const int *cg, int ncg,
	  int joined)
{
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
	for (i = (size_t)joined; i < (size_t)ncg; i++) {
		if ((r = SYS3(SYS_write, cg[i], "0", 1)) != 1) {
			r = r < 0 ? r : -EIO;
			goto fail;
		}
	}
	report.stage = SPAWN_STAGE_SETUP;
	/* Its worker's CPU is inherited; a gang's CPUs are set (joining a
	 * cpuset sets them too, but not everywhere: v2 keeps affinity). */
	if (ss->req.affinity &&
	    (r = SYS3(SYS_sched_setaffinity, 0, sizeof ss->req.slot->cpus,
		      &ss->req.slot->cpus)) < 0)
		goto fail;
	for (i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		(void)SYS4(SYS_rt_sigaction, defaults[i], &dfl, NULL,
			   sizeof none);
	if ((r = SYS2(SYS_setpgid, 0, 0)) < 0 ||
	    (r = spawn_dup2(io[0], STDIN_FILENO)) < 0 ||
	    (r = spawn_dup2(io[1], STDOUT_FILENO)) < 0 ||
	    (r = spawn_dup2(io[2], STDERR_FILENO)) < 0)
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
}

SPAWN_NO_SANITIZE static int
spawn_child(void *arg)
{
	struct spawn_slot *ss = arg;
	const int io[3] = {ss->req.stdin_fd, ss->req.stdout_fd,
			   ss->req.stderr_fd};

	spawn_run(ss, io, ss->req.cg_fds, ss->req.ncg_fds, 0);
	return 127;
}

/* A signal sent to the standby's group for the job before (a TERM at
 * its timeout) waits, blocked; it is not for the next job. Ignoring a
 * signal drops it. */
SPAWN_NO_SANITIZE static void
spawn_drop_pending(void)
{
	const struct spawn_ksigaction ign = {.handler = SIG_IGN}, dfl = {0};
	unsigned long pending = 0;
	int sig;

	if (SYS2(SYS_rt_sigpending, &pending, sizeof pending) < 0 ||
	    pending == 0)
		return;
	for (sig = 1; sig <= 64; sig++) {
		if (!(pending & (1UL << (sig - 1))) || sig == SIGKILL ||
		    sig == SIGSTOP)
			continue;
		(void)SYS4(SYS_rt_sigaction, sig, &ign, NULL, sizeof pending);
		(void)SYS4(SYS_rt_sigaction, sig, &dfl, NULL, sizeof pending);
	}
}

/* Closes every descriptor from 3 up but the n of keep (sorted here). */
SPAWN_NO_SANITIZE static long
spawn_close_others(int *keep, int n)
{
	unsigned from = 3;
	int i, k, t;
	long r;

	for (i = 1; i < n; i++) /* insertion sort: a handful */
		for (k = i; k > 0 && keep[k - 1] > keep[k]; k--) {
			t = keep[k];
			keep[k] = keep[k - 1];
			keep[k - 1] = t;
		}
	for (i = 0; i < n; i++) {
		if (keep[i] < (int)from)
			continue;
		if (keep[i] > (int)from &&
		    (r = SYS3(SYS_close_range, from, keep[i] - 1, 0)) < 0)
			return r;
		from = (unsigned)keep[i] + 1;
	}
	return SYS3(SYS_close_range, from, ~0U, 0);
}

/* The standby: into the slot's groups now, while the slot's job runs
 * (joining a cgroup waits for an RCU grace period, milliseconds, when
 * none was joined lately), then asleep until its job comes. It keeps
 * none of the worker's descriptors meanwhile (a dead worker's lock or
 * socket must not outlive it): its job's come with the message. */
SPAWN_NO_SANITIZE static int
spawn_standby_main(void *arg)
{
	struct spawn_standby *w = arg;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(SPAWN_HANDED_MAX * sizeof(int))];
	} ctl;
	struct spawn_go go;
	struct iovec iov = {.iov_base = &go, .iov_len = sizeof go};
	struct msghdr msg;
	struct cmsghdr *c;
	const int *fds;
	int keep[SPAWN_HANDED_MAX];
	pid_t me;
	long r;
	int i, n;

	/* Nothing of the worker's is held a moment longer than needed: a
	 * dead worker's lock and sockets must go with it. What a dead
	 * worker leaves is its end of the socket closed: then the standby
	 * goes too, once it has read what was sent before (a job handed to
	 * it runs, as any job outlives its worker). */
	if (w->ncg_fds > SPAWN_HANDED_MAX - 3)
		SYS1(SYS_exit_group, 0);
	for (i = 0; i < w->ncg_fds; i++)
		keep[i] = w->cg_fds[i];
	keep[i] = w->sock;
	if (spawn_close_others(keep, w->ncg_fds + 1) < 0)
		SYS1(SYS_exit_group, 0);
	for (i = 0; i < w->ncg_fds; i++) {
		if ((r = SYS3(SYS_write, w->cg_fds[i], "0", 1)) != 1) {
			__atomic_store_n(&w->joined, r < 0 ? (int32_t)r : -EIO,
					 __ATOMIC_RELEASE);
			break;
		}
	}
	if (i == w->ncg_fds)
		__atomic_store_n(&w->joined, 1, __ATOMIC_RELEASE);
	for (i = 0; i < w->ncg_fds; i++)
		SYS1(SYS_close, w->cg_fds[i]);
	me = (pid_t)SYS0(SYS_getpid);
	for (;;) {
		/* Field by field: no library call (a sanitizer's memset). */
		msg.msg_name = NULL;
		msg.msg_namelen = 0;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof ctl.buf;
		msg.msg_flags = 0;
		r = SYS3(SYS_recvmsg, w->sock, &msg, MSG_CMSG_CLOEXEC);
		if (r == -EINTR)
			continue;
		if (r != sizeof go)
			SYS1(SYS_exit_group, 0); /* the worker is gone */
		c = CMSG_FIRSTHDR(&msg);
		n = c != NULL && c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS
			? (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int))
			: 0;
		fds = n > 0 ? (const int *)(const void *)CMSG_DATA(c) : NULL;
		if (go.to == me && n == go.nfds && n >= 3)
			break;
		for (i = 0; i < n; i++) /* another's, or torn */
			SYS1(SYS_close, fds[i]);
	}
	spawn_drop_pending();
	/* One that could not join tries again, as the job, and says why. */
	spawn_run(w->ss, fds, fds + 3, n - 3,
		  __atomic_load_n(&w->joined, __ATOMIC_ACQUIRE) == 1
		      ? w->ncg_fds
		      : 0);
	return 127;
}

/* Stack k is free: the last process cloned on it has exited, or none
 * was (or, with no pidfds, the slot's last job has ended). */
static bool
spawn_stack_free(struct spawn_slot *ss, int k)
{
	struct pollfd p = {.fd = ss->on_stack[k], .events = POLLIN};

	if (ss->on_stack[k] == -1)
		return true;
	if (poll(&p, 1, 0) != 1)
		return false;
	close(ss->on_stack[k]);
	ss->on_stack[k] = -1;
	return true;
}

/* Stack k of the slot, made on its first use. */
static char *
spawn_stack_top(struct spawn_slot *ss, int k)
{
	void *p;

	if (ss->stack[k] == NULL) {
		p = mmap(NULL, SPAWN_STACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		if (mprotect(p, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE) ==
		    -1) {
			munmap(p, SPAWN_STACK_SIZE);
			return NULL;
		}
		ss->stack[k] = p;
	}
	return ss->stack[k] + SPAWN_STACK_SIZE;
}

/* A free stack of the slot (the one after the last used, if it is);
 * -1 if none is. */
static int
spawn_pick_stack(struct spawn_slot *ss)
{
	if (spawn_stack_free(ss, ss->next))
		return ss->next;
	if (spawn_stack_free(ss, !ss->next))
		return !ss->next;
	return -1;
}

/* Clones fn on stack k of the slot, kept as taken by the child (its
 * pidfd) where pidfds work. */
static pid_t
spawn_clone(struct spawner *sp, struct spawn_slot *ss, int k, int (*fn)(void *),
	    void *arg, int flags)
{
	char *top;
	pid_t pid;

	if (k == -1) {
		errno = EBUSY;
		return -1;
	}
	if ((top = spawn_stack_top(ss, k)) == NULL)
		return -1;
	if ((pid = clone(fn, top, flags | CLONE_VM | SIGCHLD, arg)) == -1)
		return -1;
	/* A stack whose process cannot be watched is left to it (unmapped
	 * never): the slot makes another. */
	if (sp->pidfds && (ss->on_stack[k] = sys_pidfd_open(pid)) == -1)
		ss->stack[k] = NULL;
	ss->next = !k;
	return pid;
}

/* The standby is alive: its stack's process has not exited. */
static bool
spawn_spare_alive(struct spawn_slot *ss)
{
	struct pollfd p = {.fd = ss->on_stack[ss->spare_k], .events = POLLIN};

	return ss->spare != 0 && ss->on_stack[ss->spare_k] != -1 &&
	       poll(&p, 1, 0) == 0 &&
	       __atomic_load_n(&ss->standby[ss->spare_k].joined,
			       __ATOMIC_ACQUIRE) >= 0;
}

/* Hands the standby its job: the descriptors of the request. */
static int
spawn_standby_go(struct spawn_slot *ss, const struct spawn_request *req)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(SPAWN_HANDED_MAX * sizeof(int))];
	} ctl;
	int fds[SPAWN_HANDED_MAX], n = 3, i;
	struct spawn_go go = {.to = ss->spare};
	struct iovec iov = {.iov_base = &go, .iov_len = sizeof go};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf};
	struct cmsghdr *c;

	if (req->ncg_fds > SPAWN_HANDED_MAX - 3)
		return -1;
	fds[0] = req->stdin_fd;
	fds[1] = req->stdout_fd;
	fds[2] = req->stderr_fd;
	for (i = 0; i < req->ncg_fds; i++)
		fds[n++] = req->cg_fds[i];
	go.nfds = n;
	memset(ctl.buf, 0, sizeof ctl.buf);
	msg.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
	return sendmsg(ss->sock[ss->spare_k][0], &msg,
		       MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof go
		   ? 0
		   : -1;
}

pid_t
spawn_standby(struct spawner *sp, uint32_t slot_no, const int *cg_fds,
	      int ncg_fds)
{
	struct spawn_slot *ss = &sp->slots[slot_no];
	struct spawn_standby *w;
	sigset_t all, old;
	pid_t pid;
	int k;

	if (!sp->standbys)
		return 0;
	if (ss->spare != 0)
		return ss->spare;
	/* What a standby that died unread left on its stack's socket, the
	 * next one there reads and drops (it is not to it). */
	if ((k = spawn_pick_stack(ss)) == -1)
		return 0; /* the last standbys not gone yet: next time */
	w = &ss->standby[k];
	*w = (struct spawn_standby){.ss = ss,
				    .cg_fds = cg_fds,
				    .ncg_fds = ncg_fds,
				    .sock = ss->sock[k][1]};
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = spawn_clone(sp, ss, k, spawn_standby_main, w, 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1)
		return -1;
	if (ss->on_stack[k] == -1) { /* not watched: not used */
		kill(pid, SIGKILL);
		return 0;
	}
	ss->spare = pid;
	ss->spare_k = k;
	return pid;
}

unsigned
spawn_standby_in(const struct spawner *sp, uint32_t slot_no)
{
	const struct spawn_slot *ss = &sp->slots[slot_no];

	return ss->spare != 0 &&
	       __atomic_load_n(&ss->standby[ss->spare_k].joined,
			       __ATOMIC_ACQUIRE) == 1;
}

void
spawn_dismiss(struct spawner *sp, uint32_t slot_no)
{
	struct spawn_slot *ss = &sp->slots[slot_no];

	if (ss->spare == 0)
		return;
	/* Its stack is not used again before its pidfd says it is gone. */
	(void)syscall(SYS_pidfd_send_signal, ss->on_stack[ss->spare_k], SIGKILL,
		      NULL, 0);
	ss->spare = 0;
}

pid_t
spawn_job(struct spawner *sp, uint32_t slot_no, const struct spawn_request *req,
	  char *why, size_t whylen)
{
	struct spawn_slot *ss = &sp->slots[slot_no];
	const struct slot *slot = req->slot;
	size_t nvars = 3;
	sigset_t all, old;
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
	/* The standby, in the slot's groups already, becomes the job. */
	if (sp->shared_vm && !ss->files && spawn_spare_alive(ss) &&
	    spawn_standby_go(ss, req) == 0) {
		pid = ss->spare;
		ss->spare = 0;
		return pid;
	}
	spawn_dismiss(sp, slot_no);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	/* Opening a file of the job's waits as long as it takes (a FIFO,
	 * for its other end): a forked copy does that, with memory and an
	 * errno of its own. So does a job whose slot has no stack free
	 * (its standbys not gone yet). */
	if (!sp->shared_vm || ss->files ||
	    (pid = spawn_clone(sp, ss, spawn_pick_stack(ss), spawn_child, ss,
			       0)) == -1) {
		if ((pid = fork()) == 0)
			spawn_child(ss);
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
