/*
 * What clients change in the shared queue: cancels, holds and releases,
 * retries, a queued job's priority, the history cleaned, queues paused. Each is
 * one statement, answered by rows of (outcome, number), so that a change either
 * happened whole or not at all, whichever node asked for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/compat.h"
#include "common/log.h"
#include "core/job.h"
#include "core/sign.h"
#include "store/pg.h"
#include "cluster/cluster_int.h"

/* What a change does once it is answered, besides telling its asker. */
enum cl_after {
	CL_AFTER_NONE,
	CL_AFTER_ENDED,    /* the job ended (cancelled): announced */
	CL_AFTER_CLEANED,  /* this node's files of the ids in column 2 go */
	CL_AFTER_QUEUED,   /* a job was queued: the nodes are told */
	CL_AFTER_RELEASED, /* as the state it went to (column 1) calls for */
};

struct cl_change {
	struct cluster *cl;
	cluster_change_fn *fn;
	void *arg;
	uint64_t id;
	enum cl_after after;
};

static const struct {
	const char *word;
	enum cluster_outcome how;
} cl_outcomes[] = {
    {"done", CLUSTER_DONE},
    {"asked", CLUSTER_ASKED},
    {"not_pending", CLUSTER_NOT_PENDING},
    {"not_held", CLUSTER_NOT_HELD},
};

static void
cl_cleaned_files(struct cluster *cl, const char *ids)
{
	char *list, *word, *save;

	if ((list = strdup(ids)) == NULL)
		return;
	for (word = strtok_r(list, ",", &save); word != NULL;
	     word = strtok_r(NULL, ",", &save))
		cl->cb.pruned(cl->cb.arg, strtoull(word, NULL, 10));
	free(list);
}

static void
cl_change_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_change *c = arg;
	enum cluster_outcome how = CLUSTER_NO_SUCH_JOB;
	int64_t n = 0;
	size_t i;

	if (!cl_ok(res)) {
		/* Only a retry inserts under a unique key. */
		if (res != NULL && strcmp(pg_sqlstate(res), "23505") == 0)
			c->fn(c->arg, CLUSTER_KEY_HELD, 0, NULL);
		else
			c->fn(c->arg, CLUSTER_FAILED, 0, cl_why(res, err));
		free(c);
		return;
	}
	if (PQntuples(res) > 0) {
		for (i = 0; i < nitems(cl_outcomes); i++) {
			if (strcmp(PQgetvalue(res, 0, 0),
				   cl_outcomes[i].word) == 0)
				how = cl_outcomes[i].how;
		}
		n = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	if (how == CLUSTER_DONE) {
		switch (c->after) {
		case CL_AFTER_ENDED:
			cl_announce(c->cl, c->id);
			break;
		case CL_AFTER_CLEANED:
			cl_cleaned_files(c->cl, PQgetvalue(res, 0, 2));
			break;
		case CL_AFTER_QUEUED:
			c->cl->submitted = true;
			c->cl->room = true;
			break;
		case CL_AFTER_RELEASED:
			/* Queued: the nodes are told. Waiting: its
			 * dependencies (column 2) are looked at, as if they
			 * had just ended. Scheduled: the due poll queues it. */
			if (n == JOB_QUEUED) {
				c->cl->submitted = true;
				c->cl->room = true;
			} else if (n == JOB_WAITING) {
				cl_settle_ended(c->cl, PQgetvalue(res, 0, 2));
			}
			break;
		case CL_AFTER_NONE:
			break;
		}
	}
	c->fn(c->arg, how, n, NULL);
	free(c);
}

static int
cl_change(struct cluster *cl, const char *sql, int n, const char *const *values,
	  uint64_t id, enum cl_after after, cluster_change_fn *fn, void *arg)
{
	struct cl_change *c;

	if (!pg_is_up(cl->pg) || (c = malloc(sizeof *c)) == NULL)
		return -1;
	*c = (struct cl_change){cl, fn, arg, id, after};
	if (cl_send(cl, sql, n, values, cl_change_done, c) == -1) {
		free(c);
		return -1;
	}
	return 0;
}

/* A job's uid is $2 in each (-1: anyone's). */
#define CL_WHOSE "($2::integer < 0 OR uid = $2::integer)"

/* clang-format off */
static const char cl_cancel_sql[] =
    "WITH gone AS (DELETE FROM forq_jobs WHERE id = $1 AND state <> 1 AND "
    CL_WHOSE " RETURNING *), "
    "moved AS (" CL_TO_HISTORY(CL_CANCELLED, "NULL") " RETURNING id), "
    "asked AS (UPDATE forq_jobs SET cancel = true WHERE id = $1 AND "
    "state = 1 AND " CL_WHOSE " RETURNING pg_notify('forq_cancel', node "
    "|| ':' || id)) "
    "SELECT 'done', 0 FROM moved UNION ALL SELECT 'asked', 0 FROM asked "
    "UNION ALL SELECT 'not_pending', 0 FROM forq_history WHERE id = $1 "
    "AND " CL_WHOSE;

/* Held from queued, scheduled or waiting; a held one stays so. */
static const char cl_hold_sql[] =
    "WITH h AS (UPDATE forq_jobs SET state = " CL_HELD " WHERE id = $1 AND "
    "state IN (0, 2, 3) AND " CL_WHOSE " RETURNING state) "
    "SELECT 'done', state FROM h UNION ALL SELECT 'done', state FROM "
    "forq_jobs WHERE id = $1 AND state = " CL_HELD " AND " CL_WHOSE " "
    "UNION ALL SELECT 'not_pending', state FROM forq_jobs WHERE id = $1 "
    "AND state = 1 AND " CL_WHOSE " UNION ALL SELECT 'not_pending', state "
    "FROM forq_history WHERE id = $1 AND " CL_WHOSE;

/* Where it would be had it never been held. */
static const char cl_release_sql[] =
    "WITH r AS (UPDATE forq_jobs SET state = CASE WHEN after_ids IS NOT "
    "NULL THEN 3 WHEN start_at > now() THEN 2 ELSE 0 END WHERE id = $1 AND "
    "state = " CL_HELD " AND " CL_WHOSE " RETURNING state, after_ids) "
    "SELECT 'done', state, coalesce(array_to_string(after_ids, ','), '') "
    "FROM r UNION ALL SELECT 'not_held', state, '' FROM forq_jobs WHERE id "
    "= $1 AND state <> " CL_HELD " AND " CL_WHOSE " UNION ALL SELECT "
    "'not_held', state, '' FROM forq_history WHERE id = $1 AND " CL_WHOSE;

static const char cl_retry_sql[] =
    "WITH gone AS (DELETE FROM forq_history WHERE id = $1 AND " CL_WHOSE
    " RETURNING *), "
    "back AS (INSERT INTO forq_jobs (" CL_JOB_KEPT ", state, attempt, "
    "unique_key) SELECT " CL_JOB_KEPT ", 0, attempt + 1, "
    "spec::json->>'unique' FROM gone RETURNING attempt), "
    "files AS (INSERT INTO forq_cleaned (node, id) SELECT node, id FROM "
    "gone WHERE node IS NOT NULL), "
    "att AS (INSERT INTO forq_attempts (id, attempt, state, exit_code, "
    "signal, started_at, ended_at, error, node, worker, cpu) SELECT id, "
    "attempt, state, exit_code, signal, started_at, ended_at, error, node, "
    "worker, cpu FROM gone ON CONFLICT DO NOTHING) "
    "SELECT 'done', attempt FROM back UNION ALL SELECT 'not_pending', 0 "
    "FROM forq_jobs WHERE id = $1 AND " CL_WHOSE;

/* $3: the fields (enum job_edit_field) of $4 (priority) and $5 (the
 * start time in ms, 0: none) to change; a queued or scheduled job is
 * then queued or scheduled as its start time says. */
#define CL_SET_FIELDS                                                          \
    "priority = CASE WHEN $3::integer & 1 <> 0 THEN $4::integer ELSE "     \
    "priority END, start_at = CASE WHEN $3::integer & 4 = 0 THEN "         \
    "start_at WHEN $5::bigint > 0 THEN to_timestamp($5::bigint / 1000.0) " \
    "END, state = CASE WHEN state NOT IN (0, 2) OR $3::integer & 4 = 0 "   \
    "THEN state WHEN $5::bigint > 0 AND to_timestamp($5::bigint / "        \
    "1000.0) > now() THEN 2 ELSE 0 END"
static const char cl_set_sql[] =
    "WITH s AS (UPDATE forq_jobs SET " CL_SET_FIELDS " WHERE id = $1 AND "
    "state <> 1 AND " CL_WHOSE " RETURNING state) "
    "SELECT 'done', state, '' FROM s UNION ALL SELECT 'not_pending', 0, '' "
    "FROM forq_jobs WHERE id = $1 AND state = 1 AND " CL_WHOSE " UNION ALL "
    "SELECT 'not_pending', 0, '' FROM forq_history WHERE id = $1 AND "
    CL_WHOSE;

static const char cl_clean_sql[] =
    "WITH gone AS (DELETE FROM forq_history WHERE id IN (SELECT id FROM "
    "forq_history WHERE ($1::integer < 0 OR state = $1::integer) AND "
    CL_WHOSE " AND ($3::bigint = 0 OR ended_at < to_timestamp($3::bigint "
    "/ 1e9)) LIMIT $4::integer) RETURNING id, node), "
    "files AS (INSERT INTO forq_cleaned (node, id) SELECT node, id FROM "
    "gone WHERE node IS NOT NULL AND node <> $5), "
    "att AS (DELETE FROM forq_attempts a USING gone WHERE a.id = gone.id) "
    "SELECT 'done', count(*), coalesce(string_agg(id::text, ',') FILTER "
    "(WHERE node = $5), '') FROM gone";
/* clang-format on */

/* A job's spec as set changes it ($6, signed $7; its queue $8 and name
 * $9 in their columns too), if it is still the one read ($10), then as
 * cl_set_sql. */
static const char cl_set_spec_sql[] =
    "WITH s AS (UPDATE forq_jobs SET spec = $6, sig = $7, queue = $8, "
    "name = $9, " CL_SET_FIELDS " WHERE id = $1 AND state <> 1 AND spec = "
    "$10 AND " CL_WHOSE " RETURNING state) "
    "SELECT 'done', state, '' FROM s UNION ALL SELECT 'not_pending', 0, '' "
    "FROM forq_jobs WHERE id = $1 AND (state = 1 OR spec <> $10) AND " CL_WHOSE
    " UNION ALL SELECT 'not_pending', 0, '' FROM forq_history "
    "WHERE id = $1 AND " CL_WHOSE;

/* What set reads of a job to change its spec: the spec and its user,
 * if no node has claimed it. */
static const char cl_set_read_sql[] =
    "SELECT 'edit', spec, user_name FROM forq_jobs WHERE id = $1 AND "
    "state <> 1 AND " CL_WHOSE " UNION ALL SELECT 'not_pending', NULL, "
    "NULL FROM forq_jobs WHERE id = $1 AND state = 1 AND " CL_WHOSE
    " UNION ALL SELECT 'not_pending', NULL, NULL FROM forq_history WHERE "
    "id = $1 AND " CL_WHOSE;

/* A change of one job, as uid: $1 its id, $2 the uid, then the
 * statement's own parameters (nextra of them, at most 3). */
static int
cl_change_job(struct cluster *cl, const char *sql, uint64_t id, int64_t uid,
	      const char *const *extra, int nextra, enum cl_after after,
	      cluster_change_fn *fn, void *arg)
{
	char sid[24], suid[24];
	const char *values[5] = {sid, suid};
	int i;

	snprintf(sid, sizeof sid, "%llu", (unsigned long long)id);
	snprintf(suid, sizeof suid, "%lld", (long long)uid);
	for (i = 0; i < nextra && i < 3; i++)
		values[2 + i] = extra[i];
	return cl_change(cl, sql, 2 + i, values, id, after, fn, arg);
}

int
cluster_cancel(struct cluster *cl, uint64_t id, int64_t uid,
	       cluster_change_fn *fn, void *arg)
{
	/* Not started: into the history as cancelled. Running: its node
	 * is told, by a NOTIFY now and by its poll else. */
	return cl_change_job(cl, cl_cancel_sql, id, uid, NULL, 0,
			     CL_AFTER_ENDED, fn, arg);
}

int
cluster_hold(struct cluster *cl, uint64_t id, int64_t uid,
	     cluster_change_fn *fn, void *arg)
{
	return cl_change_job(cl, cl_hold_sql, id, uid, NULL, 0, CL_AFTER_NONE,
			     fn, arg);
}

int
cluster_release(struct cluster *cl, uint64_t id, int64_t uid,
		cluster_change_fn *fn, void *arg)
{
	return cl_change_job(cl, cl_release_sql, id, uid, NULL, 0,
			     CL_AFTER_RELEASED, fn, arg);
}

int
cluster_retry(struct cluster *cl, uint64_t id, int64_t uid,
	      cluster_change_fn *fn, void *arg)
{
	/* Back into the live table as it was signed, its unique key held
	 * again (a job not ended that holds it now refuses the retry);
	 * its last run's output files go from the node that ran it. */
	return cl_change_job(cl, cl_retry_sql, id, uid, NULL, 0,
			     CL_AFTER_QUEUED, fn, arg);
}

/* A set of what the spec holds (queue, timeout, name): the spec is
 * read, changed and signed anew here, and written back if nobody
 * changed it meanwhile, so that the node that runs the job finds its
 * signature holding. */
struct cl_edit {
	struct cluster *cl;
	uint64_t id;
	int64_t uid;
	struct job_edit e; /* its strings the edit's own */
	cluster_change_fn *fn;
	void *arg;
};

static void
cl_edit_free(struct cl_edit *x)
{
	job_edit_free(&x->e);
	free(x);
}

/* The spec text as the edit makes it, malloc'd; NULL if it is not JSON
 * or memory ran out. */
static char *
cl_edit_spec(const char *text, const struct job_edit *e)
{
	json_t *spec = json_loads(text, 0, NULL);
	char *out = NULL;

	if (spec == NULL || !json_is_object(spec))
		goto out;
	if ((e->fields & JOB_EDIT_QUEUE) &&
	    json_object_set_new(spec, "queue", json_string(e->queue)) == -1)
		goto out;
	if ((e->fields & JOB_EDIT_TIMEOUT) &&
	    json_object_set_new(spec, "timeout_ms",
				json_integer(e->timeout_ms)) == -1)
		goto out;
	if (e->fields & JOB_EDIT_NAME) {
		if (e->name == NULL)
			(void)json_object_del(spec, "name");
		else if (json_object_set_new(spec, "name",
					     json_string(e->name)) == -1)
			goto out;
	}
	out = json_dumps(spec, JSON_COMPACT);
out:
	json_decref(spec);
	return out;
}

static void
cl_edit_read(void *arg, const PGresult *res, const char *err)
{
	struct cl_edit *x = arg;
	char fields[16], prio[16], start[24], sid[24], suid[24],
	    sig[SIGN_HEX_LEN];
	const char *values[10], *queue, *name;
	json_t *spec = NULL;
	char *text = NULL;

	if (!cl_ok(res)) {
		x->fn(x->arg, CLUSTER_FAILED, 0, cl_why(res, err));
		goto out;
	}
	if (PQntuples(res) == 0) {
		x->fn(x->arg, CLUSTER_NO_SUCH_JOB, 0, NULL);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "edit") != 0) {
		x->fn(x->arg, CLUSTER_NOT_PENDING, 0, NULL);
		goto out;
	}
	if ((text = cl_edit_spec(PQgetvalue(res, 0, 1), &x->e)) == NULL ||
	    (spec = json_loads(text, 0, NULL)) == NULL) {
		x->fn(x->arg, CLUSTER_FAILED, 0, "its spec cannot be changed");
		goto out;
	}
	queue = json_string_value(json_object_get(spec, "queue"));
	name = json_string_value(json_object_get(spec, "name"));
	if (queue == NULL)
		queue = "default";
	if (sign_spec(x->cl->signer, PQgetvalue(res, 0, 2), queue, text, sig) ==
	    -1) {
		x->fn(x->arg, CLUSTER_FAILED, 0, "its spec cannot be signed");
		goto out;
	}
	snprintf(sid, sizeof sid, "%llu", (unsigned long long)x->id);
	snprintf(suid, sizeof suid, "%lld", (long long)x->uid);
	snprintf(fields, sizeof fields, "%u", x->e.fields);
	snprintf(prio, sizeof prio, "%d", (int)x->e.priority);
	snprintf(start, sizeof start, "%lld",
		 (long long)(x->e.start_at_ns / NS_PER_MS));
	values[0] = sid;
	values[1] = suid;
	values[2] = fields;
	values[3] = prio;
	values[4] = start;
	values[5] = text;
	values[6] = sig;
	values[7] = queue;
	values[8] = name;
	values[9] = PQgetvalue(res, 0, 1);
	if (cl_change(x->cl, cl_set_spec_sql, 10, values, x->id,
		      CL_AFTER_RELEASED, x->fn, x->arg) == -1)
		x->fn(x->arg, CLUSTER_FAILED, 0, "it cannot be reached now");
out:
	json_decref(spec);
	free(text);
	cl_edit_free(x);
}

static int
cl_edit_spec_send(struct cluster *cl, uint64_t id, int64_t uid,
		  const struct job_edit *e, cluster_change_fn *fn, void *arg)
{
	char sid[24], suid[24];
	const char *values[] = {sid, suid};
	struct cl_edit *x;

	if (!pg_is_up(cl->pg) || (x = calloc(1, sizeof *x)) == NULL)
		return -1;
	*x = (struct cl_edit){.cl = cl,
			      .id = id,
			      .uid = uid,
			      .e = *e,
			      .fn = fn,
			      .arg = arg};
	x->e.queue = x->e.name = NULL;
	if ((e->queue != NULL && (x->e.queue = strdup(e->queue)) == NULL) ||
	    (e->name != NULL && (x->e.name = strdup(e->name)) == NULL)) {
		cl_edit_free(x);
		return -1;
	}
	snprintf(sid, sizeof sid, "%llu", (unsigned long long)id);
	snprintf(suid, sizeof suid, "%lld", (long long)uid);
	if (cl_send(cl, cl_set_read_sql, 2, values, cl_edit_read, x) == -1) {
		cl_edit_free(x);
		return -1;
	}
	return 0;
}

int
cluster_edit(struct cluster *cl, uint64_t id, int64_t uid,
	     const struct job_edit *e, cluster_change_fn *fn, void *arg)
{
	char fields[16], prio[16], start[24];
	const char *const extra[] = {fields, prio, start};

	if (e->fields & (JOB_EDIT_QUEUE | JOB_EDIT_TIMEOUT | JOB_EDIT_NAME))
		return cl_edit_spec_send(cl, id, uid, e, fn, arg);
	snprintf(fields, sizeof fields, "%u", e->fields);
	snprintf(prio, sizeof prio, "%d", (int)e->priority);
	snprintf(start, sizeof start, "%lld",
		 (long long)(e->start_at_ns / NS_PER_MS));
	/* Claims order by the column, and a node runs a claimed job at
	 * that priority (cl_job_of_row) and at once, whatever the spec
	 * says; the due poll queues it at its start time. */
	return cl_change_job(cl, cl_set_sql, id, uid, extra, 3,
			     CL_AFTER_RELEASED, fn, arg);
}

int
cluster_clean(struct cluster *cl, int state, int64_t uid, int64_t before_ns,
	      uint32_t limit, cluster_change_fn *fn, void *arg)
{
	char sstate[8], suid[24], before[24], lim[16];
	const char *values[] = {sstate, suid, before, lim, cl->node};

	snprintf(sstate, sizeof sstate, "%d", state);
	snprintf(suid, sizeof suid, "%lld", (long long)uid);
	snprintf(before, sizeof before, "%lld", (long long)before_ns);
	snprintf(lim, sizeof lim, "%u", limit);
	/* This node's files go now; each other node's at its next round
	 * of retention, which reads forq_cleaned. */
	return cl_change(cl, cl_clean_sql, 5, values, 0, CL_AFTER_CLEANED, fn,
			 arg);
}

int
cluster_pause(struct cluster *cl, const char *queue, bool paused,
	      cluster_change_fn *fn, void *arg)
{
	const char *values[] = {queue != NULL ? queue : "",
				paused ? "true" : "false"};

	/* "" stands for every queue. */
	return cl_change(cl,
			 "INSERT INTO forq_queues (name, paused) VALUES ($1, "
			 "$2::boolean) ON CONFLICT (name) DO UPDATE SET paused "
			 "= excluded.paused RETURNING 'done', 0",
			 2, values, 0, paused ? CL_AFTER_NONE : CL_AFTER_QUEUED,
			 fn, arg);
}
