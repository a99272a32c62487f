/*
 * One worker slot's cgroup, job after job: limits, counters reset or
 * read as a baseline, the job's processes signalled, killed and
 * counted, what it used. A worker's side of job cgroups (and the
 * supervisor's, for a job whose worker died).
 */
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/magic.h>

#include "cgroup/cgroup.h"
#include "cgroup/fs.h"
#include "common/units.h"
#include "core/job.h"

/* A v1 group's page cache past this, left by the last job, is given
 * back before the next starts (force_empty), so that it does not count
 * in the next one's peak. */
#define CG_LEFTOVER_MAX (1024 * 1024)
/* Reads of freezer.state while the group freezes, before killing it
 * anyway (a task in D state may keep it FREEZING). */
#define CG_FREEZE_TRIES 2000
/* Rounds of reading cgroup.procs and signalling what is new. */
#define CG_KILL_ROUNDS 64
#define CG_PIDS_MAX 4096

int
cg_slot_paths(const struct cg_tree *t, int w, uint32_t s, struct cg_slot *slot)
{
	int i;

	memset(slot, 0, sizeof *slot);
	slot->version = t->version;
	slot->devbpf = t->version == CG_V2 && t->devbpf;
	slot->dev_group = -1;
	for (i = 0; i < CG_NCTL; i++)
		slot->join[i] = -1;
	for (i = 0; i < CG_NFILES; i++)
		slot->fd[i] = -1;
	for (i = 0; i < CG_NCTL; i++) {
		if (t->base[i][0] == '\0' ||
		    (t->version == CG_V2 && i != CG_MEMORY))
			continue;
		if ((size_t)snprintf(slot->dir[i], sizeof slot->dir[i],
				     "%s/w%ds%u", t->base[i], w,
				     s) >= sizeof slot->dir[i]) {
			errno = ENAMETOOLONG;
			return -1;
		}
	}
	/* v2: one directory serves every controller. */
	if (t->version == CG_V2)
		for (i = 1; i < CG_NCTL; i++)
			strlcpy(slot->dir[i], slot->dir[CG_MEMORY],
				sizeof slot->dir[i]);
	return 0;
}

/* The files read or written at every job, kept open: a pread on an
 * open cgroup file costs a tenth of an open, read and close. */
struct cg_file {
	enum cg_ctl ctl;
	const char *name;
	int flags;
};

static const struct cg_file cg_v1_files[CG_NFILES] = {
    [CG_F_PEAK] = {CG_MEMORY, "memory.max_usage_in_bytes", O_RDWR},
    [CG_F_USAGE] = {CG_MEMORY, "memory.usage_in_bytes", O_RDONLY},
    [CG_F_OOM] = {CG_MEMORY, "memory.oom_control", O_RDONLY},
    [CG_F_CPU] = {CG_CPU, "cpuacct.usage", O_RDWR},
    [CG_F_CPU_USER] = {CG_CPU, "cpuacct.usage_user", O_RDONLY},
    [CG_F_CPU_SYS] = {CG_CPU, "cpuacct.usage_sys", O_RDONLY},
    [CG_F_FREEZE] = {CG_FREEZER, "freezer.state", O_RDWR},
    [CG_F_TASKS] = {CG_PIDS, "pids.current", O_RDONLY},
};

static const struct cg_file cg_v2_files[CG_NFILES] = {
    [CG_F_PEAK] = {CG_MEMORY, "memory.peak", O_RDWR},
    [CG_F_USAGE] = {CG_MEMORY, "memory.current", O_RDONLY},
    [CG_F_OOM] = {CG_MEMORY, "memory.events", O_RDONLY},
    [CG_F_CPU] = {CG_MEMORY, "cpu.stat", O_RDONLY},
    [CG_F_KILL] = {CG_MEMORY, "cgroup.kill", O_WRONLY},
    [CG_F_TASKS] = {CG_MEMORY, "pids.current", O_RDONLY},
};

/* Those a slot cannot do without. */
static const bool cg_v1_needed[CG_NFILES] =
    {[CG_F_PEAK] = true, [CG_F_USAGE] = true,    [CG_F_OOM] = true,
     [CG_F_CPU] = true,  [CG_F_CPU_USER] = true, [CG_F_CPU_SYS] = true};
static const bool cg_v2_needed[CG_NFILES] =
    {[CG_F_USAGE] = true, [CG_F_OOM] = true, [CG_F_CPU] = true};

static ssize_t
cg_fd_read(int fd, char *buf, size_t len)
{
	ssize_t n;

	if (fd == -1 || (n = pread(fd, buf, len - 1, 0)) < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

static int
cg_fd_u64(int fd, uint64_t *out)
{
	char buf[64];

	if (cg_fd_read(fd, buf, sizeof buf) == -1)
		return -1;
	return cg_parse_u64(buf, out);
}

static int
cg_fd_keyed(int fd, const char *key, uint64_t *out)
{
	char buf[4096];

	if (cg_fd_read(fd, buf, sizeof buf) == -1)
		return -1;
	return cg_parse_keyed(buf, key, out);
}

static int
cg_fd_write(const struct cg_slot *slot, int fd, const char *value)
{
	size_t len = strlen(value);

	if (fd == -1 || pwrite(fd, value, len, 0) != (ssize_t)len)
		return -1;
	/* A plain file (a test's fake cgroupfs) keeps what was past it. */
	if (slot->plain)
		(void)!ftruncate(fd, (off_t)len);
	return 0;
}

int
cg_slot_open(const struct cg_tree *t, int w, uint32_t s, struct cg_slot *slot,
	     char *err, size_t errlen)
{
	const struct cg_file *files =
	    t->version == CG_V2 ? cg_v2_files : cg_v1_files;
	const bool *needed = t->version == CG_V2 ? cg_v2_needed : cg_v1_needed;
	char path[PATH_MAX + 64];
	struct statfs fs;
	int i = 0;

	if (cg_slot_paths(t, w, s, slot) == -1)
		goto fail;
	if (t->version == CG_NONE)
		return 0;
	for (i = 0; i < CG_NCTL; i++) {
		if (slot->dir[i][0] == '\0' ||
		    (t->version == CG_V2 && i == CG_DEVICES))
			continue;
		if (i == CG_DEVICES && cg_mkdir(slot->dir[i]) == -1) {
			slot->dir[i][0] = '\0';
			continue;
		}
		if (cg_mkdir(slot->dir[i]) == -1 ||
		    (t->version == CG_V1 && i == CG_CPUSET &&
		     cg_cpuset_init(slot->dir[i]) == -1))
			goto fail;
		/* One job CPU is its worker's, by affinity: a v1 job joins
		 * the cpuset hierarchy only when it has CPUs of its own. */
		if (i == CG_CPUSET)
			continue;
		snprintf(path, sizeof path, "%s/cgroup.procs", slot->dir[i]);
		if ((slot->join[slot->njoin++] =
			 open(path, O_WRONLY | O_CLOEXEC)) == -1)
			goto fail;
		if (t->version == CG_V2)
			break;
	}
	if (t->version == CG_V1 && slot->dir[CG_CPUSET][0] != '\0') {
		i = CG_CPUSET;
		snprintf(path, sizeof path, "%s/cgroup.procs", slot->dir[i]);
		if ((slot->join[slot->njoin] =
			 open(path, O_WRONLY | O_CLOEXEC)) == -1)
			goto fail;
	}
	for (i = 0; i < CG_NFILES; i++) {
		if (files[i].name == NULL)
			continue;
		snprintf(path, sizeof path, "%s/%s", slot->dir[files[i].ctl],
			 files[i].name);
		slot->fd[i] = open(path, files[i].flags | O_CLOEXEC);
		if (slot->fd[i] == -1 && needed[i]) {
			snprintf(err, errlen, "cgroup %s: %s", path,
				 strerror(errno));
			cg_slot_close(slot);
			return -1;
		}
	}
	slot->memsw =
	    cg_exists(slot->dir[CG_MEMORY], "memory.memsw.limit_in_bytes");
	slot->has_cpuset = t->version == CG_V2 &&
			   cg_exists(slot->dir[CG_MEMORY], "cpuset.cpus");
	slot->plain = fstatfs(slot->fd[CG_F_USAGE], &fs) == 0 &&
		      fs.f_type != CGROUP_SUPER_MAGIC &&
		      fs.f_type != CGROUP2_SUPER_MAGIC;
	slot->set.mem = slot->set.tasks_max = UINT64_MAX; /* unknown */
	return 0;
fail:
	snprintf(err, errlen, "cgroup %s: %s", slot->dir[i < CG_NCTL ? i : 0],
		 strerror(errno));
	cg_slot_close(slot);
	return -1;
}

void
cg_slot_close(struct cg_slot *slot)
{
	int i;

	for (i = 0; i < CG_NCTL; i++) {
		if (slot->join[i] != -1)
			close(slot->join[i]);
		slot->join[i] = -1;
	}
	for (i = 0; i < CG_NFILES; i++) {
		if (slot->fd[i] != -1)
			close(slot->fd[i]);
		slot->fd[i] = -1;
	}
	if (slot->dev_group != -1)
		close(slot->dev_group);
	slot->dev_group = -1;
	slot->njoin = 0;
}

const int *
cg_slot_join_fds(const struct cg_slot *slot, int *n)
{
	*n = slot->njoin + (slot->join_cpuset ? 1 : 0);
	return slot->join;
}

const int *
cg_slot_standby_fds(const struct cg_slot *slot, int *n)
{
	*n = slot->njoin;
	return slot->join;
}

/* cpuset.cpus in dir, written only when it changes. */
static int
cg_set_cpus(struct cg_slot *slot, const char *dir, const char *cpus)
{
	if (cpus == NULL || strcmp(cpus, slot->set_cpus) == 0)
		return 0;
	if (cg_write_at(dir, "cpuset.cpus", cpus) == -1) {
		slot->set_cpus[0] = '\0';
		return -1;
	}
	strlcpy(slot->set_cpus, cpus, sizeof slot->set_cpus);
	return 0;
}

static void
cg_fmt_limit(uint64_t v, char *buf, size_t len, const char *none)
{
	if (v == 0)
		strlcpy(buf, none, len);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* pids.max in dir: the job's, and nothing more for the worker's
 * standby that waits in the group for the next job: it joins after the
 * job has started (a move into a group is not held to pids.max), and
 * one more allowed for it was the job's to take until it came (a job
 * of tasks_max = 24 started 24 processes besides itself). So while the
 * standby waits there, the job has one fewer. */
static int
cg_set_tasks_max(struct cg_slot *slot, const char *dir, uint64_t max)
{
	char val[32];

	if (max == slot->set.tasks_max)
		return 0;
	cg_fmt_limit(max, val, sizeof val, "max");
	if (cg_write_at(dir, "pids.max", val) == -1)
		return -1;
	slot->set.tasks_max = max;
	return 0;
}

void
cg_slot_spare(struct cg_slot *slot, pid_t pid)
{
	slot->spare = pid;
}

static int cg_set_devices(struct cg_slot *slot, uint64_t deny);

static int
cg_prepare_v1(struct cg_slot *slot, const struct cg_limits *lim)
{
	const char *mem = slot->dir[CG_MEMORY];
	char val[32];
	uint64_t used;

	if (lim->mem != slot->set.mem) {
		cg_fmt_limit(lim->mem, val, sizeof val, "-1");
		/* memsw may never be below the memory limit: lift it, set
		 * the limit, then bring it down to the same, so that the job
		 * gets no swap beyond its limit. */
		if ((slot->memsw &&
		     cg_write_at(mem, "memory.memsw.limit_in_bytes", "-1") ==
			 -1) ||
		    cg_write_at(mem, "memory.limit_in_bytes", val) == -1 ||
		    (slot->memsw && lim->mem != 0 &&
		     cg_write_at(mem, "memory.memsw.limit_in_bytes", val) ==
			 -1))
			return -1;
		slot->set.mem = lim->mem;
	}
	if (cg_fd_u64(slot->fd[CG_F_USAGE], &used) == 0 &&
	    used > CG_LEFTOVER_MAX)
		(void)cg_write_at(mem, "memory.force_empty", "0");
	if (cg_fd_write(slot, slot->fd[CG_F_PEAK], "0") == -1 ||
	    cg_fd_keyed(slot->fd[CG_F_OOM], "oom_kill",
			&slot->base.oom_kills) == -1 ||
	    cg_fd_write(slot, slot->fd[CG_F_CPU], "0") == -1)
		return -1;
	slot->base.user_us = slot->base.sys_us = 0;
	if (cg_set_tasks_max(slot, slot->dir[CG_PIDS], lim->tasks_max) == -1)
		return -1;
	if (cg_set_devices(slot, lim->gpu_deny) == -1)
		return -1;
	slot->join_cpuset = lim->gang && slot->join[slot->njoin] != -1;
	if (lim->gang &&
	    (!slot->join_cpuset ||
	     cg_set_cpus(slot, slot->dir[CG_CPUSET], lim->cpus) == -1)) {
		if (!slot->join_cpuset)
			errno = ENOTSUP;
		return -1;
	}
	return 0;
}

/* v1: every device let in first (a group with no groups under it
 * may), then those denied. */
static int
cg_devices_v1(struct cg_slot *slot, uint64_t deny)
{
	const char *dir = slot->dir[CG_DEVICES];
	char rule[48];
	int i;

	if (cg_write_at(dir, "devices.allow", "a") == -1)
		return -1;
	for (i = 0; i < 64; i++) {
		if (!(deny & (UINT64_C(1) << i)))
			continue;
		snprintf(rule, sizeof rule, "c %d:%d rwm", CG_NVIDIA_MAJOR, i);
		if (cg_write_at(dir, "devices.deny", rule) == -1)
			return -1;
	}
	return 0;
}

/* v2: a device program on the group (devbpf.c), which holds it once
 * attached; none while a job may open every GPU. A slot's first job
 * also takes away what a worker before this one left there (a detach
 * without a program names the group's one). */
static int
cg_devices_v2(struct cg_slot *slot, uint64_t deny)
{
	int prog, rc;

	if (slot->dev_group == -1 &&
	    (slot->dev_group = open(slot->dir[CG_MEMORY],
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (deny == 0) {
		if (cg_devbpf_detach(slot->dev_group, -1) == -1 &&
		    errno != ENOENT)
			return -1;
		return 0;
	}
	if ((prog = cg_devbpf_load(CG_NVIDIA_MAJOR, deny)) == -1)
		return -1;
	rc = cg_devbpf_attach(slot->dev_group, prog);
	close(prog);
	return rc;
}

/* The GPUs a job may not open, where the group can hold devices (v1's
 * devices controller, v2's device program): written only when they
 * change, as most jobs' are the same. */
static int
cg_set_devices(struct cg_slot *slot, uint64_t deny)
{
	if (slot->version == CG_V1 ? slot->dir[CG_DEVICES][0] == '\0'
				   : !slot->devbpf)
		return 0;
	if (slot->devices_set && deny == slot->set.gpu_deny)
		return 0;
	slot->devices_set = false;
	if ((slot->version == CG_V1 ? cg_devices_v1(slot, deny)
				    : cg_devices_v2(slot, deny)) == -1)
		return -1;
	slot->set.gpu_deny = deny;
	slot->devices_set = true;
	return 0;
}

static int
cg_prepare_v2(struct cg_slot *slot, const struct cg_limits *lim)
{
	const char *dir = slot->dir[CG_MEMORY];
	char val[32], stat[4096];

	if (lim->mem != slot->set.mem) {
		cg_fmt_limit(lim->mem, val, sizeof val, "max");
		if (cg_write_at(dir, "memory.max", val) == -1 ||
		    (cg_exists(dir, "memory.swap.max") &&
		     cg_write_at(dir, "memory.swap.max",
				 lim->mem != 0 ? "0" : "max") == -1))
			return -1;
		/* An OOM kill takes the whole job, not one process of it. */
		(void)cg_write_at(dir, "memory.oom.group", "1");
		slot->set.mem = lim->mem;
	}
	/* Linux 6.12 resets the peak, as this descriptor sees it, on a
	 * write; before, the peak is the group's since it was made. */
	(void)cg_fd_write(slot, slot->fd[CG_F_PEAK], "reset");
	if (cg_fd_keyed(slot->fd[CG_F_OOM], "oom_kill",
			&slot->base.oom_kills) == -1 ||
	    cg_fd_read(slot->fd[CG_F_CPU], stat, sizeof stat) == -1 ||
	    cg_parse_keyed(stat, "user_usec", &slot->base.user_us) == -1 ||
	    cg_parse_keyed(stat, "system_usec", &slot->base.sys_us) == -1)
		return -1;
	if (cg_set_tasks_max(slot, dir, lim->tasks_max) == -1)
		return -1;
	/* Every job is in the group's cpuset: back to its worker's CPU
	 * after a job that had more. */
	if (slot->has_cpuset && cg_set_cpus(slot, dir, lim->cpus) == -1)
		return -1;
	if (lim->gang && !slot->has_cpuset) {
		errno = ENOTSUP;
		return -1;
	}
	if (cg_set_devices(slot, lim->gpu_deny) == -1)
		return -1;
	return 0;
}

int
cg_slot_prepare(struct cg_slot *slot, const struct cg_limits *lim, char *err,
		size_t errlen)
{
	int rc = 0;

	slot->base.procs_peak = 0;
	if (slot->version == CG_V1)
		rc = cg_prepare_v1(slot, lim);
	else if (slot->version == CG_V2)
		rc = cg_prepare_v2(slot, lim);
	if (rc == -1)
		snprintf(err, errlen, "cgroup %s: %s", slot->dir[CG_MEMORY],
			 strerror(errno));
	return rc;
}

/* The group's processes, from the directory of ctl. cgroup.procs is
 * opened anew each time: one kept open and read again from its start
 * may list nothing. */
static size_t
cg_procs(const struct cg_slot *slot, enum cg_ctl ctl, pid_t *pids, size_t cap)
{
	char buf[16384], *p, *end;
	size_t n = 0;
	long v;

	if (slot->dir[ctl][0] == '\0' ||
	    cg_read_at(slot->dir[ctl], "cgroup.procs", buf, sizeof buf) == -1)
		return 0;
	for (p = buf; *p != '\0' && n < cap; p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v > 0 && v != slot->spare)
			pids[n++] = (pid_t)v;
	}
	return n;
}

size_t
cg_slot_count(struct cg_slot *slot)
{
	pid_t pids[CG_PIDS_MAX];
	size_t n = cg_procs(slot, CG_PIDS, pids, CG_PIDS_MAX);

	if (n > slot->base.procs_peak)
		slot->base.procs_peak = n;
	return n;
}

/* Signals, round after round, every process not signalled yet, until a
 * round finds none: a process forking as it goes has its child caught
 * by the next round (and a killed one forks no more). */
static size_t
cg_signal_all(struct cg_slot *slot, enum cg_ctl ctl, int sig, bool rounds)
{
	pid_t seen[CG_PIDS_MAX], now[CG_PIDS_MAX];
	size_t nseen = 0, n, i, k, fresh;
	int round;

	for (round = 0; round < (rounds ? CG_KILL_ROUNDS : 1); round++) {
		n = cg_procs(slot, ctl, now, CG_PIDS_MAX);
		if (n > slot->base.procs_peak)
			slot->base.procs_peak = n;
		for (i = fresh = 0; i < n; i++) {
			for (k = 0; k < nseen && seen[k] != now[i]; k++)
				;
			if (k < nseen)
				continue;
			kill(now[i], sig);
			fresh++;
			if (nseen < CG_PIDS_MAX)
				seen[nseen++] = now[i];
		}
		if (fresh == 0)
			break;
	}
	return nseen;
}

size_t
cg_slot_signal(struct cg_slot *slot, int sig)
{
	return cg_signal_all(slot, CG_PIDS, sig, false);
}

static int
cg_freezer(struct cg_slot *slot, const char *state)
{
	if (slot->fd[CG_F_FREEZE] != -1)
		return cg_fd_write(slot, slot->fd[CG_F_FREEZE], state);
	if (slot->dir[CG_FREEZER][0] == '\0')
		return -1;
	return cg_write_at(slot->dir[CG_FREEZER], "freezer.state", state);
}

static ssize_t
cg_freezer_state(struct cg_slot *slot, char *buf, size_t len)
{
	if (slot->fd[CG_F_FREEZE] != -1)
		return cg_fd_read(slot->fd[CG_F_FREEZE], buf, len);
	return cg_read_at(slot->dir[CG_FREEZER], "freezer.state", buf, len);
}

bool
cg_slot_kill(struct cg_slot *slot)
{
	char state[32];
	int i;

	if (slot->version == CG_V2) {
		if ((slot->fd[CG_F_KILL] != -1
			 ? cg_fd_write(slot, slot->fd[CG_F_KILL], "1")
			 : cg_write_at(slot->dir[CG_MEMORY], "cgroup.kill",
				       "1")) == 0)
			return slot->spare != 0;
		/* Before Linux 5.14. */
		cg_signal_all(slot, CG_MEMORY, SIGKILL, true);
		return false;
	}
	if (slot->version != CG_V1)
		return false;
	/* Frozen, none forks while it is killed; a task that will not
	 * freeze (D state) does not hold the kill up for long. */
	if (cg_freezer(slot, "FROZEN") == 0) {
		for (i = 0; i < CG_FREEZE_TRIES; i++) {
			if (cg_freezer_state(slot, state, sizeof state) == -1 ||
			    strncmp(state, "FROZEN", 6) == 0)
				break;
		}
		cg_signal_all(slot, CG_FREEZER, SIGKILL, true);
		/* Killed tasks die only once thawed. */
		(void)cg_freezer(slot, "THAWED");
		return false;
	}
	cg_signal_all(slot, CG_PIDS, SIGKILL, true);
	return false;
}

bool
cg_slot_end(struct cg_slot *slot, unsigned spare_in)
{
	uint64_t tasks;
	bool took = false;

	/* Nothing left but the first process, a zombie not yet reaped,
	 * which pids.current still counts (cgroup.procs no longer lists
	 * it), and the standby: the common case costs one read of a
	 * number. */
	if (cg_fd_u64(slot->fd[CG_F_TASKS], &tasks) == 0 &&
	    tasks <= 1 + spare_in) {
		if (slot->base.procs_peak == 0)
			slot->base.procs_peak = 1;
		return false;
	}
	if (cg_slot_count(slot) > 0)
		took = cg_slot_kill(slot);
	if (slot->base.procs_peak == 0)
		slot->base.procs_peak = 1;
	return took;
}

void
cg_slot_stats(struct cg_slot *slot, struct cg_stats *st)
{
	char stat[4096];
	uint64_t v;

	memset(st, 0, sizeof *st);
	if (slot->version == CG_V1) {
		if (cg_fd_u64(slot->fd[CG_F_CPU_USER], &v) == 0)
			st->user_us = v / 1000;
		if (cg_fd_u64(slot->fd[CG_F_CPU_SYS], &v) == 0)
			st->sys_us = v / 1000;
		(void)cg_fd_u64(slot->fd[CG_F_PEAK], &st->mem_peak);
		if (cg_fd_keyed(slot->fd[CG_F_OOM], "oom_kill", &v) == 0 &&
		    v > slot->base.oom_kills)
			st->oom_kills = v - slot->base.oom_kills;
	} else if (slot->version == CG_V2) {
		if (cg_fd_read(slot->fd[CG_F_CPU], stat, sizeof stat) != -1) {
			if (cg_parse_keyed(stat, "user_usec", &v) == 0 &&
			    v > slot->base.user_us)
				st->user_us = v - slot->base.user_us;
			if (cg_parse_keyed(stat, "system_usec", &v) == 0 &&
			    v > slot->base.sys_us)
				st->sys_us = v - slot->base.sys_us;
		}
		(void)cg_fd_u64(slot->fd[CG_F_PEAK], &st->mem_peak);
		if (cg_fd_keyed(slot->fd[CG_F_OOM], "oom_kill", &v) == 0 &&
		    v > slot->base.oom_kills)
			st->oom_kills = v - slot->base.oom_kills;
	}
	st->procs_peak = slot->base.procs_peak;
}

int
cg_slot_usage(const struct cg_slot *slot, uint64_t *cpu_us, uint64_t *mem)
{
	char text[4096];
	uint64_t v, base;

	*cpu_us = *mem = 0;
	if (slot->version == CG_V1) {
		/* cpuacct.usage is reset as each job starts. */
		if (slot->dir[CG_CPU][0] == '\0' ||
		    cg_read_at(slot->dir[CG_CPU], "cpuacct.usage", text,
			       sizeof text) == -1 ||
		    cg_parse_u64(text, &v) == -1)
			return -1;
		*cpu_us = v / 1000;
		if (slot->dir[CG_MEMORY][0] != '\0' &&
		    cg_read_at(slot->dir[CG_MEMORY], "memory.usage_in_bytes",
			       text, sizeof text) != -1)
			(void)cg_parse_u64(text, mem);
		return 0;
	}
	if (slot->version != CG_V2 || slot->dir[CG_MEMORY][0] == '\0' ||
	    cg_read_at(slot->dir[CG_MEMORY], "cpu.stat", text, sizeof text) ==
		-1 ||
	    cg_parse_keyed(text, "usage_usec", &v) == -1)
		return -1;
	base = slot->base.user_us + slot->base.sys_us;
	*cpu_us = v > base ? v - base : 0;
	if (cg_read_at(slot->dir[CG_MEMORY], "memory.current", text,
		       sizeof text) != -1)
		(void)cg_parse_u64(text, mem);
	return 0;
}

void
cg_job_result(const struct cg_stats *st, uint64_t mem, bool oom_failed,
	      struct job_result *r)
{
	char limit[32], peak[32];

	r->user_us = (int64_t)st->user_us;
	r->sys_us = (int64_t)st->sys_us;
	if (st->mem_peak > 0)
		r->maxrss_kb = (int64_t)(st->mem_peak / 1024);
	r->procs = (uint32_t)st->procs_peak;
	if (st->oom_kills == 0 || !oom_failed)
		return;
	units_format_size(st->mem_peak, peak, sizeof peak);
	if (mem != 0)
		units_format_size(mem, limit, sizeof limit);
	else
		strlcpy(limit, "none", sizeof limit);
	snprintf(r->error, sizeof r->error,
		 "out of memory: limit %s, peak %s (%llu process%s killed by "
		 "the OOM killer)",
		 limit, peak, (unsigned long long)st->oom_kills,
		 st->oom_kills == 1 ? "" : "es");
}

void
cg_job_signal(const struct cg_tree *t, int w, uint32_t s, pid_t pid, int sig)
{
	struct cg_slot slot;

	if (pid > 0)
		kill(-pid, sig);
	if (t->version == CG_NONE || cg_slot_paths(t, w, s, &slot) == -1)
		return;
	if (sig == SIGKILL)
		cg_slot_kill(&slot);
	else
		cg_slot_signal(&slot, sig);
}
