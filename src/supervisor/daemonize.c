/* Detaching with a readiness pipe back to the starting process. */
#include <sys/wait.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "supervisor/daemonize.h"

int
daemonize(void)
{
	int pipefd[2], status, devnull;
	char byte;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &byte, 1) == 1)
			_exit(0);
		/* It died before it was ready; it said why on stderr. */
		if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
			_exit(1);
		_exit(WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
	}
	close(pipefd[0]);
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((devnull = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	dup2(devnull, STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	if (devnull > STDERR_FILENO)
		close(devnull);
	return pipefd[1];
}

void
daemonize_done(int ready_fd)
{
	int devnull;

	if (ready_fd == -1)
		return;
	log_use_syslog();
	if ((devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, STDERR_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	if (write(ready_fd, "", 1) != 1)
		log_warn("telling the starting process we are ready");
	close(ready_fd);
}
