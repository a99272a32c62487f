/* The resource limits a job starts with. */
#include <sys/resource.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/compat.h"
#include "common/units.h"
#include "core/rlimits.h"

static const struct {
	const char *key;
	int resource;
	bool bytes;
} rlimits_table[JOB_RLIMIT_COUNT] = {
    [JOB_RLIMIT_CORE] = {"limit_core", RLIMIT_CORE, true},
    [JOB_RLIMIT_CPU] = {"limit_cpu", RLIMIT_CPU, false},
    [JOB_RLIMIT_DATA] = {"limit_data", RLIMIT_DATA, true},
    [JOB_RLIMIT_FSIZE] = {"limit_fsize", RLIMIT_FSIZE, true},
    [JOB_RLIMIT_MEMLOCK] = {"limit_memlock", RLIMIT_MEMLOCK, true},
    [JOB_RLIMIT_NOFILE] = {"limit_nofile", RLIMIT_NOFILE, false},
    [JOB_RLIMIT_NPROC] = {"limit_nproc", RLIMIT_NPROC, false},
    [JOB_RLIMIT_STACK] = {"limit_stack", RLIMIT_STACK, true},
    [JOB_RLIMIT_AS] = {"limit_as", RLIMIT_AS, true},
};

_Static_assert(RLIM_INFINITY == RLIMITS_UNLIMITED,
	       "a limit's value is handed to setrlimit as it is");

const char *
rlimits_key(enum job_rlimit which)
{
	return rlimits_table[which].key;
}

int
rlimits_resource(enum job_rlimit which)
{
	return rlimits_table[which].resource;
}

bool
rlimits_in_bytes(enum job_rlimit which)
{
	return rlimits_table[which].bytes;
}

static int
rlimits_parse_one(enum job_rlimit which, const char *text, uint64_t *out,
		  const char **why)
{
	char *end;

	if (strcmp(text, "unlimited") == 0 || strcmp(text, "infinity") == 0) {
		*out = RLIMITS_UNLIMITED;
		return 0;
	}
	if (rlimits_in_bytes(which))
		return units_parse_size(text, out, why);
	errno = 0;
	if (text[0] < '0' || text[0] > '9' ||
	    (*out = strtoull(text, &end, 10), errno != 0) || *end != '\0' ||
	    *out >= RLIMITS_KERNEL) {
		*why = "not a whole number or \"unlimited\"";
		return -1;
	}
	return 0;
}

int
rlimits_parse(enum job_rlimit which, const char *text,
	      struct job_rlimit_value *out, const char **why)
{
	char soft[64];
	const char *colon = strchr(text, ':');
	size_t len = colon != NULL ? (size_t)(colon - text) : strlen(text);

	if (strcmp(text, "kernel") == 0) {
		if (which != JOB_RLIMIT_NPROC) {
			*why = "only limit_nproc may be \"kernel\"";
			return -1;
		}
		out->soft = out->hard = RLIMITS_KERNEL;
		return 0;
	}
	if (len == 0 || len >= sizeof soft) {
		*why = "not SOFT or SOFT:HARD";
		return -1;
	}
	memcpy(soft, text, len);
	soft[len] = '\0';
	if (rlimits_parse_one(which, soft, &out->soft, why) == -1)
		return -1;
	if (colon == NULL) {
		out->hard = out->soft;
		return 0;
	}
	if (rlimits_parse_one(which, colon + 1, &out->hard, why) == -1)
		return -1;
	if (out->soft > out->hard) {
		*why = "the soft limit is above the hard one";
		return -1;
	}
	return 0;
}

void
rlimits_defaults(struct job_rlimit_value v[JOB_RLIMIT_COUNT])
{
	int i;

	for (i = 0; i < JOB_RLIMIT_COUNT; i++)
		v[i] = (struct job_rlimit_value){RLIMITS_UNLIMITED,
						 RLIMITS_UNLIMITED};
	v[JOB_RLIMIT_CORE].soft = 0;
	v[JOB_RLIMIT_NOFILE] = (struct job_rlimit_value){1024, 524288};
	v[JOB_RLIMIT_STACK].soft = 8 << 20;
	v[JOB_RLIMIT_MEMLOCK] = (struct job_rlimit_value){8 << 20, 8 << 20};
	v[JOB_RLIMIT_NPROC] =
	    (struct job_rlimit_value){RLIMITS_KERNEL, RLIMITS_KERNEL};
}

void
rlimits_resolve(struct job_rlimit_value out[JOB_RLIMIT_COUNT],
		const struct job_rlimit_value in[JOB_RLIMIT_COUNT],
		uint64_t kernel_nproc)
{
	int i;

	for (i = 0; i < JOB_RLIMIT_COUNT; i++) {
		out[i] = in[i];
		if (out[i].soft == RLIMITS_KERNEL)
			out[i].soft = kernel_nproc;
		if (out[i].hard == RLIMITS_KERNEL)
			out[i].hard = kernel_nproc;
	}
}

uint64_t
rlimits_kernel_nproc(uint64_t fallback)
{
	unsigned long long n;
	FILE *f = fopen("/proc/sys/kernel/threads-max", "re");
	int ok;

	if (f == NULL)
		return fallback;
	ok = fscanf(f, "%llu", &n) == 1 && n >= 2;
	fclose(f);
	return ok ? n / 2 : fallback;
}
