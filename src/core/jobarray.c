/* Job arrays: task index lists and task names. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "core/jobarray.h"

static int jobarray_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
jobarray_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* A decimal number at *p, no sign, up to max; p moves past it. */
static int
jobarray_number(const char **p, unsigned long max, unsigned long *v)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	*v = strtoul(*p, &end, 10);
	if (errno != 0 || *v > max)
		return -1;
	*p = end;
	return 0;
}

static int
jobarray_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
jobarray_parse(const char *text, size_t tasks_max, struct jobarray *a,
	       char *why, size_t whylen)
{
	const char *p = text;
	unsigned long first, last, step, max = 0, i;
	size_t cap = 0, k;

	memset(a, 0, sizeof *a);
	for (;;) {
		if (jobarray_number(&p, JOBARRAY_INDEX_MAX, &first) == -1)
			goto bad;
		last = first;
		step = 1;
		if (*p == '-') {
			p++;
			if (jobarray_number(&p, JOBARRAY_INDEX_MAX, &last) ==
				-1 ||
			    last < first)
				goto bad;
			if (*p == ':') {
				p++;
				if (jobarray_number(&p, JOBARRAY_INDEX_MAX,
						    &step) == -1 ||
				    step == 0)
					goto bad;
			}
		}
		for (i = first; i <= last; i += step) {
			if (a->n == tasks_max) {
				jobarray_free(a);
				return -2;
			}
			if (array_reserve((void **)&a->index, &cap, a->n,
					  sizeof *a->index) == -1) {
				jobarray_free(a);
				return jobarray_fail(why, whylen,
						     "out of memory");
			}
			a->index[a->n++] = (uint32_t)i;
		}
		if (*p != ',')
			break;
		p++;
	}
	if (*p == '%') {
		p++;
		if (jobarray_number(&p, JOBARRAY_INDEX_MAX, &max) == -1 ||
		    max == 0)
			goto bad;
	}
	if (*p != '\0')
		goto bad;
	qsort(a->index, a->n, sizeof *a->index, jobarray_cmp);
	for (k = 1; k < a->n; k++) {
		if (a->index[k] == a->index[k - 1]) {
			i = a->index[k];
			jobarray_free(a);
			return jobarray_fail(why, whylen,
					     "index %lu is given twice", i);
		}
	}
	a->max = (uint32_t)max;
	return 0;
bad:
	jobarray_free(a);
	return jobarray_fail(why, whylen,
			     "an array is indexes from 0 to %u: N, N-M, "
			     "N-M:STEP "
			     "(M not below N, STEP above 0), comma-separated, "
			     "then %%LIMIT (above 0) to run at most LIMIT of "
			     "them at once",
			     JOBARRAY_INDEX_MAX);
}

void
jobarray_free(struct jobarray *a)
{
	free(a->index);
	memset(a, 0, sizeof *a);
}

int
jobarray_task_parse(const char *text, uint64_t *array, uint32_t *index)
{
	unsigned long long id;
	unsigned long i;
	const char *p;
	char *end;

	if (text[0] < '1' || text[0] > '9')
		return -1;
	errno = 0;
	id = strtoull(text, &end, 10);
	if (errno != 0 || *end != '_')
		return -1;
	p = end + 1;
	if (jobarray_number(&p, JOBARRAY_INDEX_MAX, &i) == -1 || *p != '\0')
		return -1;
	*array = id;
	*index = (uint32_t)i;
	return 0;
}
