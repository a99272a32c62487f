/*
 * The jobs module at start-up: the ends workers wrote while no forqd
 * ran, the store's recovery of what ran (jobs kept by workers taken on
 * stay running), then what is pending into the run queue and the due
 * heap, and the queues left paused.
 */
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/runq.h"
#include "core/usercount.h"
#include "ipc/orphan.h"
#include "store/store.h"
#include "engine/jobs.h"
#include "engine/jobs_int.h"

static int
jobs_load_pending(void *arg, const struct store_pending *p)
{
	struct jobs *j = arg;
	int q;

	if (usercount_add(j->queued_by_uid, p->uid, 1) == -1)
		return -1;
	if (p->state == JOB_SCHEDULED)
		return jobs_schedule(j, p->id, p->start_at_ns);
	if ((q = jobs_queue_of(j, p->queue, p->array_id, p->array_max)) == -1)
		return -1;
	return jobs_enqueue(j, q, p->uid, p->id, p->priority, p->attempt);
}

static int
jobs_load_paused(void *arg, const char *queue)
{
	struct jobs *j = arg;
	int q;

	if (strcmp(queue, "*") == 0) {
		runq_set_paused(j->runq, RUNQ_ALL, true);
		log_info("paused: no job starts until forq resume");
		return 0;
	}
	if ((q = jobs_queue_index(j, queue)) == -1)
		return -1;
	runq_set_paused(j->runq, q, true);
	log_info("queue %s paused: none of its jobs starts until forq resume "
		 "%s",
		 queue, queue);
	return 0;
}

struct jobs_load_ends {
	struct jobs *j;
	const uint64_t *keep;
	size_t nkeep;
	uint64_t recorded;
	int rc;
	/* The files read, to be removed once the store has them: not those
	 * of kept jobs, whose workers may be writing them now. */
	struct jobs_end_file {
		uint64_t id;
		uint32_t attempt;
	} * done;
	size_t ndone, cap;
};

/* An end a worker wrote while no forqd ran: the job's real end, if the
 * store still has that attempt running and no adopted worker holds it
 * (one that does tells it itself). */
static void
jobs_load_end(void *arg, uint64_t id, uint32_t attempt,
	      const struct job_result *r)
{
	struct jobs_load_ends *le = arg;
	struct store_job job;
	struct job_run run;
	enum store_result found;

	if (le->rc == -1 || array_has_id(le->keep, le->nkeep, id))
		return;
	if ((found = store_get(le->j->store, id, &job)) == STORE_FAILED ||
	    array_reserve((void **)&le->done, &le->cap, le->ndone + 1,
			  sizeof *le->done) == -1) {
		if (found != STORE_FAILED && found != STORE_NO_MATCH)
			store_job_free(&job);
		le->rc = -1;
		return;
	}
	le->done[le->ndone++] = (struct jobs_end_file){id, attempt};
	if (found == STORE_NO_MATCH)
		return;
	if (job.state == JOB_RUNNING && job.attempt == attempt &&
	    jobs_running_run(le->j, &job, &run) == 0) {
		jobs_ended(le->j, id, attempt, &run, job.worker, job.cpu, r);
		le->recorded++;
	}
	store_job_free(&job);
}

int
jobs_load(struct jobs *j, const uint64_t *keep, size_t nkeep)
{
	struct jobs_load_ends le = {.j = j, .keep = keep, .nkeep = nkeep};
	struct store_recovery rec;
	size_t i;

	if (orphan_ends_each(j->conf->state_dir, jobs_load_end, &le) == -1)
		log_warn("%s/" ORPHAN_ENDS_DIR, j->conf->state_dir);
	if (le.rc == -1 ||
	    store_recover(j->store, j->conf->crash_requeue_max, clock_real_ns(),
			  keep, nkeep, &rec) == -1 ||
	    store_commit(j->store) == -1 || store_sync(j->store) == -1) {
		log_warnx("store recovery: %s", store_error(j->store));
		free(le.done);
		return -1;
	}
	/* On disk (the files were synced by the workers that wrote them;
	 * a commit not yet synced would lose their ends with the power):
	 * the files have said all they had to. */
	if (nkeep == 0)
		orphan_ends_clear(j->conf->state_dir, true);
	for (i = 0; i < le.ndone; i++)
		orphan_end_remove(j->conf->state_dir, le.done[i].id,
				  le.done[i].attempt);
	free(le.done);
	if (le.recorded > 0)
		log_info("recorded %llu job ends the workers of a previous "
			 "forqd kept while it was gone",
			 (unsigned long long)le.recorded);
	if (rec.requeued + rec.lost > 0)
		log_warnx("recovered %llu jobs left running by a previous "
			  "forqd: "
			  "%llu queued again, %llu lost",
			  (unsigned long long)(rec.requeued + rec.lost),
			  (unsigned long long)rec.requeued,
			  (unsigned long long)rec.lost);
	if (store_pending(j->store, jobs_load_pending, j) == -1 ||
	    store_paused(j->store, jobs_load_paused, j) == -1) {
		log_warnx("store: %s", store_error(j->store));
		return -1;
	}
	/* Counts from the store, waiting jobs too: the dependencies that
	 * ended while forqd was down are settled as the worklist drains. */
	jobs_recount(j);
	if (j->nwaiting > 0)
		log_info("%llu jobs waiting for others",
			 (unsigned long long)j->nwaiting);
	if (runq_ready(j->runq) + j->due.len > 0)
		log_info("%zu queued jobs, %zu scheduled", runq_ready(j->runq),
			 j->due.len);
	return 0;
}
