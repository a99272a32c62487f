/*
 * The physical limit for running commands here: N runs of a program
 * (default /bin/true), at most P in flight, started with fork + execve,
 * posix_spawn, or clone(CLONE_VM | CLONE_VFORK) + execve. Prints one
 * line: method, N, P, seconds, jobs per second.
 *
 *     floor fork|spawn|vfork N P [program]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char *prog_argv[2];

static int
child_exec(void *arg)
{
	execve(prog_argv[0], prog_argv, environ);
	_exit(127);
}

static pid_t
start(const char *method, char *stack, size_t stack_size)
{
	pid_t pid;

	if (strcmp(method, "fork") == 0) {
		pid = fork();
		if (pid == 0) {
			execve(prog_argv[0], prog_argv, environ);
			_exit(127);
		}
		return pid;
	}
	if (strcmp(method, "spawn") == 0) {
		int rc = posix_spawn(&pid, prog_argv[0], NULL, NULL, prog_argv,
				     environ);
		if (rc != 0) {
			errno = rc;
			return -1;
		}
		return pid;
	}
	return clone(child_exec, stack + stack_size,
		     CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
}

int
main(int argc, char **argv)
{
	const size_t stack_size = 64 * 1024;
	struct timespec t0, t1;
	long n, p, started = 0, done = 0;
	char *stack;
	int status;
	double s;

	if (argc < 4 ||
	    (strcmp(argv[1], "fork") != 0 && strcmp(argv[1], "spawn") != 0 &&
	     strcmp(argv[1], "vfork") != 0)) {
		fprintf(stderr,
			"usage: floor fork|spawn|vfork N P [program]\n");
		return 64;
	}
	n = atol(argv[2]);
	p = atol(argv[3]);
	prog_argv[0] = argc > 4 ? argv[4] : "/bin/true";
	stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (n < 1 || p < 1 || stack == MAP_FAILED)
		return 64;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < n) {
		while (started < n && started - done < p) {
			if (start(argv[1], stack, stack_size) == -1) {
				perror("start");
				return 1;
			}
			started++;
		}
		if (wait(&status) == -1) {
			perror("wait");
			return 1;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "a run failed (status %d)\n", status);
			return 1;
		}
		done++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%s %ld %ld %.6f %.1f\n", argv[1], n, p, s, n / s);
	return 0;
}
