/*
 * Job arrays as users write them: the task indexes of forq submit
 * --array (Slurm's forms: "1-100%8", "1,3,5-9", "1-100:2") and a task
 * named by its array and index ("41_7"). Pure functions.
 */
#ifndef FORQ_JOBARRAY_H
#define FORQ_JOBARRAY_H

#include <stddef.h>
#include <stdint.h>

/* The highest index a task may have (Slurm's default MaxArraySize is
 * 1001; forq takes what a batch may hold, up to this). */
#define JOBARRAY_INDEX_MAX 4000000u

struct jobarray {
	uint32_t *index; /* ascending, each once */
	size_t n;
	uint32_t max; /* tasks of it running at once; 0: no limit */
};

/* "1-100%8": 0; -1 with why (a sentence without the text) filled; -2
 * if it names more than tasks_max tasks. */
int jobarray_parse(const char *text, size_t tasks_max, struct jobarray *a,
		   char *why, size_t whylen);
void jobarray_free(struct jobarray *a);

/* "41_7": the array's id and the task's index; -1 if text is not that
 * form. */
int jobarray_task_parse(const char *text, uint64_t *array, uint32_t *index);

#endif
