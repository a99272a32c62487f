/*
 * Jobs with CPUs of their own (gangs, engine/gangs.h) between their
 * queue and their start: taken from the queue, held until every worker
 * held for them is empty, started on the first of them, or given back
 * to their queue as they were.
 */
#include <stdio.h>

#include "common/log.h"
#include "core/runq.h"
#include "core/sched.h"
#include "store/store.h"
#include "engine/gangs.h"
#include "engine/jobs.h"
#include "engine/running_int.h"

/* Waiting gang k goes back to its queue, as it was, and its workers to
 * everyone: it is about to change, or may not start now. */
void
running_gang_give_back(struct running *r, size_t k)
{
	struct gang g;

	gangs_remove(r->gangs, k, &g);
	jobs_left_slot(r->jobs, &g.run);
	jobs_queue_again(r->jobs, g.job.id, &g.run, g.job.attempt);
	gangs_release(r->gangs, g.job.id);
	store_job_free(&g.job);
}

/* Starts waiting gang k on the first of its workers if they are all
 * free: -1 if dispatch must stop for this turn. */
static int
running_gang_try(struct running *r, size_t k)
{
	struct sched_worker view[CPU_SETSIZE];
	struct gang g;

	running_view(r, view);
	if (!gangs_hold(r->gangs, k, view))
		return 0;
	gangs_remove(r->gangs, k, &g);
	/* Counted in its queue again as it starts, as any job. */
	jobs_left_slot(r->jobs, &g.run);
	return running_place(r, gangs_first_worker(r->gangs, g.job.id), &g.job,
			     &g.run, true);
}

/* The gangs taken earlier, in their order: a paused queue takes its
 * back; the others hold what has come free, and start if they can. */
int
running_gangs_advance(struct running *r)
{
	const struct runq *q = jobs_runq(r->jobs);
	size_t k = 0, n;

	while (k < gangs_waiting(r->gangs)) {
		if (runq_paused(q, RUNQ_ALL) ||
		    runq_paused(q, gangs_at(r->gangs, k)->run.queue)) {
			running_gang_give_back(r, k);
			continue;
		}
		n = gangs_waiting(r->gangs);
		if (running_gang_try(r, k) == -1)
			return -1;
		if (gangs_waiting(r->gangs) == n)
			k++;
	}
	return 0;
}

/* A taken job that wants CPUs of its own is held until its workers are
 * free: -1 if dispatch must stop for this turn. */
int
running_take_gang(struct running *r, struct store_job *job,
		  const struct job_run *run)
{
	char why[160];

	if (!r->cpusets || job->spec.cpus > r->nworkers) {
		snprintf(why, sizeof why,
			 !r->cpusets ? "not run: --cpus %u needs job cpusets, "
				       "and this forqd has none"
				     : "not run: --cpus %u is more than the "
				       "%u workers this forqd has now",
			 job->spec.cpus, r->nworkers);
		jobs_refuse(r->jobs, job, why);
		return 0;
	}
	if (gangs_waiting(r->gangs) == r->nworkers) {
		/* Cannot be: each gang holds a worker. */
		jobs_queue_again(r->jobs, job->id, run, job->attempt);
		store_job_free(job);
		return -1;
	}
	if (jobs_keep_slot(r->jobs, run) == -1) {
		log_warn("job %llu: queue", (unsigned long long)job->id);
		jobs_queue_again(r->jobs, job->id, run, job->attempt);
		store_job_free(job);
		return -1;
	}
	(void)gangs_add(r->gangs, job, run);
	return running_gang_try(r, gangs_waiting(r->gangs) - 1);
}
