/*
 * What a slot in shared memory says of the job it runs, as the
 * supervisor writes it and the worker and the child it spawns read it.
 * Pure: the caller gives what of forqd's state goes in (the conf's
 * limits, the job's [resources] variables and GPUs), so the layout is
 * checked on its own (unit.slotfill).
 */
#ifndef FORQ_SLOTFILL_H
#define FORQ_SLOTFILL_H

#include <stddef.h>
#include <stdint.h>

#include "core/rlimits.h"

struct slot;
struct store_job;

struct slotfill_conf {
	int64_t kill_grace_ms;
	uint64_t output_max;
	uint64_t tasks_max;
	uint32_t umask;
	int64_t on_finish_timeout_ms;
	/* Resolved (rlimits_resolve): no "kernel" left in them. */
	const struct job_rlimit_value *rlimits;
};

/* The job: argv, the [resources] variables (res_len bytes, nres of
 * them; res may be NULL when there are none) before its own
 * environment, since the first of a name is the one getenv finds, then
 * cwd, its name and the patterns of its files. The bytes of data it
 * takes; 0 if they would pass room, and then nothing is written. */
size_t slotfill_job(struct slot *slot, size_t room,
		    const struct slotfill_conf *c, const struct store_job *job,
		    const char *res, size_t res_len, uint32_t nres,
		    uint64_t gpu_deny);
/* An on-finish command: /bin/sh -c CMD in the job's directory, with the
 * job's environment and its end (FORQ_JOB_STATE, _EXIT_CODE, _SIGNAL,
 * _QUEUE, _NAME). 0 if it does not fit room. */
size_t slotfill_hook(struct slot *slot, size_t room,
		     const struct slotfill_conf *c, const struct store_job *job,
		     const char *cmd, uint64_t gpu_deny);

#endif
