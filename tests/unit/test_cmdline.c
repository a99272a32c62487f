/* Batch lines: which need the shell, and how plain ones split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "client/cmdline.h"

static void
test_plain_words_split(void **state)
{
	size_t n = 0;
	char **argv;

	argv = cmdline_simple_split("  convert\ta1.png  a1.jpg ", &n);
	assert_non_null(argv);
	assert_int_equal(n, 3);
	assert_string_equal(argv[0], "convert");
	assert_string_equal(argv[1], "a1.png");
	assert_string_equal(argv[2], "a1.jpg");
	assert_null(argv[3]);
	free(argv);
	argv = cmdline_simple_split("dd if=/dev/zero of=x bs=1M count=1", &n);
	assert_non_null(argv);
	assert_int_equal(n, 5);
	assert_string_equal(argv[1], "if=/dev/zero");
	free(argv);
	argv = cmdline_simple_split("/bin/true", &n);
	assert_non_null(argv);
	assert_int_equal(n, 1);
	free(argv);
}

static void
test_shell_lines_stay_with_the_shell(void **state)
{
	static const char *const lines[] = {
	    "echo $HOME",  "a && b",     "a; b",       "a | b",
	    "a > out",     "ls *.png",   "echo 'x y'", "echo \"x\"",
	    "a\\ b",       "cmd # note", "~/bin/x",    "cd /tmp",
	    "exit 3",      "FOO=1 cmd",  "if true",    "x=1",
	    "echo `date`", "(a)",        "a &",        "export A",
	    "wait",        "ls [ab]",    "echo {a,b}", "! false",
	    ". ./env",     "",           "   ",        "a\nb",
	};
	size_t i, n;

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		if (cmdline_simple_split(lines[i], &n) != NULL)
			fail_msg("\"%s\" was split without the shell",
				 lines[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_words_split),
	    cmocka_unit_test(test_shell_lines_stay_with_the_shell),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
