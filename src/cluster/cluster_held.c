/*
 * The claims this node holds: which claim each job of its own came
 * with (every later update names it), the slots they take, and the
 * claimed jobs it gives back to the queue (it cannot keep them) or
 * refuses (they cannot run here), and those its store still has that
 * the cluster gave to another node meanwhile. cluster_claim.c makes
 * the claims; this is their ledger.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/array.h"
#include "common/compat.h"
#include "common/log.h"
#include "core/job.h"
#include "store/pg.h"
#include "store/store.h"
#include "cluster/cluster_int.h"

int64_t
cl_claim_of(const struct cluster *cl, uint64_t id)
{
	size_t i;

	for (i = 0; i < cl->nclaims; i++) {
		if (cl->claims[i].id == id)
			return cl->claims[i].claim;
	}
	return -1;
}

/* The slots a job takes: one, or all of each worker it has as a CPU of
 * its own (a gang's workers start nothing else). */
uint32_t
cl_weight(const struct cluster *cl, const struct job_spec *spec)
{
	return spec->cpus > 1 ? spec->cpus * cl->worker_slots : 1;
}

int
cl_claim_add(struct cluster *cl, uint64_t id, int64_t claim, uint32_t weight)
{
	size_t i;

	for (i = 0; i < cl->nclaims; i++) {
		if (cl->claims[i].id == id) {
			cl->claims[i].claim = claim;
			cl->held += weight - cl->claims[i].weight;
			cl->claims[i].weight = weight;
			return 0;
		}
	}
	if (array_reserve((void **)&cl->claims, &cl->claims_cap, cl->nclaims,
			  sizeof *cl->claims) == -1)
		return -1;
	cl->claims[cl->nclaims++] = (struct cl_claim){id, claim, weight};
	cl->held += weight;
	return 0;
}

void
cl_claim_drop(struct cluster *cl, uint64_t id)
{
	size_t i;

	for (i = 0; i < cl->nclaims; i++) {
		if (cl->claims[i].id == id) {
			cl->held -= cl->claims[i].weight;
			cl->claims[i] = cl->claims[--cl->nclaims];
			return;
		}
	}
}

void
cl_claims_clear(struct cluster *cl)
{
	cl->nclaims = 0;
	cl->held = 0;
}

static void
cl_give_back_done(void *arg, const PGresult *res, const char *err)
{
	uint64_t *id = arg;

	if (!cl_ok(res))
		log_warnx("job %llu: cannot give it back to the cluster: %s",
			  (unsigned long long)*id, cl_why(res, err));
	free(id);
}

/* A claimed job this node will not run goes back to the queue. */
void
cl_give_back(struct cluster *cl, uint64_t id, int64_t claim)
{
	char sid[24], sclaim[24];
	const char *values[] = {sid, sclaim, cl->node};
	uint64_t *ctx;

	if ((ctx = malloc(sizeof *ctx)) == NULL)
		return;
	*ctx = id;
	snprintf(sid, sizeof sid, "%llu", (unsigned long long)id);
	snprintf(sclaim, sizeof sclaim, "%lld", (long long)claim);
	if (cl_send(cl,
		    "UPDATE forq_jobs SET state = 0, node = NULL, claim = "
		    "NULL, claimed_at = NULL WHERE id = $1 AND claim = $2 AND "
		    "node = $3",
		    3, values, cl_give_back_done, ctx) == -1) {
		free(ctx);
		return;
	}
}

static void
cl_refuse_done(void *arg, const PGresult *res, const char *err)
{
	uint64_t *id = arg;

	if (!cl_ok(res))
		log_warnx("job %llu: cannot record it failed: %s",
			  (unsigned long long)*id, cl_why(res, err));
	free(id);
}

/* A claimed job that cannot run here, for a reason no other node would
 * see otherwise (its user, its spec): it fails, saying why. */
void
cl_refuse(struct cluster *cl, uint64_t id, int64_t claim, const char *why)
{
	char sid[24], sclaim[24];
	const char *values[] = {sid, sclaim, cl->node, why};
	uint64_t *ctx;

	log_warnx("job %llu: %s", (unsigned long long)id, why);
	cl_claim_drop(cl, id);
	if ((ctx = malloc(sizeof *ctx)) == NULL)
		return;
	*ctx = id;
	snprintf(sid, sizeof sid, "%llu", (unsigned long long)id);
	snprintf(sclaim, sizeof sclaim, "%lld", (long long)claim);
	if (cl_send(cl,
		    "WITH gone AS (DELETE FROM forq_jobs WHERE id = $1 AND "
		    "claim = $2 AND node = $3 RETURNING *) " CL_TO_HISTORY(
			CL_FAILED, "$4"),
		    4, values, cl_refuse_done, ctx) == -1) {
		free(ctx);
		return;
	}
}

static int
cl_unclaimed_one(void *arg, const struct store_job *job)
{
	struct cluster *cl = arg;

	if (cl_claim_of(cl, job->id) < 0) {
		log_warnx("job %llu: no longer this node's (its lease was lost "
			  "meanwhile): stopped here",
			  (unsigned long long)job->id);
		cl_stopping_add(cl, job->id);
		cl->cb.cancel(cl->cb.arg, job->id);
	}
	return 0;
}

/* Jobs this node's store holds that the cluster gave to another since
 * (a previous forqd of this node lost its lease): stopped, never run. */
void
cl_drop_unclaimed(struct cluster *cl)
{
	static const int states[] = {JOB_QUEUED, JOB_RUNNING, JOB_SCHEDULED};
	struct store_filter f = {.uid = -1};
	size_t i;

	for (i = 0; i < nitems(states); i++) {
		f.state = states[i];
		if (store_list(cl->store, &f, UINT32_MAX, cl_unclaimed_one,
			       cl) == -1)
			log_warnx("store: %s", store_error(cl->store));
	}
}

void
cl_stopping_add(struct cluster *cl, uint64_t id)
{
	if (cl_stopping(cl, id))
		return;
	/* Without room, the copy is not known: its job may be claimed
	 * over it, as before this ledger. */
	if (array_reserve((void **)&cl->stopping, &cl->stopping_cap,
			  cl->nstopping, sizeof *cl->stopping) == -1) {
		log_warn("job %llu: stopping", (unsigned long long)id);
		return;
	}
	cl->stopping[cl->nstopping++] = id;
}

bool
cl_stopping(const struct cluster *cl, uint64_t id)
{
	size_t i;

	for (i = 0; i < cl->nstopping; i++) {
		if (cl->stopping[i] == id)
			return true;
	}
	return false;
}

void
cl_stopping_drop(struct cluster *cl, uint64_t id)
{
	size_t i;

	for (i = 0; i < cl->nstopping; i++) {
		if (cl->stopping[i] == id) {
			cl->stopping[i] = cl->stopping[--cl->nstopping];
			return;
		}
	}
}
