/* CPU load from /proc/stat's text, and the slots it allows a worker. */
#include <stdio.h>
#include <string.h>

#include "core/cpuload.h"

size_t
cpuload_parse(const char *text, struct cpu_ticks *ticks, size_t max)
{
	const char *line = text, *end;
	unsigned long long v[8] = {0};
	unsigned cpu;
	size_t got = 0;
	int n;

	/* The "cpuN" lines follow the "cpu" total, before all else. */
	for (; (end = strchr(line, '\n')) != NULL; line = end + 1) {
		if (strncmp(line, "cpu", 3) != 0)
			break;
		if (line[3] < '0' || line[3] > '9')
			continue;
		memset(v, 0, sizeof v);
		n = sscanf(line + 3,
			   "%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu,
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7]);
		/* Linux before 2.6.11 had no steal: four fields at least. */
		if (n < 5 || cpu >= max)
			continue;
		ticks[cpu].busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		ticks[cpu].total = ticks[cpu].busy + v[3] + v[4];
		got++;
	}
	return got;
}

double
cpuload_busy(const struct cpu_ticks *before, const struct cpu_ticks *after)
{
	uint64_t total, busy;

	if (after->total <= before->total || after->busy < before->busy)
		return -1;
	total = after->total - before->total;
	busy = after->busy - before->busy;
	return busy >= total ? 1.0 : (double)busy / (double)total;
}

uint32_t
cpuload_slots(uint32_t slots, uint32_t max, uint32_t taken, bool full,
	      double busy)
{
	if (slots < 1)
		slots = 1;
	if (slots > max)
		slots = max;
	if (busy < 0)
		return slots;
	if (busy > CPULOAD_SHRINK_ABOVE && slots > 1)
		return slots - 1;
	if (busy < CPULOAD_GROW_BELOW && full && slots < max)
		return slots + 1;
	if (!full && slots > taken + 1)
		return slots - 1;
	return slots;
}
