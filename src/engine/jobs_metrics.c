/*
 * What the metrics page says of jobs: the gauges of each state by
 * queue, counters of submissions and ends, and per queue the
 * histograms of how long jobs waited and ran. Queued and running jobs
 * are counted by the run queue, which has them all in memory; those
 * not yet queued (waiting, scheduled, held) by the store, through its
 * index on state, since only the store knows their queues. That count
 * grows with them (94 ms for 100,000 held jobs), so it is kept and
 * taken again only once JOBS_PENDING_SHARE times what it cost has
 * passed (and at least a second): however often the page is asked
 * for, it costs the supervisor at most 1/JOBS_PENDING_SHARE of its
 * time. Counting them in memory at each change of state would make it
 * exact and free; the store's triggers could, but cost every insert
 * 2.5 times what it costs now (measured), so it is not done that way.
 */
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/job.h"
#include "core/metrics.h"
#include "store/store.h"
#include "engine/jobs_int.h"

#define JOBS_PENDING_SHARE 200

struct jobs_qstats {
	struct hist wait;
	struct hist run;
};

/* The stats of runq queue q's conf queue; NULL when memory runs out. */
static struct jobs_qstats *
jobs_qstats_of(struct jobs *j, int q)
{
	size_t want, i;
	void *grown;

	q = runq_conf_queue(j->runq, q);
	if ((size_t)q >= j->nqstats) {
		want = runq_queues(j->runq);
		if ((grown = reallocarray(j->qstats, want,
					  sizeof *j->qstats)) == NULL)
			return NULL;
		j->qstats = grown;
		for (i = j->nqstats; i < want; i++) {
			hist_init(&j->qstats[i].wait, &hist_job_seconds);
			hist_init(&j->qstats[i].run, &hist_job_seconds);
		}
		j->nqstats = want;
	}
	return &j->qstats[q];
}

void
jobs_note_wait(struct jobs *j, int queue, const struct store_job *job)
{
	struct jobs_qstats *qs;
	int64_t from = job->submit_ns;

	/* A retry's wait would count its earlier attempts' runs. */
	if (job->attempt != 0 || (qs = jobs_qstats_of(j, queue)) == NULL)
		return;
	if (job->spec.start_at_ns > from)
		from = job->spec.start_at_ns;
	hist_observe(&qs->wait, (double)(clock_real_ns() - from) / 1e9);
}

void
jobs_note_run(struct jobs *j, int queue, const struct job_result *r)
{
	struct jobs_qstats *qs;

	if (r->start_ns <= 0 || r->end_ns < r->start_ns ||
	    (qs = jobs_qstats_of(j, queue)) == NULL)
		return;
	hist_observe(&qs->run, (double)(r->end_ns - r->start_ns) / 1e9);
}

/* States not started, by queue, as the store counts them. */
static int
jobs_pending_one(void *arg, const char *queue, enum job_state state, uint64_t n)
{
	struct om *om = arg;
	const char *labels[] = {"queue", queue, "state", job_state_name(state)};

	om_sample_u64(om, "forq_jobs", labels, 2, n);
	return 0;
}

/* One histogram per queue of the conf (or of the store), empty where
 * no job has been seen yet, so that every queue has its series. */
static void
jobs_metrics_hists(struct jobs *j, struct om *om, const char *name, bool run)
{
	struct runq_info info;
	struct hist none;
	const char *labels[2] = {"queue", NULL};
	size_t i;

	hist_init(&none, &hist_job_seconds);
	for (i = 0; i < runq_queues(j->runq); i++) {
		runq_info(j->runq, (int)i, &info);
		if (info.parent != -1)
			continue;
		labels[1] = info.name;
		om_hist(om, name, labels, 1,
			i >= j->nqstats ? &none
			: run           ? &j->qstats[i].run
					: &j->qstats[i].wait);
	}
}

/* The store's count, as samples in j->pending, taken again if due. */
static int
jobs_pending_samples(struct jobs *j)
{
	int64_t now = clock_mono_ns(), wait;
	struct om text;
	int rc;

	wait = j->pending_cost_ns * JOBS_PENDING_SHARE;
	if (wait < NS_PER_SEC)
		wait = NS_PER_SEC;
	if (j->pending_at_ns != 0 && now - j->pending_at_ns < wait)
		return 0;
	buf_clear(&j->pending);
	om_begin(&text, &j->pending);
	rc = store_pending_counts(j->store, jobs_pending_one, &text);
	if (rc == -1)
		log_warnx("metrics: store: %s", store_error(j->store));
	/* A count that does not fit is none: the page goes without it. */
	if (text.err != 0)
		buf_clear(&j->pending);
	j->pending_at_ns = clock_mono_ns();
	j->pending_cost_ns = j->pending_at_ns - now;
	return rc;
}

int
jobs_metrics(struct jobs *j, struct om *om)
{
	const char *labels[4];
	struct runq_info info;
	enum job_state s;
	size_t i;
	int rc;

	om_family(om, "forq_jobs", OM_GAUGE, NULL,
		  "Jobs not ended, by queue and state.");
	for (i = 0; i < runq_queues(j->runq); i++) {
		runq_info(j->runq, (int)i, &info);
		if (info.parent != -1)
			continue; /* counted in its parent's */
		labels[0] = "queue";
		labels[1] = info.name;
		labels[2] = "state";
		labels[3] = job_state_name(JOB_QUEUED);
		om_sample_u64(om, "forq_jobs", labels, 2,
			      info.ready + jobs_aside_in(j, (int)i));
		labels[3] = job_state_name(JOB_RUNNING);
		om_sample_u64(om, "forq_jobs", labels, 2, info.running);
	}
	rc = jobs_pending_samples(j);
	om_raw(om, j->pending.data, j->pending.len);

	om_family(om, "forq_queue_paused", OM_GAUGE, NULL,
		  "1 if the queue is paused: its jobs do not start.");
	for (i = 0; i < runq_queues(j->runq); i++) {
		runq_info(j->runq, (int)i, &info);
		if (info.parent != -1)
			continue;
		labels[0] = "queue";
		labels[1] = info.name;
		om_sample_u64(om, "forq_queue_paused", labels, 1, info.paused);
	}

	om_family(om, "forq_jobs_submitted", OM_COUNTER, NULL,
		  "Jobs (or tasks of arrays) submitted since forqd started.");
	om_sample_u64(om, "forq_jobs_submitted_total", NULL, 0, j->submitted);
	om_family(om, "forq_jobs_ended", OM_COUNTER, NULL,
		  "Jobs that reached a final state since forqd started.");
	for (s = JOB_SUCCEEDED; s < JOB_STATE_COUNT; s++) {
		labels[0] = "state";
		labels[1] = job_state_name(s);
		om_sample_u64(om, "forq_jobs_ended_total", labels, 1,
			      j->ended[s]);
	}

	om_family(om, "forq_job_wait_seconds", OM_HISTOGRAM, "seconds",
		  "From a job's submission (or its start time, if later) "
		  "until its first attempt started.");
	jobs_metrics_hists(j, om, "forq_job_wait_seconds", false);
	om_family(om, "forq_job_run_seconds", OM_HISTOGRAM, "seconds",
		  "How long each attempt of a job ran.");
	jobs_metrics_hists(j, om, "forq_job_run_seconds", true);
	return rc;
}

uint64_t
jobs_ended_count(const struct jobs *j)
{
	uint64_t n = 0;
	size_t s;

	for (s = 0; s < JOB_STATE_COUNT; s++)
		n += j->ended[s];
	return n;
}
