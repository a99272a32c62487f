/*
 * pidwait PID TIMEOUT_MS: waits for a process (not necessarily our
 * child) to end, through a pidfd, so tests wait for the event rather
 * than polling. Exits 0 when it ended, 1 on timeout, 2 on error.
 */
#include <sys/syscall.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct pollfd pfd;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: pidwait PID TIMEOUT_MS\n");
		return 2;
	}
	pfd.fd = (int)syscall(SYS_pidfd_open, atoi(argv[1]), 0);
	if (pfd.fd == -1)
		return errno == ESRCH ? 0 : 2;
	pfd.events = POLLIN;
	rc = poll(&pfd, 1, atoi(argv[2]));
	if (rc == -1)
		return 2;
	return rc == 1 ? 0 : 1;
}
