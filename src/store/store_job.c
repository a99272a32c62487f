/* What every backend hands out: a stored job, how it is freed, and the
 * files of its own it names (--stdout, --stderr). */
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "store/store.h"

void
store_job_free(struct store_job *j)
{
	free(j->spec.argv);
	free(j->spec.env);
	free(j->spec.cwd);
	free(j->spec.queue);
	free(j->spec.unique);
	free(j->spec.on_finish);
	free(j->spec.stdout_path);
	free(j->spec.stderr_path);
	free(j->spec.stdin_path);
	free(j->spec.res);
	free(j->res_given);
	free(j->name);
	memset(j, 0, sizeof *j);
}

int
store_job_file_path(const struct store_job *job, int which, char *buf,
		    size_t len)
{
	const char *pattern =
	    which == 0 ? job->spec.stdout_path : job->spec.stderr_path;
	char name[4096];
	int n;

	if (pattern == NULL ||
	    job_path_expand(pattern, job->id, job->array_id != 0,
			    job->array_index, job->name, name,
			    sizeof name) == -1)
		return -1;
	n = name[0] == '/' ? snprintf(buf, len, "%s", name)
			   : snprintf(buf, len, "%s/%s", job->spec.cwd, name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Opens path as uid and gid would (their fsuid and fsgid, their group
 * alone): what a user named as their job's file is what they may read,
 * never what only root may. Only when forqd is root; the supervisor is
 * single-threaded, so the switch is over before anything else runs. */
static int
store_open_as(uid_t uid, gid_t gid, const char *path, int flags, mode_t mode)
{
	gid_t *saved = NULL;
	int n = 0, fd, saved_errno;

	if (geteuid() != 0)
		return open(path, flags, mode);
	if ((n = getgroups(0, NULL)) == -1 ||
	    (n > 0 && (saved = calloc((size_t)n, sizeof *saved)) == NULL) ||
	    (n > 0 && getgroups(n, saved) == -1) || setgroups(1, &gid) == -1) {
		free(saved);
		return -1;
	}
	(void)setfsgid(gid);
	(void)setfsuid(uid);
	fd = open(path, flags, mode);
	saved_errno = errno;
	(void)setfsuid(0);
	(void)setfsgid(0);
	if (setgroups((size_t)n, saved) == -1)
		fatal("setgroups: cannot take back forqd's groups");
	free(saved);
	errno = saved_errno;
	return fd;
}

int
store_job_file_open(const struct store_job *job, int which, bool create)
{
	char path[8200];
	struct stat st;
	int fd;

	if (store_job_file_path(job, which, path, sizeof path) == -1)
		return -1;
	fd = store_open_as(job->uid, job->gid, path,
			   O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
			       (create ? O_CREAT : 0),
			   0666 & ~(mode_t)(job->spec.file_umask >= 0
						? job->spec.file_umask
						: 077));
	if (fd != -1 && (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))) {
		close(fd);
		return -1;
	}
	return fd;
}
