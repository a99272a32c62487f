/* What a worker left alone says and leaves: its greeting, the lines of
 * a drain, and its end files. */
#include <sys/stat.h>

#include <fcntl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/job.h"
#include "ipc/channel.h"
#include "ipc/orphan.h"
#include "ipc/shm.h"

static void
test_greeting(void **state)
{
	struct orphan_greeting g;
	char line[ORPHAN_LINE_MAX];

	(void)state;
	orphan_greeting(line, sizeof line, 7, 3);
	assert_int_equal(orphan_greeting_parse(line, &g), 0);
	assert_int_equal(g.index, 7);
	assert_int_equal(g.cpu, 3);
	assert_true(orphan_layout_same(g.ch, g.shm));
	/* Another layout reads the same, and is told apart. */
	assert_int_equal(orphan_greeting_parse("forq worker 2 1 9 1005\n", &g),
			 0);
	assert_false(orphan_layout_same(g.ch, g.shm));
	assert_false(orphan_layout_same(CH_VERSION, SHM_VERSION + 1));
	/* Not a greeting. */
	assert_int_equal(orphan_greeting_parse("forq worker 2 1 9\n", &g), -1);
	assert_int_equal(orphan_greeting_parse("forq worker -1 0 3 6\n", &g),
			 -1);
	assert_int_equal(orphan_greeting_parse("forq worker 1 0 3 6", &g), -1);
	assert_int_equal(orphan_greeting_parse("forq worker 1 0 3 6 x\n", &g),
			 -1);
}

static void
test_drain_lines(void **state)
{
	struct orphan_drain_line l;

	(void)state;
	assert_int_equal(orphan_drain_parse("draining 3\n", &l), 'n');
	assert_int_equal(l.id, 3);
	assert_int_equal(orphan_drain_parse("job 41 2 1 999\n", &l), 'j');
	assert_int_equal(l.id, 41);
	assert_int_equal(l.attempt, 2);
	assert_int_equal(l.slot, 1);
	assert_int_equal(l.pid, 999);
	assert_int_equal(orphan_drain_parse("end 41 2\n", &l), 'e');
	assert_int_equal(l.id, 41);
	assert_int_equal(l.attempt, 2);
	assert_int_equal(orphan_drain_parse("end 41\n", &l), 0);
	assert_int_equal(orphan_drain_parse("job 41 2 1\n", &l), 0);
	assert_int_equal(orphan_drain_parse("end 41 2 junk\n", &l), 0);
	assert_int_equal(orphan_drain_parse(ORPHAN_DRAIN, &l), 0);
}

static void
test_end_files(void **state)
{
	char root[] = "/tmp/forq-orphantest.XXXXXX", ends[64], cmd[96];
	struct job_result r = {.state = JOB_FAILED, .exit_code = 3}, back;
	int dirfd;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(ends, sizeof ends, "%s/" ORPHAN_ENDS_DIR, root);
	assert_int_equal(mkdir(ends, 0700), 0);
	dirfd = open(ends, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	assert_int_equal(orphan_end_write(dirfd, 41, 2, &r), 0);
	assert_int_equal(orphan_end_read(root, 41, 2, &back), 0);
	assert_int_equal(back.state, JOB_FAILED);
	assert_int_equal(back.exit_code, 3);
	assert_int_equal(orphan_end_read(root, 41, 1, &back), -1);
	orphan_end_remove(root, 41, 2);
	assert_int_equal(orphan_end_read(root, 41, 2, &back), -1);
	close(dirfd);
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_greeting),
	    cmocka_unit_test(test_drain_lines),
	    cmocka_unit_test(test_end_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
