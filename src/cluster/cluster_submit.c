/*
 * Submissions to the shared queue: one pipelined transaction under a
 * key, sent again after a reconnect, so that a commit whose answer was
 * lost is found and not made twice. Its answer (the ids) comes to its
 * callback in a later turn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/compat.h"
#include "core/job.h"
#include "core/sign.h"
#include "store/pg.h"
#include "store/store.h"
#include "cluster/cluster_int.h"

void
cl_submit_free(struct cl_submit *s)
{
	struct cl_submit **p;

	for (p = &s->cl->subs; *p != NULL; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	free(s->specs);
	free(s->queues);
	free(s->priorities);
	free(s->names);
	free(s->starts);
	free(s->sigs);
	free(s->user);
	free(s->ids);
	free(s->held);
	free(s->uniques);
	free(s->afters);
	free(s->modes);
	free(s->holds);
	free(s->indexes);
	free(s->maxes);
	free(s->firsts);
	free(s->lasts);
	free(s->deps);
	free(s);
}

/* "{1,2,3}" into ids; -1 on a NULL (a key taken by a submission
 * committed at the same moment: not known here). */
static int
cl_ids_parse(const char *text, uint64_t **ids, size_t *n)
{
	size_t cap = 0;
	const char *p;
	char *end;

	*ids = NULL;
	*n = 0;
	for (p = text; *p != '\0' && *p != '}'; p++) {
		if (*p == 'N')
			return -1;
		if (*p < '0' || *p > '9')
			continue;
		if (array_reserve((void **)ids, &cap, *n, sizeof **ids) == -1)
			return -1;
		(*ids)[(*n)++] = strtoull(p, &end, 10);
		p = end - 1;
	}
	return 0;
}

static void
cl_submit_answer(struct cl_submit *s, const char *text, const char *held)
{
	uint64_t *ids, *ex = NULL;
	size_t n, nex = 0, i, k;
	bool *existing = NULL;

	if (cl_ids_parse(text, &ids, &n) == -1 ||
	    (held != NULL && cl_ids_parse(held, &ex, &nex) == -1) ||
	    (existing = calloc(n > 0 ? n : 1, sizeof *existing)) == NULL) {
		s->fn(s->arg, NULL, NULL, 0,
		      "a unique key was taken at the same moment by another "
		      "submission: submit again");
		free(ids);
		free(ex);
		return;
	}
	for (i = 0; i < n; i++) {
		for (k = 0; k < nex && ex[k] != ids[i]; k++)
			;
		existing[i] = k < nex;
	}
	s->fn(s->arg, ids, existing, n, NULL);
	s->cl->unanalyzed += n;
	free(ids);
	free(ex);
	free(existing);
}

static void
cl_sub_step(void *arg, const PGresult *res, const char *err)
{
	struct cl_submit *s = arg;

	if (res == NULL) {
		s->sent = false;
		return;
	}
	if (cl_ok(res) && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && PQnfields(res) == 2) {
		free(s->ids);
		free(s->held);
		s->ids = strdup(PQgetvalue(res, 0, 0));
		s->held = strdup(PQgetvalue(res, 0, 1));
	}
	if (!cl_ok(res) && !s->failed) {
		s->failed = true;
		/* Its key is there: sent before, committed, and the answer
		 * lost. Its ids are asked for. */
		if (strcmp(pg_sqlstate(res), "23505") == 0)
			s->existing = true;
		strlcpy(s->err, pg_result_why(res), sizeof s->err);
	}
}

static void
cl_sub_existing(void *arg, const PGresult *res, const char *err)
{
	struct cl_submit *s = arg;

	if (res == NULL) {
		s->sent = false;
		return;
	}
	if (cl_ok(res) && PQntuples(res) == 1)
		cl_submit_answer(s, PQgetvalue(res, 0, 0),
				 PQgetvalue(res, 0, 1));
	else
		s->fn(s->arg, NULL, NULL, 0, cl_why(res, err));
	cl_submit_free(s);
}

static void
cl_sub_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_submit *s = arg;
	const char *values[1];

	if (res == NULL) {
		s->sent = false;
		return;
	}
	if (s->existing) {
		s->failed = false;
		s->existing = false;
		values[0] = s->key;
		if (pg_send(s->cl->pg,
			    "SELECT ids, existing FROM forq_submissions WHERE "
			    "key = $1",
			    1, values, cl_sub_existing, s) == 0)
			(void)pg_sync(s->cl->pg);
		else
			s->sent = false;
		return;
	}
	if (s->failed) {
		s->fn(s->arg, NULL, NULL, 0, s->err);
	} else if (cl_ok(res) && s->ids != NULL) {
		cl_submit_answer(s, s->ids, s->held);
		/* What they wait for may have ended while they were being
		 * committed, its end looking for dependents not there yet. */
		if (s->deps != NULL)
			cl_settle_ended(s->cl, s->deps);
	} else
		s->fn(s->arg, NULL, NULL, 0, cl_why(res, err));
	s->cl->submitted = true;
	cl_submit_free(s);
}

void
cl_submit_send(struct cl_submit *s)
{
	const char *key[] = {s->key};
	const char *values[] = {s->key,        s->specs, s->queues,
				s->priorities, s->names, s->starts,
				s->uid,        s->gid,   s->user,
				s->cl->node,   s->sigs,  s->uniques,
				s->afters,     s->modes, s->holds,
				s->indexes,    s->maxes};
	const char *arrays[] = {s->key, s->firsts, s->lasts};
	struct pg *pg = s->cl->pg;

	s->failed = s->existing = false;
	/* The key first: a second delivery stops there. The jobs keep
	 * the order they were given in, and so their ids. The commit's
	 * answer carries the ids. */
	if (pg_send(pg, "BEGIN", 0, NULL, cl_sub_step, s) == -1)
		return;
	s->sent = true;
	/* Planned for its arrays each time: from its sixth run PostgreSQL
	 * may keep a generic plan, made for arrays of no known length,
	 * which took 16 s over a batch of 10,000 that its own plan
	 * stores in 0.5 s (past the node's answer timeout). */
	(void)pg_send(pg, "SET LOCAL plan_cache_mode = force_custom_plan", 0,
		      NULL, cl_sub_step, s);
	(void)pg_send(pg,
		      "INSERT INTO forq_submissions (key, ids) VALUES ($1, "
		      "'{}')",
		      1, key, cl_sub_step, s);
	/* A unique key held by a job not ended of the same user (before,
	 * or earlier in the batch) stands for the job, which is not
	 * stored; the rest keep the order they were given in, and so
	 * their ids. */
	(void)pg_send(
	    pg,
	    "WITH x AS (SELECT * FROM unnest($2::text[], $3::text[], "
	    "$4::integer[], $5::text[], $6::bigint[], $11::text[], "
	    "$12::text[], $13::text[], $14::smallint[], $15::boolean[], "
	    "$16::integer[], $17::integer[]) WITH "
	    "ORDINALITY AS t(spec, queue, priority, name, start_ms, sig, uniq, "
	    "after, mode, hold, aindex, amax, n)), held AS (SELECT x.n, j.id "
	    "FROM x JOIN "
	    "forq_jobs j ON j.uid = $7::integer AND j.unique_key = x.uniq), "
	    "ins AS (INSERT INTO forq_jobs (state, queue, priority, uid, gid, "
	    "user_name, name, spec, submit_node, start_at, sig, unique_key, "
	    "after_ids, after_mode, array_index, array_max) SELECT CASE WHEN "
	    "hold THEN " CL_HELD " "
	    "WHEN after <> '{}' THEN 3 "
	    "WHEN start_ms > extract(epoch FROM now()) * 1000 THEN 2 ELSE 0 "
	    "END, queue, priority, $7::integer, $8::integer, $9, name, spec, "
	    "$10, CASE WHEN start_ms > 0 THEN to_timestamp(start_ms / "
	    "1000.0) END, sig, uniq, CASE WHEN after <> '{}' THEN "
	    "after::bigint[] END, mode, aindex, coalesce(amax, 0) FROM x WHERE "
	    "x.n NOT IN (SELECT n FROM held) ORDER BY n ON CONFLICT (uid, "
	    "unique_key) WHERE unique_key IS NOT NULL DO NOTHING RETURNING "
	    "id, unique_key), plain AS (SELECT id, row_number() OVER (ORDER "
	    "BY id) AS k FROM ins WHERE unique_key IS NULL), xplain AS "
	    "(SELECT n, row_number() OVER (ORDER BY n) AS k FROM x WHERE "
	    "uniq IS NULL), mapped AS (SELECT xp.n, p.id, false AS ex FROM "
	    "xplain xp JOIN plain p USING (k) UNION ALL SELECT x.n, "
	    "coalesce(h.id, i.id), h.id IS NOT NULL OR x.n > (SELECT "
	    "min(x2.n) FROM x x2 WHERE x2.uniq = x.uniq) FROM x LEFT JOIN "
	    "held h USING (n) LEFT JOIN ins i ON i.unique_key = x.uniq "
	    "WHERE x.uniq IS NOT NULL) UPDATE forq_submissions SET ids = "
	    "(SELECT array_agg(id ORDER BY n) FROM mapped), existing = "
	    "coalesce((SELECT array_agg(id ORDER BY n) FROM mapped WHERE ex), "
	    "'{}') WHERE key = $1 RETURNING ids, existing",
	    17, values, cl_sub_step, s);
	/* An array's id is its first task's, known once they are in. */
	if (s->arrays)
		(void)
		    pg_send(pg,
			    "UPDATE forq_jobs j SET array_id = s.ids[g.first] "
			    "FROM forq_submissions s, unnest($2::integer[], "
			    "$3::integer[]) AS g(first, last) WHERE s.key = "
			    "$1 AND j.id = ANY(s.ids[g.first:g.last])",
			    3, arrays, cl_sub_step, s);
	(void)pg_send(pg, "COMMIT", 0, NULL, cl_sub_done, s);
	(void)pg_sync(pg);
}

static int
cl_submit_deps(struct cl_submit *s, const struct job_spec *spec)
{
	size_t len = s->deps != NULL ? strlen(s->deps) : 0;
	char *p;
	uint32_t k;

	for (k = 0; k < spec->nafter; k++) {
		if ((p = realloc(s->deps, len + 24)) == NULL)
			return -1;
		s->deps = p;
		len +=
		    (size_t)snprintf(p + len, 24, "%s%llu", len > 0 ? "," : "",
				     (unsigned long long)spec->after[k]);
	}
	return 0;
}

/* The rows of one spec: a job, or each task of its array, the same
 * spec and signature each (a task's index is a column of its own). */
static int
cl_submit_rows(struct cl_submit *s, const struct job_spec *spec,
	       const char *text, const char *sig, size_t *row, size_t *l,
	       size_t *c)
{
	const char *queue = spec->queue != NULL ? spec->queue : "default";
	char num[32], *after;
	char **cols[] = {&s->specs,  &s->queues, &s->priorities, &s->names,
			 &s->starts, &s->sigs,   &s->uniques,    &s->afters,
			 &s->modes,  &s->holds,  &s->indexes,    &s->maxes};
	const char *v[nitems(cols)];
	char prio[16], start[24], mode[8], index[16], max[16];
	size_t t, k, tasks = job_spec_tasks(spec);
	int rc = 0;

	if ((after = cl_ids_text(spec->after, spec->nafter)) == NULL)
		return -1;
	snprintf(prio, sizeof prio, "%d", spec->priority);
	snprintf(start, sizeof start, "%lld",
		 (long long)(spec->start_at_ns / NS_PER_MS));
	snprintf(mode, sizeof mode, "%d", (int)spec->after_mode);
	snprintf(max, sizeof max, "%u", spec->array.max);
	v[0] = text;
	v[1] = queue;
	v[2] = prio;
	v[3] = spec->name;
	v[4] = start;
	v[5] = sig;
	v[6] = spec->unique;
	v[7] = after;
	v[8] = mode;
	v[9] = spec->hold ? "t" : "f";
	for (t = 0; rc == 0 && t < tasks; t++) {
		if (spec->array.n > 0) {
			snprintf(index, sizeof index, "%u",
				 spec->array.index[t]);
			v[10] = index;
			v[11] = max;
		} else {
			v[10] = v[11] = NULL;
		}
		for (k = 0; k < nitems(cols); k++)
			rc |= cl_array_add(cols[k], &l[k], &c[k], v[k]);
	}
	free(after);
	if (rc == 0 && spec->array.n > 0) {
		s->arrays = true;
		snprintf(num, sizeof num, "%zu", *row + 1);
		rc |= cl_array_add(&s->firsts, &l[12], &c[12], num);
		snprintf(num, sizeof num, "%zu", *row + tasks);
		rc |= cl_array_add(&s->lasts, &l[13], &c[13], num);
	}
	*row += tasks;
	return rc == 0 ? cl_submit_deps(s, spec) : -1;
}

int
cluster_submit(struct cluster *cl, const struct job_spec *specs, size_t n,
	       uid_t uid, gid_t gid, const char *user, cluster_ids_fn *fn,
	       void *arg)
{
	size_t l[14], c[14], i, row = 0;
	char *text, sig[SIGN_HEX_LEN];
	char **cols[14];
	struct cl_submit *s;
	struct job_spec eff;
	json_t *j;
	int rc = 0;

	if (!pg_is_up(cl->pg))
		return -1;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return -1;
	s->cl = cl;
	s->fn = fn;
	s->arg = arg;
	snprintf(s->key, sizeof s->key, "%s:%llu", cl->boot,
		 (unsigned long long)++cl->seq);
	snprintf(s->uid, sizeof s->uid, "%d", (int)uid);
	snprintf(s->gid, sizeof s->gid, "%d", (int)gid);
	s->next = cl->subs;
	cl->subs = s;
	cols[0] = &s->specs;
	cols[1] = &s->queues;
	cols[2] = &s->priorities;
	cols[3] = &s->names;
	cols[4] = &s->starts;
	cols[5] = &s->sigs;
	cols[6] = &s->uniques;
	cols[7] = &s->afters;
	cols[8] = &s->modes;
	cols[9] = &s->holds;
	cols[10] = &s->indexes;
	cols[11] = &s->maxes;
	cols[12] = &s->firsts;
	cols[13] = &s->lasts;
	for (i = 0; i < nitems(cols); i++)
		if ((*cols[i] = cl_array_start(&l[i], &c[i])) == NULL)
			rc = -1;
	if ((s->user = strdup(user)) == NULL)
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++) {
		/* What the queue's defaults made of it is what runs,
		 * wherever it runs. */
		eff = specs[i];
		eff.has_priority = eff.has_timeout = eff.has_retries = true;
		eff.has_retry_delay = eff.has_mem = eff.has_cpus = true;
		j = job_spec_to_json(&eff);
		text = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		if (text == NULL) {
			rc = -1;
			break;
		}
		/* Signed as stored: the node that runs it checks these
		 * very bytes. */
		rc = sign_spec(cl->signer, user,
			       specs[i].queue != NULL ? specs[i].queue
						      : "default",
			       text, sig);
		if (rc == 0)
			rc =
			    cl_submit_rows(s, &specs[i], text, sig, &row, l, c);
		free(text);
	}
	for (i = 0; rc == 0 && i < nitems(cols); i++)
		rc = cl_array_end(cols[i], &l[i], &c[i]);
	if (rc == -1) {
		cl_submit_free(s);
		return -1;
	}
	cl_submit_send(s);
	return 0;
}
