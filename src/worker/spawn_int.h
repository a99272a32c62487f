/*
 * Between the worker's side of a spawn (spawn.c: stacks, standbys, the
 * clone and its report) and the child's (spawn_child.c: what runs from
 * the clone to the exec). The child may share the worker's memory: it
 * reads what its slot keeps and writes nothing of the worker's.
 */
#ifndef FORQ_SPAWN_INT_H
#define FORQ_SPAWN_INT_H

#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "core/rlimits.h"
#include "ipc/shm.h"
#include "worker/spawn.h"

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
static inline long
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
	/* The worker's limits, which every clone of it starts with: a job
	 * limit equal to one is not set again (some ten system calls a
	 * job less when the submitter's are forqd's). */
	const struct rlimit *inherited; /* JOB_RLIMIT_COUNT, the spawner's */
	char vars[9][4200];             /* FORQ_JOB_ID=... HOME=... */
};

#if defined(__clang__) || __GNUC__ >= 8
#define SPAWN_NO_SANITIZE __attribute__((no_sanitize("address", "undefined")))
#else
#define SPAWN_NO_SANITIZE
#endif

/* The clone's entry points: a job's child (arg: its struct
 * spawn_slot), and a standby (arg: its struct spawn_standby). */
SPAWN_NO_SANITIZE int spawn_child(void *arg);
SPAWN_NO_SANITIZE int spawn_standby_main(void *arg);
/* The job asked for files of its own (--stdin, --stdout, --stderr). */
bool spawn_has_files(const struct slot *slot);
/* Their paths, expanded; have[i]: stream i has one. */
void spawn_file_paths(const struct slot *slot, char paths[3][4096],
		      bool have[3]);

#endif
