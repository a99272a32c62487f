/*
 * Processes a job left behind: the worker is their subreaper, so a
 * job's process whose parent exits becomes the worker's child. Where
 * jobs have no cgroup, this is how they are found, kept with a job that
 * still runs, stopped with one being stopped, and killed otherwise;
 * where they have one, the group finds them, and here they are only
 * reaped. The worker says which jobs run (struct stray_owner); nothing
 * is kept between calls.
 */
#ifndef FORQ_WORKER_STRAYS_H
#define FORQ_WORKER_STRAYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A job running in a slot, as the strays see it. */
struct stray_owner {
	pid_t pid; /* its first process, which the worker reaps itself */
	uid_t uid;
	uint64_t job_id;
	/* 0 while it runs; SIGTERM or SIGKILL while it is being stopped,
	 * which its strays are sent too. */
	int stop_signal;
};

/* The job id a process's environment (n bytes of NUL-separated
 * "NAME=value") begins FORQ_JOB_ID with; 0 if none. */
uint64_t strays_job_id(const char *env, size_t n);

/*
 * The worker's children that are none of the jobs': one of a running
 * job stays with it (sent the job's stop signal while it is being
 * stopped); any other is killed. A process is known by FORQ_JOB_ID in
 * its environment and by its owner: one that hides its environment is
 * spared while a job of its owner runs here.
 */
void strays_scan(const struct stray_owner *jobs, size_t n);

/* The worker's exited children that are none of the jobs' are reaped
 * (a job's own exit is the worker's to take); true if any was. */
bool strays_reap(const struct stray_owner *jobs, size_t n);

#endif
