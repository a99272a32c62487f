/*
 * forqd's subtree: which hierarchy the host has, where the subtree
 * hangs, making it (and clearing what a dead forqd left in it), and
 * taking it down. The supervisor's side of job cgroups.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/fs.h"

static const char *const cg_v1_names[CG_NCTL] =
    {[CG_MEMORY] = "memory", [CG_CPU] = "cpuacct",
     [CG_PIDS] = "pids",     [CG_FREEZER] = "freezer",
     [CG_CPUSET] = "cpuset", [CG_DEVICES] = "devices"};

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

/* The hierarchies mounted: the first cgroup2 one, and the v1 one of
 * each controller forq uses. */
struct cg_mounts {
	struct cg_mount v2, v1[CG_NCTL];
	bool have_v2, have_v1[CG_NCTL];
};

static int
cg_read_mounts(const char *mountinfo, struct cg_mounts *ms, char *err,
	       size_t errlen)
{
	struct cg_mount m;
	char *line = NULL;
	size_t cap = 0;
	int i;
	FILE *f;

	memset(ms, 0, sizeof *ms);
	if ((f = fopen(mountinfo, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", mountinfo, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) != -1) {
		if (cg_parse_mount(line, &m) == -1)
			continue;
		if (strcmp(m.fstype, "cgroup2") == 0 && !ms->have_v2) {
			ms->v2 = m;
			ms->have_v2 = true;
		} else if (strcmp(m.fstype, "cgroup") == 0) {
			for (i = 0; i < CG_NCTL; i++) {
				if (!ms->have_v1[i] &&
				    cg_has_word(m.opts, cg_v1_names[i], ',')) {
					ms->v1[i] = m;
					ms->have_v1[i] = true;
				}
			}
		}
	}
	free(line);
	fclose(f);
	return 0;
}

/* The directories a worker joins to be in the scope at path. */
static void
cg_scope_dirs(struct cg_tree *t, const char *mountinfo, const char *path)
{
	struct cg_mount m;
	char dir[PATH_MAX];
	char *line = NULL;
	size_t cap = 0;
	bool v2 = false, named = false;
	FILE *f;

	t->njoin = 0;
	if ((f = fopen(mountinfo, "re")) == NULL)
		return;
	while (getline(&line, &cap, f) != -1 && t->njoin < CG_JOIN_MAX) {
		if (cg_parse_mount(line, &m) == -1)
			continue;
		if (strcmp(m.fstype, "cgroup2") == 0 && !v2) {
			v2 = true;
		} else if (strcmp(m.fstype, "cgroup") == 0 && !named &&
			   cg_has_word(m.opts, "name=systemd", ',')) {
			named = true;
		} else {
			continue;
		}
		if (cg_dir_of(&m, path, dir, sizeof dir) == -1)
			continue;
		if (strcmp(m.fstype, "cgroup2") == 0)
			snprintf(t->join[t->njoin++], sizeof t->join[0],
				 "%.4000s/workers", dir);
		else
			strlcpy(t->join[t->njoin++], dir, sizeof t->join[0]);
	}
	free(line);
	fclose(f);
}

static void cg_detect_self(struct cg_tree *t, const struct cg_mounts *ms,
			   const char *self, bool delegated,
			   const char *instance, char *err, size_t errlen);

void
cg_detect(struct cg_tree *t, const char *mountinfo, const char *self_cgroup,
	  bool delegated, const char *instance, char *err, size_t errlen)
{
	struct cg_mounts ms;
	char self[8192];

	memset(t, 0, sizeof *t);
	t->version = CG_NONE;
	if (cg_read_mounts(mountinfo, &ms, err, errlen) == -1)
		return;
	if (cg_read_file(self_cgroup, self, sizeof self) == -1) {
		snprintf(err, errlen, "%s: %s", self_cgroup, strerror(errno));
		return;
	}
	cg_detect_self(t, &ms, self, delegated, instance, err, errlen);
}

/* Where a directory exists, in a hierarchy mounted at m. */
static bool
cg_dir_exists(const struct cg_mount *m, const char *path, char *dir, size_t len)
{
	struct stat st;

	return cg_dir_of(m, path, dir, len) == 0 && stat(dir, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

void
cg_detect_at(struct cg_tree *t, const char *mountinfo, const char *path,
	     const char *instance, char *err, size_t errlen)
{
	struct cg_mounts ms;
	char self[8192], dir[PATH_MAX];
	size_t n = 0;
	int i;

	memset(t, 0, sizeof *t);
	t->version = CG_NONE;
	if (cg_read_mounts(mountinfo, &ms, err, errlen) == -1)
		return;
	/* As /proc/self/cgroup would say it of a process in path, where
	 * path is: a v1 controller the manager does not handle (freezer,
	 * cpuset) has the subtree at its root. */
	if (ms.have_v2)
		n += (size_t)snprintf(self + n, sizeof self - n, "0::%s\n",
				      path);
	for (i = 0; i < CG_NCTL && n < sizeof self; i++) {
		if (ms.have_v1[i])
			n += (size_t)snprintf(self + n, sizeof self - n,
					      "%d:%s:%s\n", i + 1,
					      cg_v1_names[i],
					      cg_dir_exists(&ms.v1[i], path,
							    dir, sizeof dir)
						  ? path
						  : "/");
	}
	if (n >= sizeof self) {
		snprintf(err, errlen, "%s: path too long", path);
		return;
	}
	strlcpy(t->scope, path, sizeof t->scope);
	cg_scope_dirs(t, mountinfo, path);
	cg_detect_self(t, &ms, self, true, instance, err, errlen);
}

int
cg_scope_enter(const struct cg_tree *t, pid_t keeper)
{
	int i;

	for (i = 0; i < t->njoin; i++) {
		if (cg_mkdir(t->join[i]) == -1)
			return -1;
	}
	return cg_join_scope(t, keeper);
}

int
cg_join_scope(const struct cg_tree *t, pid_t pid)
{
	char value[32];
	int i, rc = 0;

	snprintf(value, sizeof value, "%d", (int)pid);
	for (i = 0; i < t->njoin; i++) {
		if (cg_write_at(t->join[i], "cgroup.procs", value) == -1)
			rc = -1;
	}
	return rc;
}

static void
cg_detect_self(struct cg_tree *t, const struct cg_mounts *ms, const char *self,
	       bool delegated, const char *instance, char *err, size_t errlen)
{
	char path[PATH_MAX], dir[PATH_MAX], ctls[1024];
	int i;

	/* v2, if its hierarchy has the controllers where forqd would hang
	 * its subtree. */
	if (ms->have_v2 &&
	    (!delegated || cg_parse_self(self, NULL, path, sizeof path) == 0)) {
		if (cg_dir_of(&ms->v2, delegated ? path : "/", dir,
			      sizeof dir) == 0 &&
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
		if (!ms->have_v1[i])
			continue;
		if (!delegated)
			strlcpy(path, "/", sizeof path);
		else if (cg_parse_self(self, cg_v1_names[i], path,
				       sizeof path) == -1)
			continue;
		if (cg_dir_of(&ms->v1[i], path, dir, sizeof dir) == -1)
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
cg_clear(const struct cg_tree *t, const bool *keep, size_t nkeep)
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
		    (w >= 0 && (size_t)w < nkeep && keep[w]) ||
		    cg_slot_paths(t, w, slot, &s) == -1)
			continue;
		cg_slot_kill(&s);
	}
	closedir(d);
}

/* Every process listed in procs (a cgroup.procs' text) into to. */
static int
cg_move_all(char *procs, const char *to)
{
	char *p, *save = NULL;

	for (p = strtok_r(procs, "\n", &save); p != NULL;
	     p = strtok_r(NULL, "\n", &save)) {
		/* One that exited meanwhile is no longer anywhere. */
		if (cg_write_at(to, "cgroup.procs", p) == -1 && errno != ESRCH)
			return -1;
	}
	return 0;
}

int
cg_create(struct cg_tree *t, const bool *keep, size_t nkeep, char *err,
	  size_t errlen)
{
	char parent[PATH_MAX], leaf[PATH_MAX + 16], procs[4096];
	char *slash;
	int i;

	if (t->version == CG_V2) {
		strlcpy(parent, t->base[CG_MEMORY], sizeof parent);
		if ((slash = strrchr(parent, '/')) != NULL)
			*slash = '\0';
		/* A group that hands controllers down may hold no process
		 * (v2's rule): what is in it moves to a leaf, the workers'
		 * in a scope, forqd's own in its service's. The root is
		 * exempt. */
		snprintf(leaf, sizeof leaf, "%s/%s", parent,
			 t->scope[0] != '\0' ? "workers" : "supervisor");
		if (parent[0] != '\0' && cg_exists(parent, "cgroup.type") &&
		    cg_read_at(parent, "cgroup.procs", procs, sizeof procs) >
			0 &&
		    (cg_mkdir(leaf) == -1 || cg_move_all(procs, leaf) == -1)) {
			snprintf(err, errlen, "%s: %s", leaf, strerror(errno));
			return -1;
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
			/* Devices only add to what a job is held to: a
			 * hierarchy forqd may not write is left out. */
			if (i == CG_DEVICES && cg_mkdir(t->base[i]) == -1) {
				t->base[i][0] = '\0';
				continue;
			}
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
	cg_clear(t, keep, nkeep);
	return 0;
}

bool
cg_has_cpuset(const struct cg_tree *t)
{
	if (t->version == CG_V1)
		return t->base[CG_CPUSET][0] != '\0';
	char ctls[256];

	/* v2: handed down to the slots' groups. */
	return t->version == CG_V2 &&
	       cg_read_at(t->base[CG_MEMORY], "cgroup.subtree_control", ctls,
			  sizeof ctls) != -1 &&
	       cg_has_word(ctls, "cpuset", ' ');
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
