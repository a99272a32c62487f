/* A job's child, from its clone to its exec: the job's limits, files,
 * identity and groups, all by system calls that leave the worker's
 * memory (errno included) alone (spawn_int.h). */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/compat.h"
#include "core/rlimits.h"
#include "worker/spawn_int.h"

/* The job's limits, not forqd's: a limit that cannot be raised (forqd
 * is not root) is kept at the most it may have. */
SPAWN_NO_SANITIZE static void
spawn_limits(const struct slot *slot, const struct rlimit *inherited)
{
	struct rlimit want, have;
	int i, res;

	SYS1(SYS_umask, slot->umask);
	for (i = 0; i < JOB_RLIMIT_COUNT; i++) {
		res = rlimits_resource((enum job_rlimit)i);
		want.rlim_cur = slot->rlimits[i].soft;
		want.rlim_max = slot->rlimits[i].hard;
		if ((want.rlim_cur == inherited[i].rlim_cur &&
		     want.rlim_max == inherited[i].rlim_max) ||
		    SYS4(SYS_prlimit64, 0, res, &want, NULL) == 0 ||
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

bool
spawn_has_files(const struct slot *slot)
{
	const char *pattern[3];

	spawn_patterns(slot, pattern);
	return pattern[0][0] != '\0' || pattern[1][0] != '\0' ||
	       pattern[2][0] != '\0';
}

/* The slot's file patterns (stdin, stdout, stderr) made paths, into
 * paths[i] (have[i] false: none). */
void
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
	spawn_limits(ss->req.slot, ss->inherited);
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

SPAWN_NO_SANITIZE int
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
SPAWN_NO_SANITIZE int
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
