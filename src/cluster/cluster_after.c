/*
 * Jobs that wait for others, across the nodes. A waiting job is looked
 * at when a job it waits for ends: by the node that recorded the end,
 * in the turn after, and by every node's sweep a few seconds apart,
 * which finds what an end raced with (a dependent submitted on one node
 * while its dependency ended on another) and what a node that died in
 * between left. The verdict is job_deps_verdict's, as on one host; it
 * is written with state = waiting in the WHERE, so that two nodes that
 * settle a job at once agree, and a job cancelled for a failed
 * dependency is an end like any other, whose own dependents are looked
 * at in the turn after: a long chain unwinds a turn a link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>

#include "common/array.h"
#include "common/compat.h"
#include "common/log.h"
#include "core/job.h"
#include "store/pg.h"
#include "cluster/cluster_int.h"

/* Each waiting job with what it waits for: the ids in its order, and
 * their states (-1: in neither table, cleaned away; it drops out, as on
 * one host; a job left waiting for none goes on). Each state is looked
 * up by its id, a row at a time: a join's generic plan, made while the
 * tables were short, read both whole for every waiting job (23 ms a
 * look at 50,000 ended jobs). */
#define CL_SETTLE_ROWS(waiting)                                                \
	"SELECT j.id, j.after_mode, string_agg(d.id::text, ',' ORDER BY "      \
	"d.n), string_agg(coalesce((SELECT l.state FROM forq_jobs l WHERE "    \
	"l.id = d.id), (SELECT h.state FROM forq_history h WHERE h.id = "      \
	"d.id), -1)::text, ',' ORDER BY d.n) FROM (" waiting ") j LEFT JOIN "  \
	"LATERAL unnest(j.after_ids) WITH ORDINALITY AS d(id, n) ON true "     \
	"GROUP BY j.id, j.after_mode ORDER BY j.id"

/* What a look decided, written: free to run (or to wait for its time)
 * $1, or cancelled $2 with the reasons $3; each only if it still
 * waits. Sent unprepared: a generic plan for ids made while the table
 * was short would read it whole. */
/* clang-format off */
#define CL_SETTLED                                                             \
	"WITH r AS (UPDATE forq_jobs SET state = CASE WHEN start_at > now() "  \
	"THEN 2 ELSE 0 END WHERE id = ANY($1::bigint[]) AND state = 3 "        \
	"RETURNING id), f AS (SELECT * FROM unnest($2::bigint[], "             \
	"$3::text[]) AS t(id, why)), gone AS (DELETE FROM forq_jobs j USING "  \
	"f WHERE j.id = f.id AND j.state = 3 RETURNING j.*, f.why), moved AS " \
	"(" CL_TO_HISTORY(CL_CANCELLED, "why") " RETURNING id) SELECT "        \
	"(SELECT count(*) FROM r), coalesce((SELECT string_agg(id::text, "     \
	"',') FROM moved), '')"
/* clang-format on */

/* What one look decided, until it is written. */
struct cl_verdicts {
	uint64_t *ready;
	size_t nready, ready_cap;
	char *failed, *whys; /* bigint[] and text[] literals */
	size_t flen, fcap, wlen, wcap;
	size_t nfailed;
};

static void cl_settle_next(struct cluster *cl);

static void
cl_verdicts_free(struct cl_verdicts *v)
{
	free(v->ready);
	free(v->failed);
	free(v->whys);
}

/* One row: its verdict, added to v. -1: out of memory. */
static int
cl_verdict(struct cl_verdicts *v, const PGresult *res, int row)
{
	enum job_state states[JOB_AFTER_MAX];
	uint64_t deps[JOB_AFTER_MAX];
	const char *ids = PQgetvalue(res, row, 2);
	const char *sts = PQgetvalue(res, row, 3);
	char *end, num[24], why[96];
	size_t n = 0, culprit = 0;
	long st;

	while (*ids != '\0' && *sts != '\0' && n < nitems(deps)) {
		deps[n] = strtoull(ids, &end, 10);
		ids = *end == ',' ? end + 1 : end;
		st = strtol(sts, &end, 10);
		sts = *end == ',' ? end + 1 : end;
		if (st >= 0)
			states[n++] = (enum job_state)st;
	}
	switch (job_deps_verdict(job_after_of(atoi(PQgetvalue(res, row, 1))),
				 states, n, &culprit)) {
	case JOB_DEPS_READY:
		if (array_reserve((void **)&v->ready, &v->ready_cap, v->nready,
				  sizeof *v->ready) == -1)
			return -1;
		v->ready[v->nready++] =
		    strtoull(PQgetvalue(res, row, 0), NULL, 10);
		return 0;
	case JOB_DEPS_FAIL:
		snprintf(why, sizeof why, "dependency %llu %s",
			 (unsigned long long)deps[culprit],
			 job_state_name(states[culprit]));
		strlcpy(num, PQgetvalue(res, row, 0), sizeof num);
		v->nfailed++;
		return cl_array_add(&v->failed, &v->flen, &v->fcap, num) |
		       cl_array_add(&v->whys, &v->wlen, &v->wcap, why);
	default:
		return 0;
	}
}

static void
cl_settled(void *arg, const PGresult *res, const char *err)
{
	struct cluster *cl = arg;
	char *list, *word, *save;

	cl->settling = false;
	if (!cl_ok(res)) {
		log_warnx("cluster: waiting jobs not settled: %s",
			  cl_why(res, err));
		cl->settle_again = true;
		return;
	}
	if (strtol(PQgetvalue(res, 0, 0), NULL, 10) > 0) {
		cl->submitted = true; /* the others are told to claim */
		cl->room = true;      /* and so is this node, this turn */
	}
	if ((list = strdup(PQgetvalue(res, 0, 1))) != NULL) {
		for (word = strtok_r(list, ",", &save); word != NULL;
		     word = strtok_r(NULL, ",", &save)) {
			log_info("job %s: cancelled: a dependency of it did "
				 "not end as it waited for",
				 word);
			cl_announce(cl, strtoull(word, NULL, 10));
		}
		free(list);
	}
	cl_settle_next(cl);
}

static void
cl_settle_rows(void *arg, const PGresult *res, const char *err)
{
	struct cluster *cl = arg;
	struct cl_verdicts v = {0};
	const char *values[3];
	char *ready = NULL;
	int i, rc = 0;

	if (!cl_ok(res)) {
		cl->settling = false;
		cl->settle_again = true;
		log_warnx("cluster: waiting jobs not read: %s",
			  cl_why(res, err));
		return;
	}
	/* A full page: the sweep goes on from its last job next time. */
	if (cl->sweeping)
		cl->sweep_from =
		    PQntuples(res) < CLUSTER_SETTLE_PAGE
			? 0
			: strtoull(PQgetvalue(res, PQntuples(res) - 1, 0), NULL,
				   10);
	v.failed = cl_array_start(&v.flen, &v.fcap);
	v.whys = cl_array_start(&v.wlen, &v.wcap);
	rc = v.failed != NULL && v.whys != NULL ? 0 : -1;
	for (i = 0; rc == 0 && i < PQntuples(res); i++)
		rc = cl_verdict(&v, res, i);
	if (rc == 0 && (cl_array_end(&v.failed, &v.flen, &v.fcap) == -1 ||
			cl_array_end(&v.whys, &v.wlen, &v.wcap) == -1 ||
			(ready = cl_ids_text(v.ready, v.nready)) == NULL))
		rc = -1;
	if (rc == -1 || (v.nready == 0 && v.nfailed == 0)) {
		if (rc == -1)
			log_warnx("cluster: waiting jobs: out of memory");
		cl->settling = false;
		cl_verdicts_free(&v);
		free(ready);
		cl_settle_next(cl);
		return;
	}
	values[0] = ready;
	values[1] = v.failed;
	values[2] = v.whys;
	if (pg_send_unprepared(cl->pg, CL_SETTLED, 3, values, cl_settled, cl) ==
	    0)
		(void)pg_sync(cl->pg);
	else
		cl->settling = false;
	cl_verdicts_free(&v);
	free(ready);
}

/* ended: "1,2,3", jobs that just ended (their dependents are looked
 * at); NULL: the next page of every waiting job. */
static bool
cl_settle(struct cluster *cl, const char *ended)
{
	char from[24];
	const char *values[1];

	cl->sweeping = ended == NULL;
	if (ended == NULL) {
		snprintf(from, sizeof from, "%llu",
			 (unsigned long long)cl->sweep_from);
		values[0] = from;
	} else {
		values[0] = ended;
	}
	if (pg_send(cl->pg,
		    ended != NULL
			? CL_SETTLE_ROWS(
			      "SELECT id, after_ids, after_mode FROM forq_jobs "
			      "WHERE state = 3 AND after_ids && ('{' || $1 || "
			      "'}')::bigint[]")
			: CL_SETTLE_ROWS(
			      "SELECT id, after_ids, after_mode FROM forq_jobs "
			      "WHERE state = 3 AND id > $1::bigint ORDER BY id "
			      "LIMIT " CL_STR(CLUSTER_SETTLE_PAGE)),
		    1, values, cl_settle_rows, cl) == -1)
		return false;
	cl->settling = true;
	return pg_sync(cl->pg) == 0;
}

/* What was asked for while a look was out: the ends kept meanwhile,
 * then the rest of a sweep (or one, if the ends overflowed). */
static void
cl_settle_next(struct cluster *cl)
{
	char *ids;

	if (cl->settling || !pg_is_up(cl->pg))
		return;
	if (cl->pending_len > 0) {
		ids = cl->pending;
		cl->pending = NULL;
		cl->pending_len = cl->pending_cap = 0;
		(void)cl_settle(cl, ids);
		free(ids);
	} else if (cl->settle_again || cl->sweep_from != 0) {
		cl->settle_again = false;
		(void)cl_settle(cl, NULL);
	}
}

bool
cl_settle_ended(struct cluster *cl, const char *ids)
{
	size_t len = strlen(ids), need;
	char *p;

	if (len == 0)
		return false;
	if (!cl->settling && pg_is_up(cl->pg))
		return cl_settle(cl, ids);
	/* Kept for the next look; past a NOTIFY's worth, a sweep instead. */
	need = cl->pending_len + len + 2;
	if (need > CLUSTER_SETTLE_PENDING_MAX) {
		cl->settle_again = true;
		return false;
	}
	if (need > cl->pending_cap) {
		if ((p = realloc(cl->pending, MAX(need, 256))) == NULL) {
			cl->settle_again = true;
			return false;
		}
		cl->pending = p;
		cl->pending_cap = MAX(need, 256);
	}
	if (cl->pending_len > 0)
		cl->pending[cl->pending_len++] = ',';
	memcpy(cl->pending + cl->pending_len, ids, len + 1);
	cl->pending_len += len;
	return false;
}

void
cl_settle_sweep(struct cluster *cl)
{
	cl->settle_again = true;
	cl_settle_next(cl);
}
