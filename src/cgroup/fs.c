/*
 * The files of a cgroup: read and written whole, a value at a time, as
 * the kernel's interface wants, and what their text says.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/fs.h"

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
ssize_t
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

ssize_t
cg_read_at(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof path, "%s/%s", dir, file);
	return cg_read_file(path, buf, len);
}

int
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

bool
cg_exists(const char *dir, const char *file)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof path, "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

/* One mount of /proc/self/mountinfo. */
/* A new v1 cpuset group is empty: it takes its parent's CPUs and
 * memory nodes before anything may join it. */
int
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

int
cg_mkdir(const char *dir)
{
	return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* v2: hands controllers down to dir's children; those the kernel does
 * not have are left out. memory and pids must pass. */
