/*
 * The jobs module's [resources]: what running jobs were given, and the
 * jobs that wait for theirs. A job is given its resources when it is
 * taken from the runq, before any worker runs it, and gives them back
 * when it leaves running or goes back to its queue; so no index is
 * ever given to two running jobs. A job whose resources are not free
 * waits aside, oldest first, and so does every later job needing one
 * of the same kinds.
 */
#include <sys/param.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/res.h"
#include "core/runq.h"
#include "store/store.h"
#include "engine/jobs.h"
#include "engine/jobs_int.h"

static struct jobs_grant *
jobs_res_find(struct jobs *j, uint64_t id)
{
	size_t i;

	for (i = 0; i < j->ngrants; i++) {
		if (j->grants[i].id == id)
			return &j->grants[i];
	}
	return NULL;
}

static int
jobs_res_keep(struct jobs *j, uint64_t id, const struct res_grant *g)
{
	if (array_reserve((void **)&j->grants, &j->grants_cap, j->ngrants,
			  sizeof *j->grants) == -1)
		return -1;
	j->grants[j->ngrants++] = (struct jobs_grant){id, *g};
	return 0;
}

/* Would a job wanting want pass one set aside before it? */
static bool
jobs_res_blocked(const struct jobs *j, const struct res_grant *want,
		 size_t upto)
{
	size_t a, k;

	for (a = 0; a < upto; a++) {
		for (k = 0; k < RES_KINDS_MAX; k++) {
			if (want->want[k] != 0 && j->aside[a].want.want[k] != 0)
				return true;
		}
	}
	return false;
}

int
jobs_res_expect(struct jobs *j, const struct store_job *job)
{
	struct res_grant g;
	char why[256];

	/* One this node cannot give is refused when it is taken. */
	if (job->spec.res == NULL || res_ask_parse(&j->conf->res, job->spec.res,
						   &g, why, sizeof why) != 0)
		return 0;
	if (array_reserve((void **)&j->expected, &j->expected_cap, j->nexpected,
			  sizeof *j->expected) == -1)
		return -1;
	j->expected[j->nexpected++] = (struct jobs_grant){job->id, g};
	return 0;
}

static void
jobs_res_unexpect(struct jobs *j, uint64_t id)
{
	size_t i;

	for (i = 0; i < j->nexpected; i++) {
		if (j->expected[i].id == id) {
			j->expected[i] = j->expected[--j->nexpected];
			return;
		}
	}
}

void
jobs_res_left(struct jobs *j, uint32_t *left)
{
	const struct res_kinds *k = &j->conf->res;
	struct store_job job;
	size_t i = 0, n;

	for (n = 0; n < k->n; n++)
		left[n] = res_left(k, &j->pool, n);
	/* Claimed and not taken yet; gone from the queue (cancelled,
	 * held) while it waited in the runq, it is not expected. */
	while (i < j->nexpected) {
		if (store_get(j->store, j->expected[i].id, &job) != STORE_OK) {
			j->expected[i] = j->expected[--j->nexpected];
			continue;
		}
		if (job.state != JOB_QUEUED) {
			store_job_free(&job);
			j->expected[i] = j->expected[--j->nexpected];
			continue;
		}
		store_job_free(&job);
		for (n = 0; n < k->n; n++)
			left[n] -= MIN(left[n], j->expected[i].g.want[n]);
		i++;
	}
	/* A kind a job set aside waits for is no other's before it. */
	for (i = 0; i < j->naside; i++) {
		for (n = 0; n < k->n; n++) {
			if (j->aside[i].want.want[n] != 0)
				left[n] = 0;
		}
	}
}

enum jobs_res
jobs_res_claim(struct jobs *j, const struct store_job *job,
	       const struct runq_pick *e, char *why, size_t whylen)
{
	struct res_grant g;

	if (job->spec.res == NULL)
		return JOBS_RES_NONE;
	jobs_res_unexpect(j, job->id);
	if (res_ask_parse(&j->conf->res, job->spec.res, &g, why, whylen) != 0)
		return JOBS_RES_BAD;
	if (!jobs_res_blocked(j, &g, j->naside) &&
	    res_take(&j->conf->res, &j->pool, &g) == 0) {
		if (jobs_res_keep(j, job->id, &g) == 0)
			return JOBS_RES_GIVEN;
		res_give_back(&j->conf->res, &j->pool, &g);
	}
	if (array_reserve((void **)&j->aside, &j->aside_cap, j->naside,
			  sizeof *j->aside) == -1) {
		snprintf(why, whylen, "out of memory");
		return JOBS_RES_BAD;
	}
	j->aside[j->naside++] = (struct jobs_aside){*e, g};
	log_debug("job %llu: waits for %s", (unsigned long long)job->id,
		  job->spec.res);
	return JOBS_RES_ASIDE;
}

static void
jobs_res_drop_aside(struct jobs *j, size_t a)
{
	memmove(&j->aside[a], &j->aside[a + 1],
		(j->naside - a - 1) * sizeof *j->aside);
	j->naside--;
}

bool
jobs_res_next(struct jobs *j, struct store_job *job, struct runq_pick *e)
{
	struct jobs_aside *as;
	size_t a = 0;

	while (a < j->naside) {
		as = &j->aside[a];
		if (store_get(j->store, as->e.job.id, job) != STORE_OK) {
			jobs_res_drop_aside(j, a);
			continue;
		}
		/* Cancelled, held, changed or pruned while it waited. */
		if (job->state != JOB_QUEUED ||
		    job->attempt != as->e.job.attempt ||
		    job->spec.priority != as->e.job.priority) {
			store_job_free(job);
			jobs_res_drop_aside(j, a);
			continue;
		}
		if (runq_may_start(j->runq, as->e.queue) &&
		    !jobs_res_blocked(j, &as->want, a) &&
		    res_take(&j->conf->res, &j->pool, &as->want) == 0) {
			if (jobs_res_keep(j, job->id, &as->want) == 0) {
				*e = as->e;
				jobs_res_drop_aside(j, a);
				return true;
			}
			res_give_back(&j->conf->res, &j->pool, &as->want);
		}
		store_job_free(job);
		a++;
	}
	return false;
}

void
jobs_res_release(struct jobs *j, uint64_t id)
{
	struct jobs_grant *g = jobs_res_find(j, id);

	if (g == NULL)
		return;
	res_give_back(&j->conf->res, &j->pool, &g->g);
	*g = j->grants[--j->ngrants];
}

const char *
jobs_res_given(struct jobs *j, uint64_t id, char *buf, size_t len)
{
	struct jobs_grant *g = jobs_res_find(j, id);

	if (g == NULL || res_grant_format(&j->conf->res, &g->g, buf, len) == -1)
		return NULL;
	return buf;
}

int
jobs_res_retake(struct jobs *j, uint64_t id, const char *given)
{
	struct res_grant g;

	if (res_grant_parse(&j->conf->res, given, &g) == -1 ||
	    res_take_given(&j->conf->res, &j->pool, &g) == -1) {
		log_warnx("job %llu: what it was given (%s) is not in "
			  "[resources] now: it keeps running without it",
			  (unsigned long long)id, given);
		return -1;
	}
	return jobs_res_keep(j, id, &g);
}

uint64_t
jobs_res_gpu_deny(struct jobs *j, uint64_t id)
{
	const struct res_kinds *k = &j->conf->res;
	struct jobs_grant *g = jobs_res_find(j, id);
	int i = res_gpu_kind(k);

	if (i == -1)
		return 0;
	return k->kind[i].indexes & ~(g != NULL ? g->g.mask[i] : 0);
}

int
jobs_res_env(struct jobs *j, uint64_t id, char *buf, size_t len, size_t *used,
	     uint32_t *n)
{
	struct jobs_grant *g = jobs_res_find(j, id);

	*used = 0;
	*n = 0;
	if (g == NULL)
		return 0;
	return res_grant_env(&j->conf->res, &g->g, buf, len, used, n);
}

size_t
jobs_aside_in(const struct jobs *j, int queue)
{
	size_t a, n = 0;

	for (a = 0; a < j->naside; a++)
		n += runq_conf_queue(j->runq, j->aside[a].e.queue) == queue;
	return n;
}
