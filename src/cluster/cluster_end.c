/*
 * The shared queue, the ends of the jobs this node ran: each is
 * committed in the node's store first, then moved into the history in
 * one statement that names the claim (or, if it calls for another
 * attempt, queued again), and only then forgotten here. An end must not
 * be lost across a lost connection: it is kept until answered, and sent
 * again (the claim in its WHERE clause makes a second delivery a no-op).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/compat.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/job.h"
#include "store/pg.h"
#include "store/store.h"
#include "cluster/cluster_int.h"

/* The last bytes of a job's output (which: 0 stdout, 1 stderr), in the
 * hex escape of bytea's text form: of its own file if it named one
 * (read as its user, who may have put anything there since), else of
 * the spool's. */
static char *
cl_tail_hex(const char *state_dir, const struct store_job *job, int which)
{
	static const char digits[] = "0123456789abcdef";
	char path[PATH_MAX + 32], *buf, *hex;
	struct stat st;
	ssize_t n;
	off_t from;
	int fd;

	if ((which == 0 ? job->spec.stdout_path : job->spec.stderr_path) !=
	    NULL) {
		if ((fd = store_job_file_open(job, which, false)) == -1)
			return strdup("\\x");
	} else {
		snprintf(path, sizeof path, "%s/logs/%llu.%s", state_dir,
			 (unsigned long long)job->id,
			 which == 0 ? "out" : "err");
		/* No file: the job wrote nothing there (worker/spool.h). */
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
			return errno == ENOENT ? strdup("\\x") : NULL;
	}
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
	if (cl_send(cl,
		    "SELECT node FROM forq_history WHERE id = $1 UNION ALL "
		    "SELECT node FROM forq_jobs WHERE id = $1",
		    1, values, cl_whose_done, w) == -1) {
		free(w);
		return;
	}
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
	/* The database has it: this node's copy may go, and the job may
	 * be claimed here again (what it asks after cl_whose_end is
	 * answered after that). */
	cl->cb.forget(cl->cb.arg, ctx->id);
	cl_stopping_drop(cl, ctx->id);
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
    "NOT cancel RETURNING id, attempt), "
    "att AS (INSERT INTO forq_attempts (id, attempt, state, exit_code, "
    "signal, started_at, ended_at, error, node, worker, cpu) SELECT id, "
    "attempt - 1, $5::smallint, $6::integer, $7::integer, "
    "to_timestamp($8::bigint / 1e9), to_timestamp($9::bigint / 1e9), $10, "
    "$3, $11::integer, $12::integer FROM again ON CONFLICT DO NOTHING), "
    "gone AS (DELETE FROM forq_jobs WHERE id = $1 AND claim = $2 AND node "
    "= $3 AND cancel RETURNING *), "
    "moved AS (" CL_TO_HISTORY(CL_CANCELLED, "NULL") " RETURNING id) "
    "SELECT id, true FROM again UNION ALL SELECT id, false FROM moved";
/* clang-format on */

/* An attempt that calls for another: back into the cluster's queue,
 * scheduled after its delay (the next due poll queues it), and the
 * attempt into the job's attempts. v: cl_send_end's values. */
static void
cl_send_again(struct cluster *cl, struct cl_end *e, const char *const *v,
	      struct cl_end_ctx *ctx)
{
	char delay[24];
	const char *values[] = {v[0],  v[1],
				v[2],  NS_TEXT(delay, ctx->delay_ms),
				v[3],  v[9],
				v[10], v[7],
				v[8],  v[11],
				v[5],  v[6]};

	if (pg_send(cl->pg, cl_again_sql, 12, values, cl_end_done, ctx) == -1)
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
		cl_stopping_drop(cl, e->id);
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
		out = errt = NULL;
	} else {
		out = cl_tail_hex(cl->conf->state_dir, &job, 0);
		errt = cl_tail_hex(cl->conf->state_dir, &job, 1);
	}
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
	if (ctx->again) {
		cl_send_again(cl, e, values, ctx);
		store_job_free(&job);
		return;
	}
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

bool
cl_send_ends(struct cluster *cl)
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
	return sent > 0;
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
