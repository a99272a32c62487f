/* Starting a job: a child that shares the worker's memory until its
 * exec, or a forked copy (see spawn.h); the child's side is
 * spawn_child.c's. */
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
#include "worker/spawn_int.h"

#define SPAWN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
/* The child's stack: its frames hold a path of PATH_MAX and little
 * else; pages it never touches cost nothing. */
#define SPAWN_STACK_SIZE (128 * 1024)

struct spawner {
	uint32_t nslots;
	bool shared_vm;
	bool pidfds;   /* pidfd_open works: stacks are known free */
	bool standbys; /* and close_range: standbys */
	struct spawn_report *reports; /* MAP_SHARED: a forked child's too */
	struct rlimit
	    inherited[JOB_RLIMIT_COUNT]; /* read once, for all slots */
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

/* One that cannot be read is set at every spawn: no job's equals a
 * soft limit above its hard one. */
static void
spawn_inherited_limits(struct rlimit inherited[JOB_RLIMIT_COUNT])
{
	int i;

	for (i = 0; i < JOB_RLIMIT_COUNT; i++) {
		if (getrlimit(rlimits_resource((enum job_rlimit)i),
			      &inherited[i]) == -1)
			inherited[i] =
			    (struct rlimit){.rlim_cur = RLIM_INFINITY,
					    .rlim_max = 0};
	}
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
	spawn_inherited_limits(sp->inherited);
	for (i = 0; i < nslots; i++) {
		struct spawn_slot *ss = &sp->slots[i];

		ss->report = &sp->reports[i];
		ss->inherited = sp->inherited;
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
