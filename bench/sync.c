/*
 * The physical limit for a durable acknowledgement here: N rounds of
 * one 4 KiB pwrite into a preallocated file followed by fdatasync,
 * the least a WAL commit costs. Prints "p50 p99" in microseconds.
 *
 *     sync FILE N
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define PAGES 256

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct timespec a, z;
	static char page[PAGE];
	double *t;
	int fd, i, n;

	if (argc != 3 || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: sync FILE N\n");
		return 64;
	}
	if ((t = calloc((size_t)n, sizeof *t)) == NULL ||
	    (fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		perror(argv[1]);
		return 1;
	}
	/* Overwrites, as a WAL after its first checkpoint does: the file's
	 * size, and so its metadata, stays put. */
	if (posix_fallocate(fd, 0, (off_t)PAGE * PAGES) != 0 ||
	    fsync(fd) == -1) {
		perror(argv[1]);
		return 1;
	}
	for (i = 0; i < n; i++) {
		memset(page, i, sizeof page);
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (pwrite(fd, page, sizeof page, (off_t)(i % PAGES) * PAGE) !=
			PAGE ||
		    fdatasync(fd) == -1) {
			perror(argv[1]);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &z);
		t[i] = (double)(z.tv_sec - a.tv_sec) * 1e6 +
		       (double)(z.tv_nsec - a.tv_nsec) / 1e3;
	}
	close(fd);
	unlink(argv[1]);
	qsort(t, (size_t)n, sizeof *t, cmp);
	printf("%.0f %.0f\n", t[n / 2], t[(int)(0.99 * (n - 1) + 0.5)]);
	return 0;
}
