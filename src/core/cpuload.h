/*
 * How busy each CPU was between two readings of /proc/stat, and what
 * that means for a worker's slots under slots_adapt: a worker fills a
 * further slot only while its CPU has time to spare, so that jobs that
 * mostly wait share a CPU and CPU-bound ones do not (forqd.conf(5)).
 * The parser and the policy are pure functions, unit-tested alone.
 */
#ifndef FORQ_CPULOAD_H
#define FORQ_CPULOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How often the CPUs are read: long enough to hold a few hundred clock
 * ticks on a 2-CPU host at USER_HZ 100 (25 per CPU), short enough that
 * a worker reaches 4 slots within a second. */
#define CPULOAD_INTERVAL_MS 250
/* Below this busy fraction a full worker may fill one more slot... */
#define CPULOAD_GROW_BELOW 0.75
/* ...above this one it gives one up (its running jobs run on). */
#define CPULOAD_SHRINK_ABOVE 0.95

struct cpu_ticks {
	uint64_t busy;  /* user, nice, system, irq, softirq, steal */
	uint64_t total; /* busy + idle + iowait */
};

/* Fills ticks[N] from the "cpuN" lines of /proc/stat's text (N < max;
 * other CPUs are left alone); a line cut short is ignored. Returns the
 * number of CPU lines read. */
size_t cpuload_parse(const char *text, struct cpu_ticks *ticks, size_t max);

/* The busy fraction (0 to 1) from one reading to the next, or -1 if no
 * tick passed in between (or the CPU went away). */
double cpuload_busy(const struct cpu_ticks *before,
		    const struct cpu_ticks *after);

/* The slots a worker may fill next, between 1 and max, of which it
 * has taken taken now, and all at some time since the last reading if
 * full: one more if they were all taken while its CPU was below
 * CPULOAD_GROW_BELOW; one fewer while its CPU was above
 * CPULOAD_SHRINK_ABOVE, and one fewer while more than one stayed free,
 * so that CPU-bound jobs that come after a spell of waiting ones do not
 * all start at once. busy < 0 (not known) keeps them. */
uint32_t cpuload_slots(uint32_t slots, uint32_t max, uint32_t taken, bool full,
		       double busy);

#endif
