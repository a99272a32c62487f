/* The CLI's option values: numbers, durations and users, each told
 * apart with a message naming the option. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>

#include "client/cli.h"
#include "common/compat.h"
#include "common/units.h"

int
cli_parse_user(const char *text, uid_t *uid)
{
	const char *errstr = NULL;
	struct passwd *pw;
	long long n;

	if ((pw = getpwnam(text)) != NULL) {
		*uid = pw->pw_uid;
		return 0;
	}
	n = strtonum(text, 0, UINT32_MAX - 1, &errstr);
	if (errstr != NULL)
		return -1;
	*uid = (uid_t)n;
	return 0;
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
