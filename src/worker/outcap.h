/*
 * A job's output held to output_max: what its two files take on disk,
 * however its processes wrote them, and what was written past the cap
 * given back. The worker says which files and which cap; nothing is
 * kept between calls.
 */
#ifndef FORQ_WORKER_OUTCAP_H
#define FORQ_WORKER_OUTCAP_H

#include <stdbool.h>
#include <stdint.h>

/* Bytes the files fds (stdout, stderr; -1: none) take: each its size,
 * or the blocks it holds if more (fallocate, with or without
 * KEEP_SIZE). one_file: both are the same file (a hook's), counted
 * once. */
uint64_t outcap_used(const int fds[2], bool one_file);

/* Each file cut to max bytes if longer, and the blocks it held past its
 * end given back. */
void outcap_trim(const int fds[2], uint64_t max);

#endif
