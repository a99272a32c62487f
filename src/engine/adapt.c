/* A worker's slots under slots_adapt. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/cpuload.h"
#include "engine/adapt.h"
#include "engine/workers.h"

struct adapt {
	const struct conf *conf; /* slots_adapt may change on a reload */
	struct workers *workers;
	uint32_t nworkers;
	uint32_t max;
	uint32_t *slots; /* per worker, under slots_adapt */
	/* Per worker: all its slots were taken at some time since the last
	 * reading: a worker that never was has no use for more. */
	bool *full;
	/* /proc/stat, opened at the first reading, and the two last
	 * readings of its CPU lines (ncpu each). */
	int fd;
	size_t ncpu;
	struct cpu_ticks *last, *now;
	char *buf;
	size_t bufsize;
	bool primed;
	/* No job and every worker at one slot: nothing to read for, so an
	 * idle forqd does not wake 4 times a second. The next start wakes
	 * it, and the reading after that one is primed again. */
	bool resting;
	int64_t next_ns;
	bool failed; /* /proc/stat cannot be read: every slot is open */
};

struct adapt *
adapt_new(const struct conf *conf, struct workers *workers, uint32_t nworkers,
	  uint32_t slots)
{
	struct adapt *a;
	uint32_t i;

	if ((a = calloc(1, sizeof *a)) == NULL)
		return NULL;
	a->conf = conf;
	a->workers = workers;
	a->nworkers = nworkers;
	a->max = slots;
	a->fd = -1;
	a->slots = calloc(nworkers, sizeof *a->slots);
	a->full = calloc(nworkers, sizeof *a->full);
	if (a->slots == NULL || a->full == NULL) {
		adapt_free(a);
		return NULL;
	}
	for (i = 0; i < nworkers; i++)
		a->slots[i] = 1;
	return a;
}

void
adapt_free(struct adapt *a)
{
	if (a == NULL)
		return;
	if (a->fd != -1)
		close(a->fd);
	free(a->last);
	free(a->now);
	free(a->buf);
	free(a->slots);
	free(a->full);
	free(a);
}

static bool
adapt_on(const struct adapt *a)
{
	return a->conf->slots_adapt && a->max > 1 && !a->failed;
}

uint32_t
adapt_slots(const struct adapt *a, int w)
{
	return adapt_on(a) ? a->slots[w] : a->max;
}

void
adapt_note_busy(struct adapt *a, int w, uint32_t busy)
{
	if (busy >= a->slots[w])
		a->full[w] = true;
	if (a->resting) {
		a->resting = false;
		a->next_ns = 0;
	}
}

int64_t
adapt_next_deadline(const struct adapt *a)
{
	if (!adapt_on(a) || a->resting)
		return 0;
	return a->next_ns != 0 ? a->next_ns : clock_mono_ns();
}

static int
adapt_open(struct adapt *a)
{
	a->ncpu = (size_t)get_nprocs_conf();
	/* The CPU lines come first and are under 128 bytes each; the rest
	 * (interrupts above all) is not read. */
	a->bufsize = (a->ncpu + 1) * 128 + 1;
	if ((a->last = calloc(a->ncpu, sizeof *a->last)) == NULL ||
	    (a->now = calloc(a->ncpu, sizeof *a->now)) == NULL ||
	    (a->buf = malloc(a->bufsize)) == NULL ||
	    (a->fd = open("/proc/stat", O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("slots_adapt: /proc/stat");
		return -1;
	}
	return 0;
}

/* The CPUs' ticks into a->now; 0, or -1 if /proc/stat says nothing. */
static int
adapt_read(struct adapt *a)
{
	ssize_t n;

	if (a->buf == NULL && adapt_open(a) == -1)
		return -1;
	if ((n = pread(a->fd, a->buf, a->bufsize - 1, 0)) <= 0) {
		log_warn("slots_adapt: reading /proc/stat");
		return -1;
	}
	a->buf[n] = '\0';
	memset(a->now, 0, a->ncpu * sizeof *a->now);
	if (cpuload_parse(a->buf, a->now, a->ncpu) == 0) {
		log_warnx("slots_adapt: no CPU in /proc/stat");
		return -1;
	}
	return 0;
}

bool
adapt_check(struct adapt *a, int64_t now_ns, const uint32_t *busy)
{
	struct cpu_ticks *t;
	uint32_t w, was;
	bool more = false, idle = true;
	double busy_cpu;
	int cpu;

	if (!adapt_on(a) || a->resting ||
	    (a->next_ns != 0 && now_ns < a->next_ns))
		return false;
	a->next_ns = now_ns + CPULOAD_INTERVAL_MS * NS_PER_MS;
	if (adapt_read(a) == -1) {
		/* Every worker has all its slots from here, as without
		 * slots_adapt: better too many than a host held at one. */
		log_warnx("slots_adapt: every worker keeps %u slots", a->max);
		a->failed = true;
		return true;
	}
	for (w = 0; w < a->nworkers; w++) {
		cpu = workers_cpu(a->workers, (int)w);
		was = a->slots[w];
		busy_cpu = a->primed && cpu >= 0 && (size_t)cpu < a->ncpu
			       ? cpuload_busy(&a->last[cpu], &a->now[cpu])
			       : -1;
		if (workers_is_ready(a->workers, (int)w))
			a->slots[w] =
			    cpuload_slots(was, a->max, busy[w],
					  a->full[w] || busy[w] >= was,
					  busy_cpu);
		a->full[w] = busy[w] >= a->slots[w];
		if (a->slots[w] > was)
			more = true;
		if (busy[w] != 0 || a->slots[w] != 1)
			idle = false;
		if (a->slots[w] != was)
			log_debug("worker %u (cpu %d): slots %u of %u", w, cpu,
				  a->slots[w], a->max);
	}
	t = a->last;
	a->last = a->now;
	a->now = t;
	a->primed = !idle;
	a->resting = idle;
	return more;
}
