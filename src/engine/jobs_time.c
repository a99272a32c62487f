/*
 * The jobs module as time passes: scheduled jobs join their queue when
 * their start comes (the due heap, wall-clock times on the monotonic
 * timer), and retention prunes finished jobs and their logs in bounded
 * batches, so that a large backlog never stalls the loop.
 */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/compat.h"
#include "common/heap.h"
#include "common/log.h"
#include "common/units.h"
#include "core/conf.h"
#include "store/store.h"
#include "engine/jobs.h"
#include "engine/jobs_int.h"

#define PRUNE_INTERVAL_NS (60 * NS_PER_SEC)
#define PRUNE_BATCH 1000

/* Scheduled jobs whose time has come join their queue. */
static void
jobs_queue_due(struct jobs *j)
{
	const struct jobs_due *top;
	struct jobs_due d;
	struct store_job job;
	int64_t now = clock_real_ns();
	enum store_result found;
	int q;

	while ((top = heap_top(&j->due)) != NULL && top->at_ns <= now) {
		d = *top;
		if ((found = store_due(j->store, d.id, now)) == STORE_FAILED) {
			log_warnx("store: job %llu: %s",
				  (unsigned long long)d.id,
				  store_error(j->store));
			return; /* the timer tries again */
		}
		heap_pop(&j->due, &d);
		if (found == STORE_NO_MATCH)
			continue; /* cancelled or pruned meanwhile */
		if ((found = store_get(j->store, d.id, &job)) != STORE_OK) {
			if (found == STORE_FAILED)
				log_warnx("store: %s", store_error(j->store));
			continue;
		}
		q = jobs_queue_of_job(j, &job);
		if (q == -1 ||
		    jobs_enqueue(j, q, job.uid, job.id, job.spec.priority,
				 job.attempt) == -1)
			log_warn("job %llu: queue", (unsigned long long)d.id);
		else
			log_debug("job %llu: its start time came; queued",
				  (unsigned long long)d.id);
		store_job_free(&job);
	}
}

int64_t
jobs_next_deadline(const struct jobs *j)
{
	const struct jobs_due *d = heap_top(&j->due);
	int64_t next = j->next_prune_ns, at;

	/* Start times are wall-clock; the timer counts monotonic time. A
	 * clock stepped forward is caught by the next wakeup, at the
	 * latest a prune interval later. */
	if (d != NULL) {
		at = clock_mono_ns() + (d->at_ns - clock_real_ns());
		if (next == 0 || at < next)
			next = at;
	}
	return next;
}

void
jobs_remove_logs(void *arg, uint64_t id)
{
	static const char *const exts[] = {"out", "err", "hook"};
	struct jobs *j = arg;
	char path[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < nitems(exts); i++) {
		snprintf(path, sizeof path, "%s/logs/%llu.%s",
			 j->conf->state_dir, (unsigned long long)id, exts[i]);
		unlink(path);
	}
}

int
jobs_clean(struct jobs *j, const struct store_filter *f, int64_t end_before_ns,
	   uint32_t max)
{
	return store_clean(j->store, f, end_before_ns, max, jobs_remove_logs,
			   j);
}

/* Retention: a bounded batch of old jobs each run, so a large backlog
 * never stalls the loop; the next run is sooner while work remains. */
static void
jobs_prune(struct jobs *j, int64_t now)
{
	int64_t before = 0;
	int n;

	if (j->conf->retention_age_ms > 0)
		before =
		    clock_real_ns() - j->conf->retention_age_ms * NS_PER_MS;
	n = store_prune(j->store, before, j->conf->retention_count, PRUNE_BATCH,
			jobs_remove_logs, j);
	if (n == -1)
		log_warnx("retention: %s", store_error(j->store));
	else
		log_debug("retention: removed %d finished jobs", n);
	j->next_prune_ns =
	    now + (n == PRUNE_BATCH ? NS_PER_SEC : PRUNE_INTERVAL_NS);
}

void
jobs_check(struct jobs *j, int64_t now)
{
	if (!j->outbox && (j->next_prune_ns == 0 || now >= j->next_prune_ns))
		jobs_prune(j, now);
	jobs_queue_due(j);
}
