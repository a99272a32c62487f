/* Processes a job left behind: known by FORQ_JOB_ID in their
 * environment and their owner, kept with their job, sent its stop
 * signal, killed when nobody's; reaped unless a job's own. Real
 * children of the test stand for them. */
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker/strays.h"

static void
test_job_id(void **state)
{
	static const char env[] = "PATH=/bin\0FORQ_JOB_ID=4211\0HOME=/";
	static const char none[] = "PATH=/bin\0FORQ_JOB=1\0";
	static const char cut[] = "A=1\0FORQ_JOB_ID=4219";

	(void)state;
	assert_int_equal(strays_job_id(env, sizeof env - 1), 4211);
	assert_int_equal(strays_job_id(none, sizeof none - 1), 0);
	assert_int_equal(strays_job_id("", 0), 0);
	/* The last variable without its NUL, as a read cut at the buffer
	 * leaves it: only the bytes given are read. */
	assert_int_equal(strays_job_id(cut, sizeof cut - 1), 4219);
	assert_int_equal(strays_job_id(cut, sizeof cut - 3), 42);
}

/* A child of the test running sleep with FORQ_JOB_ID=id (0: none);
 * returned once it has exec'd, so that its environment is its own. */
static pid_t
child(uint64_t id)
{
	char var[40];
	char *const argv[] = {"sleep", "30", NULL};
	char *const env[] = {var, NULL};
	char c;
	int p[2];
	pid_t pid;

	snprintf(var, sizeof var, id != 0 ? "FORQ_JOB_ID=%llu" : "X=%llu",
		 (unsigned long long)id);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		execve("/bin/sleep", argv, env);
		_exit(127);
	}
	assert_true(pid > 0);
	close(p[1]);
	/* EOF when the exec closes the write end. */
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);
	return pid;
}

/* How the child ended: its signal, or 0 if it still runs (then it is
 * killed and reaped). */
static int
ended_by(pid_t pid)
{
	siginfo_t si = {0};
	int rc;

	/* A signal sent by the scan arrives before kill returns; its end
	 * is waited for. */
	rc = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	assert_int_equal(rc, 0);
	(void)waitpid(pid, NULL, 0);
	return si.si_code == CLD_KILLED ? si.si_status : 0;
}

static int
still_runs(pid_t pid)
{
	siginfo_t si = {0};

	assert_int_equal(waitid(P_PID, (id_t)pid, &si,
				WEXITED | WNOHANG | WNOWAIT),
			 0);
	return si.si_pid == 0;
}

static void
test_scan(void **state)
{
	pid_t job = child(0), mine = child(7), other = child(8), hidden;
	struct stray_owner jobs[] = {
	    {.pid = job, .uid = getuid(), .job_id = 7, .stop_signal = 0}};

	(void)state;
	hidden = child(0);
	strays_scan(jobs, 1);
	/* Job 8 runs nowhere: killed. */
	assert_int_equal(ended_by(other), SIGKILL);
	/* Job 7's stays with it, as does one of its owner that hides its
	 * job; the job's own process is the worker's, never touched. */
	assert_true(still_runs(mine));
	assert_true(still_runs(hidden));
	assert_true(still_runs(job));

	/* Job 7 is being stopped: its stray is sent the same signal; one
	 * that hides its job is left for the job's group. */
	jobs[0].stop_signal = SIGTERM;
	strays_scan(jobs, 1);
	assert_int_equal(ended_by(mine), SIGTERM);
	assert_true(still_runs(hidden));

	/* No job runs: every stray goes. */
	strays_scan(NULL, 0);
	assert_int_equal(ended_by(hidden), SIGKILL);
	assert_int_equal(ended_by(job), SIGKILL);
}

static void
test_reap(void **state)
{
	pid_t job = child(0), stray = child(0);
	struct stray_owner jobs[] = {{.pid = job, .uid = getuid()}};
	siginfo_t si = {0};

	(void)state;
	kill(stray, SIGKILL);
	assert_int_equal(waitid(P_PID, (id_t)stray, &si, WEXITED | WNOWAIT), 0);
	assert_true(strays_reap(jobs, 1));
	/* Reaped: gone from the test's children. */
	assert_int_equal(waitpid(stray, NULL, WNOHANG), -1);
	assert_false(strays_reap(jobs, 1));

	/* A job's own exit is not the strays' to take. */
	kill(job, SIGKILL);
	assert_int_equal(waitid(P_PID, (id_t)job, &si, WEXITED | WNOWAIT), 0);
	assert_false(strays_reap(jobs, 1));
	assert_int_equal(waitpid(job, NULL, WNOHANG), job);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_job_id),
	    cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_reap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
