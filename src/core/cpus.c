/* CPU lists and the plan of one worker per CPU. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpus.h"

static int
cpus_read_cpu(const char **p, long *cpu)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	*cpu = strtol(*p, &end, 10);
	if (errno != 0 || *cpu >= CPU_SETSIZE)
		return -1;
	*p = end;
	return 0;
}

int
cpus_parse_list(const char *text, cpu_set_t *set, char *why, size_t whylen)
{
	const char *p = text;
	long lo, hi, cpu;

	CPU_ZERO(set);
	for (;;) {
		while (*p == ' ')
			p++;
		if (cpus_read_cpu(&p, &lo) == -1) {
			snprintf(why, whylen,
				 "expected \"auto\" or a CPU list such as "
				 "0-3,6 "
				 "(CPUs 0 to %d)",
				 CPU_SETSIZE - 1);
			return -1;
		}
		hi = lo;
		if (*p == '-') {
			p++;
			if (cpus_read_cpu(&p, &hi) == -1 || hi < lo) {
				snprintf(why, whylen, "bad CPU range after %ld",
					 lo);
				return -1;
			}
		}
		for (cpu = lo; cpu <= hi; cpu++)
			CPU_SET((int)cpu, set);
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 0;
		if (*p != ',') {
			snprintf(why, whylen, "unexpected '%c' in CPU list",
				 *p);
			return -1;
		}
		p++;
	}
}

int
cpus_plan(const cpu_set_t *allowed, const char *spec, int *cpus, size_t max,
	  size_t *n, char *why, size_t whylen)
{
	cpu_set_t wanted, missing;
	char list[256];
	int cpu;

	if (strcmp(spec, "auto") == 0)
		wanted = *allowed;
	else if (cpus_parse_list(spec, &wanted, why, whylen) == -1)
		return -1;

	CPU_ZERO(&missing);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &wanted) && !CPU_ISSET(cpu, allowed))
			CPU_SET(cpu, &missing);
	}
	if (CPU_COUNT(&missing) > 0) {
		cpus_format(&missing, list, sizeof list);
		snprintf(why, whylen, "CPU %s not in the allowed set ", list);
		cpus_format(allowed, list, sizeof list);
		snprintf(why + strlen(why), whylen - strlen(why), "(%s)", list);
		return -1;
	}
	if (CPU_COUNT(&wanted) == 0) {
		snprintf(why, whylen, "no CPU to run workers on");
		return -1;
	}

	*n = 0;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &wanted))
			continue;
		if (*n == max) {
			snprintf(why, whylen, "more than %zu CPUs", max);
			return -1;
		}
		cpus[(*n)++] = cpu;
	}
	return 0;
}

void
cpus_format(const cpu_set_t *set, char *buf, size_t len)
{
	size_t used = 0;
	int cpu, end;

	buf[0] = '\0';
	for (cpu = 0; cpu < CPU_SETSIZE && used < len; cpu++) {
		if (!CPU_ISSET(cpu, set))
			continue;
		end = cpu;
		while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, set))
			end++;
		if (end == cpu)
			used += (size_t)snprintf(buf + used, len - used, "%s%d",
						 used ? "," : "", cpu);
		else
			used +=
			    (size_t)snprintf(buf + used, len - used, "%s%d-%d",
					     used ? "," : "", cpu, end);
		cpu = end;
	}
}
