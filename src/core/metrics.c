/*
 * OpenMetrics text: families, samples and histograms, written into a
 * buffer with the first failure remembered, so that a page is built
 * without a check after every line and fails as a whole.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/buffer.h"
#include "core/metrics.h"

const struct hist_bounds hist_job_seconds = {
    .n = 12,
    .le = {0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60, 300, 1800, 3600, 36000},
};

const struct hist_bounds hist_commit_seconds = {
    .n = 11,
    .le = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05,
	   0.5, 5},
};

void
hist_init(struct hist *h, const struct hist_bounds *b)
{
	memset(h, 0, sizeof *h);
	h->b = b;
}

void
hist_observe(struct hist *h, double seconds)
{
	size_t i;

	if (!(seconds > 0)) /* also NaN */
		seconds = 0;
	for (i = 0; i < h->b->n && seconds > h->b->le[i]; i++)
		;
	h->count[i]++;
	h->sum += seconds;
}

uint64_t
hist_total(const struct hist *h)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i <= h->b->n; i++)
		n += h->count[i];
	return n;
}

void
om_begin(struct om *om, struct buf *b)
{
	om->b = b;
	om->err = 0;
}

static void
om_put(struct om *om, const char *s, size_t len)
{
	if (om->err == 0 && buf_append(om->b, s, len) == -1)
		om->err = errno != 0 ? errno : ENOMEM;
}

static void
om_puts(struct om *om, const char *s)
{
	om_put(om, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
om_printf(struct om *om, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line) {
		if (om->err == 0)
			om->err = EOVERFLOW;
		return;
	}
	om_put(om, line, (size_t)n);
}

/* A label's value as the format quotes it: \\, \" and \n. */
static void
om_escaped(struct om *om, const char *v)
{
	const char *p;

	for (p = v; *p != '\0'; p++) {
		if (*p == '\\')
			om_puts(om, "\\\\");
		else if (*p == '"')
			om_puts(om, "\\\"");
		else if (*p == '\n')
			om_puts(om, "\\n");
		else
			om_put(om, p, 1);
	}
}

static void
om_labels(struct om *om, const char *const *labels, size_t nlabels,
	  const char *le)
{
	size_t i;

	if (nlabels == 0 && le == NULL)
		return;
	om_puts(om, "{");
	for (i = 0; i < nlabels; i++) {
		om_printf(om, "%s%s=\"", i > 0 ? "," : "", labels[2 * i]);
		om_escaped(om, labels[2 * i + 1]);
		om_puts(om, "\"");
	}
	if (le != NULL)
		om_printf(om, "%sle=\"%s\"", nlabels > 0 ? "," : "", le);
	om_puts(om, "}");
}

void
om_family(struct om *om, const char *name, enum om_type type, const char *unit,
	  const char *help)
{
	static const char *const types[] = {[OM_GAUGE] = "gauge",
					    [OM_COUNTER] = "counter",
					    [OM_HISTOGRAM] = "histogram",
					    [OM_INFO] = "info"};

	om_printf(om, "# TYPE %s %s\n", name, types[type]);
	if (unit != NULL)
		om_printf(om, "# UNIT %s %s\n", name, unit);
	om_printf(om, "# HELP %s %s\n", name, help);
}

/* Numbers as the format reads them: shortest exact for integers. */
static void
om_number(struct om *om, double v)
{
	if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
		om_printf(om, " %" PRId64 "\n", (int64_t)v);
	else
		om_printf(om, " %.15g\n", v);
}

void
om_sample(struct om *om, const char *name, const char *const *labels,
	  size_t nlabels, double value)
{
	om_puts(om, name);
	om_labels(om, labels, nlabels, NULL);
	om_number(om, value);
}

void
om_sample_u64(struct om *om, const char *name, const char *const *labels,
	      size_t nlabels, uint64_t value)
{
	om_puts(om, name);
	om_labels(om, labels, nlabels, NULL);
	om_printf(om, " %" PRIu64 "\n", value);
}

void
om_hist(struct om *om, const char *name, const char *const *labels,
	size_t nlabels, const struct hist *h)
{
	char le[32];
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i <= h->b->n; i++) {
		cum += h->count[i];
		if (i < h->b->n)
			snprintf(le, sizeof le, "%g", h->b->le[i]);
		else
			strlcpy(le, "+Inf", sizeof le);
		om_printf(om, "%s_bucket", name);
		om_labels(om, labels, nlabels, le);
		om_printf(om, " %" PRIu64 "\n", cum);
	}
	om_printf(om, "%s_count", name);
	om_labels(om, labels, nlabels, NULL);
	om_printf(om, " %" PRIu64 "\n", cum);
	om_printf(om, "%s_sum", name);
	om_labels(om, labels, nlabels, NULL);
	om_number(om, h->sum);
}

void
om_raw(struct om *om, const char *text, size_t len)
{
	om_put(om, text, len);
}

int
om_end(struct om *om)
{
	om_puts(om, "# EOF\n");
	if (om->err != 0) {
		errno = om->err;
		return -1;
	}
	return 0;
}
