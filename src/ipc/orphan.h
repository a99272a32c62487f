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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct job_result;

#define ORPHAN_SOCK_DIR "workers"

/*
 * A worker's socket first says, in text no layout change touches, who
 * it is and which channel and shared-memory layouts it speaks:
 * "forq worker INDEX CPU CH SHM\n". A forqd of the same layouts takes it on
 * (CH_S_ADOPT); one of others (an upgrade across a layout change) says
 * ORPHAN_DRAIN, and the worker runs its jobs to their end for it,
 * answering "draining N\n" and a "job ID ATTEMPT SLOT PID\n" line for
 * each job it runs, then an "end ID ATTEMPT\n" line once each end is in
 * STATE/ends; it exits when it has none left.
 */
#define ORPHAN_DRAIN "drain\n"
#define ORPHAN_LINE_MAX 64

/* The greeting of worker index on cpu, of this build's layouts. */
void orphan_greeting(char *buf, size_t len, int index, int cpu);
/* What a greeting says; -1 if line is not one. */
struct orphan_greeting {
	int index;
	int cpu;
	unsigned ch, shm;
};
int orphan_greeting_parse(const char *line, struct orphan_greeting *g);
/* Whether the layouts a greeting names are this build's. */
bool orphan_layout_same(unsigned ch, unsigned shm);
/* A line of a drain: 'n' (draining N: id = N), 'j' (job) or 'e' (end);
 * 0 if it is none of them. */
struct orphan_drain_line {
	uint64_t id;
	uint32_t attempt;
	uint32_t slot; /* 'j' */
	int pid;       /* 'j' */
};
char orphan_drain_parse(const char *line, struct orphan_drain_line *l);
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
/* The end file of attempt attempt of job id: 0 and r, or -1. */
int orphan_end_read(const char *state_dir, uint64_t id, uint32_t attempt,
		    struct job_result *r);
/* Removes it, once the store has what it said. */
void orphan_end_remove(const char *state_dir, uint64_t id, uint32_t attempt);
/* Removes every end file, once the store has what they said; and
 * half-written ones a crash left, unless tmp_too is false (a worker may
 * be writing one). */
void orphan_ends_clear(const char *state_dir, bool tmp_too);

#endif
