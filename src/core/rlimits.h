/*
 * The resource limits a job starts with: those of a normal login by
 * default, never forqd's own (which root may have raised), each
 * settable in [jobs] as "SOFT" or "SOFT:HARD".
 */
#ifndef FORQ_RLIMITS_H
#define FORQ_RLIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum job_rlimit {
	JOB_RLIMIT_CORE,
	JOB_RLIMIT_CPU,
	JOB_RLIMIT_DATA,
	JOB_RLIMIT_FSIZE,
	JOB_RLIMIT_MEMLOCK,
	JOB_RLIMIT_NOFILE,
	JOB_RLIMIT_NPROC,
	JOB_RLIMIT_STACK,
	JOB_RLIMIT_AS,
	JOB_RLIMIT_COUNT,
};

/* RLIMIT_UNLIMITED stands for RLIM_INFINITY. */
#define RLIMITS_UNLIMITED UINT64_MAX
/* limit_nproc = kernel: what the kernel gives init, and so a login
 * (threads-max / 2); rlimits_resolve puts the number in. */
#define RLIMITS_KERNEL (UINT64_MAX - 1)

struct job_rlimit_value {
	uint64_t soft;
	uint64_t hard;
};

/* "limit_core", ... as in forqd.conf. */
const char *rlimits_key(enum job_rlimit which);
/* RLIMIT_CORE, ... */
int rlimits_resource(enum job_rlimit which);
/* A size (K, M, G suffixes) rather than a count or seconds. */
bool rlimits_in_bytes(enum job_rlimit which);
/* "N", "N:M", each a number (with a size suffix where in bytes) or
 * "unlimited"; soft may not exceed hard; "kernel" for limit_nproc.
 * -1 with why. */
int rlimits_parse(enum job_rlimit which, const char *text,
		  struct job_rlimit_value *out, const char **why);
/* What a login on Debian gets: core 0 (hard unlimited), nofile
 * 1024:524288, stack 8M, memlock 8M, nproc "kernel", the rest
 * unlimited. */
void rlimits_defaults(struct job_rlimit_value v[JOB_RLIMIT_COUNT]);
/* The limits to set: "kernel" becomes kernel_nproc. */
void rlimits_resolve(struct job_rlimit_value out[JOB_RLIMIT_COUNT],
		     const struct job_rlimit_value in[JOB_RLIMIT_COUNT],
		     uint64_t kernel_nproc);
/* threads-max / 2 from /proc, as the kernel sizes init's RLIMIT_NPROC;
 * fallback when it cannot be read. */
uint64_t rlimits_kernel_nproc(uint64_t fallback);

#endif
