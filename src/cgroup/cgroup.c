/*
 * Job cgroups: finding the hierarchy, forqd's subtree, and the slots'
 * groups. Files are read and written whole, a value at a time, as the
 * kernel's cgroup interface wants.
 */
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/magic.h>

#include "cgroup/cgroup.h"

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

static const char *const cg_v1_names[CG_NCTL] = {[CG_MEMORY] = "memory",
						 [CG_CPU] = "cpuacct",
						 [CG_PIDS] = "pids",
						 [CG_FREEZER] = "freezer",
						 [CG_CPUSET] = "cpuset"};

const char *
cg_version_name(enum cg_version v)
{
	switch (v) {
	case CG_V1:
		return "cgroup v1";
	case CG_V2:
		return "cgroup v2";
	case CG_NONE:
		break;
	}
	return "no cgroups";
}

int
cg_parse_u64(const char *text, uint64_t *out)
{
	char *end;

	while (*text == ' ' || *text == '\t')
		text++;
	if (strncmp(text, "max", 3) == 0) {
		*out = UINT64_MAX;
		return 0;
	}
	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	*out = strtoull(text, &end, 10);
	if (errno != 0 || (*end != '\0' && *end != '\n' && *end != ' '))
		return -1;
	return 0;
}

int
cg_parse_keyed(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return cg_parse_u64(p + klen + 1, out);
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

int
cg_parse_self(const char *text, const char *ctl, char *path, size_t len)
{
	const char *p = text, *c, *colon, *end;
	size_t clen = ctl != NULL ? strlen(ctl) : 0;
	bool match;

	for (; p != NULL && *p != '\0'; p = end != NULL ? end + 1 : NULL) {
		end = strchr(p, '\n');
		/* "ID:CONTROLLERS:PATH" */
		if ((c = strchr(p, ':')) == NULL || (end != NULL && c > end))
			continue;
		c++;
		if ((colon = strchr(c, ':')) == NULL ||
		    (end != NULL && colon > end))
			continue;
		if (ctl == NULL) {
			match = colon == c && strncmp(p, "0:", 2) == 0;
		} else {
			match = false;
			while (c < colon) {
				const char *comma = memchr(c, ',', colon - c);
				size_t n =
				    (size_t)((comma != NULL ? comma : colon) -
					     c);

				if (n == clen && strncmp(c, ctl, n) == 0)
					match = true;
				c += n + (comma != NULL);
			}
		}
		if (!match)
			continue;
		colon++;
		{
			size_t n =
			    (size_t)((end != NULL ? end
						  : colon + strlen(colon)) -
				     colon);

			if (n + 1 > len)
				return -1;
			memcpy(path, colon, n);
			path[n] = '\0';
		}
		return 0;
	}
	return -1;
}

/* Reads a small file whole; -1 on error. */
static ssize_t
cg_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

static ssize_t
cg_read_at(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof path, "%s/%s", dir, file);
	return cg_read_file(path, buf, len);
}

static int
cg_write_at(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX + 64];
	size_t len = strlen(value);
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	/* O_TRUNC as a shell's ">" has it: cgroupfs ignores it, a plain
	 * file (a test's fake cgroupfs) needs it. */
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, value, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static bool
cg_exists(const char *dir, const char *file)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof path, "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

/* One mount of /proc/self/mountinfo. */
struct cg_mount {
	char root[PATH_MAX];
	char point[PATH_MAX];
	char fstype[32];
	char opts[256];
};

static int
cg_parse_mount(const char *line, struct cg_mount *m)
{
	const char *dash = strstr(line, " - ");

	/* ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - TYPE SRC SUPER */
	if (dash == NULL ||
	    sscanf(line, "%*s %*s %*s %4095s %4095s", m->root, m->point) != 2 ||
	    sscanf(dash + 3, "%31s %*s %255s", m->fstype, m->opts) != 2)
		return -1;
	return 0;
}

static bool
cg_has_word(const char *list, const char *word, char sep)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == sep) &&
		    (p[n] == '\0' || p[n] == sep || p[n] == '\n'))
			return true;
		p += n;
	}
	return false;
}

/* The directory of the cgroup at path in a hierarchy mounted at m. */
static int
cg_dir_of(const struct cg_mount *m, const char *path, char *out, size_t len)
{
	size_t rlen = strcmp(m->root, "/") == 0 ? 0 : strlen(m->root);

	if (rlen > 0 && strncmp(path, m->root, rlen) != 0)
		return -1;
	if ((size_t)snprintf(out, len, "%s%s", m->point, path + rlen) >= len)
		return -1;
	/* No trailing slash: "/sys/fs/cgroup/" + "/" is the root. */
	while (strlen(out) > 1 && out[strlen(out) - 1] == '/')
		out[strlen(out) - 1] = '\0';
	return 0;
}

void
cg_detect(struct cg_tree *t, const char *mountinfo, const char *self_cgroup,
	  bool delegated, const char *instance, char *err, size_t errlen)
{
	struct cg_mount m, v2 = {0}, v1[CG_NCTL];
	bool have_v2 = false, have_v1[CG_NCTL] = {false};
	char self[8192], path[PATH_MAX], dir[PATH_MAX], ctls[1024];
	char *line = NULL;
	size_t cap = 0;
	int i;
	FILE *f;

	memset(t, 0, sizeof *t);
	t->version = CG_NONE;
	if ((f = fopen(mountinfo, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", mountinfo, strerror(errno));
		return;
	}
	while (getline(&line, &cap, f) != -1) {
		if (cg_parse_mount(line, &m) == -1)
			continue;
		if (strcmp(m.fstype, "cgroup2") == 0 && !have_v2) {
			v2 = m;
			have_v2 = true;
		} else if (strcmp(m.fstype, "cgroup") == 0) {
			for (i = 0; i < CG_NCTL; i++) {
				if (!have_v1[i] &&
				    cg_has_word(m.opts, cg_v1_names[i], ',')) {
					v1[i] = m;
					have_v1[i] = true;
				}
			}
		}
	}
	free(line);
	fclose(f);
	if (cg_read_file(self_cgroup, self, sizeof self) == -1) {
		snprintf(err, errlen, "%s: %s", self_cgroup, strerror(errno));
		return;
	}

	/* v2, if its hierarchy has the controllers where forqd would hang
	 * its subtree. */
	if (have_v2 &&
	    (!delegated || cg_parse_self(self, NULL, path, sizeof path) == 0)) {
		if (cg_dir_of(&v2, delegated ? path : "/", dir, sizeof dir) ==
			0 &&
		    cg_read_at(dir, "cgroup.controllers", ctls, sizeof ctls) !=
			-1 &&
		    cg_has_word(ctls, "memory", ' ') &&
		    cg_has_word(ctls, "pids", ' ')) {
			t->version = CG_V2;
			snprintf(t->base[CG_MEMORY], sizeof t->base[CG_MEMORY],
				 "%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
				 instance);
			return;
		}
	}
	/* v1: memory, cpuacct, pids and freezer at least. */
	for (i = 0; i < CG_NCTL; i++) {
		if (!have_v1[i])
			continue;
		if (!delegated)
			strlcpy(path, "/", sizeof path);
		else if (cg_parse_self(self, cg_v1_names[i], path,
				       sizeof path) == -1)
			continue;
		if (cg_dir_of(&v1[i], path, dir, sizeof dir) == -1)
			continue;
		snprintf(t->base[i], sizeof t->base[i], "%s/%s", dir, instance);
	}
	if (t->base[CG_MEMORY][0] != '\0' && t->base[CG_CPU][0] != '\0' &&
	    t->base[CG_PIDS][0] != '\0' && t->base[CG_FREEZER][0] != '\0') {
		t->version = CG_V1;
		return;
	}
	memset(t->base, 0, sizeof t->base);
	snprintf(err, errlen,
		 "no cgroup hierarchy with the memory, cpu, pids and "
		 "freezer controllers is mounted");
}

/* A new v1 cpuset group is empty: it takes its parent's CPUs and
 * memory nodes before anything may join it. */
static int
cg_cpuset_init(const char *dir)
{
	char parent[PATH_MAX], buf[4096];
	const char *files[] = {"cpuset.cpus", "cpuset.mems"};
	char *slash;
	size_t i;

	strlcpy(parent, dir, sizeof parent);
	if ((slash = strrchr(parent, '/')) == NULL)
		return -1;
	*slash = '\0';
	for (i = 0; i < 2; i++) {
		if (cg_read_at(dir, files[i], buf, sizeof buf) != -1 &&
		    buf[0] != '\n' && buf[0] != '\0')
			continue;
		if (cg_read_at(parent, files[i], buf, sizeof buf) == -1 ||
		    cg_write_at(dir, files[i], buf) == -1)
			return -1;
	}
	return 0;
}

static int
cg_mkdir(const char *dir)
{
	return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* v2: hands controllers down to dir's children; those the kernel does
 * not have are left out. memory and pids must pass. */
static int
cg_enable(const char *dir)
{
	static const char *const want[] = {"+memory", "+pids", "+cpu",
					   "+cpuset"};
	size_t i;

	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		if (cg_write_at(dir, "cgroup.subtree_control", want[i]) == -1 &&
		    i < 2)
			return -1;
	}
	return 0;
}

/* Kills what a dead forqd left in its slots' groups: their jobs are
 * queued again or recorded lost, and must not run twice. */
static void
cg_clear(const struct cg_tree *t)
{
	struct cg_slot s;
	struct dirent *de;
	uint32_t slot;
	DIR *d;
	int w;

	if ((d = opendir(t->base[CG_MEMORY])) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR ||
		    sscanf(de->d_name, "w%ds%u", &w, &slot) != 2 ||
		    cg_slot_paths(t, w, slot, &s) == -1)
			continue;
		cg_slot_kill(&s);
	}
	closedir(d);
}

int
cg_create(struct cg_tree *t, char *err, size_t errlen)
{
	char parent[PATH_MAX], leaf[PATH_MAX + 16], pid[32];
	char *slash;
	int i;

	if (t->version == CG_V2) {
		strlcpy(parent, t->base[CG_MEMORY], sizeof parent);
		if ((slash = strrchr(parent, '/')) != NULL)
			*slash = '\0';
		/* A group that hands controllers down may hold no process
		 * (v2's rule): forqd leaves its own for a leaf. The root is
		 * exempt. */
		if (parent[0] != '\0' && cg_exists(parent, "cgroup.type") &&
		    cg_read_at(parent, "cgroup.procs", leaf, sizeof leaf) > 0) {
			snprintf(leaf, sizeof leaf, "%s/supervisor", parent);
			snprintf(pid, sizeof pid, "%d", (int)getpid());
			if (cg_mkdir(leaf) == -1 ||
			    cg_write_at(leaf, "cgroup.procs", pid) == -1) {
				snprintf(err, errlen, "%s: %s", leaf,
					 strerror(errno));
				return -1;
			}
		}
		if (cg_enable(parent[0] != '\0' ? parent : "/") == -1 ||
		    cg_mkdir(t->base[CG_MEMORY]) == -1 ||
		    cg_enable(t->base[CG_MEMORY]) == -1) {
			snprintf(err, errlen, "%s: %s", t->base[CG_MEMORY],
				 strerror(errno));
			return -1;
		}
	} else if (t->version == CG_V1) {
		for (i = 0; i < CG_NCTL; i++) {
			if (t->base[i][0] == '\0')
				continue;
			if (cg_mkdir(t->base[i]) == -1 ||
			    (i == CG_CPUSET &&
			     cg_cpuset_init(t->base[i]) == -1)) {
				snprintf(err, errlen, "%s: %s", t->base[i],
					 strerror(errno));
				return -1;
			}
		}
	} else {
		snprintf(err, errlen, "no cgroup hierarchy");
		return -1;
	}
	t->owned = true;
	cg_clear(t);
	return 0;
}

void
cg_destroy(struct cg_tree *t)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;
	int i;

	if (!t->owned)
		return;
	for (i = 0; i < CG_NCTL; i++) {
		if (t->base[i][0] == '\0' || (d = opendir(t->base[i])) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] != 'w' || de->d_type != DT_DIR)
				continue;
			snprintf(path, sizeof path, "%s/%s", t->base[i],
				 de->d_name);
			rmdir(path);
		}
		closedir(d);
		rmdir(t->base[i]);
		if (t->version == CG_V2)
			break;
	}
	t->owned = false;
}

int
cg_slot_paths(const struct cg_tree *t, int w, uint32_t s, struct cg_slot *slot)
{
	int i;

	memset(slot, 0, sizeof *slot);
	slot->version = t->version;
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
		if (slot->dir[i][0] == '\0')
			continue;
		if (cg_mkdir(slot->dir[i]) == -1 ||
		    (t->version == CG_V1 && i == CG_CPUSET &&
		     cg_cpuset_init(slot->dir[i]) == -1))
			goto fail;
		/* One job CPU is its worker's, by affinity: it joins the
		 * cpuset only when it asks for more (not yet). */
		if (i == CG_CPUSET)
			continue;
		snprintf(path, sizeof path, "%s/cgroup.procs", slot->dir[i]);
		if ((slot->join[slot->njoin++] =
			 open(path, O_WRONLY | O_CLOEXEC)) == -1)
			goto fail;
		if (t->version == CG_V2)
			break;
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
	slot->njoin = 0;
}

const int *
cg_slot_join_fds(const struct cg_slot *slot, int *n)
{
	*n = slot->njoin;
	return slot->join;
}

static void
cg_fmt_limit(uint64_t v, char *buf, size_t len, const char *none)
{
	if (v == 0)
		strlcpy(buf, none, len);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

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
	    cg_fd_keyed(slot->fd[CG_F_OOM], "oom_kill", &slot->oom_base) ==
		-1 ||
	    cg_fd_write(slot, slot->fd[CG_F_CPU], "0") == -1)
		return -1;
	slot->user_base = slot->sys_base = 0;
	if (lim->tasks_max != slot->set.tasks_max) {
		cg_fmt_limit(lim->tasks_max, val, sizeof val, "max");
		if (cg_write_at(slot->dir[CG_PIDS], "pids.max", val) == -1)
			return -1;
		slot->set.tasks_max = lim->tasks_max;
	}
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
	if (cg_fd_keyed(slot->fd[CG_F_OOM], "oom_kill", &slot->oom_base) ==
		-1 ||
	    cg_fd_read(slot->fd[CG_F_CPU], stat, sizeof stat) == -1 ||
	    cg_parse_keyed(stat, "user_usec", &slot->user_base) == -1 ||
	    cg_parse_keyed(stat, "system_usec", &slot->sys_base) == -1)
		return -1;
	if (lim->tasks_max != slot->set.tasks_max) {
		cg_fmt_limit(lim->tasks_max, val, sizeof val, "max");
		if (cg_write_at(dir, "pids.max", val) == -1)
			return -1;
		slot->set.tasks_max = lim->tasks_max;
	}
	return 0;
}

int
cg_slot_prepare(struct cg_slot *slot, const struct cg_limits *lim, char *err,
		size_t errlen)
{
	int rc = 0;

	slot->procs_peak = 0;
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
		if (v > 0)
			pids[n++] = (pid_t)v;
	}
	return n;
}

size_t
cg_slot_count(struct cg_slot *slot)
{
	pid_t pids[CG_PIDS_MAX];
	size_t n = cg_procs(slot, CG_PIDS, pids, CG_PIDS_MAX);

	if (n > slot->procs_peak)
		slot->procs_peak = n;
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
		if (n > slot->procs_peak)
			slot->procs_peak = n;
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

void
cg_slot_kill(struct cg_slot *slot)
{
	char state[32];
	int i;

	if (slot->version == CG_V2) {
		if ((slot->fd[CG_F_KILL] != -1
			 ? cg_fd_write(slot, slot->fd[CG_F_KILL], "1")
			 : cg_write_at(slot->dir[CG_MEMORY], "cgroup.kill",
				       "1")) == 0)
			return;
		/* Before Linux 5.14. */
		cg_signal_all(slot, CG_MEMORY, SIGKILL, true);
		return;
	}
	if (slot->version != CG_V1)
		return;
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
		return;
	}
	cg_signal_all(slot, CG_PIDS, SIGKILL, true);
}

void
cg_slot_end(struct cg_slot *slot)
{
	uint64_t tasks;

	/* Nothing left (the first process, a zombie now, has left the
	 * group): the common case costs one read of a number. */
	if (cg_fd_u64(slot->fd[CG_F_TASKS], &tasks) == 0 && tasks == 0) {
		if (slot->procs_peak == 0)
			slot->procs_peak = 1;
		return;
	}
	if (cg_slot_count(slot) > 0)
		cg_slot_kill(slot);
	if (slot->procs_peak == 0)
		slot->procs_peak = 1;
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
		    v > slot->oom_base)
			st->oom_kills = v - slot->oom_base;
	} else if (slot->version == CG_V2) {
		if (cg_fd_read(slot->fd[CG_F_CPU], stat, sizeof stat) != -1) {
			if (cg_parse_keyed(stat, "user_usec", &v) == 0 &&
			    v > slot->user_base)
				st->user_us = v - slot->user_base;
			if (cg_parse_keyed(stat, "system_usec", &v) == 0 &&
			    v > slot->sys_base)
				st->sys_us = v - slot->sys_base;
		}
		(void)cg_fd_u64(slot->fd[CG_F_PEAK], &st->mem_peak);
		if (cg_fd_keyed(slot->fd[CG_F_OOM], "oom_kill", &v) == 0 &&
		    v > slot->oom_base)
			st->oom_kills = v - slot->oom_base;
	}
	st->procs_peak = slot->procs_peak;
}
