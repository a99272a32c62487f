/*
 * Which CPUs forqd runs workers on: the allowed set (sched_getaffinity,
 * so taskset, cpusets and systemd's CPUAffinity= are honoured), narrowed
 * by the conf's "cpus" list. Pure functions; callers pass the sets in.
 */
#ifndef FORQ_CPUS_H
#define FORQ_CPUS_H

#include <sched.h>
#include <stddef.h>

/* "auto", or a list such as "0-3,6". */
int cpus_parse_list(const char *text, cpu_set_t *set, char *why, size_t whylen);
/* The ordered CPUs to run one worker each on; fills cpus[0..*n). */
int cpus_plan(const cpu_set_t *allowed, const char *spec, int *cpus, size_t max,
	      size_t *n, char *why, size_t whylen);
/* "0-3,6" for the set. */
void cpus_format(const cpu_set_t *set, char *buf, size_t len);

#endif
