/* A job's output held to output_max, on real files: what they take on
 * disk (their size, or the blocks fallocate holds if more; a hook's one
 * file once), and the cut that gives back what lay past the cap. */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker/outcap.h"

/* A new file of len bytes, unlinked (only its descriptor holds it). */
static int
file_of(size_t len)
{
	char path[] = "/tmp/forq-outcap.XXXXXX", buf[4096];
	size_t n;
	int fd;

	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	memset(buf, 'x', sizeof buf);
	for (; len > 0; len -= n) {
		n = len < sizeof buf ? len : sizeof buf;
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
	}
	return fd;
}

static off_t
size_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_size;
}

static void
test_used(void **state)
{
	int fds[2] = {file_of(10000), file_of(3000)};
	const int none[2] = {-1, -1};
	uint64_t both, one;

	(void)state;
	/* At least their sizes, at most a few blocks more each. */
	both = outcap_used(fds, false);
	assert_true(both >= 13000 && both < 13000 + 2 * 65536);
	one = outcap_used(fds, true);
	assert_true(one >= 10000 && one < 10000 + 65536);
	assert_int_equal(outcap_used(none, false), 0);

	/* Blocks held past the end count, though the size does not show
	 * them. */
	assert_int_equal(fallocate(fds[1], FALLOC_FL_KEEP_SIZE, 0, 1 << 20), 0);
	assert_int_equal(size_of(fds[1]), 3000);
	assert_true(outcap_used(fds, false) >= 10000 + (1 << 20));
	/* A hook's second stream is its first. */
	assert_true(outcap_used(fds, true) < 10000 + 65536);
	close(fds[0]);
	close(fds[1]);
}

static void
test_trim(void **state)
{
	int fds[2] = {file_of(100000), file_of(2000)};

	(void)state;
	assert_int_equal(fallocate(fds[0], FALLOC_FL_KEEP_SIZE, 0, 1 << 20), 0);
	outcap_trim(fds, 4096);
	/* Cut to the cap, the blocks past it given back; a shorter one
	 * is left as it was. */
	assert_int_equal(size_of(fds[0]), 4096);
	assert_int_equal(size_of(fds[1]), 2000);
	assert_true(outcap_used(fds, false) < 4096 + 2000 + 2 * 65536);
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_used),
	    cmocka_unit_test(test_trim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
