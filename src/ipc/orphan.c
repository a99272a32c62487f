/* The files a worker whose forqd died leaves for the next forqd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "core/job.h"
#include "ipc/orphan.h"

int
orphan_sock_path(const char *state_dir, int index, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/" ORPHAN_SOCK_DIR "/%d.sock", state_dir,
			 index);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
orphan_sock_index(const char *name)
{
	char *end;
	long v;

	if (name[0] < '0' || name[0] > '9')
		return -1;
	v = strtol(name, &end, 10);
	if (strcmp(end, ".sock") != 0 || v < 0 || v > 65535)
		return -1;
	return (int)v;
}

int
orphan_end_name(const char *name, uint64_t *id, uint32_t *attempt)
{
	unsigned long long i;
	unsigned a;
	int used = 0;

	if (sscanf(name, "%llu.%u%n", &i, &a, &used) != 2 ||
	    name[used] != '\0' || name[0] < '0' || name[0] > '9')
		return -1;
	*id = i;
	*attempt = a;
	return 0;
}

int
orphan_end_write(int dirfd, uint64_t id, uint32_t attempt,
		 const struct job_result *r)
{
	char name[64], tmp[80], text[512];
	size_t len;
	int fd, saved;

	if (job_result_to_text(r, text, sizeof text) == -1) {
		errno = EOVERFLOW;
		return -1;
	}
	snprintf(name, sizeof name, "%" PRIu64 ".%u", id, attempt);
	snprintf(tmp, sizeof tmp, ".%s.tmp", name);
	fd =
	    openat(dirfd, tmp,
		   O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = saved != 0 ? saved : EIO;
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, name) == -1 || fsync(dirfd) == -1)
		return -1;
	return 0;
}

int
orphan_ends_each(const char *state_dir,
		 void (*fn)(void *arg, uint64_t id, uint32_t attempt,
			    const struct job_result *r),
		 void *arg)
{
	char dir[4200], text[512];
	struct job_result r;
	struct dirent *de;
	uint64_t id;
	uint32_t attempt;
	ssize_t n;
	DIR *d;
	int fd;

	snprintf(dir, sizeof dir, "%s/" ORPHAN_ENDS_DIR, state_dir);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (orphan_end_name(de->d_name, &id, &attempt) == -1)
			continue;
		fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		n = fd == -1 ? -1 : read(fd, text, sizeof text - 1);
		if (fd != -1)
			close(fd);
		if (n > 0)
			text[n] = '\0';
		if (n <= 0 || job_result_from_text(text, &r) == -1) {
			log_warnx("%s/%s: not a job's end; left out", dir,
				  de->d_name);
			continue;
		}
		fn(arg, id, attempt, &r);
	}
	closedir(d);
	return 0;
}

void
orphan_ends_clear(const char *state_dir)
{
	char dir[4200];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/" ORPHAN_ENDS_DIR, state_dir);
	if ((d = opendir(dir)) == NULL)
		return;
	{
		uint64_t id;
		uint32_t attempt;
		size_t len;

		while ((de = readdir(d)) != NULL) {
			len = strlen(de->d_name);
			/* Ends, and the half-written ones a crash left. */
			if (orphan_end_name(de->d_name, &id, &attempt) == 0 ||
			    (de->d_name[0] == '.' && len > 5 &&
			     strcmp(de->d_name + len - 4, ".tmp") == 0))
				(void)unlinkat(dirfd(d), de->d_name, 0);
		}
	}
	closedir(d);
}
