/* A job's output held to output_max. */
#include <sys/stat.h>

#include <unistd.h>

#include "worker/outcap.h"

uint64_t
outcap_used(const int fds[2], bool one_file)
{
	uint64_t used = 0, blocks;
	struct stat st;
	int i;

	for (i = 0; i < 2; i++) {
		if (fds[i] == -1 || (i == 1 && one_file))
			continue;
		if (fstat(fds[i], &st) == -1)
			continue;
		blocks = (uint64_t)st.st_blocks * 512;
		used += blocks > (uint64_t)st.st_size ? blocks
						      : (uint64_t)st.st_size;
	}
	return used;
}

void
outcap_trim(const int fds[2], uint64_t max)
{
	struct stat st;
	off_t keep;
	int i;

	for (i = 0; i < 2; i++) {
		if (fds[i] == -1 || fstat(fds[i], &st) == -1)
			continue;
		keep = (uint64_t)st.st_size > max ? (off_t)max : st.st_size;
		/* Shrinking frees the blocks past the end, also those
		 * fallocate kept beyond it. */
		(void)!ftruncate(fds[i], keep + 1);
		(void)!ftruncate(fds[i], keep);
	}
}
