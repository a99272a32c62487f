/*
 * What clients read of the shared queue: one job, several or a page,
 * a job's attempts, the queues' and an array's counts, tasks by name,
 * and a job's output kept in the database. Each answer comes to its
 * callback in a later turn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/compat.h"
#include "core/job.h"
#include "store/pg.h"
#include "store/store.h"
#include "cluster/cluster_int.h"

/* A question sent: whom its answer goes to (a callback of the kind
 * its reader calls, and its argument). Each reader frees it. */
struct cl_ask {
	struct cluster *cl;
	union {
		cluster_job_fn *job;
		cluster_attempt_fn *attempt;
		cluster_result_fn *result;
		cluster_ids_only_fn *ids;
		cluster_load_fn *load;
		cluster_states_fn *states;
		cluster_tasks_fn *tasks;
		cluster_logs_fn *logs;
	} fn;
	void *arg;
	bool list;   /* a job reader's: every row, not the first */
	bool by_ids; /* cl_ask_ids's: pg_send_unprepared */
};

/* Sends sql, whose answer done reads for the asker in ask. */
static int
cl_ask(struct cluster *cl, const char *sql, int n, const char *const *values,
       pg_cb done, struct cl_ask ask)
{
	struct cl_ask *a;

	if (!pg_is_up(cl->pg) || (a = malloc(sizeof *a)) == NULL)
		return -1;
	*a = ask;
	a->cl = cl;
	if ((ask.by_ids ? pg_send_unprepared : pg_send)(cl->pg, sql, n, values,
							done, a) == -1) {
		free(a);
		return -1;
	}
	(void)pg_sync(cl->pg);
	return 0;
}

/* Sends sql, whose $1 is the ids as a bigint[], planned for them. */
static int
cl_ask_ids(struct cluster *cl, const char *sql, const uint64_t *ids, size_t n,
	   pg_cb done, struct cl_ask ask)
{
	const char *values[1];
	char *list;
	int rc = -1;

	if ((list = cl_ids_text(ids, n)) != NULL) {
		values[0] = list;
		ask.by_ids = true;
		rc = cl_ask(cl, sql, 1, values, done, ask);
	}
	free(list);
	return rc;
}

static void
cl_read_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_ask *r = arg;
	struct store_job job;
	int i;

	if (!cl_ok(res)) {
		r->fn.job(r->arg, NULL, NULL, cl_why(res, err));
		free(r);
		return;
	}
	for (i = 0; i < PQntuples(res); i++) {
		if (cl_read_job(r->cl, res, i, &job) == -1)
			continue;
		r->fn.job(r->arg, &job,
			  PQgetisnull(res, i, 18) ? NULL
						  : PQgetvalue(res, i, 18),
			  NULL);
		job_spec_free(&job.spec);
		if (!r->list)
			break;
	}
	if (r->list || PQntuples(res) == 0)
		r->fn.job(r->arg, NULL, NULL, NULL);
	free(r);
}

static int
cl_read(struct cluster *cl, const char *sql, int n, const char *const *values,
	bool list, cluster_job_fn *fn, void *arg)
{
	return cl_ask(cl, sql, n, values, cl_read_done,
		      (struct cl_ask){.fn.job = fn, .arg = arg, .list = list});
}

int
cluster_get(struct cluster *cl, uint64_t id, cluster_job_fn *fn, void *arg)
{
	char sid[24];
	const char *values[] = {sid};

	snprintf(sid, sizeof sid, "%llu", (unsigned long long)id);
	return cl_read(cl,
		       "SELECT " CL_LIVE_COLUMNS
		       " FROM forq_jobs WHERE id = $1 "
		       "UNION ALL SELECT " CL_JOB_COLUMNS
		       " FROM forq_history WHERE id = $1",
		       1, values, false, fn, arg);
}

static void
cl_attempts_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_ask *r = arg;
	struct store_attempt a;
	int i;

	if (!cl_ok(res)) {
		r->fn.attempt(r->arg, NULL, NULL, cl_why(res, err));
		free(r);
		return;
	}
	for (i = 0; i < PQntuples(res); i++) {
		memset(&a, 0, sizeof a);
		a.attempt = (uint32_t)cl_int(res, i, 0, 0);
		a.result.state = (enum job_state)cl_int(res, i, 1, 0);
		a.result.exit_code = (int)cl_int(res, i, 2, -1);
		a.result.signal = (int)cl_int(res, i, 3, 0);
		a.result.start_ns = cl_int(res, i, 4, 0);
		a.result.end_ns = cl_int(res, i, 5, 0);
		if (!PQgetisnull(res, i, 6))
			strlcpy(a.result.error, PQgetvalue(res, i, 6),
				sizeof a.result.error);
		a.worker = (int)cl_int(res, i, 7, -1);
		a.cpu = (int)cl_int(res, i, 8, -1);
		r->fn.attempt(r->arg, &a,
			      PQgetisnull(res, i, 9) ? NULL
						     : PQgetvalue(res, i, 9),
			      NULL);
	}
	r->fn.attempt(r->arg, NULL, NULL, NULL);
	free(r);
}

int
cluster_attempts(struct cluster *cl, uint64_t id, cluster_attempt_fn *fn,
		 void *arg)
{
	char sid[24];
	const char *values[] = {sid};

	snprintf(sid, sizeof sid, "%llu", (unsigned long long)id);
	return cl_ask(cl,
		      "SELECT attempt, state, exit_code, signal, "
		      "(extract(epoch "
		      "FROM started_at) * 1e9)::bigint, (extract(epoch FROM "
		      "ended_at) * 1e9)::bigint, error, worker, cpu, node FROM "
		      "forq_attempts WHERE id = $1 ORDER BY attempt",
		      1, values, cl_attempts_done,
		      (struct cl_ask){.fn.attempt = fn, .arg = arg});
}

int
cluster_get_many(struct cluster *cl, const uint64_t *ids, size_t n,
		 cluster_job_fn *fn, void *arg)
{
	return cl_ask_ids(cl,
			  "SELECT " CL_LIVE_COLUMNS " FROM forq_jobs WHERE "
			  "id = ANY($1::bigint[]) UNION ALL "
			  "SELECT " CL_JOB_COLUMNS " FROM forq_history WHERE "
			  "id = ANY($1::bigint[])",
			  ids, n, cl_read_done,
			  (struct cl_ask){.fn.job = fn,
					  .arg = arg,
					  .list = true});
}

static void
cl_results_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_ask *r = arg;
	struct job_result result;
	int i;

	if (!cl_ok(res)) {
		r->fn.result(r->arg, 0, 0, NULL, cl_why(res, err));
		free(r);
		return;
	}
	for (i = 0; i < PQntuples(res); i++) {
		memset(&result, 0, sizeof result);
		result.state = (enum job_state)cl_int(res, i, 1, 0);
		cl_read_result(res, i, 3, &result);
		r->fn.result(r->arg, (uint64_t)cl_int(res, i, 0, 0),
			     (uid_t)cl_int(res, i, 2, 0), &result, NULL);
	}
	r->fn.result(r->arg, 0, 0, NULL, NULL);
	free(r);
}

int
cluster_results_many(struct cluster *cl, const uint64_t *ids, size_t n,
		     cluster_result_fn *fn, void *arg)
{
	return cl_ask_ids(cl,
			  "SELECT id, state, uid, " CL_LIVE_RESULT " FROM "
			  "forq_jobs WHERE id = ANY($1::bigint[]) UNION ALL "
			  "SELECT id, state, uid, " CL_RESULT_COLUMNS " FROM "
			  "forq_history WHERE id = ANY($1::bigint[])",
			  ids, n, cl_results_done,
			  (struct cl_ask){.fn.result = fn, .arg = arg});
}

/* A list's filter, the same on both tables: a state (-1: any), a uid
 * (-1: any), a queue and a name (NULL: any), ids below (0: any), the
 * tasks of an array (0: any job). */
#define CL_LIST_WHERE                                                          \
	"($1::integer < 0 OR state = $1::integer) AND ($2::integer < 0 OR "    \
	"uid = $2::integer) AND ($3::text IS NULL OR queue = $3) AND "         \
	"($4::text IS NULL OR name = $4) AND ($5::bigint = 0 OR id < "         \
	"$5::bigint) AND ($7::bigint = 0 OR array_id = $7::bigint)"

int
cluster_list(struct cluster *cl, const struct store_filter *f, uint32_t limit,
	     cluster_job_fn *fn, void *arg)
{
	char state[8], uid[24], before[24], lim[16], array[24];
	const char *values[7];

	snprintf(state, sizeof state, "%d", f->state);
	snprintf(uid, sizeof uid, "%lld", (long long)f->uid);
	snprintf(before, sizeof before, "%llu", (unsigned long long)f->before);
	snprintf(lim, sizeof lim, "%u", limit);
	snprintf(array, sizeof array, "%llu", (unsigned long long)f->array);
	values[0] = state;
	values[1] = uid;
	values[2] = f->queue;
	values[3] = f->name;
	values[4] = before;
	values[5] = lim;
	values[6] = array;
	return cl_read(cl,
		       "(SELECT " CL_LIVE_COLUMNS
		       " FROM forq_jobs WHERE " CL_LIST_WHERE
		       " ORDER BY id DESC LIMIT $6::integer) UNION ALL "
		       "(SELECT " CL_JOB_COLUMNS
		       " FROM forq_history WHERE " CL_LIST_WHERE
		       " ORDER BY id DESC LIMIT $6::integer) ORDER BY 1 DESC "
		       "LIMIT $6::integer",
		       7, values, true, fn, arg);
}

static void
cl_unfinished_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_ask *q = arg;
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;
	int i;

	if (!cl_ok(res)) {
		q->fn.ids(q->arg, NULL, 0, cl_why(res, err));
		free(q);
		return;
	}
	for (i = 0; i < PQntuples(res); i++) {
		if (array_reserve((void **)&ids, &cap, n, sizeof *ids) == -1) {
			q->fn.ids(q->arg, NULL, 0, "out of memory");
			free(ids);
			free(q);
			return;
		}
		ids[n++] = strtoull(PQgetvalue(res, i, 0), NULL, 10);
	}
	q->fn.ids(q->arg, ids, n, NULL);
	free(ids);
	free(q);
}

int
cluster_unfinished(struct cluster *cl, int64_t uid, const char *queue,
		   bool claimed, cluster_ids_only_fn *fn, void *arg)
{
	char suid[24];
	const char *values[] = {suid, queue, claimed ? "true" : "false"};

	snprintf(suid, sizeof suid, "%lld", (long long)uid);
	return cl_ask(cl,
		      "SELECT id FROM forq_jobs WHERE ($1::integer < 0 OR uid "
		      "= "
		      "$1::integer) AND ($2::text IS NULL OR queue = $2) AND "
		      "(NOT $3::boolean OR state = 1) ORDER BY id",
		      3, values, cl_unfinished_done,
		      (struct cl_ask){.fn.ids = fn, .arg = arg});
}

static void
cl_queues_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_ask *l = arg;
	struct cluster_queue_load *q;
	int i, n;

	if (!cl_ok(res)) {
		l->fn.load(l->arg, NULL, 0, cl_why(res, err));
		free(l);
		return;
	}
	n = PQntuples(res);
	if ((q = calloc(n > 0 ? (size_t)n : 1, sizeof *q)) == NULL) {
		l->fn.load(l->arg, NULL, 0, "out of memory");
		free(l);
		return;
	}
	for (i = 0; i < n; i++) {
		q[i].queue = PQgetvalue(res, i, 0);
		q[i].queued = strtoull(PQgetvalue(res, i, 1), NULL, 10);
		q[i].running = strtoull(PQgetvalue(res, i, 2), NULL, 10);
		q[i].scheduled = strtoull(PQgetvalue(res, i, 3), NULL, 10);
		q[i].paused = strcmp(PQgetvalue(res, i, 4), "t") == 0;
	}
	l->fn.load(l->arg, q, (size_t)n, NULL);
	free(q);
	free(l);
}

int
cluster_queues(struct cluster *cl, cluster_load_fn *fn, void *arg)
{
	return cl_ask(cl,
		      "SELECT coalesce(j.queue, p.name), coalesce(j.queued, "
		      "0), "
		      "coalesce(j.running, 0), coalesce(j.scheduled, 0), "
		      "coalesce(p.paused, false) FROM (SELECT queue, count(*) "
		      "FILTER (WHERE state = 0) AS queued, count(*) FILTER "
		      "(WHERE state = 1) AS running, count(*) FILTER (WHERE "
		      "state = 2) AS scheduled FROM forq_jobs GROUP BY queue) "
		      "j FULL JOIN forq_queues p ON p.name = j.queue ORDER BY "
		      "1",
		      0, NULL, cl_queues_done,
		      (struct cl_ask){.fn.load = fn, .arg = arg});
}

/* --- arrays ------------------------------------------------------ */

static void
cl_states_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_ask *st = arg;
	uint64_t counts[JOB_STATE_COUNT] = {0};
	long state;
	int i;

	if (!cl_ok(res)) {
		st->fn.states(st->arg, NULL, cl_why(res, err));
	} else {
		for (i = 0; i < PQntuples(res); i++) {
			state = strtol(PQgetvalue(res, i, 0), NULL, 10);
			if (state >= 0 && state < JOB_STATE_COUNT)
				counts[state] =
				    strtoull(PQgetvalue(res, i, 1), NULL, 10);
		}
		st->fn.states(st->arg, counts, NULL);
	}
	free(st);
}

int
cluster_array_states(struct cluster *cl, uint64_t array_id,
		     cluster_states_fn *fn, void *arg)
{
	char sid[24];
	const char *values[] = {sid};

	snprintf(sid, sizeof sid, "%llu", (unsigned long long)array_id);
	return cl_ask(cl,
		      "SELECT state, count(*) FROM (SELECT state FROM "
		      "forq_jobs "
		      "WHERE array_id = $1 UNION ALL SELECT state FROM "
		      "forq_history WHERE array_id = $1) s GROUP BY state",
		      1, values, cl_states_done,
		      (struct cl_ask){.fn.states = fn, .arg = arg});
}

static void
cl_tasks_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_ask *t = arg;
	struct cluster_task *found = NULL;
	int i, n;

	if (!cl_ok(res)) {
		t->fn.tasks(t->arg, NULL, 0, cl_why(res, err));
		free(t);
		return;
	}
	n = PQntuples(res);
	if (n > 0 && (found = calloc((size_t)n, sizeof *found)) == NULL) {
		t->fn.tasks(t->arg, NULL, 0, "out of memory");
	} else {
		for (i = 0; i < n; i++)
			found[i] =
			    (struct
			     cluster_task){.which =
					       (size_t)strtoull(PQgetvalue(res,
									   i,
									   0),
								NULL, 10) -
					       1,
					   .id = strtoull(PQgetvalue(res, i, 1),
							  NULL, 10),
					   .array =
					       strtoull(PQgetvalue(res, i, 2),
							NULL, 10),
					   .index = (uint32_t)
					       strtoul(PQgetvalue(res, i, 3),
						       NULL, 10)};
		t->fn.tasks(t->arg, found, (size_t)n, NULL);
	}
	free(found);
	free(t);
}

/* clang-format off */
/* The tasks a name q(a, i) stands for: task i of array a; with no i,
 * every task of array a, or the task whose id a is, to be named as one
 * host names it (an array's id is its first task's, which the first
 * part finds). */
#define CL_TASKS_OF                                                            \
	"(array_id = q.a AND (q.i IS NULL OR array_index = q.i)) OR (q.i IS " \
	"NULL AND id = q.a AND array_id <> q.a)"
static const char cl_tasks_sql[] =
    "SELECT q.k, t.id, t.array_id, t.array_index FROM unnest($1::bigint[], "
    "$2::integer[]) WITH ORDINALITY AS q(a, i, k) CROSS JOIN LATERAL "
    "(SELECT id, array_id, array_index FROM forq_jobs WHERE " CL_TASKS_OF
    " UNION ALL SELECT id, array_id, array_index FROM forq_history WHERE "
    CL_TASKS_OF ") t ORDER BY q.k, t.array_index";
/* clang-format on */

int
cluster_tasks(struct cluster *cl, const uint64_t *arrays,
	      const int64_t *indexes, size_t n, cluster_tasks_fn *fn, void *arg)
{
	char *a = NULL, *x = NULL, num[24];
	size_t la, ca, lx, cx, i;
	const char *values[2];
	int rc = -1;

	if ((a = cl_array_start(&la, &ca)) == NULL ||
	    (x = cl_array_start(&lx, &cx)) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof num, "%llu",
			 (unsigned long long)arrays[i]);
		if (cl_array_add(&a, &la, &ca, num) == -1)
			goto out;
		snprintf(num, sizeof num, "%lld", (long long)indexes[i]);
		if (cl_array_add(&x, &lx, &cx, indexes[i] < 0 ? NULL : num) ==
		    -1)
			goto out;
	}
	if (cl_array_end(&a, &la, &ca) == -1 ||
	    cl_array_end(&x, &lx, &cx) == -1)
		goto out;
	values[0] = a;
	values[1] = x;
	rc = cl_ask(cl, cl_tasks_sql, 2, values, cl_tasks_done,
		    (struct cl_ask){.fn.tasks = fn, .arg = arg});
out:
	free(a);
	free(x);
	return rc;
}

/* --- output -------------------------------------------------------- */

static void
cl_logs_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_ask *l = arg;
	struct cluster_output o = {0};
	unsigned char *out = NULL, *errt = NULL;
	struct store_job job;

	if (!cl_ok(res)) {
		l->fn.logs(l->arg, NULL, NULL, cl_why(res, err));
	} else if (PQntuples(res) == 0 ||
		   cl_read_job(l->cl, res, 0, &job) == -1) {
		l->fn.logs(l->arg, NULL, NULL, NULL);
	} else {
		o.node =
		    PQgetisnull(res, 0, 18) ? NULL : PQgetvalue(res, 0, 18);
		o.ran_here = o.node != NULL && strcmp(o.node, l->cl->node) == 0;
		o.state_dir = PQgetisnull(res, 0, CL_JOB_NCOLS + 2)
				  ? NULL
				  : PQgetvalue(res, 0, CL_JOB_NCOLS + 2);
		o.user = PQgetvalue(res, 0, CL_JOB_NCOLS + 3);
		if (!PQgetisnull(res, 0, CL_JOB_NCOLS))
			out = PQunescapeBytea((const unsigned char *)
						  PQgetvalue(res, 0,
							     CL_JOB_NCOLS),
					      &o.out_len);
		if (!PQgetisnull(res, 0, CL_JOB_NCOLS + 1))
			errt = PQunescapeBytea((const unsigned char *)
						   PQgetvalue(res, 0,
							      CL_JOB_NCOLS + 1),
					       &o.err_len);
		o.out = out;
		o.err = errt;
		o.kept = !PQgetisnull(res, 0, CL_JOB_NCOLS);
		l->fn.logs(l->arg, &job, &o, NULL);
		job_spec_free(&job.spec);
		PQfreemem(out);
		PQfreemem(errt);
	}
	free(l);
}

int
cluster_output(struct cluster *cl, uint64_t id, cluster_logs_fn *fn, void *arg)
{
	char sid[24];
	const char *values[] = {sid};

	snprintf(sid, sizeof sid, "%llu", (unsigned long long)id);
	return cl_ask(cl,
		      "SELECT " CL_LIVE_COLUMNS ", NULL::bytea, NULL::bytea, "
		      "(SELECT state_dir FROM forq_nodes WHERE name = node), "
		      "user_name FROM forq_jobs WHERE id = $1 UNION ALL "
		      "SELECT " CL_JOB_COLUMNS
		      ", out_tail, err_tail, (SELECT state_dir "
		      "FROM forq_nodes WHERE name = node), user_name "
		      "FROM forq_history WHERE id = $1",
		      1, values, cl_logs_done,
		      (struct cl_ask){.fn.logs = fn, .arg = arg});
}
