/* Creating the directories forq's files live in. */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/path.h"

int
path_mkdir_p(const char *dir, mode_t mode, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	char *p;

	if (strlcpy(buf, dir, sizeof buf) >= sizeof buf) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", buf,
				 strerror(errno));
			return -1;
		}
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

int
path_mkdir_parent(const char *file, mode_t mode, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	char *slash;

	if (strlcpy(buf, file, sizeof buf) >= sizeof buf) {
		snprintf(err, errlen, "%s: path too long", file);
		return -1;
	}
	slash = strrchr(buf, '/');
	if (slash == NULL || slash == buf)
		return 0;
	*slash = '\0';
	return path_mkdir_p(buf, mode, err, errlen);
}
