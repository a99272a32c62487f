/* A job's output files: spooled per slot, named per job. */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/path.h"
#include "worker/spool.h"

static const char *const spool_ext[2] = {"out", "err"};

struct spool_slot {
	int fd[2];      /* the spool files; -1: none yet */
	uid_t uid;      /* who they belong to */
	int job_fd[2];  /* the running job's streams; -1: none */
	bool linked[2]; /* job_fd[i] is fd[i], linked as ID.ext in logs/ */
	uint64_t job_id;
};

struct spool {
	int logdir_fd;
	int dir_fd;
	int lock_fd; /* PID.lock, locked for this worker's life */
	char logdir[PATH_MAX];
	pid_t pid;
	uid_t euid; /* forqd's, for every job's files: asked once */
	uint32_t nslots;
	struct spool_slot slots[];
};

static void
spool_name(const struct spool *sp, uint32_t slot, int s, char *buf, size_t len)
{
	snprintf(buf, len, "%d.%u.%s", (int)sp->pid, slot, spool_ext[s]);
}

/* Whether the worker of pid is gone: its PID.lock is missing or no
 * longer locked (a lock goes with its process, even one not yet
 * reaped, and with every process after a reboot, when a pid of before
 * may be anyone's). With its lock held, the caller may remove its
 * names. */
static bool
spool_gone(struct spool *sp, long pid, int *lock_fd)
{
	char name[32];
	int fd;

	*lock_fd = -1;
	snprintf(name, sizeof name, "%ld.lock", pid);
	if ((fd = openat(sp->dir_fd, name,
			 O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return false;
	}
	*lock_fd = fd;
	return true;
}

/* Spool names of workers that are gone: the jobs that wrote the files
 * keep them under logs/, so only the names here go (and a retry of
 * such a job finds its old output with one link, to write in place). */
static void
spool_clean(struct spool *sp)
{
	struct dirent *d;
	DIR *dir;
	long pid, last = 0;
	bool gone = false;
	char *end;
	int fd, lock_fd = -1;

	/* A descriptor of its own: a dup would share the offset, at the
	 * end after the first scan. */
	if ((fd = openat(sp->dir_fd, ".",
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((d = readdir(dir)) != NULL) {
		pid = strtol(d->d_name, &end, 10);
		if (end == d->d_name || *end != '.' || pid <= 0 ||
		    pid == sp->pid)
			continue;
		if (pid != last) {
			if (lock_fd != -1)
				close(lock_fd);
			gone = spool_gone(sp, pid, &lock_fd);
			last = pid;
		}
		if (gone)
			(void)unlinkat(sp->dir_fd, d->d_name, 0);
	}
	if (lock_fd != -1)
		close(lock_fd);
	closedir(dir);
}

/* PID.lock, locked, and still the file of that name: a cleaner that
 * took it before the lock (and found it free) has removed it, and then
 * it is made again. */
static int
spool_lock(struct spool *sp, char *why, size_t whylen)
{
	struct stat held, named;
	char name[32];
	int fd, tries;

	snprintf(name, sizeof name, "%d.lock", (int)sp->pid);
	for (tries = 0; tries < 100; tries++) {
		if ((fd = openat(sp->dir_fd, name,
				 O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
				 0600)) == -1)
			break;
		if (flock(fd, LOCK_EX) == -1 || fstat(fd, &held) == -1) {
			close(fd);
			break;
		}
		if (fstatat(sp->dir_fd, name, &named, AT_SYMLINK_NOFOLLOW) ==
			0 &&
		    named.st_ino == held.st_ino && named.st_dev == held.st_dev)
			return fd;
		close(fd);
	}
	snprintf(why, whylen, "cannot lock a spool file: %s", strerror(errno));
	return -1;
}

struct spool *
spool_open(const char *state_dir, uint32_t nslots, char *why, size_t whylen)
{
	struct spool *sp;
	char dir[PATH_MAX];
	uint32_t i;

	if ((sp = calloc(1, sizeof *sp + nslots * sizeof sp->slots[0])) ==
	    NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	sp->pid = getpid();
	sp->euid = geteuid();
	sp->nslots = nslots;
	sp->logdir_fd = sp->dir_fd = sp->lock_fd = -1;
	for (i = 0; i < nslots; i++) {
		sp->slots[i].fd[0] = sp->slots[i].fd[1] = -1;
		sp->slots[i].job_fd[0] = sp->slots[i].job_fd[1] = -1;
	}
	snprintf(sp->logdir, sizeof sp->logdir, "%s/logs", state_dir);
	snprintf(dir, sizeof dir, "%s/spool", state_dir);
	if (path_mkdir_p(dir, 0700, why, whylen) == -1) {
		spool_close(sp);
		return NULL;
	}
	if ((sp->logdir_fd = open(sp->logdir, O_RDONLY | O_DIRECTORY |
						  O_NOFOLLOW | O_CLOEXEC)) ==
		-1 ||
	    (sp->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "%s: %s",
			 sp->logdir_fd == -1 ? sp->logdir : dir,
			 strerror(errno));
		spool_close(sp);
		return NULL;
	}
	if ((sp->lock_fd = spool_lock(sp, why, whylen)) == -1) {
		spool_close(sp);
		return NULL;
	}
	spool_clean(sp);
	return sp;
}

static void
spool_drop(struct spool *sp, uint32_t slot, int s)
{
	struct spool_slot *ss = &sp->slots[slot];
	char name[64];

	if (ss->fd[s] == -1)
		return;
	spool_name(sp, slot, s, name, sizeof name);
	(void)unlinkat(sp->dir_fd, name, 0);
	close(ss->fd[s]);
	ss->fd[s] = -1;
}

void
spool_close(struct spool *sp)
{
	uint32_t i;

	if (sp == NULL)
		return;
	for (i = 0; i < sp->nslots; i++) {
		spool_drop(sp, i, 0);
		spool_drop(sp, i, 1);
	}
	if (sp->lock_fd != -1) {
		char name[32];

		snprintf(name, sizeof name, "%d.lock", (int)sp->pid);
		(void)unlinkat(sp->dir_fd, name, 0);
		close(sp->lock_fd);
	}
	if (sp->logdir_fd != -1)
		close(sp->logdir_fd);
	if (sp->dir_fd != -1)
		close(sp->dir_fd);
	free(sp);
}

static bool
spool_chown_to(const struct spool *sp, uid_t uid)
{
	return sp->euid == 0 && uid != 0;
}

/* A job's output file in logs/, opened by name: the hook's, or one
 * already there. The directory is forqd's own, but a file in it must
 * never lead elsewhere: no symlink is followed, a fresh file is made
 * with O_EXCL, and one already there (made by forq logs -f, or by an
 * earlier attempt) is used only if it is a plain file with one link,
 * owned by forqd or by the job's user; then it is emptied. A hook's
 * file is appended to instead: a job's own on-finish command and
 * forqd.conf's may run at once on two workers, and the second to open
 * it emptied what the first had written. */
static int
spool_open_log(struct spool *sp, uint64_t id, const char *ext, uid_t uid,
	       gid_t gid, char *why, size_t whylen)
{
	bool hook = strcmp(ext, "hook") == 0;
	int append = hook ? O_APPEND : 0;
	char name[64];
	struct stat st;
	int fd;

	snprintf(name, sizeof name, "%llu.%s", (unsigned long long)id, ext);
	fd = openat(sp->logdir_fd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
			append,
		    0600);
	if (fd == -1 && errno == EEXIST) {
		fd = openat(sp->logdir_fd, name,
			    O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
				append);
		if (fd != -1 && fstat(fd, &st) == -1)
			goto fail;
		if (fd != -1 && (!S_ISREG(st.st_mode) || st.st_nlink != 1 ||
				 (st.st_uid != sp->euid && st.st_uid != uid))) {
			close(fd);
			snprintf(why, whylen,
				 "%s/%s is not a plain file of forqd's or the "
				 "job's user; not writing to it",
				 sp->logdir, name);
			return -1;
		}
		if (fd != -1 && !hook && ftruncate(fd, 0) == -1)
			goto fail;
	}
	if (fd == -1) {
		snprintf(why, whylen, "cannot open %s/%s: %s", sp->logdir, name,
			 strerror(errno));
		return -1;
	}
	if (spool_chown_to(sp, uid) && fchown(fd, uid, gid) == -1)
		goto fail;
	return fd;
fail:
	snprintf(why, whylen, "%s/%s: %s", sp->logdir, name, strerror(errno));
	close(fd);
	return -1;
}

/* The slot's spool file for stream s, made if it has none. A name left
 * by an earlier worker of the same pid is replaced. */
static int
spool_make(struct spool *sp, uint32_t slot, int s, uid_t uid, gid_t gid,
	   char *why, size_t whylen)
{
	struct spool_slot *ss = &sp->slots[slot];
	char name[64];
	int fd, tries;

	spool_name(sp, slot, s, name, sizeof name);
	for (tries = 0; tries < 2; tries++) {
		fd =
		    openat(sp->dir_fd, name,
			   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			   0600);
		if (fd != -1 || errno != EEXIST)
			break;
		(void)unlinkat(sp->dir_fd, name, 0);
	}
	if (fd == -1) {
		snprintf(why, whylen,
			 "cannot make a spool file in %s/../spool: "
			 "%s",
			 sp->logdir, strerror(errno));
		return -1;
	}
	if (spool_chown_to(sp, uid) && fchown(fd, uid, gid) == -1) {
		snprintf(why, whylen, "chown of a spool file: %s",
			 strerror(errno));
		(void)unlinkat(sp->dir_fd, name, 0);
		close(fd);
		return -1;
	}
	ss->fd[s] = fd;
	return 0;
}

/* Undoes a take that failed half way. */
static void
spool_undo(struct spool *sp, uint32_t slot)
{
	struct spool_slot *ss = &sp->slots[slot];
	char name[64];
	int s;

	for (s = 0; s < 2; s++) {
		if (ss->job_fd[s] == -1)
			continue;
		if (ss->linked[s]) {
			snprintf(name, sizeof name, "%llu.%s",
				 (unsigned long long)ss->job_id, spool_ext[s]);
			(void)unlinkat(sp->logdir_fd, name, 0);
		} else {
			close(ss->job_fd[s]);
		}
		ss->job_fd[s] = -1;
		ss->linked[s] = false;
	}
}

int
spool_take(struct spool *sp, uint32_t slot, uint64_t job_id, uid_t uid,
	   gid_t gid, bool hook, int fds[2], char *why, size_t whylen)
{
	struct spool_slot *ss = &sp->slots[slot];
	char from[64], name[64];
	int s;

	ss->job_id = job_id;
	if (hook) {
		if ((ss->job_fd[0] = spool_open_log(sp, job_id, "hook", uid,
						    gid, why, whylen)) == -1)
			return -1;
		if ((ss->job_fd[1] =
			 fcntl(ss->job_fd[0], F_DUPFD_CLOEXEC, 3)) == -1) {
			snprintf(why, whylen, "dup: %s", strerror(errno));
			spool_undo(sp, slot);
			return -1;
		}
		fds[0] = ss->job_fd[0];
		fds[1] = ss->job_fd[1];
		return 0;
	}
	for (s = 0; s < 2; s++) {
		if (ss->fd[s] != -1 && ss->uid != uid)
			spool_drop(sp, slot, s);
		if (ss->fd[s] == -1 &&
		    spool_make(sp, slot, s, uid, gid, why, whylen) == -1)
			goto fail;
		ss->uid = uid;
		spool_name(sp, slot, s, from, sizeof from);
		snprintf(name, sizeof name, "%llu.%s",
			 (unsigned long long)job_id, spool_ext[s]);
		if (linkat(sp->dir_fd, from, sp->logdir_fd, name, 0) == 0) {
			ss->job_fd[s] = ss->fd[s];
			ss->linked[s] = true;
			continue;
		}
		if (errno != EEXIST) {
			snprintf(why, whylen, "cannot link %s/%s: %s",
				 sp->logdir, name, strerror(errno));
			goto fail;
		}
		/* An earlier attempt's, still named here too if its worker
		 * died: that name goes first. */
		spool_clean(sp);
		if ((ss->job_fd[s] = spool_open_log(sp, job_id, spool_ext[s],
						    uid, gid, why, whylen)) ==
		    -1)
			goto fail;
	}
	fds[0] = ss->job_fd[0];
	fds[1] = ss->job_fd[1];
	return 0;
fail:
	spool_undo(sp, slot);
	return -1;
}

/* Nothing but this process has the file open: a write lease is granted
 * only then. A follower of forq logs -f, or a process of the job that
 * outlived it, keeps the spool from being reused. */
static bool
spool_unshared(int fd)
{
	if (fcntl(fd, F_SETLEASE, F_WRLCK) == -1)
		return false;
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	return true;
}

void
spool_done(struct spool *sp, uint32_t slot)
{
	struct spool_slot *ss = &sp->slots[slot];
	char name[64];
	struct stat st;
	int s;

	for (s = 0; s < 2; s++) {
		if (ss->job_fd[s] == -1)
			continue;
		if (!ss->linked[s]) {
			close(ss->job_fd[s]);
		} else if (fstat(ss->fd[s], &st) == 0 && st.st_size == 0 &&
			   st.st_blocks == 0) {
			snprintf(name, sizeof name, "%llu.%s",
				 (unsigned long long)ss->job_id, spool_ext[s]);
			(void)unlinkat(sp->logdir_fd, name, 0);
			/* The job may have moved its offset without writing. */
			if (!spool_unshared(ss->fd[s]) ||
			    lseek(ss->fd[s], 0, SEEK_SET) == -1)
				spool_drop(sp, slot, s);
		} else {
			/* Its output (or blocks it took without a size, which
			 * output_max counts) keeps the name in logs/ alone. */
			spool_drop(sp, slot, s);
		}
		ss->job_fd[s] = -1;
		ss->linked[s] = false;
	}
}
