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

static const char *const cg_v1_names[CG_NCTL] = {[CG_MEMORY] = "memory",
						 [CG_CPU] = "cpuacct",
						 [CG_PIDS] = "pids",
						 [CG_FREEZER] = "freezer",
						 [CG_CPUSET] = "cpuset"};

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

int
cg_create(struct cg_tree *t, const bool *keep, size_t nkeep, char *err,
	  size_t errlen)
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
