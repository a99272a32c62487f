/*
 * Starting a job: a child in its own process group, with default
 * signals, stdin from /dev/null and its output files, the job's limits
 * and umask, its user, its cwd and environment; PATH is searched in the
 * job's environment, as the job's user.
 *
 * The child shares the worker's memory until its exec (clone with
 * CLONE_VM, on a stack of the slot's own), but not CLONE_VFORK: the
 * worker goes on at once, and nothing the job's user does to the child
 * before its exec (SIGSTOP) can hold the worker up. A fork would copy
 * the worker's page tables and every mapping of its libraries only for
 * the exec to throw them away: that was most of what a short job cost
 * its worker. So the child reads only what its slot keeps for it until
 * the job has ended, and calls the kernel directly, never setting the
 * errno it shares with the worker. A job with --stdin, --stdout or
 * --stderr files is forked (its file names are expanded by library
 * code), and so is every job where raw system calls are not written
 * for the CPU (all but x86-64) or under valgrind, which runs no clone
 * that shares memory without sharing a thread group.
 *
 * A failed start is reported in memory shared with the worker (even a
 * forked child's), so "not found" never hides behind exit status 127.
 *
 * Where jobs have cgroups, the child that runs a slot's next job is
 * cloned ahead as a standby and joins the slot's groups while the last
 * job still runs (spawn_standby; DESIGN.md says why and its rules).
 */
#ifndef FORQ_SPAWN_H
#define FORQ_SPAWN_H

#include <sys/types.h>

#include <stdbool.h>

#include "ipc/shm.h"

struct spawner;

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
	/* The child claims it first thing, its pid in place of token (below
	 * -1); one that finds anything else but its pid (-1: forqd gave the
	 * slot up, its worker dead) exits unrun. */
	int32_t *pid_out;
	int32_t token;
	const int *cg_fds; /* cgroup.procs of the job's cgroup, to join */
	int ncg_fds;
	/* The job's CPUs are slot->cpus, not its worker's: a gang's, or any
	 * worker's (SLOT_F_SPREAD). */
	bool affinity;
};

/* Fills id from the password and group databases; -1 with why. Called
 * before the fork, in the worker. */
int spawn_identity_of(uid_t uid, struct spawn_identity *id, char *why,
		      size_t whylen);
void spawn_identity_free(struct spawn_identity *id);

/* What a child that never got to its exec says. */
struct spawn_report {
	int stage; /* 0: none, the exec happened */
	int err;
};

/* Starts the jobs of nslots slots; NULL if out of memory. */
struct spawner *spawner_new(uint32_t nslots);
void spawner_free(struct spawner *sp);

/* Starts slot_no's job; returns the child's pid, or -1 with why[]
 * saying what failed and errno set. */
pid_t spawn_job(struct spawner *sp, uint32_t slot_no,
		const struct spawn_request *req, char *why, size_t whylen);
/* A standby for slot_no's next job, in the groups of cg_fds (the first
 * ncg_fds of the job's own, kept open by the caller): cloned now, it
 * joins them at once and waits. Joining a cgroup waits for an RCU grace
 * period (several milliseconds) unless one was joined a moment before,
 * which a job would spend idle before its exec; the standby spends it
 * while the slot's last job still runs. Its pid (already one: that
 * one), 0 where there are none (no shared memory or no pidfds; a stack
 * still taken), -1 if the clone failed. spawn_job uses it when it is
 * alive and in its groups, and starts a child as before otherwise. */
pid_t spawn_standby(struct spawner *sp, uint32_t slot_no, const int *cg_fds,
		    int ncg_fds);
/* 1 if the slot has a standby that is in all its groups. */
unsigned spawn_standby_in(const struct spawner *sp, uint32_t slot_no);
/* Tells the slot's standby to leave (draining, retiring, exiting). */
void spawn_dismiss(struct spawner *sp, uint32_t slot_no);
/* After the child exited: 1 and why[] if it never got to exec (what
 * failed: joining its cgroup, becoming the user, chdir, exec), 0 if it
 * did. */
int spawn_failure(struct spawner *sp, uint32_t slot_no, const struct slot *slot,
		  char *why, size_t whylen);

#endif
