/*
 * The shared queue, the node's side: its claims, the ends of the jobs
 * it ran, the jobs of nodes whose lease ran out, retention, and the
 * wake-ups. Each statement goes through the node's pipelined
 * connection with a small context that its answer frees. An end must
 * not be lost across a lost connection: it is kept until answered, and
 * sent again (the claim in its WHERE clause makes a second delivery a
 * no-op).
 */
#include <sys/param.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pwd.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/compat.h"
#include "common/event.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/job.h"
#include "core/sign.h"
#include "store/pg.h"
#include "store/store.h"
#include "cluster/cluster_int.h"
#include "cluster/node.h"

static void cluster_send_ends(struct cluster *cl);

/* --- claims ------------------------------------------------------- */

static int64_t
cl_claim_of(const struct cluster *cl, uint64_t id)
{
	size_t i;

	for (i = 0; i < cl->nclaims; i++) {
		if (cl->claims[i].id == id)
			return cl->claims[i].claim;
	}
	return -1;
}

static int
cl_claim_add(struct cluster *cl, uint64_t id, int64_t claim)
{
	size_t i;

	for (i = 0; i < cl->nclaims; i++) {
		if (cl->claims[i].id == id) {
			cl->claims[i].claim = claim;
			return 0;
		}
	}
	if (array_reserve((void **)&cl->claims, &cl->claims_cap, cl->nclaims,
			  sizeof *cl->claims) == -1)
		return -1;
	cl->claims[cl->nclaims++] = (struct cl_claim){id, claim};
	return 0;
}

static void
cl_claim_drop(struct cluster *cl, uint64_t id)
{
	size_t i;

	for (i = 0; i < cl->nclaims; i++) {
		if (cl->claims[i].id == id) {
			cl->claims[i] = cl->claims[--cl->nclaims];
			return;
		}
	}
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
static void
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
	if (pg_send(cl->pg,
		    "UPDATE forq_jobs SET state = 0, node = NULL, claim = "
		    "NULL, claimed_at = NULL WHERE id = $1 AND claim = $2 AND "
		    "node = $3",
		    3, values, cl_give_back_done, ctx) == -1) {
		free(ctx);
		return;
	}
	(void)pg_sync(cl->pg);
}

/* The spec a claim brought, made a job of this node: it runs as the
 * submitter's name here, whatever uid that name has on the node that
 * took it; a name unknown here refuses the job. */
static int
cl_job_of_row(struct cluster *cl, const PGresult *res, int row,
	      struct store_job *job, char *why, size_t whylen)
{
	struct job_error err;
	struct passwd *pw;
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
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(why, whylen, "no user \"%s\" on node %s", user,
			 cl->node);
		job_spec_free(&job->spec);
		return -1;
	}
	job->uid = pw->pw_uid;
	job->gid = pw->pw_gid;
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
	return 0;
}

static void cl_refuse(struct cluster *cl, uint64_t id, int64_t claim,
		      const char *why);

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

static void
cl_claim_rows_clear(struct cluster *cl)
{
	while (cl->nclaim_rows > 0)
		PQclear(cl->claim_rows[--cl->nclaim_rows]);
}

static void
cl_claim_step(void *arg, const PGresult *res, const char *err)
{
	(void)arg;
	(void)res;
	(void)err;
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
		if (cl_claim_add(cl, id, claim) == -1) {
			cl_give_back(cl, id, claim);
			continue;
		}
		if (!sign_spec_holds(cl->key, cl->keylen, PQgetvalue(res, i, 4),
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
		if (cl->cb.claimed(cl->cb.arg, &job) == -1) {
			cl_claim_drop(cl, id);
			cl_give_back(cl, id, claim);
		}
		job_spec_free(&job.spec);
	}
	return n;
}

static void
cl_claim_done(void *arg, const PGresult *commit, const char *err)
{
	struct cluster *cl = arg;
	size_t k;
	int n = 0;

	cl->claiming = false;
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
	log_debug("cluster: claimed %d jobs", n);
	/* A full batch: there may be more. */
	if (n >= CLUSTER_CLAIM_MAX || cl->claim_again) {
		cl->claim_again = false;
		cluster_poll(cl);
	}
}

/* The queues this node knows with no parallel limit (limited false),
 * or those with one, as a text[] literal. */
static char *
cl_queues(struct cluster *cl, bool limited)
{
	size_t len, cap;
	uint32_t i;
	char *b = cl_array_start(&len, &cap);

	for (i = 0; b != NULL && i < cl->conf->nqueues; i++) {
		if ((cl->conf->queues[i].parallel > 0) != limited)
			continue;
		if (cl_array_add(&b, &len, &cap, cl->conf->queues[i].name) ==
		    -1) {
			free(b);
			return NULL;
		}
	}
	if (b != NULL && cl_array_end(&b, &len, &cap) == -1) {
		free(b);
		return NULL;
	}
	return b;
}

/* clang-format off */
/*
 * A claim of up to lim jobs among those queued where cond holds (SQL
 * expressions), as one host orders them (core/runq.h): higher priority
 * first; on a tie, the user with fewer jobs running, counting each
 * job taken in this claim as one more; then the user served longest
 * ago; then the older job. Users are found one at a time through an
 * index (a skip scan), each with at most lim candidates, so a claim
 * never reads every queued job. SKIP LOCKED: nodes claiming at once
 * take different jobs, and none waits for another's claim to commit;
 * a row another claim committed meanwhile fails state = 0 and is not
 * taken. The output files of an earlier run of a claimed job that this
 * node was to delete (it was retried) are kept: the run about to start
 * here writes them anew.
 */
#define CL_CLAIM(cond, lim)                                                    \
	"WITH RECURSIVE u AS ((SELECT uid FROM forq_jobs WHERE state = 0 "     \
	"AND " cond " ORDER BY uid LIMIT 1) UNION ALL "                        \
	"SELECT (SELECT uid FROM forq_jobs WHERE state = 0 AND " cond " AND "  \
	"uid > u.uid ORDER BY uid LIMIT 1) FROM u WHERE "                      \
	"u.uid IS NOT NULL), "                                                 \
	"cand AS (SELECT j.id, j.priority, row_number() OVER (PARTITION BY "   \
	"u.uid ORDER BY j.priority DESC, j.id) + (SELECT count(*) FROM "       \
	"forq_jobs r WHERE r.state = 1 AND r.uid = u.uid) AS turn, "           \
	"coalesce(s.at, '-infinity') AS served FROM u LEFT JOIN forq_served "  \
	"s ON s.uid = u.uid CROSS JOIN LATERAL (SELECT id, priority FROM "     \
	"forq_jobs WHERE state = 0 AND uid = u.uid AND " cond " "              \
	"ORDER BY priority DESC, id LIMIT " lim ") j WHERE "                   \
	"u.uid IS NOT NULL), "                                                 \
	"c AS (SELECT j.id FROM (SELECT id FROM cand ORDER BY priority DESC, " \
	"turn, served, id LIMIT " lim ") k JOIN forq_jobs j ON j.id = k.id "   \
	"WHERE j.state = 0 FOR UPDATE OF j SKIP LOCKED), "                     \
	"claimed AS (UPDATE forq_jobs j SET state = 1, node = $1, claim = "    \
	"nextval('forq_claims'), claimed_at = now() FROM c WHERE j.id = c.id " \
	"RETURNING j.id, j.attempt, j.uid, j.gid, j.user_name, j.spec, "       \
	"(extract(epoch FROM j.submitted_at) * 1e9)::bigint, j.claim, "        \
	"j.queue, j.sig, j.priority), "                                        \
	"kept AS (DELETE FROM forq_cleaned f USING claimed WHERE f.node = $1 " \
	"AND f.id = claimed.id), "                                             \
	"turns AS (INSERT INTO forq_served (uid, at) SELECT DISTINCT uid, "    \
	"now() FROM claimed ON CONFLICT (uid) DO UPDATE SET at = excluded.at) "\
	"SELECT * FROM claimed"
/* Of the queues named (an expression), those not paused, nor all
 * queues: read once a claim, not for each job. */
#define CL_NOT_PAUSED(q)                                                       \
	"NOT EXISTS (SELECT 1 FROM forq_queues p WHERE p.paused AND p.name "   \
	"IN ('', " q "))"
/* clang-format on */

void
cluster_poll(struct cluster *cl)
{
	char limit[16], parallel[16], *queues;
	const char *values[4];
	uint32_t room, i;

	if (!pg_is_up(cl->pg) || !cl->claims_known)
		return;
	if (cl->claiming) {
		cl->claim_again = true;
		return;
	}
	/* What it holds counts from its claim on, queued or not yet. It
	 * holds no more than it runs at once: a job claimed ahead would
	 * wait here behind long ones while another node's slot is free.
	 * A slot that comes free claims in the turn of the end. */
	if ((room = cl->cb.room(cl->cb.arg)) <= cl->nclaims)
		return;
	room -= (uint32_t)cl->nclaims;
	if ((queues = cl_queues(cl, false)) == NULL)
		return;
	snprintf(limit, sizeof limit, "%u", MIN(room, CLUSTER_CLAIM_MAX));
	values[0] = cl->node;
	values[1] = queues;
	values[2] = limit;
	if (pg_send(cl->pg, "BEGIN", 0, NULL, cl_claim_step, cl) == -1)
		goto out;
	cl->claiming = true;
	(void)pg_send(cl->pg,
		      CL_CLAIM("queue = ANY(ARRAY(SELECT q FROM "
			       "unnest($2::text[]) q WHERE " CL_NOT_PAUSED(
				   "q") "))",
			       "$3::integer"),
		      3, values, cl_claim_rows, cl);
	/* A queue's parallel limit holds across the nodes: its claims
	 * take turns under a lock of the queue's, held to their commit,
	 * and count what runs anywhere (claimed is running). */
	for (i = 0; i < cl->conf->nqueues; i++) {
		if (cl->conf->queues[i].parallel == 0)
			continue;
		snprintf(parallel, sizeof parallel, "%u",
			 cl->conf->queues[i].parallel);
		values[1] = cl->conf->queues[i].name;
		values[3] = parallel;
		(void)pg_send(cl->pg,
			      "SELECT pg_advisory_xact_lock(" CL_QUEUE_LOCK
			      ", hashtext($1))",
			      1, &values[1], cl_claim_step, cl);
		(void)pg_send(cl->pg,
			      CL_CLAIM("queue = $2 AND " CL_NOT_PAUSED("$2"),
				       "greatest(0, least($3::integer, "
				       "$4::integer - (SELECT count(*) FROM "
				       "forq_jobs WHERE queue = $2 AND state = "
				       "1)))"),
			      4, values, cl_claim_rows, cl);
	}
	(void)pg_send(cl->pg, "COMMIT", 0, NULL, cl_claim_done, cl);
	(void)pg_sync(cl->pg);
out:
	free(queues);
}

/* --- ends --------------------------------------------------------- */

/* The hex escape of bytea's text form. */
static char *
cl_tail_hex(const char *state_dir, uint64_t id, const char *ext)
{
	static const char digits[] = "0123456789abcdef";
	char path[PATH_MAX + 32], *buf, *hex;
	struct stat st;
	ssize_t n;
	off_t from;
	int fd;

	snprintf(path, sizeof path, "%s/logs/%llu.%s", state_dir,
		 (unsigned long long)id, ext);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (buf = malloc(CLUSTER_TAIL_BYTES)) == NULL) {
		close(fd);
		return NULL;
	}
	from = st.st_size > CLUSTER_TAIL_BYTES ? st.st_size - CLUSTER_TAIL_BYTES
					       : 0;
	n = pread(fd, buf, CLUSTER_TAIL_BYTES, from);
	close(fd);
	if (n < 0 || (hex = malloc((size_t)n * 2 + 3)) == NULL) {
		free(buf);
		return NULL;
	}
	hex[0] = '\\';
	hex[1] = 'x';
	for (ssize_t i = 0; i < n; i++) {
		hex[2 + i * 2] = digits[(unsigned char)buf[i] >> 4];
		hex[3 + i * 2] = digits[(unsigned char)buf[i] & 15];
	}
	hex[2 + n * 2] = '\0';
	free(buf);
	return hex;
}

struct cl_end_ctx {
	struct cluster *cl;
	uint64_t id;
	struct job_result result; /* for whoever waits here */
	bool again;               /* queued again in the cluster, not ended */
	int64_t delay_ms;         /* before that next attempt */
	uint32_t attempt;         /* the one that ended */
	uint32_t retries;
};

static void
cl_end_drop(struct cluster *cl, uint64_t id)
{
	size_t i;

	for (i = 0; i < cl->nends; i++) {
		if (cl->ends[i].id == id) {
			cl->ends[i] = cl->ends[--cl->nends];
			return;
		}
	}
}

struct cl_whose {
	struct cluster *cl;
	uint64_t id;
};

static void
cl_whose_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_whose *w = arg;
	bool ours = cl_ok(res) && PQntuples(res) == 1 &&
		    strcmp(PQgetvalue(res, 0, 0), w->cl->node) == 0;

	(void)err;
	if (res != NULL && cl_ok(res) && !ours) {
		log_warnx("job %llu: its end here is not the cluster's record: "
			  "the job was no longer this node's (its lease was "
			  "lost); its output here goes",
			  (unsigned long long)w->id);
		w->cl->cb.pruned(w->cl->cb.arg, w->id);
	}
	free(w);
}

/* An end the database did not take: recorded before by this node (a
 * commit whose answer was lost), or the job is another node's now,
 * whose record the output files here are not part of. */
static void
cl_whose_end(struct cluster *cl, uint64_t id)
{
	char sid[24];
	const char *values[] = {sid};
	struct cl_whose *w;

	if ((w = malloc(sizeof *w)) == NULL)
		return;
	*w = (struct cl_whose){cl, id};
	snprintf(sid, sizeof sid, "%llu", (unsigned long long)id);
	if (pg_send(cl->pg,
		    "SELECT node FROM forq_history WHERE id = $1 UNION ALL "
		    "SELECT node FROM forq_jobs WHERE id = $1",
		    1, values, cl_whose_done, w) == -1) {
		free(w);
		return;
	}
	(void)pg_sync(cl->pg);
}

static void
cl_end_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_end_ctx *ctx = arg;
	struct cluster *cl = ctx->cl;
	size_t i;

	if (res == NULL) {
		/* Sent again once connected: the claim makes it once. */
		for (i = 0; i < cl->nends; i++) {
			if (cl->ends[i].id == ctx->id)
				cl->ends[i].sent = false;
		}
		free(ctx);
		return;
	}
	if (!cl_ok(res)) {
		log_warnx("job %llu: the cluster did not take its end: %s",
			  (unsigned long long)ctx->id, pg_result_why(res));
		/* Its transaction was the turn's: the others go again, each
		 * in one of its own, so that one cannot hold back the rest. */
		cl->ends_alone = true;
		for (i = 0; i < cl->nends; i++) {
			if (cl->ends[i].id == ctx->id)
				cl->ends[i].sent = false;
		}
		free(ctx);
		return;
	}
	if (PQntuples(res) == 0) {
		cl_whose_end(cl, ctx->id);
	} else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
		log_info("job %llu: attempt %u of %u %s; queued again in the "
			 "cluster, in %lldms",
			 (unsigned long long)ctx->id, ctx->attempt + 1,
			 ctx->retries + 1, job_state_name(ctx->result.state),
			 (long long)ctx->delay_ms);
		cl->submitted = true;
		/* Its output is the last attempt's, on the node that runs
		 * it: this one's files go (before this node could claim it
		 * again, which the next answers would bring). */
		cl->cb.pruned(cl->cb.arg, ctx->id);
	} else {
		if (ctx->again) /* cancelled while it ran */
			ctx->result.state = JOB_CANCELLED;
		cl_announce(cl, ctx->id);
		/* Told only now, so that what they read next anywhere in
		 * the cluster shows the end they were told of. */
		if (cl->cb.wanted(cl->cb.arg, ctx->id))
			cl->cb.ended(cl->cb.arg, ctx->id, &ctx->result);
	}
	cl_claim_drop(cl, ctx->id);
	cl_end_drop(cl, ctx->id);
	/* The database has it: this node's copy may go. */
	if (store_forget(cl->store, ctx->id) == STORE_FAILED)
		log_warnx("store: %s", store_error(cl->store));
	free(ctx);
}

#define NS_TEXT(buf, ns)                                                       \
	(snprintf(buf, sizeof buf, "%lld", (long long)(ns)), buf)

/* clang-format off */
static const char cl_again_sql[] =
    "WITH again AS (UPDATE forq_jobs SET state = CASE WHEN $4::bigint > 0 "
    "THEN 2 ELSE 0 END, start_at = CASE WHEN $4::bigint > 0 THEN now() + "
    "$4::bigint * interval '1 millisecond' END, node = NULL, claim = NULL, "
    "claimed_at = NULL, started_at = NULL, worker = NULL, cpu = NULL, "
    "attempt = attempt + 1 WHERE id = $1 AND claim = $2 AND node = $3 AND "
    "NOT cancel RETURNING id), "
    "gone AS (DELETE FROM forq_jobs WHERE id = $1 AND claim = $2 AND node "
    "= $3 AND cancel RETURNING *), "
    "moved AS (" CL_TO_HISTORY("7", "NULL") " RETURNING id) "
    "SELECT id, true FROM again UNION ALL SELECT id, false FROM moved";
/* clang-format on */

/* An attempt that calls for another: back into the cluster's queue,
 * scheduled after its delay (the next due poll queues it). */
static void
cl_send_again(struct cluster *cl, struct cl_end *e, int64_t claim,
	      struct cl_end_ctx *ctx)
{
	char sid[24], sclaim[24], delay[24];
	const char *values[] = {NS_TEXT(sid, (int64_t)e->id),
				NS_TEXT(sclaim, claim), cl->node,
				NS_TEXT(delay, ctx->delay_ms)};

	if (pg_send(cl->pg, cl_again_sql, 4, values, cl_end_done, ctx) == -1)
		free(ctx);
	else
		e->sent = true;
}

static void
cl_send_end(struct cluster *cl, struct cl_end *e)
{
	char sid[24], sclaim[24], state[8], attempt[16], worker[16], cpu[16],
	    start[24], end[24], code[16], sig[16], user[24], sys[24], rss[24],
	    procs[16];
	const char *values[18];
	struct store_job job;
	struct cl_end_ctx *ctx;
	char *out, *errt;
	int64_t claim = cl_claim_of(cl, e->id);

	if (store_get(cl->store, e->id, &job) != STORE_OK) {
		cl_end_drop(cl, e->id);
		return;
	}
	if ((ctx = malloc(sizeof *ctx)) == NULL) {
		store_job_free(&job);
		return;
	}
	*ctx = (struct cl_end_ctx){
	    .cl = cl,
	    .id = e->id,
	    .result = job.result,
	    .again = job_retry_wanted(&job.result, job.spec.retry_on,
				      job.attempt, job.spec.retries),
	    .attempt = job.attempt,
	    .retries = job.spec.retries,
	};
	if (ctx->again) {
		/* Its retry is the cluster's: any node may run the next
		 * attempt, after the delay, unless a cancel was asked. */
		ctx->delay_ms = job_retry_delay_ms(job.spec.retry_delay_ms,
						   job.attempt, arc4random());
		cl_send_again(cl, e, claim, ctx);
		store_job_free(&job);
		return;
	}
	out = cl_tail_hex(cl->conf->state_dir, e->id, "out");
	errt = cl_tail_hex(cl->conf->state_dir, e->id, "err");
	values[0] = NS_TEXT(sid, (int64_t)e->id);
	values[1] = NS_TEXT(sclaim, claim);
	values[2] = cl->node;
	values[3] = NS_TEXT(state, job.state);
	values[4] = NS_TEXT(attempt, job.attempt);
	values[5] = job.worker >= 0 ? NS_TEXT(worker, job.worker) : NULL;
	values[6] = job.cpu >= 0 ? NS_TEXT(cpu, job.cpu) : NULL;
	values[7] = job.result.start_ns > 0
			? NS_TEXT(start, job.result.start_ns)
			: NULL;
	values[8] = NS_TEXT(end, job.result.end_ns > 0 ? job.result.end_ns
						       : clock_real_ns());
	values[9] = job.result.signal == 0 && job.result.exit_code >= 0
			? NS_TEXT(code, job.result.exit_code)
			: NULL;
	values[10] =
	    job.result.signal != 0 ? NS_TEXT(sig, job.result.signal) : NULL;
	values[11] = job.result.error[0] != '\0' ? job.result.error : NULL;
	values[12] = NS_TEXT(user, job.result.user_us);
	values[13] = NS_TEXT(sys, job.result.sys_us);
	values[14] = NS_TEXT(rss, job.result.maxrss_kb);
	values[15] =
	    job.result.procs > 0 ? NS_TEXT(procs, job.result.procs) : NULL;
	values[16] = out;
	values[17] = errt;
	/* One statement: the job leaves the live table and enters the
	 * history, if the claim is still this node's. */
	if (pg_send(cl->pg,
		    "WITH j AS (DELETE FROM forq_jobs WHERE id = $1 AND "
		    "claim = $2 AND node = $3 RETURNING *) "
		    "INSERT INTO forq_history (" CL_JOB_KEPT ", state, "
		    "attempt, node, worker, cpu, started_at, "
		    "ended_at, exit_code, signal, error, user_us, sys_us, "
		    "maxrss_kb, procs, out_tail, err_tail) SELECT " CL_JOB_KEPT
		    ", $4::smallint, $5::integer, node, "
		    "$6::integer, $7::integer, to_timestamp($8::bigint / 1e9), "
		    "to_timestamp($9::bigint / 1e9), $10::integer, "
		    "$11::integer, $12, $13::bigint, $14::bigint, "
		    "$15::bigint, $16::integer, $17::bytea, $18::bytea FROM j "
		    "RETURNING id, false",
		    18, values, cl_end_done, ctx) == -1) {
		free(ctx);
	} else {
		e->sent = true;
	}
	free(out);
	free(errt);
	store_job_free(&job);
}

static void
cluster_send_ends(struct cluster *cl)
{
	size_t i, sent = 0;
	bool alone = cl->ends_alone;

	/* Only once the claims are known: an end names its claim. The
	 * turn's ends commit together, unless one was refused lately. */
	cl->ends_alone = false;
	for (i = 0; i < cl->nends && pg_is_up(cl->pg) && cl->claims_known;
	     i++) {
		if (cl->ends[i].sent)
			continue;
		cl_send_end(cl, &cl->ends[i]);
		if (cl->ends[i].sent && (alone || ++sent == CLUSTER_ENDS_MAX)) {
			(void)pg_sync(cl->pg);
			sent = 0;
		}
	}
	if (sent > 0)
		(void)pg_sync(cl->pg);
}

void
cluster_ended(struct cluster *cl, uint64_t id)
{
	size_t i;

	for (i = 0; i < cl->nends; i++) {
		if (cl->ends[i].id == id)
			return;
	}
	if (array_reserve((void **)&cl->ends, &cl->ends_cap, cl->nends,
			  sizeof *cl->ends) == -1) {
		log_warn("job %llu: its end waits for a restart",
			 (unsigned long long)id);
		return;
	}
	cl->ends[cl->nends++] = (struct cl_end){.id = id};
	cl->room = true;
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
static void
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
	if (pg_send(cl->pg,
		    "WITH gone AS (DELETE FROM forq_jobs WHERE id = $1 AND "
		    "claim = $2 AND node = $3 RETURNING *) " CL_TO_HISTORY("5",
									   "$"
									   "4"),
		    4, values, cl_refuse_done, ctx) == -1) {
		free(ctx);
		return;
	}
	(void)pg_sync(cl->pg);
}

static void
cl_notified(void *arg, const PGresult *res, const char *err)
{
	(void)arg;
	if (!cl_ok(res))
		log_debug("cluster: NOTIFY: %s", cl_why(res, err));
}

void
cluster_end_turn(struct cluster *cl)
{
	const char *values[1];

	cluster_send_ends(cl);
	if (cl->room) {
		cl->room = false;
		cluster_poll(cl);
	}
	if (!pg_is_up(cl->pg))
		return;
	/* At most one NOTIFY a turn for each kind: each takes a lock held
	 * to its commit. */
	if (cl->submitted &&
	    pg_send(cl->pg, "SELECT pg_notify('forq_jobs', '')", 0, NULL,
		    cl_notified, NULL) == 0)
		(void)pg_sync(cl->pg);
	cl->submitted = false;
	if (cl->announce_len == 0)
		return;
	values[0] = cl->announce;
	if (pg_send(cl->pg, "SELECT pg_notify('forq_ended', $1)", 1, values,
		    cl_notified, NULL) == 0)
		(void)pg_sync(cl->pg);
	cl_settle_ended(cl, cl->announce);
	cl->announce_len = 0;
}

/* --- nodes that stopped renewing their lease ------------------------ */

struct cl_rescue {
	struct cluster *cl;
	bool own; /* this node's own jobs, its lease lost */
};

static void
cl_rescue_done(void *arg, const PGresult *res, const char *err)
{
	struct cl_rescue *r = arg;
	struct cluster *cl = r->cl;
	long again, gone;
	char *ids, *p, *word;

	if (r->own)
		cl->giving_back = false;
	else
		cl->rescuing = false;
	if (!cl_ok(res) || PQntuples(res) != 1) {
		log_warnx("cluster: %s: %s",
			  r->own ? "cannot give this node's jobs back"
				 : "cannot take on the jobs of lost nodes",
			  cl_why(res, err));
		free(r);
		return;
	}
	again = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	gone = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	if (again + gone > 0)
		log_warnx("cluster: %s: %ld queued again, %ld ended (lost past "
			  "crash_requeue_max, or cancelled)",
			  r->own ? "this node's jobs, its lease lost"
				 : "jobs of nodes whose lease ran out",
			  again, gone);
	if (again > 0)
		cl->submitted = true;
	if (!PQgetisnull(res, 0, 2) &&
	    (ids = strdup(PQgetvalue(res, 0, 2))) != NULL) {
		for (p = ids; (word = strsep(&p, ",")) != NULL;)
			cl_announce(cl, strtoull(word, NULL, 10));
		free(ids);
	}
	free(r);
}

/*
 * A node's running jobs go back to the queue, as their next attempt, or
 * end lost past crash_requeue_max, or cancelled if a cancel was asked:
 * those of every node whose lease ran out a fifth of a lease ago (own
 * false), or this node's own (own true: its lease was lost). The claim
 * goes with them, so that what the node they were taken from says of
 * them later is refused.
 */
static void
cl_rescue(struct cluster *cl, bool own)
{
	char max[16];
	const char *values[] = {max, own ? cl->node : NULL};
	struct cl_rescue *r;

	if (!pg_is_up(cl->pg) || (own ? cl->giving_back : cl->rescuing))
		return;
	if ((r = malloc(sizeof *r)) == NULL)
		return;
	*r = (struct cl_rescue){cl, own};
	snprintf(max, sizeof max, "%u", cl->conf->crash_requeue_max);
	if (pg_send(cl->pg,
		    "WITH r AS (SELECT j.id FROM forq_jobs j JOIN forq_nodes n "
		    "ON n.name = j.node WHERE j.state = 1 AND (j.node = $2 OR "
		    "($2::text IS NULL AND n.lease_until < now() - n.lease_ms "
		    "/ 5 * interval '1 millisecond')) FOR UPDATE OF j SKIP "
		    "LOCKED), gone AS (DELETE FROM forq_jobs j USING r WHERE "
		    "j.id = r.id AND (j.cancel OR j.attempt >= $1::integer) "
		    "RETURNING j.*), hist AS (" CL_TO_HISTORY("CASE WHEN "
							      "cancel THEN 7 "
							      "ELSE 8 END",
							      "'node ' || node "
							      "|| ' stopped "
							      "renewing its "
							      "lease'") " "
									"RETURN"
									"ING "
									"id), "
									"again "
									"AS "
									"(UPDAT"
									"E "
									"forq_"
									"jobs "
									"j SET "
									"state "
									"= 0, "
									"node "
									"= "
									"NULL, "
									"claim "
									"= "
									"NULL, "
									"claime"
									"d_at "
									"= "
									"NULL, "
									"starte"
									"d_at "
									"= "
									"NULL, "
									"worker"
									" = "
									"NULL, "
									"cpu = "
									"NULL, "
									"attemp"
									"t = "
									"j."
									"attemp"
									"t + 1 "
									"FROM "
									"r "
									"WHERE "
									"j.id "
									"= "
									"r.id "
									"AND "
									"NOT "
									"j."
									"cancel"
									" "
									"AND "
									"j."
									"attemp"
									"t < "
									"$1::"
									"intege"
									"r "
									"RETURN"
									"ING "
									"j.id) "
									"SELECT"
									" "
									"(SELEC"
									"T "
									"count("
									"*) "
									"FROM "
									"again)"
									", "
									"(SELEC"
									"T "
									"count("
									"*) "
									"FROM "
									"hist),"
									" "
									"(SELEC"
									"T "
									"string"
									"_agg("
									"id::"
									"text, "
									"',') "
									"FROM "
									"hist)",
		    2, values, cl_rescue_done, r) == -1) {
		free(r);
		return;
	}
	if (own)
		cl->giving_back = true;
	else
		cl->rescuing = true;
	(void)pg_sync(cl->pg);
}

void
cluster_lease_lost(struct cluster *cl)
{
	size_t i, n = cl->nclaims;
	uint64_t *ids;

	/* Queued again first: the ends of the jobs stopped here come
	 * after it, on the same connection, and find no claim. */
	cl_rescue(cl, true);
	if ((ids = calloc(n > 0 ? n : 1, sizeof *ids)) == NULL)
		return;
	for (i = 0; i < n; i++)
		ids[i] = cl->claims[i].id;
	cl->nclaims = 0;
	log_warnx("cluster: the lease was lost: stopping the %zu jobs this "
		  "node holds (the others run them)",
		  n);
	for (i = 0; i < n; i++)
		cl->cb.cancel(cl->cb.arg, ids[i]);
	free(ids);
}

bool
cluster_ready(const struct cluster *cl)
{
	return cl->claims_known;
}

/* --- the node's claims, after a (re)connect ------------------------ */

static int
cl_unclaimed_one(void *arg, const struct store_job *job)
{
	struct cluster *cl = arg;

	if (cl_claim_of(cl, job->id) < 0) {
		log_warnx("job %llu: no longer this node's (its lease was lost "
			  "meanwhile): stopped here",
			  (unsigned long long)job->id);
		cl->cb.cancel(cl->cb.arg, job->id);
	}
	return 0;
}

/* Jobs this node's store holds that the cluster gave to another since
 * (a previous forqd of this node lost its lease): stopped, never run. */
static void
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

static void
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
	cl->nclaims = 0;
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
		store_job_free(&job);
		(void)cl_claim_add(cl, id, claim);
	}
	cl->claims_known = true;
	cl_drop_unclaimed(cl);
	cluster_send_ends(cl);
	cluster_poll(cl);
}

static void
cl_listen_done(void *arg, const PGresult *res, const char *err)
{
	(void)arg;
	if (!cl_ok(res))
		log_warnx("cluster: LISTEN failed: %s", cl_why(res, err));
}

static void
cl_asked_done(void *arg, const PGresult *res, const char *err)
{
	struct cluster *cl = arg;
	uint64_t id;
	int i;

	if (!cl_ok(res)) {
		log_debug("cluster: cancels: %s", cl_why(res, err));
		return;
	}
	for (i = 0; i < PQntuples(res); i++) {
		id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		if (cl_claim_of(cl, id) >= 0)
			cl->cb.cancel(cl->cb.arg, id);
	}
}

/* Cancels asked of this node's jobs, a NOTIFY missed or not. */
static void
cl_check_cancels(struct cluster *cl)
{
	const char *values[] = {cl->node};

	if (cl->nclaims == 0 || !pg_is_up(cl->pg))
		return;
	if (pg_send(cl->pg,
		    "SELECT id FROM forq_jobs WHERE node = $1 AND cancel", 1,
		    values, cl_asked_done, cl) == 0)
		(void)pg_sync(cl->pg);
}

/* --- ends elsewhere ------------------------------------------------ */

static void
cl_ended_done(void *arg, const PGresult *res, const char *err)
{
	struct cluster *cl = arg;
	struct store_job job;
	int i;

	if (!cl_ok(res))
		return;
	for (i = 0; i < PQntuples(res); i++) {
		if (cl_read_job(cl, res, i, &job) == -1)
			continue;
		cl->cb.ended(cl->cb.arg, job.id, &job.result);
		job_spec_free(&job.spec);
	}
	(void)err;
}

/* The ends among ids (a bigint[] literal) are told to their waiters. */
static void
cl_ask_ended(struct cluster *cl, const char *ids)
{
	const char *values[] = {ids};

	if (!pg_is_up(cl->pg))
		return;
	if (pg_send(cl->pg,
		    "SELECT " CL_JOB_COLUMNS " FROM forq_history WHERE id = "
		    "ANY($1::bigint[])",
		    1, values, cl_ended_done, cl) == 0)
		(void)pg_sync(cl->pg);
}

static void
cl_check_waits(struct cluster *cl)
{
	uint64_t *ids;
	size_t n;
	char *list;

	if (cl->cb.waited(cl->cb.arg, &ids, &n) == -1 || n == 0)
		return;
	list = cl_ids_text(ids, n);
	free(ids);
	if (list != NULL)
		cl_ask_ended(cl, list);
	free(list);
}

void
cluster_notify(struct cluster *cl, const char *channel, const char *payload)
{
	char *list, *p, *word, *colon, *wanted = NULL;
	size_t len = 0, cap = 0;
	uint64_t id;

	if (strcmp(channel, "forq_jobs") == 0) {
		cluster_poll(cl);
		return;
	}
	if (strcmp(channel, "forq_cancel") == 0) {
		/* "node:id" */
		if ((colon = strrchr(payload, ':')) == NULL ||
		    (size_t)(colon - payload) != strlen(cl->node) ||
		    strncmp(payload, cl->node, strlen(cl->node)) != 0)
			return;
		id = strtoull(colon + 1, NULL, 10);
		if (cl_claim_of(cl, id) >= 0)
			cl->cb.cancel(cl->cb.arg, id);
		return;
	}
	if (strcmp(channel, "forq_ended") != 0 ||
	    (list = strdup(payload)) == NULL)
		return;
	wanted = cl_array_start(&len, &cap);
	for (p = list; wanted != NULL && (word = strsep(&p, ",")) != NULL;) {
		id = strtoull(word, NULL, 10);
		if (id == 0 || !cl->cb.wanted(cl->cb.arg, id))
			continue;
		if (cl_array_add(&wanted, &len, &cap, word) == -1) {
			free(wanted);
			wanted = NULL;
		}
	}
	free(list);
	if (wanted != NULL && len > 1 && cl_array_end(&wanted, &len, &cap) == 0)
		cl_ask_ended(cl, wanted);
	free(wanted);
}

/* --- life ---------------------------------------------------------- */

void
cluster_up(struct cluster *cl)
{
	const char *values[] = {cl->node};
	struct cl_submit *s;
	size_t i;

	cl->claims_known = false;
	cl->claiming = false;
	for (i = 0; i < cl->nends; i++)
		cl->ends[i].sent = false;
	if (pg_send(cl->pg,
		    "SELECT id, claim FROM forq_jobs WHERE node = $1 AND "
		    "state = 1",
		    1, values, cl_mine_done, cl) == 0)
		(void)pg_sync(cl->pg);
	for (s = cl->subs; s != NULL; s = s->next) {
		if (!s->sent)
			cl_submit_send(s);
	}
	/* Ends announced while it was away found no dependents. */
	cl->settling = false;
	cl_settle_sweep(cl);
}

static void
cl_prune_done(void *arg, const PGresult *res, const char *err)
{
	struct cluster *cl = arg;
	int i, n;

	cl->pruning = false;
	if (!cl_ok(res)) {
		log_warnx("cluster: retention: %s", cl_why(res, err));
		return;
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		if (strcmp(PQgetvalue(res, i, 1), "t") == 0)
			cl->cb.pruned(cl->cb.arg,
				      strtoull(PQgetvalue(res, i, 0), NULL,
					       10));
	}
	if (n > 0)
		log_debug("cluster: retention: %d ended jobs removed", n);
	/* More due: the next round soon. */
	if (n == CLUSTER_PRUNE_BATCH)
		cl->ticks_to_prune = 1;
}

/*
 * Retention, as on one host (retention_age, retention_count), over the
 * history. Each node removes the jobs it ran (their output files are
 * its own) and those no node ran; the rows of nodes gone for longer
 * than retention_age, any node. Submission keys go after a day: a
 * submission is sent again within seconds, never a day later.
 */
static void
cl_prune(struct cluster *cl)
{
	char age[24], count[24], batch[16];
	const char *values[] = {cl->node, age, count, batch};

	if (cl->pruning || !pg_is_up(cl->pg))
		return;
	snprintf(age, sizeof age, "%lld",
		 (long long)cl->conf->retention_age_ms);
	snprintf(count, sizeof count, "%u", cl->conf->retention_count);
	snprintf(batch, sizeof batch, "%d", CLUSTER_PRUNE_BATCH);
	if (pg_send(cl->pg,
		    "WITH cut AS (SELECT id FROM forq_history ORDER BY id DESC "
		    "OFFSET $3::bigint LIMIT 1), old AS (SELECT h.id FROM "
		    "forq_history h LEFT JOIN forq_nodes n ON n.name = h.node "
		    "WHERE (h.node = $1 OR h.node IS NULL OR n.name IS NULL OR "
		    "($2::bigint > 0 AND n.renewed_at < now() - $2::bigint * "
		    "interval '1 millisecond')) AND (($2::bigint > 0 AND "
		    "h.ended_at < now() - $2::bigint * interval "
		    "'1 millisecond') OR ($3::bigint > 0 AND h.id <= (SELECT "
		    "id FROM cut))) LIMIT $4::integer FOR UPDATE OF h SKIP "
		    "LOCKED), pruned AS (DELETE FROM forq_history h USING old "
		    "WHERE h.id = old.id RETURNING h.id, h.node = $1 AS mine), "
		    "cleaned AS (DELETE FROM forq_cleaned WHERE node = $1 "
		    "RETURNING id) SELECT id, mine FROM pruned UNION ALL "
		    "SELECT id, true FROM cleaned",
		    4, values, cl_prune_done, cl) == -1)
		return;
	cl->pruning = true;
	(void)pg_send(cl->pg,
		      "DELETE FROM forq_submissions WHERE at < now() - "
		      "interval '1 day'",
		      0, NULL, cl_claim_step, cl);
	(void)pg_sync(cl->pg);
}

static void
cl_due_done(void *arg, const PGresult *res, const char *err)
{
	struct cluster *cl = arg;

	cl->queuing_due = false;
	if (!cl_ok(res)) {
		log_warnx("cluster: scheduled jobs: %s", cl_why(res, err));
		return;
	}
	/* Queued now: every node is told, this one claims at once. */
	if (PQntuples(res) > 0) {
		cl->submitted = true;
		cluster_poll(cl);
	}
}

/* Scheduled jobs whose time has come are queued, by whichever node
 * looks first (the others find nothing left to do). */
static void
cl_queue_due(struct cluster *cl)
{
	if (cl->queuing_due || !pg_is_up(cl->pg))
		return;
	if (pg_send(cl->pg,
		    "UPDATE forq_jobs SET state = 0 WHERE state = 2 AND "
		    "start_at <= now() RETURNING id",
		    0, NULL, cl_due_done, cl) == 0) {
		cl->queuing_due = true;
		(void)pg_sync(cl->pg);
	}
}

static void
cl_tick(struct ev_io *io, uint32_t events)
{
	struct cluster *cl = io->arg;

	(void)events;
	ev_timer_drain(cl->timer);
	/* The fallback of the NOTIFYs: a poll a second; the waits, which
	 * can be many, once every CLUSTER_WAITS_POLL seconds (a NOTIFY
	 * missed while LISTEN was down is made up for when it is back);
	 * the waiting jobs every CLUSTER_SETTLE_EVERY. */
	cl_rescue(cl, false);
	cl_queue_due(cl);
	cluster_poll(cl);
	cl_check_cancels(cl);
	if (++cl->ticks % CLUSTER_WAITS_POLL == 0)
		cl_check_waits(cl);
	if (cl->ticks % CLUSTER_SETTLE_EVERY == 0)
		cl_settle_sweep(cl);
	if (--cl->ticks_to_prune <= 0) {
		cl->ticks_to_prune = CLUSTER_PRUNE_EVERY;
		cl_prune(cl);
	}
}

static void
cl_listen_up(void *arg)
{
	struct cluster *cl = arg;

	if (pg_send(cl->listen, "LISTEN forq_jobs", 0, NULL, cl_listen_done,
		    cl) == 0 &&
	    pg_send(cl->listen, "LISTEN forq_ended", 0, NULL, cl_listen_done,
		    cl) == 0 &&
	    pg_send(cl->listen, "LISTEN forq_cancel", 0, NULL, cl_listen_done,
		    cl) == 0)
		(void)pg_sync(cl->listen);
	/* What was said while nobody listened is looked at now. */
	cluster_poll(cl);
	cl_check_cancels(cl);
	cl_check_waits(cl);
}

static void
cl_listen_down(void *arg, const char *why)
{
	(void)arg;
	log_debug("cluster: LISTEN connection lost: %s", why);
}

static void
cl_listen_notify(void *arg, const char *channel, const char *payload)
{
	cluster_notify(arg, channel, payload);
}

static const struct pg_hooks cl_listen_hooks = {
    .up = cl_listen_up,
    .down = cl_listen_down,
    .notify = cl_listen_notify,
};

static int
cl_load_one(void *arg, const struct store_job *job)
{
	cluster_ended(arg, job->id);
	return 0;
}

int
cluster_load(struct cluster *cl)
{
	struct store_filter f = {.uid = -1};
	int s;

	/* Ended here, and not yet the cluster's record: a previous forqd
	 * stopped before the database had them. */
	for (s = JOB_SUCCEEDED; s < JOB_STATE_COUNT; s++) {
		f.state = s;
		if (store_list(cl->store, &f, UINT32_MAX, cl_load_one, cl) ==
		    -1)
			return -1;
	}
	if (cl->nends > 0)
		log_info("cluster: %zu ends of a previous forqd to record",
			 cl->nends);
	return 0;
}

struct cluster *
cluster_new(struct ev_loop *loop, const struct conf *conf,
	    const struct job_limits *limits, struct store *store,
	    struct node *node, const struct cluster_cb *cb)
{
	struct cluster *cl;
	char app[64];

	if ((cl = calloc(1, sizeof *cl)) == NULL)
		return NULL;
	cl->loop = loop;
	cl->conf = conf;
	cl->limits = limits;
	cl->store = store;
	cl->pg = node_pg(node);
	cl->cb = *cb;
	cl->timer = -1;
	cl->keylen = node_take_key(node, cl->key, sizeof cl->key);
	strlcpy(cl->node, node_name(node), sizeof cl->node);
	snprintf(cl->boot, sizeof cl->boot, "%s:%d:%lld", cl->node,
		 (int)getpid(), (long long)clock_real_ns());
	snprintf(app, sizeof app, "forqd %s listen", cl->node);
	if ((cl->listen = pg_new(loop, conf->dsn, app, 0, &cl_listen_hooks,
				 cl)) == NULL ||
	    (cl->timer = ev_timer_open()) == -1) {
		cluster_free(cl);
		return NULL;
	}
	ev_io_set(&cl->timer_io, cl->timer, cl_tick, cl);
	if (ev_add(loop, &cl->timer_io, EPOLLIN) == -1 ||
	    ev_timer_every(cl->timer, NS_PER_SEC) == -1) {
		cluster_free(cl);
		return NULL;
	}
	pg_start(cl->listen);
	return cl;
}

void
cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	while (cl->subs != NULL)
		cl_submit_free(cl->subs);
	pg_free(cl->listen);
	if (cl->timer != -1) {
		(void)ev_del(cl->loop, &cl->timer_io);
		close(cl->timer);
	}
	free(cl->claims);
	free(cl->ends);
	free(cl->announce);
	free(cl->pending);
	cl_claim_rows_clear(cl);
	explicit_bzero(cl->key, sizeof cl->key);
	free(cl);
}
