/*
 * The shared queue, the node's claims: what it takes (fairly, as one
 * host orders its queue, and no more than it can run at once), how a
 * claimed job becomes a job of this node's store, and what it finds of
 * its own after a reconnect. A job is this node's only once the claim's
 * COMMIT is answered; then cluster_held.c keeps its claim.
 */
#include <sys/param.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pwd.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/compat.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/job.h"
#include "core/sched.h"
#include "core/sign.h"
#include "store/pg.h"
#include "store/store.h"
#include "cluster/cluster_int.h"

/* A user's ids on this node, by name. getpwnam goes through NSS (on
 * most hosts, opening and reading /etc/passwd): a twentieth of a
 * claiming node's CPU when it took one job after another of one user.
 * A name is looked up again after CLUSTER_USER_TTL seconds, so a user
 * removed or changed here is seen within that; a name not found is
 * not kept. */
static int
cl_user_ids(struct cluster *cl, const char *user, uid_t *uid, gid_t *gid)
{
	int64_t now = clock_mono_ns();
	struct cl_user *u = NULL;
	struct passwd *pw;
	size_t i;

	for (i = 0; u == NULL && i < nitems(cl->users); i++) {
		if (cl->users[i].at_ns != 0 &&
		    strcmp(cl->users[i].name, user) == 0)
			u = &cl->users[i];
	}
	if (u != NULL && now - u->at_ns < CLUSTER_USER_TTL * NS_PER_SEC) {
		*uid = u->uid;
		*gid = u->gid;
		return 0;
	}
	if (u != NULL) /* stale: filled again below, or left empty */
		u->at_ns = 0;
	if ((pw = getpwnam(user)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (u == NULL && strlen(user) <= CLUSTER_USER_NAME_MAX)
		u = &cl->users[cl->users_next++ % nitems(cl->users)];
	if (u != NULL) {
		strlcpy(u->name, user, sizeof u->name);
		u->uid = *uid;
		u->gid = *gid;
		u->at_ns = now;
	}
	return 0;
}

/* The spec a claim brought, made a job of this node: it runs as the
 * submitter's name here, whatever uid that name has on the node that
 * took it; a name unknown here refuses the job. */
static int
cl_job_of_row(struct cluster *cl, const PGresult *res, int row,
	      struct store_job *job, char *why, size_t whylen)
{
	struct job_error err;
	json_t *spec;
	const char *user = PQgetvalue(res, row, 4);

	memset(job, 0, sizeof *job);
	job->id = strtoull(PQgetvalue(res, row, 0), NULL, 10);
	job->attempt = (uint32_t)strtoul(PQgetvalue(res, row, 1), NULL, 10);
	job->submit_ns = strtoll(PQgetvalue(res, row, 6), NULL, 10);
	job->state = JOB_QUEUED;
	job->worker = job->cpu = -1;
	if ((spec = json_loads(PQgetvalue(res, row, 5), 0, NULL)) == NULL) {
		snprintf(why, whylen, "its spec is not JSON");
		return -1;
	}
	if (job_spec_from_json(spec, NULL, cl->limits, &job->spec, &err) ==
	    -1) {
		json_decref(spec);
		snprintf(why, whylen, "its spec is refused here: %s",
			 err.message);
		return -1;
	}
	json_decref(spec);
	if (cl_user_ids(cl, user, &job->uid, &job->gid) == -1) {
		snprintf(why, whylen, "no user \"%s\" on node %s", user,
			 cl->node);
		job_spec_free(&job->spec);
		return -1;
	}
	job->name = job->spec.name;
	/* forq set changes the column, not the spec as signed. */
	job->spec.priority =
	    (int32_t)strtol(PQgetvalue(res, row, 10), NULL, 10);
	/* The cluster held it until its time, and holds its key: here it
	 * runs now, keyless. */
	job->spec.start_at_ns = 0;
	free(job->spec.unique);
	job->spec.unique = NULL;
	/* And it waited there for its dependencies: they are settled. */
	free(job->spec.after);
	job->spec.after = NULL;
	job->spec.nafter = 0;
	/* Claimed, it was released if it was ever held. */
	job->spec.hold = false;
	if (!PQgetisnull(res, row, 11)) {
		job->array_id = strtoull(PQgetvalue(res, row, 11), NULL, 10);
		job->array_index =
		    (uint32_t)strtoul(PQgetvalue(res, row, 12), NULL, 10);
		job->array_max =
		    (uint32_t)strtoul(PQgetvalue(res, row, 13), NULL, 10);
	}
	return 0;
}

/* The claim's rows, kept until its COMMIT is answered: a job is this
 * node's only once that commit is. */
static void
cl_claim_rows(void *arg, const PGresult *res, const char *err)
{
	struct cluster *cl = arg;

	if (cl_ok(res) && cl->nclaim_rows < nitems(cl->claim_rows))
		cl->claim_rows[cl->nclaim_rows++] =
		    PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
	else if (res != NULL && !cl_ok(res))
		log_warnx("cluster: claim failed: %s", cl_why(res, err));
}

void
cl_claim_rows_clear(struct cluster *cl)
{
	while (cl->nclaim_rows > 0)
		PQclear(cl->claim_rows[--cl->nclaim_rows]);
}

static int
cl_claim_take(struct cluster *cl, const PGresult *res)
{
	struct store_job job;
	char why[300];
	uint64_t id;
	int64_t claim;
	int i, n = PQntuples(res);

	for (i = 0; i < n; i++) {
		id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		claim = strtoll(PQgetvalue(res, i, 7), NULL, 10);
		if (cl_stopping(cl, id)) {
			cl_give_back(cl, id, claim);
			continue;
		}
		if (!sign_spec_holds(cl->signer, PQgetvalue(res, i, 4),
				     PQgetvalue(res, i, 8),
				     PQgetvalue(res, i, 5),
				     PQgetvalue(res, i, 9))) {
			cl_refuse(cl, id, claim,
				  "its signature does not hold: not run (its "
				  "spec, user or queue was written outside "
				  "forqd, or under another cluster_key)");
			continue;
		}
		if (cl_job_of_row(cl, res, i, &job, why, sizeof why) == -1) {
			cl_refuse(cl, id, claim, why);
			continue;
		}
		if (cl_claim_add(cl, id, claim, cl_weight(cl, &job.spec)) ==
		    -1) {
			cl_give_back(cl, id, claim);
		} else if (cl->cb.claimed(cl->cb.arg, &job) == -1) {
			cl_claim_drop(cl, id);
			cl_give_back(cl, id, claim);
		}
		job_spec_free(&job.spec);
	}
	return n;
}

/* The rows of a claim that is void, each given back if still claimed. */
static void
cl_claim_void(struct cluster *cl)
{
	const PGresult *res;
	size_t k;
	int i, n = 0;

	for (k = 0; k < cl->nclaim_rows; k++) {
		res = cl->claim_rows[k];
		for (i = 0; i < PQntuples(res); i++, n++)
			cl_give_back(cl,
				     strtoull(PQgetvalue(res, i, 0), NULL, 10),
				     strtoll(PQgetvalue(res, i, 7), NULL, 10));
	}
	if (n > 0)
		log_info("cluster: a claim of %d jobs sent before the lease "
			 "was lost was answered after it: void, its jobs given "
			 "back unrun",
			 n);
}

static void
cl_claim_done(void *arg, const PGresult *commit, const char *err)
{
	struct cluster *cl = arg;
	size_t k;
	int n = 0;

	cl->claiming = false;
	/* Sent before the lease was lost: void. The statement sent after it
	 * at the loss queued its jobs again; given back here too, should
	 * that statement not have gone (one of an earlier loss was still
	 * out), so that none stays this node's unrun. */
	if (cl->lease_lost || cl->claim_losses != cl->losses) {
		if (cl_ok(commit))
			cl_claim_void(cl);
		cl_claim_rows_clear(cl);
		return;
	}
	/* Not committed, or not known to be: nothing is run. What was
	 * claimed all the same is found and given back once connected. */
	if (!cl_ok(commit)) {
		if (commit != NULL)
			log_warnx("cluster: claim failed: %s",
				  cl_why(commit, err));
		cl_claim_rows_clear(cl);
		return;
	}
	for (k = 0; k < cl->nclaim_rows; k++)
		n += cl_claim_take(cl, cl->claim_rows[k]);
	cl_claim_rows_clear(cl);
	cl->claimed += (unsigned)n;
	log_debug("cluster: claimed %d jobs", n);
	/* A full batch: there may be more. */
	if (n >= CLUSTER_CLAIM_MAX || cl->claim_again) {
		cl->claim_again = false;
		cluster_poll(cl);
	}
}

/* clang-format off */
/* What fits this node: no more CPUs than $5, no more memory than $6;
 * read for a user's candidates, not in the search for users, whose
 * plan then stays a walk down the index. */
#define CL_FITS_SIZE "cpus <= $5::integer AND mem <= $6::bigint"
/* Jobs that ask for [resources] are claimed by CL_CLAIM_RES alone,
 * tasks of an array with a limit by CL_CLAIM_TASKS. */
#define CL_FITS CL_FITS_SIZE " AND res IS NULL AND array_max = 0"
/* The jobs of ids (a query), locked, as c, if still queued when locked
 * (the condition is checked again on the row as another claim may have
 * committed it). Found by their ids in the primary key: a generic plan
 * made on a short queue's statistics joined them by hashing every
 * queued job read through the index of queued jobs, which "state = 0"
 * matches and "state + 0" does not (2.7 ms a claim that took none). */
#define CL_CLAIM_THESE(ids)                                                    \
	"c AS (SELECT id FROM forq_jobs WHERE id = ANY(ARRAY(" ids ")) AND "   \
	"state + 0 = 0 FOR UPDATE SKIP LOCKED), "
/* The jobs of c (ids, locked) made this node's, as the claim's rows. */
#define CL_CLAIM_TAKE                                                          \
	"claimed AS (UPDATE forq_jobs j SET state = 1, node = $1, claim = "    \
	"nextval('forq_claims'), claimed_at = now() FROM c WHERE j.id = c.id " \
	"RETURNING j.id, j.attempt, j.uid, j.gid, j.user_name, j.spec, "       \
	"(extract(epoch FROM j.submitted_at) * 1e9)::bigint, j.claim, "        \
	"j.queue, j.sig, j.priority, j.array_id, j.array_index, "              \
	"j.array_max), "                                        \
	"kept AS (DELETE FROM forq_cleaned f USING claimed WHERE f.node = $1 " \
	"AND f.id = claimed.id), "                                             \
	"turns AS (INSERT INTO forq_served (uid, queue, at) SELECT DISTINCT "  \
	"uid, queue, now() FROM claimed ON CONFLICT (uid, queue) DO UPDATE "   \
	"SET at = excluded.at) "                                               \
	"SELECT * FROM claimed"
/*
 * A claim of jobs queued where cond holds (SQL expressions), as many
 * as fit in $3 slots (a job with CPUs of its own weighs its workers'
 * slots, $4 each), at most lim of them, as one host orders them
 * (core/runq.h): higher priority first; on a tie, the user with fewer
 * jobs running in the job's queue, counting each job taken in this
 * claim as one more; then the user served longest ago in that queue
 * (each read once for a user and queue); then the older job. What is
 * taken is a prefix of that order: a job too big for the room left
 * stops the claim there, as a gang on one host holds its workers, so
 * that smaller jobs behind it cannot keep it from ever starting. Users
 * are found one at a time through an index (a skip scan), each with at
 * most `each` candidates (a number written in the text, at least $3),
 * so a claim never reads every queued job (the LIMIT each of the
 * chosen keeps the plan joining them to the table by id, not reading
 * every queued row to hash them). SKIP LOCKED: nodes claiming at once
 * take different jobs, and none waits for another's claim to commit;
 * a row another claim committed meanwhile fails state = 0 and is not
 * taken. The output files of an earlier run of a claimed job
 * that this node was to delete (it was retried) are kept: the run
 * about to start here writes them anew.
 */
#define CL_CLAIM(cond, each, lim)                                              \
	"WITH RECURSIVE u AS ((SELECT uid FROM forq_jobs WHERE state = 0 "     \
	"AND " cond " ORDER BY uid LIMIT 1) UNION ALL "                        \
	"SELECT (SELECT uid FROM forq_jobs WHERE state = 0 AND " cond " AND "  \
	"uid > u.uid ORDER BY uid LIMIT 1) FROM u WHERE "                      \
	"u.uid IS NOT NULL), "                                                 \
	"cand0 AS (SELECT u.uid, j.id, j.queue, j.priority, j.w FROM u "       \
	"CROSS JOIN LATERAL (SELECT id, queue, priority, CASE WHEN cpus > 1 "  \
	"THEN cpus * $4::integer ELSE 1 END AS w FROM forq_jobs WHERE "        \
	"state = 0 AND uid = u.uid AND " cond " AND " CL_FITS " ORDER BY "     \
	"priority DESC, id LIMIT " each ") j WHERE u.uid IS NOT NULL), "       \
	"runs AS (SELECT p.uid, p.queue, (SELECT count(*) FROM forq_jobs r "   \
	"WHERE r.state = 1 AND r.uid = p.uid AND r.queue = p.queue) AS n, "    \
	"coalesce(s.at, '-infinity') AS served FROM (SELECT DISTINCT uid, "    \
	"queue FROM cand0) p LEFT JOIN forq_served s ON s.uid = p.uid AND "    \
	"s.queue = p.queue), "                                                 \
	"cand AS (SELECT c.id, c.priority, c.w, row_number() OVER (PARTITION " \
	"BY c.uid, c.queue ORDER BY c.priority DESC, c.id) + r.n AS turn, "    \
	"r.served FROM cand0 c JOIN runs r ON r.uid = c.uid AND r.queue = "    \
	"c.queue), "                                                           \
	"ranked AS (SELECT id, sum(w) OVER o AS w, row_number() OVER o AS k "  \
	"FROM cand WINDOW o AS (ORDER BY priority DESC, turn, served, id "     \
	"ROWS UNBOUNDED PRECEDING)), "                                         \
	"c AS (SELECT j.id FROM (SELECT id FROM ranked WHERE w <= $3::integer "\
	"AND k <= " lim " LIMIT " each ") k JOIN forq_jobs j ON j.id = k.id "  \
	"WHERE j.state = 0 FOR UPDATE OF j SKIP LOCKED), "                     \
	CL_CLAIM_TAKE
/* Of the queues named (an expression), those not paused, nor all
 * queues: read once a claim, not for each job. */
#define CL_NOT_PAUSED(q)                                                       \
	"NOT EXISTS (SELECT 1 FROM forq_queues p WHERE p.paused AND p.name "   \
	"IN ('', " q "))"
#define CL_ANY_QUEUE                                                           \
	"queue = ANY(ARRAY(SELECT q FROM unnest($2::text[]) q WHERE "          \
	CL_NOT_PAUSED("q") "))"
#define CL_THIS_QUEUE "queue = $2 AND " CL_NOT_PAUSED("$2")
/* A queue's parallel limit ($7), less what runs of it anywhere. */
#define CL_PARALLEL_LEFT                                                       \
	"($7::integer - (SELECT count(*) FROM forq_jobs WHERE queue = $2 AND " \
	"state = 1))"
/* The queue of a job (j0) of a claim of its own kind, which takes from
 * every queue: one without a limit ($2), or one with a limit (the
 * names lq, their limits lp) with room left, whose lock the claim holds
 * by then; not paused. */
#define CL_SIDE_QUEUE(lq, lp)                                                  \
	"(queue = ANY($2::text[]) OR (queue = ANY(" lq "::text[]) AND "        \
	"(SELECT count(*) FROM forq_jobs r WHERE r.state = 1 AND r.queue = "   \
	"j0.queue) < (" lp "::integer[])[array_position(" lq "::text[], "      \
	"j0.queue)])) AND " CL_NOT_PAUSED("j0.queue")
/*
 * A claim of one job that asks for [resources] ("gpu=2,license.x=1"),
 * as one host takes them (engine/jobs_res.c): in order of priority,
 * then age; of the jobs this node could ever run ($7 the kinds it has,
 * $9 their totals), the first whose resources are left here now ($8),
 * unless an earlier one that needs one of the same kinds is not: that
 * one waits for it here or elsewhere, and is not passed by smaller
 * asks. Queues as the other claims: $2 those without a limit; $10
 * those with one, $11 their limits, whose locks the claim holds by
 * then. One a claim: what it takes is not left for the next, which
 * comes once it is taken. An ask that does not parse fits nowhere.
 */
#define CL_CLAIM_RES                                                           \
	"WITH cand AS (SELECT id, priority, res FROM forq_jobs j0 WHERE "      \
	"state = 0 AND res IS NOT NULL AND " CL_FITS_SIZE " AND CASE WHEN "    \
	"cpus > 1 THEN cpus * $4::integer ELSE 1 END <= $3::integer AND "      \
	CL_SIDE_QUEUE("$10", "$11") " AND " CL_TASK_ROOM " ORDER BY priority " \
	"DESC, id LIMIT 64), "                                                 \
	"want AS (SELECT c.id, split_part(w, '=', 1) AS kind, CASE WHEN "      \
	"split_part(w, '=', 2) ~ '^[0-9]{1,6}$' THEN split_part(w, '=', "      \
	"2)::integer ELSE 2147483647 END AS n FROM cand c CROSS JOIN LATERAL " \
	"regexp_split_to_table(c.res, ',') w), "                               \
	"here AS (SELECT c.id, c.priority FROM cand c WHERE NOT EXISTS "       \
	"(SELECT 1 FROM want x WHERE x.id = c.id AND x.n > coalesce("          \
	"($9::integer[])[array_position($7::text[], x.kind)], 0))), "          \
	"pick AS (SELECT h.id FROM here h WHERE NOT EXISTS (SELECT 1 FROM "    \
	"want x WHERE x.id = h.id AND x.n > ($8::integer[])[array_position("   \
	"$7::text[], x.kind)]) AND NOT EXISTS (SELECT 1 FROM here e JOIN "     \
	"want xe ON xe.id = e.id JOIN want xh ON xh.id = h.id AND xh.kind = "  \
	"xe.kind WHERE e.priority > h.priority OR (e.priority = h.priority "   \
	"AND e.id < h.id)) ORDER BY h.priority DESC, h.id LIMIT 1), "          \
	CL_CLAIM_THESE("SELECT id FROM pick") CL_CLAIM_TAKE
/*
 * The claims of tasks of arrays with a limit of tasks at once take
 * turns, cluster-wide, under one lock, held to their commit (taken,
 * blocking, only while such a task is queued): each counts what runs of
 * each array anywhere with that lock held, in a statement after it.
 * Whether this claim holds it is a setting of its transaction's, which
 * the lock's statement makes (pg_locks would say it too, at a
 * millisecond or more a look).
 */
#define CL_TASKS_LOCK                                                          \
	"SELECT pg_advisory_xact_lock(" CL_ARRAY_LOCK ", 0), "                 \
	"set_config('forq.tasks_locked', 'on', true) WHERE EXISTS (SELECT 1 "  \
	"FROM forq_jobs WHERE state = 0 AND array_max > 0)"
#define CL_TASKS_LOCKED                                                        \
	"coalesce(current_setting('forq.tasks_locked', true), '') = 'on'"
/* A task, if its array has a limit: held to it, that lock held. */
#define CL_TASK_ROOM                                                           \
	"(j0.array_max = 0 OR (" CL_TASKS_LOCKED " AND (SELECT count(*) FROM " \
	"forq_jobs r WHERE r.state = 1 AND r.array_id = j0.array_id AND "      \
	"r.array_max > 0) < j0.array_max))"
/*
 * A claim of tasks of arrays with a limit ("--array 1-100%8"), that
 * lock held: the arrays found one at a time through their index (a
 * skip scan), each array's best tasks as many as the room ($3), no more
 * of an array than its limit less what of it runs anywhere; then, in
 * order of priority and age, as many as fit the room (a prefix).
 * Queues: $2 those without a limit, $7 those with one, $8 their limits.
 */
#define CL_CLAIM_TASKS                                                         \
	"WITH RECURSIVE a AS ((SELECT array_id FROM forq_jobs WHERE state = " \
	"0 AND array_max > 0 ORDER BY array_id LIMIT 1) UNION ALL SELECT "     \
	"(SELECT array_id FROM forq_jobs WHERE state = 0 AND array_max > 0 "   \
	"AND array_id > a.array_id ORDER BY array_id LIMIT 1) FROM a WHERE "   \
	"a.array_id IS NOT NULL), "                                            \
	"runs AS (SELECT a.array_id, (SELECT count(*) FROM forq_jobs r WHERE " \
	"r.state = 1 AND r.array_max > 0 AND r.array_id = a.array_id) AS n "   \
	"FROM a WHERE a.array_id IS NOT NULL AND " CL_TASKS_LOCKED "), "       \
	"cand AS (SELECT t.*, r.n FROM runs r CROSS JOIN LATERAL (SELECT id, " \
	"array_id, array_max, priority, CASE WHEN cpus > 1 THEN cpus * "       \
	"$4::integer ELSE 1 END AS w FROM forq_jobs j0 WHERE state = 0 AND "   \
	"array_max > 0 AND array_id = r.array_id AND res IS NULL AND "         \
	CL_FITS_SIZE " AND " CL_SIDE_QUEUE("$7", "$8") " ORDER BY priority "   \
	"DESC, id LIMIT $3::integer) t WHERE r.n < t.array_max), "             \
	"ranked AS (SELECT id, priority, w, array_max, n + row_number() OVER " \
	"(PARTITION BY array_id ORDER BY priority DESC, id) AS turn FROM "     \
	"cand), "                                                              \
	"fit AS (SELECT id, sum(w) OVER (ORDER BY priority DESC, id ROWS "     \
	"UNBOUNDED PRECEDING) AS tw FROM ranked WHERE turn <= array_max), "    \
	CL_CLAIM_THESE("SELECT id FROM fit WHERE tw <= $3::integer")           \
	CL_CLAIM_TAKE
/*
 * One text for each power of two a claim can ask for (up to
 * CLUSTER_CLAIM_MAX), the candidates per user written in it: its plan
 * is then made once per connection (a generic plan, see cluster_poll)
 * and fits what is asked, where a limit that is a parameter would be
 * planned for a tenth of the table.
 */
#define CL_CLAIMS(cond, lim)                                                   \
	{CL_CLAIM(cond, "1", lim),   CL_CLAIM(cond, "2", lim),                 \
	 CL_CLAIM(cond, "4", lim),   CL_CLAIM(cond, "8", lim),                 \
	 CL_CLAIM(cond, "16", lim),  CL_CLAIM(cond, "32", lim),                \
	 CL_CLAIM(cond, "64", lim),  CL_CLAIM(cond, "128", lim),               \
	 CL_CLAIM(cond, "256", lim)}
/* clang-format on */
_Static_assert(CLUSTER_CLAIM_MAX == 256, "CL_CLAIMS goes up to 256");
static const char *const cl_claim_any[] =
    CL_CLAIMS(CL_ANY_QUEUE, "$3::integer");
static const char *const cl_claim_limited[] =
    CL_CLAIMS(CL_THIS_QUEUE, CL_PARALLEL_LEFT);

/* The index of the claim text for n (1..CLUSTER_CLAIM_MAX) jobs. */
static size_t
cl_claim_bucket(uint32_t n)
{
	size_t k = 0;

	while ((1u << k) < n)
		k++;
	return k;
}

/* The queues this node knows, as text[] literals, read once a claim:
 * those with no parallel limit; those with one, and their limits. */
struct cl_queue_lists {
	char *free, *limited, *limits;
};

static int
cl_queue_lists(struct cluster *cl, struct cl_queue_lists *q)
{
	char **lists[] = {&q->free, &q->limited, &q->limits};
	size_t len[3], cap[3], k;
	const struct conf_queue *cq;
	char num[16];
	uint32_t i;
	int rc = 0;

	for (k = 0; k < 3; k++)
		if ((*lists[k] = cl_array_start(&len[k], &cap[k])) == NULL)
			rc = -1;
	for (i = 0; rc == 0 && i < cl->conf->nqueues; i++) {
		cq = &cl->conf->queues[i];
		if (cq->parallel == 0) {
			rc |=
			    cl_array_add(&q->free, &len[0], &cap[0], cq->name);
			continue;
		}
		rc |= cl_array_add(&q->limited, &len[1], &cap[1], cq->name);
		snprintf(num, sizeof num, "%u", cq->parallel);
		rc |= cl_array_add(&q->limits, &len[2], &cap[2], num);
	}
	for (k = 0; rc == 0 && k < 3; k++)
		rc |= cl_array_end(lists[k], &len[k], &cap[k]);
	return rc;
}

static void
cl_queue_lists_free(struct cl_queue_lists *q)
{
	free(q->free);
	free(q->limited);
	free(q->limits);
}

/* The claim of a job that asks for resources, if any kind is left here:
 * v has the other claims' first six, and the queues with a limit. */
static void
cl_claim_res(struct cluster *cl, const char **v)
{
	const struct res_kinds *k = &cl->conf->res;
	uint32_t left[RES_KINDS_MAX], i;
	char *arr[3], num[16];
	size_t len[3], cap[3];
	bool any = false;
	int rc = 0;

	if (k->n == 0)
		return;
	cl->cb.res_left(cl->cb.arg, left);
	for (i = 0; i < k->n; i++)
		any |= left[i] > 0;
	if (!any)
		return;
	for (i = 0; i < 3; i++)
		if ((arr[i] = cl_array_start(&len[i], &cap[i])) == NULL)
			rc = -1;
	for (i = 0; rc == 0 && i < k->n; i++) {
		rc |= cl_array_add(&arr[0], &len[0], &cap[0], k->kind[i].name);
		snprintf(num, sizeof num, "%u", left[i]);
		rc |= cl_array_add(&arr[1], &len[1], &cap[1], num);
		snprintf(num, sizeof num, "%u", k->kind[i].total);
		rc |= cl_array_add(&arr[2], &len[2], &cap[2], num);
	}
	for (i = 0; rc == 0 && i < 3; i++)
		rc |= cl_array_end(&arr[i], &len[i], &cap[i]);
	if (rc == 0) {
		v[6] = arr[0];
		v[7] = arr[1];
		v[8] = arr[2];
		(void)pg_send(cl->pg, CL_CLAIM_RES, 11, v, cl_claim_rows, cl);
	}
	for (i = 0; i < 3; i++)
		free(arr[i]);
}

/* Whether tasks of arrays with a limit are queued, as the lock's
 * statement found: if they are and this claim did not look for them
 * (the last said none), the next claim, at once, does. */
static void
cl_tasks_seen(void *arg, const PGresult *res, const char *err)
{
	struct cluster *cl = arg;
	bool queued;

	(void)err;
	if (!cl_ok(res))
		return;
	queued = PQntuples(res) > 0;
	if (queued && !cl->tasks_queued)
		cl->claim_again = true;
	cl->tasks_queued = queued;
}

/* The claims of the jobs of their own kind: tasks of arrays with a
 * limit, and a job that asks for resources. v: the other claims' first
 * six. The tasks' claim is sent only while such tasks are queued: its
 * plan's start alone (its updates' indexes, its windows) cost 200 µs
 * a claim that found none, near half of what the claim of two other
 * jobs took in all. */
static void
cl_claim_side(struct cluster *cl, const char **values,
	      const struct cl_queue_lists *q)
{
	const char *v[11];

	memcpy(v, values, 6 * sizeof *v);
	v[6] = q->limited;
	v[7] = q->limits;
	(void)pg_send(cl->pg, CL_TASKS_LOCK, 0, NULL, cl_tasks_seen, cl);
	if (cl->tasks_queued)
		(void)pg_send(cl->pg, CL_CLAIM_TASKS, 8, v, cl_claim_rows, cl);
	v[9] = q->limited;
	v[10] = q->limits;
	cl_claim_res(cl, v);
}

/* Whether the claim for room free slots of all waits for more
 * (sched_claim_wait); the timer sends it at the latest. */
static bool
cl_gather(struct cluster *cl, uint32_t room, uint32_t all)
{
	int64_t now = clock_mono_ns(), wait;

	wait = sched_claim_wait(room, all, cl->gather_since, now,
				CLUSTER_CLAIM_GATHER_MS * NS_PER_MS);
	if (wait > 0) {
		if (cl->gather_since == 0) {
			cl->gather_since = now;
			(void)ev_timer_arm(cl->gather, now + wait);
		}
		return true;
	}
	if (cl->gather_since != 0) {
		cl->gather_since = 0;
		(void)ev_timer_arm(cl->gather, 0);
	}
	return false;
}

void
cl_gathered(struct ev_io *io, uint32_t events)
{
	struct cluster *cl = io->arg;

	(void)events;
	ev_timer_drain(cl->gather);
	cluster_poll(cl);
}

void
cluster_poll(struct cluster *cl)
{
	char limit[16], slots[16], cpus[16], mem[24], parallel[16];
	struct cl_queue_lists q;
	const char *values[7];
	uint32_t all, room, i, job_cpus;
	uint64_t job_mem;
	size_t bucket;

	if (!pg_is_up(cl->pg) || !cl->claims_known || cl->lease_lost)
		return;
	if (cl->claiming) {
		cl->claim_again = true;
		return;
	}
	/* What it holds counts from its claim on, queued or not yet. It
	 * holds no more than it runs at once: a job claimed ahead would
	 * wait here behind long ones while another node's slot is free.
	 * A slot that comes free claims in the turn of the end, or
	 * CLUSTER_CLAIM_GATHER_MS later while most are taken. */
	if ((all = cl->cb.room(cl->cb.arg, &cl->worker_slots)) <= cl->held)
		return;
	room = all - cl->held;
	if (cl_gather(cl, room, all))
		return;
	if (cl_queue_lists(cl, &q) == -1) {
		cl_queue_lists_free(&q);
		return;
	}
	snprintf(limit, sizeof limit, "%u", MIN(room, CLUSTER_CLAIM_MAX));
	snprintf(slots, sizeof slots, "%u", cl->worker_slots);
	cl->cb.fits(cl->cb.arg, &job_cpus, &job_mem);
	snprintf(cpus, sizeof cpus, "%u", job_cpus);
	snprintf(mem, sizeof mem, "%llu", (unsigned long long)job_mem);
	values[0] = cl->node;
	values[1] = q.free;
	values[2] = limit;
	values[3] = slots;
	values[4] = cpus;
	values[5] = mem;
	if (pg_send(cl->pg, "BEGIN", 0, NULL, cl_no_answer, cl) == -1)
		goto out;
	cl->claiming = true;
	cl->claim_losses = cl->losses;
	/* Planned once: a claim's plan costs more than it takes to run,
	 * and the texts are written so that the generic plan is right.
	 * A plan made on statistics of a queue much shorter than now
	 * found the first user by reading every queued row into a
	 * bitmap and sorting them (9 ms at 5,000 queued), and the tasks'
	 * claim its jobs by reading the table (4 ms): an index walks to
	 * them in a few pages. One statement for the three settings, each
	 * a statement's round in the server. */
	(void)pg_send(cl->pg,
		      "SELECT set_config('plan_cache_mode', "
		      "'force_generic_plan', true), "
		      "set_config('enable_bitmapscan', 'off', true), "
		      "set_config('enable_seqscan', 'off', true)",
		      0, NULL, cl_no_answer, cl);
	bucket = cl_claim_bucket(MIN(room, CLUSTER_CLAIM_MAX));
	(void)pg_send(cl->pg, cl_claim_any[bucket], 6, values, cl_claim_rows,
		      cl);
	/* A queue's parallel limit holds across the nodes: its claims
	 * take turns under a lock of the queue's, held to their commit,
	 * and count what runs anywhere (claimed is running). */
	for (i = 0; i < cl->conf->nqueues; i++) {
		if (cl->conf->queues[i].parallel == 0)
			continue;
		snprintf(parallel, sizeof parallel, "%u",
			 cl->conf->queues[i].parallel);
		values[1] = cl->conf->queues[i].name;
		values[6] = parallel;
		(void)pg_send(cl->pg,
			      "SELECT pg_advisory_xact_lock(" CL_QUEUE_LOCK
			      ", hashtext($1))",
			      1, &values[1], cl_no_answer, cl);
		(void)pg_send(cl->pg, cl_claim_limited[bucket], 7, values,
			      cl_claim_rows, cl);
	}
	values[1] = q.free;
	cl_claim_side(cl, values, &q);
	(void)pg_send(cl->pg, "COMMIT", 0, NULL, cl_claim_done, cl);
	(void)pg_sync(cl->pg);
out:
	cl_queue_lists_free(&q);
}

/* --- the node's claims, after a (re)connect ------------------------ */

void
cl_mine_done(void *arg, const PGresult *res, const char *err)
{
	struct cluster *cl = arg;
	struct store_job job;
	uint64_t id;
	int64_t claim;
	int i;

	if (!cl_ok(res)) {
		log_warnx("cluster: cannot read this node's claims: %s",
			  cl_why(res, err));
		return;
	}
	cl_claims_clear(cl);
	for (i = 0; i < PQntuples(res); i++) {
		id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		claim = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		/* Claimed, and then forqd died before its store had it:
		 * it never ran. */
		if (store_get(cl->store, id, &job) != STORE_OK) {
			log_info("job %llu: claimed by a previous forqd that "
				 "never ran it: given back",
				 (unsigned long long)id);
			cl_give_back(cl, id, claim);
			continue;
		}
		(void)cl_claim_add(cl, id, claim, cl_weight(cl, &job.spec));
		store_job_free(&job);
	}
	cl->claims_known = true;
	cl_drop_unclaimed(cl);
	/* The ends kept meanwhile go at the end of this turn. */
	cluster_poll(cl);
}
