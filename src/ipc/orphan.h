/*
 * What a worker whose forqd died leaves for the next one: a socket in
 * STATE/workers to be adopted through (the new forqd connects, hands
 * over its shared memory with CH_S_ADOPT, and the worker goes on as its
 * own), and, for each job end no forqd has recorded, a file in
 * STATE/ends, written durably before anything else is done with it, so
 * that the end outlives the worker too.
 */
#ifndef FORQ_ORPHAN_H
#define FORQ_ORPHAN_H

#include <stddef.h>
#include <stdint.h>

struct job_result;

#define ORPHAN_SOCK_DIR "workers"
#define ORPHAN_ENDS_DIR "ends"

/* STATE/workers/INDEX.sock: -1 if it does not fit buf. */
int orphan_sock_path(const char *state_dir, int index, char *buf, size_t len);
/* INDEX from a socket's file name; -1 if it is not one. */
int orphan_sock_index(const char *name);

/* The end of attempt attempt (0-based) of job id, into dirfd (STATE/ends):
 * written, synced and renamed into place, its directory synced. -1 with
 * errno. */
int orphan_end_write(int dirfd, uint64_t id, uint32_t attempt,
		     const struct job_result *r);
/* An end file's name back: 0 and id, attempt; -1 if it is not one. */
int orphan_end_name(const char *name, uint64_t *id, uint32_t *attempt);
/* Every end file in STATE/ends, in no order, to fn; a file that does
 * not read as one is logged and left out. -1 if the directory cannot
 * be read. */
int orphan_ends_each(const char *state_dir,
		     void (*fn)(void *arg, uint64_t id, uint32_t attempt,
				const struct job_result *r),
		     void *arg);
/* Removes every end file, once the store has what they said. */
void orphan_ends_clear(const char *state_dir);

#endif
