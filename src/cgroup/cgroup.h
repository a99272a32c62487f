/*
 * Job cgroups. forqd has a subtree of its own in the cgroup hierarchy,
 * named after its state directory so that two forqds never meet, and
 * in it one group per worker slot: made once, reused job after job (a
 * cgroup's mkdir and rmdir cost more than a job's fork), its counters
 * reset or read as a baseline before each job. A job's processes are
 * all in its slot's group, however they fork or setsid: that is how
 * the whole tree is signalled, killed and accounted.
 *
 * cgroup v2 (one unified hierarchy) and v1 (a hierarchy per controller:
 * memory, cpuacct, pids, freezer, cpuset, devices) are both spoken;
 * which one a host has is found at start, from /proc/self/mountinfo.
 *
 * Under systemd the subtree is in a scope of its own, apart from
 * forqd.service's cgroup, with forqd's workers: a restart of the
 * service must find its cgroup as systemd left it (on v2 systemd cannot
 * start a unit whose cgroup hands controllers down), and what the
 * workers run outlives forqd.
 *
 * The supervisor sets the subtree up (cg_detect, cg_create) and takes
 * it down; a worker opens its slots' groups (cg_slot_open) and drives
 * them job by job. Every path is taken from the tree, so tests point it
 * at a fake cgroupfs directory.
 */
#ifndef FORQ_CGROUP_H
#define FORQ_CGROUP_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct job_result;

enum cg_version {
	CG_NONE, /* no cgroup forqd may write: jobs run without one */
	CG_V1,
	CG_V2,
};

/* The controllers forq uses. On v1 each is a hierarchy (CG_CPU is
 * cpuacct there); on v2 they share one directory, base[CG_MEMORY].
 * CG_DEVICES is v1's alone (v2 holds devices by an eBPF program on the
 * group, devbpf.c), and left out where it cannot be written. */
enum cg_ctl {
	CG_MEMORY,
	CG_CPU,
	CG_PIDS,
	CG_FREEZER,
	CG_CPUSET,
	CG_DEVICES,
	CG_NCTL,
};

/* NVIDIA's GPUs are the character devices of this major, /dev/nvidiaN
 * its minor N. */
#define CG_NVIDIA_MAJOR 195

/* --- v2's devices: an eBPF program on the group (devbpf.c) --- */

/* A program that lets every device in but the character devices of
 * major whose minor is a bit of deny (minors past 63 are let in): its
 * descriptor, or -1 with errno. */
int cg_devbpf_load(uint32_t major, uint64_t deny);
/* Puts prog on the group (a descriptor of its directory) in place of
 * the one forqd put there before; -1 with errno. */
int cg_devbpf_attach(int group_fd, int prog_fd);
int cg_devbpf_detach(int group_fd, int prog_fd);
/* Whether this kernel loads such a program for forqd (bpf(2), its
 * CGROUP_DEVICE type, the privilege). */
bool cg_devbpf_works(void);

/* The hierarchies a process is moved into to be in forqd's scope: the
 * unified one and, on v1, systemd's own (name=systemd). */
#define CG_JOIN_MAX 2

/* A subtree's directories; "" for a v1 controller not mounted. */
struct cg_tree {
	enum cg_version version;
	char base[CG_NCTL][PATH_MAX];
	bool owned; /* made by cg_create: removed by cg_destroy */
	/* Under a scope of the service manager's (cg_detect_at): its path,
	 * and the directories a worker joins to live in it; "": none. */
	char scope[PATH_MAX];
	char join[CG_JOIN_MAX][PATH_MAX];
	int njoin;
	/* v2: the kernel loads forqd's device program (cg_devbpf_works),
	 * so that a job opens only its own GPUs. Set by the supervisor. */
	bool devbpf;
};

const char *cg_version_name(enum cg_version v);

/* --- the format of cgroup files (pure) --- */

/* A number, or "max" (UINT64_MAX); -1 if neither. */
int cg_parse_u64(const char *text, uint64_t *out);
/* The value of key in "key value" lines (cpu.stat, memory.events,
 * memory.oom_control, cpuacct.stat...); -1 if absent. */
int cg_parse_keyed(const char *text, const char *key, uint64_t *out);
/* The path of the cgroup of this process in /proc/self/cgroup's text:
 * v2's "0::" line when ctl is NULL, else the v1 line naming ctl; -1 if
 * none. */
int cg_parse_self(const char *text, const char *ctl, char *path, size_t len);

/* --- the supervisor's side --- */

/* Where forqd's subtree goes: mountinfo and self_cgroup are the paths
 * of /proc/self/mountinfo and /proc/self/cgroup (others in tests).
 * delegated: forqd's own cgroup is its to divide (systemd's
 * Delegate=yes); else, as root, the subtree hangs from each
 * hierarchy's root. instance names it. t->version is CG_NONE, with why
 * in err, where no hierarchy has what forq needs. */
void cg_detect(struct cg_tree *t, const char *mountinfo,
	       const char *self_cgroup, bool delegated, const char *instance,
	       char *err, size_t errlen);
/* The same, for a subtree in the cgroup at path (a scope made for forqd
 * by the service manager, delegated), in every hierarchy where the
 * manager made it; in the others (v1 controllers it does not handle) at
 * their root. */
void cg_detect_at(struct cg_tree *t, const char *mountinfo, const char *path,
		  const char *instance, char *err, size_t errlen);
/* Moves pid into the scope (a worker, when the subtree is in one): on
 * v2 into a leaf of it, as no process may stay beside the groups it
 * hands controllers to. 0 when there is no scope. */
int cg_join_scope(const struct cg_tree *t, pid_t pid);
/* The first process, the one that keeps the scope, moves into that leaf
 * (made here): before cg_create hands controllers down. Also without a
 * hierarchy forqd may write (version CG_NONE): the scope is where the
 * workers live, for them to outlive forqd's unit. */
int cg_scope_enter(const struct cg_tree *t, pid_t keeper);
/* Makes the subtree: -1 with err if it cannot be written (the caller
 * then runs without). On v2 the controllers are handed down, and,
 * delegated, forqd moves into a leaf of its own first. Processes a
 * previous forqd left in the slots' groups are killed, but for those of
 * the workers in keep (keep[w], w < nkeep: taken on, jobs and all). */
int cg_create(struct cg_tree *t, const bool *keep, size_t nkeep, char *err,
	      size_t errlen);
/* Removes the slots' groups and the subtree, where they are empty. */
void cg_destroy(struct cg_tree *t);
/* A made subtree can hold a job to CPUs of its own (the cpuset
 * controller is there). */
bool cg_has_cpuset(const struct cg_tree *t);

/* --- a worker's side: one slot's group --- */

/* A CPU list as cpuset.cpus has it, for any cpu_set_t. */
#define CG_CPUS_LEN 4096

/* What a job asks of its group. */
struct cg_limits {
	uint64_t mem;       /* bytes; 0: no limit */
	uint64_t tasks_max; /* processes; 0: no limit */
	/* Its CPUs as cpuset.cpus lists them ("3", "0-3"): written where
	 * the job is in a cpuset, which on v1 is only when it has CPUs of
	 * its own (gang); a one-CPU job is its worker's by affinity. */
	const char *cpus;
	bool gang;
	/* The GPUs (bits: their indexes) it may not open, where v1's
	 * devices controller is: those of [resources] not its own. */
	uint64_t gpu_deny;
};

/* What the group says of the job, since cg_slot_prepare. */
struct cg_stats {
	uint64_t user_us;
	uint64_t sys_us;
	uint64_t mem_peak;   /* bytes */
	uint64_t oom_kills;  /* by the OOM killer inside the group's limit */
	uint64_t procs_peak; /* most processes at once that were seen */
};

/* What a job's counts are taken from: set by cg_slot_prepare, grown
 * by the samples of cg_slot_count. A copy kept where the supervisor
 * finds it (the job's shm slot) lets it account for a job whose worker
 * died. */
struct cg_base {
	uint64_t oom_kills;       /* before this job */
	uint64_t user_us, sys_us; /* v2: before this job (v1 resets) */
	uint64_t procs_peak;      /* the job's, as far as seen */
};

/* The files a slot reads or writes at every job, kept open. */
enum cg_file_id {
	CG_F_PEAK,     /* v1 memory.max_usage_in_bytes, v2 memory.peak */
	CG_F_USAGE,    /* v1 memory.usage_in_bytes, v2 memory.current */
	CG_F_OOM,      /* v1 memory.oom_control, v2 memory.events */
	CG_F_CPU,      /* v1 cpuacct.usage, v2 cpu.stat */
	CG_F_CPU_USER, /* v1 cpuacct.usage_user */
	CG_F_CPU_SYS,  /* v1 cpuacct.usage_sys */
	CG_F_FREEZE,   /* v1 freezer.state */
	CG_F_KILL,     /* v2 cgroup.kill (Linux 5.14) */
	CG_F_TASKS,    /* pids.current */
	CG_NFILES,
};

struct cg_slot {
	enum cg_version version;
	char dir[CG_NCTL][PATH_MAX]; /* "" where the controller is missing */
	int join[CG_NCTL];           /* cgroup.procs, for the child */
	int njoin;                   /* without v1's cpuset, last in join */
	bool join_cpuset;            /* this job joins v1's cpuset too */
	int fd[CG_NFILES];           /* -1: not open (missing, or paths only) */
	bool memsw;                  /* v1: swap is accounted (memsw files) */
	bool plain;                  /* not a cgroupfs: a test's fake */
	bool has_cpuset;      /* v2: the cpuset controller is the group's */
	struct cg_limits set; /* what the group has now */
	bool devices_set;     /* set.gpu_deny is written */
	bool devbpf;          /* v2: by a device program (cg_tree's) */
	int dev_group;        /* v2: the group's directory, for it; -1 */
	char set_cpus[CG_CPUS_LEN]; /* cpuset.cpus as last written; "": unknown
				     */
	struct cg_base base;
	/* A process of the worker's in the group that is not the job's:
	 * the standby for the next job (spawn.h). Not counted, not
	 * signalled; it takes one of pids.max while it waits there. */
	pid_t spare;
};

/* Where the group of slot s of worker w is, without opening it: enough
 * to signal, kill or read it (from the supervisor, for a job whose
 * worker died). */
int cg_slot_paths(const struct cg_tree *t, int w, uint32_t s,
		  struct cg_slot *slot);
/* The group of slot s of worker w, made if missing; -1 with err. */
int cg_slot_open(const struct cg_tree *t, int w, uint32_t s,
		 struct cg_slot *slot, char *err, size_t errlen);
void cg_slot_close(struct cg_slot *slot);
/* Before a job: its limits, and counters that start from zero. */
int cg_slot_prepare(struct cg_slot *slot, const struct cg_limits *lim,
		    char *err, size_t errlen);
/* The descriptors a child writes "0" to, to join the group: the write
 * is the caller's (async-signal-safe, between fork and exec). */
const int *cg_slot_join_fds(const struct cg_slot *slot, int *n);
/* Those every job joins (not v1's cpuset, which only a gang does):
 * the first of cg_slot_join_fds', for a standby to join ahead. */
const int *cg_slot_standby_fds(const struct cg_slot *slot, int *n);
/* Every process in the group; sig to each. Returns how many. */
size_t cg_slot_signal(struct cg_slot *slot, int sig);
/* Kills every process in the group, including those forking as it
 * runs (v2: cgroup.kill; v1: freeze, kill, thaw). True if that took
 * the group's standby too (cgroup.kill spares none): it is dying, and
 * must not be handed a job. */
bool cg_slot_kill(struct cg_slot *slot);
/* sig to a job that is no worker's child any more (its worker died, or
 * is another forqd's): its process group (pid > 0), and all of slot s
 * of worker w (KILL: the cgroup's way, which catches what forks as it
 * goes). */
void cg_job_signal(const struct cg_tree *t, int w, uint32_t s, pid_t pid,
		   int sig);
/* Processes in the group now (0 on error). */
size_t cg_slot_count(struct cg_slot *slot);
/* The standby in the group now (pid; 0: none). */
void cg_slot_spare(struct cg_slot *slot, pid_t pid);
/* The job's first process has exited, not yet reaped: what is left of
 * the job is killed. spare_in: the standby is known to be in the group
 * (1) or not (0: it may be, which costs a look at the group's list).
 * True as cg_slot_kill's. */
bool cg_slot_end(struct cg_slot *slot, unsigned spare_in);
void cg_slot_stats(struct cg_slot *slot, struct cg_stats *st);
/* What a running job's group uses now, read by path (cg_slot_paths,
 * with slot->base the job's): CPU since the job started (µs) and
 * memory (bytes); -1 if the group has no such counters. */
int cg_slot_usage(const struct cg_slot *slot, uint64_t *cpu_us, uint64_t *mem);
/* The job's end as its group tells it: the CPU, peak memory and
 * processes of all of it; and, when oom_failed (it failed, and was not
 * stopped by forqd) and the OOM killer struck in its group, an error
 * that says so with its limit (mem, 0: none) and peak. */
void cg_job_result(const struct cg_stats *st, uint64_t mem, bool oom_failed,
		   struct job_result *r);

#endif
