/*
 * The shared queue, the node's side: its life (connection, LISTEN,
 * the tick), the jobs of nodes whose lease ran out, retention, due and
 * cancelled jobs, and the wake-ups; its claims are cluster_claim.c's,
 * the ends of its jobs cluster_end.c's. Each statement goes through the
 * node's pipelined connection with a small context that its answer
 * frees.
 */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/compat.h"
#include "common/event.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/job.h"
#include "store/pg.h"
#include "store/store.h"
#include "cluster/cluster_int.h"
#include "cluster/node.h"

static void
cl_notified(void *arg, const PGresult *res, const char *err)
{
	(void)arg;
	if (!cl_ok(res))
		log_debug("cluster: NOTIFY: %s", cl_why(res, err));
}

static void
cl_tell(struct cluster *cl, bool *unsynced)
{
	const char *values[1];

	if (cl->submitted &&
	    pg_send(cl->pg, "SELECT pg_notify('forq_jobs', '')", 0, NULL,
		    cl_notified, NULL) == 0)
		*unsynced = true;
	cl->submitted = false;
	if (cl->announce_len > 0) {
		values[0] = cl->announce;
		if (pg_send(cl->pg, "SELECT pg_notify('forq_ended', $1)", 1,
			    values, cl_notified, NULL) == 0)
			*unsynced = true;
		if (cl_settle_ended(cl, cl->announce))
			*unsynced = false;
		cl->announce_len = 0;
	}
}

void
cluster_end_turn(struct cluster *cl)
{
	bool unsynced;

	/* The turn's ends, its NOTIFYs and the look at the dependents of
	 * what ended before commit together: one transaction a turn, not
	 * two. What fails in it takes the rest with it: the ends are
	 * sent again, each alone; the look is made again; the others'
	 * poll finds what the NOTIFYs would have said. At most one NOTIFY
	 * a turn for each kind: each takes a lock held to its commit. */
	unsynced = cl_send_ends(cl);
	if (pg_is_up(cl->pg))
		cl_tell(cl, &unsynced);
	if (unsynced)
		(void)pg_sync(cl->pg);
	/* A claim is a transaction of its own, after. */
	if (cl->room) {
		cl->room = false;
		cluster_poll(cl);
	}
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
/* clang-format off */
/* The nodes are read first (an array; empty, as it mostly is, the jobs
 * are not read at all), then their jobs through the index by node: a
 * join let the planner read every running job's index entry and heap
 * page, dead ones included, once a second. */
#define CL_RESCUE                                                              \
	"WITH r AS (SELECT j.id, j.attempt, j.started_at, j.node, j.worker, "  \
	"j.cpu FROM forq_jobs j WHERE j.node = ANY(ARRAY("                     \
	"SELECT name FROM forq_nodes n WHERE n.name = $2 OR ($2::text IS "     \
	"NULL AND n.lease_until < now() - n.lease_ms / 5 * interval "          \
	"'1 millisecond'))) AND j.state = 1 FOR UPDATE OF j SKIP LOCKED), "    \
	"gone AS (DELETE FROM forq_jobs j USING r WHERE j.id = r.id AND "      \
	"(j.cancel OR j.attempt >= $1::integer) RETURNING j.*), "              \
	"hist AS (" CL_TO_HISTORY("CASE WHEN cancel THEN " CL_CANCELLED        \
	" ELSE " CL_LOST " END", "'node ' || node || ' stopped renewing its "  \
	"lease'") " RETURNING id), "                                           \
	"again AS (UPDATE forq_jobs j SET state = 0, node = NULL, claim = "    \
	"NULL, claimed_at = NULL, started_at = NULL, worker = NULL, cpu = "    \
	"NULL, attempt = j.attempt + 1 FROM r WHERE j.id = r.id AND NOT "      \
	"j.cancel AND j.attempt < $1::integer RETURNING j.id), "               \
	"att AS (INSERT INTO forq_attempts (id, attempt, state, started_at, "  \
	"ended_at, error, node, worker, cpu) SELECT r.id, r.attempt, "         \
	CL_LOST ", r.started_at, now(), 'node ' || r.node || ' stopped "       \
	"renewing its lease', r.node, r.worker, r.cpu FROM r JOIN again ON "   \
	"again.id = r.id ON CONFLICT DO NOTHING) "                             \
	"SELECT (SELECT count(*) FROM again), (SELECT count(*) FROM hist), "   \
	"(SELECT string_agg(id::text, ',') FROM hist)"
/* clang-format on */

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
	if (pg_send(cl->pg, CL_RESCUE, 2, values, cl_rescue_done, r) == -1) {
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

	cl->lease_lost = true;
	cl->losses++;
	/* Queued again first: the ends of the jobs stopped here come
	 * after it, on the same connection, and find no claim. */
	cl_rescue(cl, true);
	if ((ids = calloc(n > 0 ? n : 1, sizeof *ids)) == NULL)
		return;
	for (i = 0; i < n; i++) {
		ids[i] = cl->claims[i].id;
		cl_stopping_add(cl, ids[i]);
	}
	cl_claims_clear(cl);
	log_warnx("cluster: the lease was lost: stopping the %zu jobs this "
		  "node holds (the others run them)",
		  n);
	for (i = 0; i < n; i++)
		cl->cb.cancel(cl->cb.arg, ids[i]);
	free(ids);
}

void
cluster_lease_held(struct cluster *cl)
{
	if (!cl->lease_lost)
		return;
	cl->lease_lost = false;
	cluster_poll(cl);
}

bool
cluster_ready(const struct cluster *cl)
{
	return cl->claims_known;
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
	struct job_result r;
	int i;

	if (!cl_ok(res))
		return;
	for (i = 0; i < PQntuples(res); i++) {
		memset(&r, 0, sizeof r);
		r.state = (enum job_state)cl_int(res, i, 1, 0);
		cl_read_result(res, i, 2, &r);
		cl->cb.ended(cl->cb.arg, (uint64_t)cl_int(res, i, 0, 0), &r);
	}
	(void)err;
}

/* The ends among ids (a bigint[] literal) are told to their waiters:
 * their results, not their specs, which a waiter does not need and
 * each would be parsed for. */
static void
cl_ask_ended(struct cluster *cl, const char *ids)
{
	const char *values[] = {ids};

	if (!pg_is_up(cl->pg))
		return;
	if (pg_send_unprepared(cl->pg,
			       "SELECT id, state, " CL_RESULT_COLUMNS " FROM "
			       "forq_history WHERE id = ANY($1::bigint[])",
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
	cl->tasks_queued = true;
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
		    "atts AS (DELETE FROM forq_attempts a USING pruned WHERE "
		    "a.id = pruned.id), "
		    "cleaned AS (DELETE FROM forq_cleaned WHERE node = $1 "
		    "RETURNING id) SELECT id, mine FROM pruned UNION ALL "
		    "SELECT id, true FROM cleaned",
		    4, values, cl_prune_done, cl) == -1)
		return;
	cl->pruning = true;
	(void)pg_send(cl->pg,
		      "DELETE FROM forq_submissions WHERE at < now() - "
		      "interval '1 day'",
		      0, NULL, cl_no_answer, cl);
	(void)pg_sync(cl->pg);
}

static void
cl_vacuum_done(void *arg, const PGresult *res, const char *err)
{
	struct cluster *cl = arg;

	cl->vacuuming = false;
	if (res != NULL && !cl_ok(res))
		log_warnx("cluster: VACUUM of the jobs table: %s",
			  cl_why(res, err));
}

/*
 * A claimed job's queued row stays in the indexes claims walk (the
 * update of its state cannot be HOT), marked dead, and each walk steps
 * over it until a VACUUM takes it away. Autovacuum looks once a minute
 * at most (autovacuum_naptime), long enough for a busy cluster to
 * leave tens of thousands: a claim took 200 µs after a VACUUM and 460
 * µs 60,000 jobs later. So each node vacuums the live table itself
 * once it has claimed CLUSTER_VACUUM_AFTER jobs, on its LISTEN
 * connection, which is never in a transaction (VACUUM cannot run in
 * one) and whose NOTIFYs wait the few ms it takes; skipped while
 * another node's runs.
 *
 * Submissions call for one too, with ANALYZE. A connection keeps a
 * statement's plan, made on the tables as they were; made while the
 * live table was short, it may walk the table whole once it is long:
 * the look for the dependents of an end walked every waiting job (11
 * ms at 20,000 of them). Counted again, the table gets plans made anew
 * that find them through their index; and jobs submitted wait in that
 * index's list of entries not merged yet (GIN's fast update), which
 * every look reads whole until a VACUUM merges them (1 ms a look at
 * 20,000; 0.06 ms merged). So a node that has submitted
 * CLUSTER_ANALYZE_AFTER jobs has the table vacuumed and analyzed, as
 * autovacuum would a minute later at most, at most once every
 * CLUSTER_ANALYZE_EVERY seconds (an ANALYZE of a long table reads a
 * sample of 30,000 rows).
 */
static void
cl_vacuum(struct cluster *cl)
{
	bool analyze = cl->unanalyzed >= CLUSTER_ANALYZE_AFTER &&
		       (cl->analyzed_tick == 0 ||
			cl->ticks - cl->analyzed_tick >= CLUSTER_ANALYZE_EVERY);

	if (cl->vacuuming || (!analyze && cl->claimed < CLUSTER_VACUUM_AFTER) ||
	    !pg_is_up(cl->listen))
		return;
	if (pg_send(cl->listen,
		    analyze ? "VACUUM (SKIP_LOCKED, ANALYZE) forq_jobs"
			    : "VACUUM (SKIP_LOCKED) forq_jobs",
		    0, NULL, cl_vacuum_done, cl) == -1)
		return;
	cl->vacuuming = true;
	cl->claimed = 0;
	if (analyze) {
		cl->unanalyzed = 0;
		cl->analyzed_tick = cl->ticks;
	}
	(void)pg_sync(cl->listen);
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
	cl_vacuum(cl);
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
	unsigned char key[SIGN_KEY_MAX];
	struct cluster *cl;
	size_t keylen;
	char app[64];

	if ((cl = calloc(1, sizeof *cl)) == NULL)
		return NULL;
	cl->loop = loop;
	cl->conf = conf;
	cl->limits = limits;
	cl->store = store;
	cl->pg = node_pg(node);
	cl->cb = *cb;
	cl->worker_slots = 1;
	cl->tasks_queued = true;
	cl->timer = -1;
	cl->gather = -1;
	keylen = node_take_key(node, key, sizeof key);
	cl->signer = signer_new(key, keylen);
	explicit_bzero(key, sizeof key);
	strlcpy(cl->node, node_name(node), sizeof cl->node);
	snprintf(cl->boot, sizeof cl->boot, "%s:%d:%lld", cl->node,
		 (int)getpid(), (long long)clock_real_ns());
	snprintf(app, sizeof app, "forqd %s listen", cl->node);
	if (cl->signer == NULL ||
	    (cl->listen = pg_new(loop, conf->dsn, app, 0, &cl_listen_hooks,
				 cl)) == NULL ||
	    (cl->timer = ev_timer_open()) == -1 ||
	    (cl->gather = ev_timer_open()) == -1) {
		cluster_free(cl);
		return NULL;
	}
	ev_io_set(&cl->timer_io, cl->timer, cl_tick, cl);
	ev_io_set(&cl->gather_io, cl->gather, cl_gathered, cl);
	if (ev_add(loop, &cl->timer_io, EPOLLIN) == -1 ||
	    ev_add(loop, &cl->gather_io, EPOLLIN) == -1 ||
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
	if (cl->gather != -1) {
		(void)ev_del(cl->loop, &cl->gather_io);
		close(cl->gather);
	}
	free(cl->claims);
	free(cl->stopping);
	free(cl->ends);
	free(cl->announce);
	free(cl->pending);
	cl_claim_rows_clear(cl);
	signer_free(cl->signer);
	free(cl);
}
