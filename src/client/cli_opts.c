/* The CLI's option values: numbers, durations and users, each told
 * apart with a message naming the option. */
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/cli.h"
#include "common/compat.h"
#include "common/units.h"

extern char **environ;

/* forq is linked statically (CMakeLists.txt), and a static glibc's
 * getpwnam would load the NSS modules (sssd, LDAP, systemd) of the glibc
 * installed now, which need not be the one forq was linked with. So
 * /etc/passwd is read here, and any other source is asked through
 * getent(1), a program of the installed glibc. */
static int
passwd_file_uid(const char *name, uid_t *uid)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	int rc = -1;

	if (f == NULL)
		return -1;
	while ((pw = fgetpwent(f)) != NULL)
		if (strcmp(pw->pw_name, name) == 0) {
			*uid = pw->pw_uid;
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

static int
getent_uid(const char *name, uid_t *uid)
{
	char *argv[] = {"getent", "passwd", "--", (char *)name, NULL};
	posix_spawn_file_actions_t fa;
	char line[4096], *field;
	const char *errstr = NULL;
	int fds[2], status, rc = -1;
	ssize_t n = 0, got;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
					 O_WRONLY, 0);
	if (posix_spawnp(&pid, "getent", &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while (pid != -1 && n < (ssize_t)sizeof(line) - 1 &&
	       (got = read(fds[0], line + n, sizeof(line) - 1 - (size_t)n)) > 0)
		n += got;
	close(fds[0]);
	if (pid == -1 || waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	line[n] = '\0';
	/* name:password:uid:... */
	if ((field = strchr(line, ':')) != NULL &&
	    (field = strchr(field + 1, ':')) != NULL) {
		field[strcspn(field + 1, ":") + 1] = '\0';
		*uid = (uid_t)strtonum(field + 1, 0, UINT32_MAX - 1, &errstr);
		rc = errstr == NULL ? 0 : -1;
	}
	return rc;
}

int
cli_parse_user(const char *text, uid_t *uid)
{
	const char *errstr = NULL;
	long long n;

	if (passwd_file_uid(text, uid) == 0)
		return 0;
	n = strtonum(text, 0, UINT32_MAX - 1, &errstr);
	if (errstr == NULL) {
		*uid = (uid_t)n;
		return 0;
	}
	return getent_uid(text, uid);
}

int
cli_opt_number(const char *opt, const char *arg, long long min, long long max,
	       long long *out)
{
	const char *why = NULL;

	*out = strtonum(arg, min, max, &why);
	if (why == NULL)
		return 0;
	fprintf(stderr, "forq: %s %s: %s (%lld to %lld)\n", opt, arg, why, min,
		max);
	return -1;
}

int
cli_opt_duration(const char *opt, const char *arg, int64_t *ms)
{
	const char *why;

	if (units_parse_duration(arg, ms, &why) == 0)
		return 0;
	fprintf(stderr, "forq: %s %s: %s\n", opt, arg, why);
	return -1;
}

int
cli_opt_size(const char *opt, const char *arg, uint64_t *bytes)
{
	const char *why;

	if (units_parse_size(arg, bytes, &why) == 0)
		return 0;
	fprintf(stderr, "forq: %s %s: %s\n", opt, arg, why);
	return -1;
}

int
cli_opt_user(const char *opt, const char *arg, uid_t *uid)
{
	if (cli_parse_user(arg, uid) == 0)
		return 0;
	fprintf(stderr, "forq: %s %s: no such user\n", opt, arg);
	return -1;
}

void
cli_die(const struct forq_error *err)
{
	fprintf(stderr, "forq: %s\n", err->message);
	exit(forq_error_exit_code(err));
}
