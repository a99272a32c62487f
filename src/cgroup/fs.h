/* Inside job cgroups: the files of a cgroup (fs.c), for tree.c and
 * slot.c. */
#ifndef FORQ_CGROUP_FS_H
#define FORQ_CGROUP_FS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

/* A small file whole; -1 on error. */
ssize_t cg_read_file(const char *path, char *buf, size_t len);
ssize_t cg_read_at(const char *dir, const char *file, char *buf, size_t len);
int cg_write_at(const char *dir, const char *file, const char *value);
bool cg_exists(const char *dir, const char *file);
/* mkdir, where it may be there already. */
int cg_mkdir(const char *dir);
/* A new v1 cpuset group takes its parent's CPUs and memory nodes before
 * anything may join it. */
int cg_cpuset_init(const char *dir);

#endif
