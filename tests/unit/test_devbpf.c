/* v2's device program on a real group of the kernel's: a child in the
 * group opens the devices the program lets in, and not the others. The
 * memory devices (major 1: /dev/null 1:3, /dev/zero 1:5) stand in for
 * GPUs. Needs root and a cgroup2 mount (on a v1/v2 hybrid, the unified
 * tree without controllers does): it fails, not skips, without them. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup/cgroup.h"

static char group[PATH_MAX];

/* Where cgroup2 is mounted, from mountinfo's fifth field. */
static int
v2_mount(char *out, size_t len)
{
	char line[4096], root[PATH_MAX], point[PATH_MAX], fstype[64];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char *dash;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if ((dash = strstr(line, " - ")) == NULL ||
		    sscanf(dash, " - %63s", fstype) != 1 ||
		    strcmp(fstype, "cgroup2") != 0 ||
		    sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2)
			continue;
		fclose(f);
		return snprintf(out, len, "%s", point) < (int)len ? 0 : -1;
	}
	fclose(f);
	return -1;
}

/* A child joins the group and opens each device: bit i of the result
 * set if paths[i] would not open. */
static int
opens_in_group(const char *const *paths, int n)
{
	char procs[PATH_MAX + 16];
	int status, i, fd, denied = 0;
	pid_t pid;

	snprintf(procs, sizeof procs, "%s/cgroup.procs", group);
	if ((pid = fork()) == 0) {
		if ((fd = open(procs, O_WRONLY)) == -1 ||
		    write(fd, "0", 1) != 1)
			_exit(100);
		close(fd);
		for (i = 0; i < n; i++) {
			if ((fd = open(paths[i], O_RDONLY)) == -1)
				denied |= 1 << i;
			else
				close(fd);
		}
		_exit(denied);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 100);
	return WEXITSTATUS(status);
}

static void
test_device_program(void **state)
{
	const char *const devs[] = {"/dev/null", "/dev/zero"};
	char mnt[PATH_MAX];
	int gfd, p1, p2;

	(void)state;
	assert_int_equal(geteuid(), 0);
	assert_int_equal(v2_mount(mnt, sizeof mnt), 0);
	snprintf(group, sizeof group, "%s/forq-devbpf-test.%d", mnt,
		 (int)getpid());
	assert_int_equal(mkdir(group, 0755), 0);
	gfd = open(group, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_not_equal(gfd, -1);
	assert_true(cg_devbpf_works());

	/* Nothing attached: both open. */
	assert_int_equal(opens_in_group(devs, 2), 0);
	/* Minor 5 denied: /dev/zero alone is refused. */
	assert_int_not_equal(p1 = cg_devbpf_load(1, UINT64_C(1) << 5), -1);
	assert_int_equal(cg_devbpf_attach(gfd, p1), 0);
	assert_int_equal(opens_in_group(devs, 2), 2);
	/* Another program replaces it: minor 3 denied, 5 let in. */
	assert_int_not_equal(p2 = cg_devbpf_load(1, UINT64_C(1) << 3), -1);
	assert_int_equal(cg_devbpf_attach(gfd, p2), 0);
	assert_int_equal(opens_in_group(devs, 2), 1);
	/* Another major's minors are not touched. */
	close(p1);
	assert_int_not_equal(p1 = cg_devbpf_load(195, ~UINT64_C(0)), -1);
	assert_int_equal(cg_devbpf_attach(gfd, p1), 0);
	assert_int_equal(opens_in_group(devs, 2), 0);
	/* Detached: everything opens again. */
	assert_int_equal(cg_devbpf_detach(gfd, p1), 0);
	assert_int_equal(opens_in_group(devs, 2), 0);
	/* A detach that names no program takes the group's one, as a slot's
	 * first job does with what an earlier worker left; with none
	 * there, it says so (ENOENT), which that job takes as done. */
	assert_int_equal(cg_devbpf_attach(gfd, p2), 0);
	assert_int_equal(opens_in_group(devs, 2), 1);
	assert_int_equal(cg_devbpf_detach(gfd, -1), 0);
	assert_int_equal(opens_in_group(devs, 2), 0);
	assert_int_equal(cg_devbpf_detach(gfd, -1), -1);
	assert_int_equal(errno, ENOENT);
	close(p1);
	close(p2);
	close(gfd);
}

/* The group goes, whatever the test found: its child has exited. */
static int
teardown(void **state)
{
	(void)state;
	if (group[0] != '\0' && rmdir(group) == -1)
		return -1;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_device_program, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
