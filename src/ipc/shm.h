/*
 * The shared memory region, mapped once before the first worker is
 * forked: a header and the scoreboard, one cache line aligned entry per
 * possible worker. Each field has exactly one writing process; the
 * other side only reads it to monitor.
 */
#ifndef FORQ_SHM_H
#define FORQ_SHM_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/cgroup.h"
#include "core/rlimits.h"
#include "core/job.h"

#define SHM_MAGIC 0x666f7271u /* "forq" */
/* Bump when the layout below changes (FORQ_LAYOUT_NEXT: channel.h), or
 * the meaning of what it holds: 8, the numbers of the final states in
 * a result moved up one for held; 9, a slot's array task; 10, its
 * files; 11, a spawn's token in pid until its child claims the slot;
 * 12, the start time a worker writes in its slot; 13, the GPUs a job
 * may not open. */
#ifdef FORQ_LAYOUT_NEXT
#define SHM_VERSION 1010
#else
#define SHM_VERSION 13
#endif
#define SHM_LAST_EXIT_MAX 96

enum sb_state {
	SB_EMPTY = 0, /* no worker planned here */
	SB_STARTING,  /* forked, not yet ready */
	SB_READY,
	SB_RETIRING,   /* told to finish and exit */
	SB_RESTARTING, /* dead, restart pending (backoff) */
	SB_HELD,       /* crash loop: held, retried later */
	SB_FAILED,     /* exited with the fatal configuration code */
	SB_STOPPED,
	SB_DRAINING, /* a worker of another layout holds its CPU to its
		      * jobs' end: none is started here until then */
};

struct sb_worker {
	/* Written by the supervisor. */
	int32_t pid;
	int32_t cpu;
	uint32_t state;
	uint32_t restarts;
	int64_t started_ns;  /* CLOCK_MONOTONIC */
	int64_t retry_at_ns; /* RESTARTING, HELD: next start */
	int64_t adopted_ns;  /* CLOCK_REALTIME: taken on from a previous
				forqd then; 0: forked by this one */
	char last_exit[SHM_LAST_EXIT_MAX];

	/* Written by the worker. */
	int64_t heartbeat_ns; /* CLOCK_MONOTONIC */
	uint64_t loops;       /* event loop turns */
	uint64_t messages;    /* control messages received */
	uint64_t jobs_started;
	uint64_t jobs_done;
} __attribute__((aligned(64)));

/*
 * A job slot. The supervisor fills a FREE slot and sends its number
 * (RUN); from then the worker owns it and moves it on: ACCEPTED when it
 * reads the message, SPAWNING before it forks (the child writes its own
 * pid), SPAWNED, EXITED once the result is filled in (before the job is
 * reaped), DONE once it is; then DONE goes back to
 * the supervisor, which frees it. The message on the channel is the
 * handoff, so the payload needs no lock; the state and pid let the
 * supervisor settle a slot whose worker died.
 */
enum slot_state {
	SLOT_FREE = 0,
	SLOT_SENT,
	SLOT_ACCEPTED,
	SLOT_SPAWNING,
	SLOT_SPAWNED,
	SLOT_EXITED, /* result written, job being reaped */
	SLOT_DONE,
};

#define SLOT_F_HOOK 1   /* a job's on-finish command, not a job */
#define SLOT_F_APPEND 2 /* its --stdout and --stderr files: appended to */
#define SLOT_F_SPREAD 4 /* one CPU's job on any of cpus (pin_jobs = no) */

/* The last end of a job in a slot, kept by the worker until the commit
 * that records it: then the supervisor clears job_id. A worker whose
 * forqd died before that has it as its evidence, to be told again. */
struct slot_end {
	uint64_t job_id; /* 0: none to keep; written last, read first */
	uint32_t attempt;
	uint32_t pad;
	struct job_result result;
};

struct slot {
	uint32_t state;
	uint32_t flags; /* SLOT_F_* */
	uint32_t attempt;
	uint64_t job_id;
	uint64_t array_id; /* a task of an array: its id; 0: none */
	uint32_t array_index;
	int64_t timeout_ms;
	int64_t kill_grace_ms;
	uint64_t output_max;
	uint64_t mem;       /* its cgroup's memory limit, bytes; 0: none */
	uint64_t tasks_max; /* its cgroup's pids limit; 0: none */
	uint64_t gpu_deny;  /* the GPUs (bits: indexes) it may not open */
	/* A job with CPUs of its own (a gang of workers): their set, and
	 * how many; ncpus 1: its worker's CPU, as every other job. */
	uint32_t ncpus;
	cpu_set_t cpus;
	/* The worker's copy of what the job's cgroup counts start from:
	 * the supervisor accounts with it for a job whose worker died. */
	struct cg_base cg_base;
	uint32_t uid;
	uint32_t gid;
	uint32_t umask;
	struct job_rlimit_value rlimits[JOB_RLIMIT_COUNT];
	uint32_t argc;
	uint32_t envc;
	uint32_t argv_len;
	uint32_t env_len;
	uint32_t cwd_len;
	/* After cwd: its name, then the patterns of its --stdout, --stderr
	 * and --stdin files, each NUL-ended ("": none); and the umask of
	 * the files it makes. */
	uint32_t files_len;
	uint32_t file_umask;
	/* The job's pid; before its child claims it, its spawn's token
	 * (below -1); -1: forqd gave the slot up. */
	int32_t pid;
	/* When the worker started it (CLOCK_REALTIME, just before the
	 * spawn); 0: not yet. Read, as the pid, where the supervisor needs
	 * it: no message per start says either. */
	int64_t start_ns;
	struct job_result result;
	struct slot_end last;
	char data[]; /* argv, env, cwd, then files_len: NUL-separated */
};

struct shm_header {
	uint32_t magic;
	uint32_t version;
	uint32_t workers_max;
	uint32_t slots_per_worker;
	uint64_t slot_size;
	/* Written by the supervisor of a cluster node: when its lease runs
	 * out (CLOCK_MONOTONIC) unless renewed; 0 on one host. A worker
	 * left alone keeps its jobs no longer: after it, another node may
	 * run them. */
	int64_t lease_until_ns;
};

struct shm {
	int fd; /* the memfd; -1 once attached from another's */
	void *base;
	size_t size;
	struct shm_header *header;
	struct sb_worker *workers;
	char *slots;
	uint32_t slots_per_worker;
	size_t slot_size;
};

/* slot_data: bytes each slot holds for argv, env and cwd. */
int shm_create(struct shm *shm, uint32_t workers_max, uint32_t slots_per_worker,
	       size_t slot_data);
/* Maps the region of a memfd another process made (a worker taken on
 * by a new forqd): -1 with errno (EPROTO: another layout). */
int shm_attach(struct shm *shm, int fd);
struct slot *shm_slot(const struct shm *shm, uint32_t worker, uint32_t slot);
void shm_destroy(struct shm *shm);
const char *sb_state_name(enum sb_state state);

/* The heartbeat is read across processes: relaxed atomics suffice,
 * since a reader only needs some recent value, not an ordering. */
static inline void
sb_set_heartbeat(struct sb_worker *sb, int64_t ns)
{
	__atomic_store_n(&sb->heartbeat_ns, ns, __ATOMIC_RELAXED);
}

static inline int64_t
sb_heartbeat(const struct sb_worker *sb)
{
	return __atomic_load_n(&sb->heartbeat_ns, __ATOMIC_RELAXED);
}

static inline void
shm_set_lease_until(struct shm_header *h, int64_t ns)
{
	__atomic_store_n(&h->lease_until_ns, ns, __ATOMIC_RELAXED);
}

static inline int64_t
shm_lease_until(const struct shm_header *h)
{
	return __atomic_load_n(&h->lease_until_ns, __ATOMIC_RELAXED);
}

#endif
