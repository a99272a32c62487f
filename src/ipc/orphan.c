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
#include "ipc/channel.h"
#include "ipc/orphan.h"
#include "ipc/shm.h"

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

void
orphan_greeting(char *buf, size_t len, int index, int cpu)
{
	snprintf(buf, len, "forq worker %d %d %u %u\n", index, cpu,
		 (unsigned)CH_VERSION, (unsigned)SHM_VERSION);
}

int
orphan_greeting_parse(const char *line, struct orphan_greeting *g)
{
	int used = 0;

	if (sscanf(line, "forq worker %d %d %u %u%n", &g->index, &g->cpu,
		   &g->ch, &g->shm, &used) != 4 ||
	    line[used] != '\n' || g->index < 0)
		return -1;
	return 0;
}

bool
orphan_layout_same(unsigned ch, unsigned shm)
{
	return ch == CH_VERSION && shm == SHM_VERSION;
}

char
orphan_drain_parse(const char *line, struct orphan_drain_line *l)
{
	unsigned long long i;
	unsigned a, slot;
	int pid, used = 0;

	memset(l, 0, sizeof *l);
	if (sscanf(line, "draining %llu%n", &i, &used) == 1 &&
	    line[used] == '\n') {
		l->id = i;
		return 'n';
	}
	used = 0;
	if (sscanf(line, "job %llu %u %u %d%n", &i, &a, &slot, &pid, &used) ==
		4 &&
	    line[used] == '\n') {
		*l = (struct orphan_drain_line){i, a, slot, pid};
		return 'j';
	}
	used = 0;
	if (sscanf(line, "end %llu %u%n", &i, &a, &used) == 2 &&
	    line[used] == '\n') {
		l->id = i;
		l->attempt = a;
		return 'e';
	}
	return 0;
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

/* An end file's job result: 0, or -1 if it is missing or not one. */
static int
orphan_end_read_at(int dirfd, const char *name, struct job_result *r)
{
	char text[512];
	ssize_t n;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	return job_result_from_text(text, r);
}

int
orphan_ends_each(const char *state_dir,
		 void (*fn)(void *arg, uint64_t id, uint32_t attempt,
			    const struct job_result *r),
		 void *arg)
{
	char dir[4200];
	struct job_result r;
	struct dirent *de;
	uint64_t id;
	uint32_t attempt;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/" ORPHAN_ENDS_DIR, state_dir);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (orphan_end_name(de->d_name, &id, &attempt) == -1)
			continue;
		if (orphan_end_read_at(dirfd(d), de->d_name, &r) == -1) {
			log_warnx("%s/%s: not a job's end; left out", dir,
				  de->d_name);
			continue;
		}
		fn(arg, id, attempt, &r);
	}
	closedir(d);
	return 0;
}

int
orphan_end_read(const char *state_dir, uint64_t id, uint32_t attempt,
		struct job_result *r)
{
	char path[4300];

	snprintf(path, sizeof path, "%s/" ORPHAN_ENDS_DIR "/%" PRIu64 ".%u",
		 state_dir, id, attempt);
	return orphan_end_read_at(AT_FDCWD, path, r);
}

void
orphan_end_remove(const char *state_dir, uint64_t id, uint32_t attempt)
{
	char path[4300];

	snprintf(path, sizeof path, "%s/" ORPHAN_ENDS_DIR "/%" PRIu64 ".%u",
		 state_dir, id, attempt);
	(void)unlink(path);
}

void
orphan_ends_clear(const char *state_dir, bool tmp_too)
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
			    (tmp_too && de->d_name[0] == '.' && len > 5 &&
			     strcmp(de->d_name + len - 4, ".tmp") == 0))
				(void)unlinkat(dirfd(d), de->d_name, 0);
		}
	}
	closedir(d);
}
