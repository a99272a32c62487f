/*
 * A job's output files. Making a file for each stream of each job, and
 * removing it again at retention, cost a short job's worker more than
 * everything else together (an inode allocated and freed per stream).
 * So each slot keeps a pair of spool files, in state_dir/spool, named
 * by its worker's pid: a job writes into its slot's pair, linked into
 * logs/ as ID.out and ID.err for its run, where forq logs -f finds them.
 * At its end, a stream that stayed empty loses its name in logs/ (no
 * file means no output) and its spool serves the slot's next job of the
 * same user, if nothing else holds it open; a stream with output keeps
 * its name, and the slot makes a new spool when it next needs one.
 *
 * Only a job of the same user reuses a spool: a user may have made a
 * link of their own to their job's output (through /proc), and must
 * never read another's. A file that forq logs -f already made for a
 * queued job, or an earlier attempt left, is written in place as before.
 */
#ifndef FORQ_SPOOL_H
#define FORQ_SPOOL_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spool;

/* The spool of nslots slots, under state_dir; NULL with why[]. Spool
 * files of workers no longer alive are removed (the jobs writing them
 * still have them under logs/). */
struct spool *spool_open(const char *state_dir, uint32_t nslots, char *why,
			 size_t whylen);
/* Removes this worker's spool files: on its way out. */
void spool_close(struct spool *sp);

/* A job's two output streams for slot, owned by uid (chowned to it and
 * gid when forqd is root and uid is not); with hook, both are the one
 * file ID.hook, a job's on-finish command's. The fds stay the spool's:
 * spool_done gives them back. -1 with why[]. */
int spool_take(struct spool *sp, uint32_t slot, uint64_t job_id, uid_t uid,
	       gid_t gid, bool hook, int fds[2], char *why, size_t whylen);
/* After the job's processes are gone: its empty streams lose their
 * names in logs/. */
void spool_done(struct spool *sp, uint32_t slot);

#endif
