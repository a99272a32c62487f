/*
 * Metrics as OpenMetrics text (the format Prometheus scrapes): fixed-
 * bucket histograms, and the writers of a page's families and samples.
 * Each module keeps its own counts and writes them; this file only
 * knows the format.
 */
#ifndef FORQ_METRICS_H
#define FORQ_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Upper bounds in seconds, ascending; +Inf is implied. */
#define HIST_MAX_BOUNDS 16
struct hist_bounds {
	size_t n;
	double le[HIST_MAX_BOUNDS];
};

/* How long jobs wait for and run: from a millisecond to ten hours. */
extern const struct hist_bounds hist_job_seconds;
/* A store's commit: from 50 µs to 5 s. */
extern const struct hist_bounds hist_commit_seconds;

struct hist {
	const struct hist_bounds *b;
	uint64_t count[HIST_MAX_BOUNDS + 1]; /* per bucket, not cumulative */
	double sum;
};

void hist_init(struct hist *h, const struct hist_bounds *b);
/* A negative value counts as 0 (clocks of two hosts, a clock set back). */
void hist_observe(struct hist *h, double seconds);
uint64_t hist_total(const struct hist *h);

enum om_type { OM_GAUGE, OM_COUNTER, OM_HISTOGRAM, OM_INFO };

/* A page under construction: the first error sticks (buffer full or
 * out of memory) and om_end reports it. */
struct om {
	struct buf *b;
	int err;
};

void om_begin(struct om *om, struct buf *b);
/* "# TYPE", "# UNIT" (unit NULL: none) and "# HELP" of a family; a
 * counter's name is given without its _total. */
void om_family(struct om *om, const char *name, enum om_type type,
	       const char *unit, const char *help);
/* One sample: name (with its suffix: _total, _info), labels as
 * alternating key, value strings (nlabels pairs; values escaped here). */
void om_sample(struct om *om, const char *name, const char *const *labels,
	       size_t nlabels, double value);
void om_sample_u64(struct om *om, const char *name, const char *const *labels,
		   size_t nlabels, uint64_t value);
/* A histogram's buckets (cumulative, "le" added to the labels), _count
 * and _sum. */
void om_hist(struct om *om, const char *name, const char *const *labels,
	     size_t nlabels, const struct hist *h);
/* Samples written before into another page's buffer, as they are. */
void om_raw(struct om *om, const char *text, size_t len);
/* "# EOF"; 0, or -1 with errno if any write failed. */
int om_end(struct om *om);

#endif
