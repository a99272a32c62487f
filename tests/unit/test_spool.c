/* A job's output files: spooled per slot, named per job, reused only
 * when empty, unshared and of the same user; what dead workers left
 * named is cleaned away. */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker/spool.h"

struct fixture {
	char dir[64];
	char logs[128];
	char spool[128];
	struct spool *sp;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char why[256];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/forq-spool-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->logs, sizeof f->logs, "%s/logs", f->dir);
	snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
	assert_int_equal(mkdir(f->logs, 0700), 0);
	f->sp = spool_open(f->dir, 2, why, sizeof why);
	assert_non_null(f->sp);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	spool_close(f->sp);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static bool
exists(const struct fixture *f, const char *name)
{
	char path[256];

	snprintf(path, sizeof path, "%s/%s", f->logs, name);
	return access(path, F_OK) == 0;
}

static ino_t
ino_of_fd(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static void
take(struct fixture *f, uint32_t slot, uint64_t id, uid_t uid, int fds[2])
{
	char why[256] = "";

	if (spool_take(f->sp, slot, id, uid, getegid(), false, fds, why,
		       sizeof why) == -1)
		fail_msg("spool_take: %s", why);
}

/* A job that wrote nothing leaves no file, and its slot's next job of
 * the same user writes into the same spool files. */
static void
test_empty_reused(void **state)
{
	struct fixture *f = *state;
	int fds[2];
	ino_t out, err;

	take(f, 0, 1, geteuid(), fds);
	assert_true(exists(f, "1.out"));
	assert_true(exists(f, "1.err"));
	out = ino_of_fd(fds[0]);
	err = ino_of_fd(fds[1]);
	spool_done(f->sp, 0);
	assert_false(exists(f, "1.out"));
	assert_false(exists(f, "1.err"));
	take(f, 0, 2, geteuid(), fds);
	assert_int_equal(ino_of_fd(fds[0]), out);
	assert_int_equal(ino_of_fd(fds[1]), err);
	/* Another slot has files of its own. */
	spool_done(f->sp, 0);
	take(f, 1, 3, geteuid(), fds);
	assert_int_not_equal(ino_of_fd(fds[0]), out);
	spool_done(f->sp, 1);
}

/* Output keeps its name in logs/; the stream's spool is made anew, the
 * empty one is kept. A job that only moved its offset starts the next
 * one at 0. */
static void
test_output_kept(void **state)
{
	struct fixture *f = *state;
	char buf[16] = "";
	int fds[2], fd;
	ino_t out, err;

	take(f, 0, 1, geteuid(), fds);
	out = ino_of_fd(fds[0]);
	err = ino_of_fd(fds[1]);
	assert_int_equal(write(fds[0], "hello\n", 6), 6);
	assert_int_equal(lseek(fds[1], 100, SEEK_SET), 100);
	spool_done(f->sp, 0);
	assert_true(exists(f, "1.out"));
	assert_false(exists(f, "1.err"));
	{
		char path[256];

		snprintf(path, sizeof path, "%s/1.out", f->logs);
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(read(fd, buf, sizeof buf), 6);
		assert_string_equal(buf, "hello\n");
		assert_int_equal(ino_of_fd(fd), out);
		close(fd);
	}
	take(f, 0, 2, geteuid(), fds);
	assert_int_not_equal(ino_of_fd(fds[0]), out);
	assert_int_equal(ino_of_fd(fds[1]), err);
	assert_int_equal(lseek(fds[1], 0, SEEK_CUR), 0);
	spool_done(f->sp, 0);
}

/* A reader that holds the file (forq logs -f) keeps the spool from
 * being used again: the next job never writes where it reads. */
static void
test_shared_not_reused(void **state)
{
	struct fixture *f = *state;
	char path[256];
	int fds[2], reader;
	ino_t out;

	take(f, 0, 1, geteuid(), fds);
	out = ino_of_fd(fds[0]);
	snprintf(path, sizeof path, "%s/1.out", f->logs);
	reader = open(path, O_RDONLY);
	assert_true(reader >= 0);
	spool_done(f->sp, 0);
	take(f, 0, 2, geteuid(), fds);
	assert_int_not_equal(ino_of_fd(fds[0]), out);
	spool_done(f->sp, 0);
	close(reader);
}

/* Another user's job never gets a spool a user had: it gets files of
 * its own, chowned to it when forqd is root. */
static void
test_other_user(void **state)
{
	struct fixture *f = *state;
	uid_t other = geteuid() == 0 ? 65534 : geteuid() + 1;
	char why[256] = "";
	struct stat st;
	int fds[2], first;

	take(f, 0, 1, geteuid(), fds);
	spool_done(f->sp, 0);
	first = dup(fds[0]);
	/* (An inode number may come back for a file made anew: its owner
	 * and the first spool's fate tell.) */
	assert_int_equal(spool_take(f->sp, 0, 2, other, getegid(), false, fds,
				    why, sizeof why),
			 0);
	assert_int_equal(fstat(fds[0], &st), 0);
	assert_int_equal(st.st_uid, geteuid() == 0 ? other : geteuid());
	assert_int_equal(fstat(first, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	spool_done(f->sp, 0);
	close(first);
}

/* A file already there (forq logs -f made it for a queued job) is
 * written in place; one with a second link is refused. */
static void
test_existing_file(void **state)
{
	struct fixture *f = *state;
	char path[256], other[256], why[256] = "";
	int fds[2], fd;
	ino_t made;

	snprintf(path, sizeof path, "%s/5.out", f->logs);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	made = ino_of_fd(fd);
	take(f, 0, 5, geteuid(), fds);
	assert_int_equal(ino_of_fd(fds[0]), made);
	assert_int_equal(write(fds[0], "x", 1), 1);
	spool_done(f->sp, 0);
	assert_int_equal(ino_of_fd(fd), made);
	close(fd);
	assert_true(exists(f, "5.out"));

	snprintf(other, sizeof other, "%s/victim", f->dir);
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof path, "%s/6.out", f->logs);
	assert_int_equal(link(other, path), 0);
	assert_int_equal(spool_take(f->sp, 0, 6, geteuid(), getegid(), false,
				    fds, why, sizeof why),
			 -1);
	assert_non_null(strstr(why, "not a plain file"));
	/* Nothing of the refused take is left named. */
	assert_false(exists(f, "6.err"));
}

/* A dead worker's spool names go (its lock is free); a live one's stay;
 * and a job of the dead worker, tried again, writes its file in place. */
static void
test_clean(void **state)
{
	struct fixture *f = *state;
	char path[256], named[256], why[256];
	int lock, fd, fds[2];
	struct stat st;
	ino_t old;

	/* A live worker: pid 999999990 with its lock held (by us). */
	snprintf(path, sizeof path, "%s/999999990.lock", f->spool);
	lock = open(path, O_RDONLY | O_CREAT, 0600);
	assert_true(lock >= 0);
	assert_int_equal(flock(lock, LOCK_EX), 0);
	snprintf(path, sizeof path, "%s/999999990.0.out", f->spool);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* A dead one, no lock held, its job's output named twice. */
	snprintf(path, sizeof path, "%s/999999991.lock", f->spool);
	fd = open(path, O_RDONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof path, "%s/999999991.0.out", f->spool);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	old = ino_of_fd(fd);
	close(fd);
	snprintf(named, sizeof named, "%s/7.out", f->logs);
	assert_int_equal(link(path, named), 0);

	take(f, 0, 7, geteuid(), fds);
	assert_int_equal(ino_of_fd(fds[0]), old);
	assert_int_equal(fstat(fds[0], &st), 0);
	assert_int_equal(st.st_nlink, 1);
	spool_done(f->sp, 0);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof path, "%s/999999991.lock", f->spool);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof path, "%s/999999990.0.out", f->spool);
	assert_int_equal(access(path, F_OK), 0);
	close(lock);

	/* Once its lock is free, the other worker's names go too. */
	spool_close(f->sp);
	f->sp = spool_open(f->dir, 1, why, sizeof why);
	assert_non_null(f->sp);
	snprintf(path, sizeof path, "%s/999999990.0.out", f->spool);
	assert_int_equal(access(path, F_OK), -1);
}

/* An on-finish command writes both streams to ID.hook. */
static void
test_hook(void **state)
{
	struct fixture *f = *state;
	char why[256];
	int fds[2];

	assert_int_equal(spool_take(f->sp, 1, 9, geteuid(), getegid(), true,
				    fds, why, sizeof why),
			 0);
	assert_int_equal(ino_of_fd(fds[0]), ino_of_fd(fds[1]));
	spool_done(f->sp, 1);
	assert_true(exists(f, "9.hook"));
	assert_false(exists(f, "9.out"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_empty_reused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shared_not_reused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_other_user, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_existing_file, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hook, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
