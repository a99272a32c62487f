/*
 * The shared queue's own state, for its two halves: the node's work
 * (cluster.c its life, dead nodes, retention and wake-ups;
 * cluster_claim.c its claims, cluster_held.c the claims it holds,
 * cluster_end.c its jobs' ends,
 * cluster_after.c the jobs that wait for others), and what clients ask
 * of the database (cluster_submit.c submissions, cluster_ask.c reads,
 * cluster_change.c changes); cluster_sql.c has what both say to the
 * database. Nothing outside them includes this.
 */
#ifndef FORQ_CLUSTER_INT_H
#define FORQ_CLUSTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "common/event.h"
#include "core/conf.h"
#include "core/job.h"
#include "core/sign.h"
#include "cluster/cluster.h"

struct store_job;

/* Jobs one claim takes at most: a claim holds row locks while it runs. */
#define CLUSTER_CLAIM_MAX 256
/* While less than half of a node's room is free, a claim waits this
 * long at most after the first slot came free for others to
 * (sched_claim_wait). */
#define CLUSTER_CLAIM_GATHER_MS 5
/* Seconds between two rounds of retention in the database, and the
 * most rows one round deletes (the next comes sooner while more are
 * due). */
#define CLUSTER_PRUNE_EVERY 60
#define CLUSTER_PRUNE_BATCH 10000
/* Jobs claimed here between two VACUUMs of the live table (cluster.c). */
#define CLUSTER_VACUUM_AFTER 1000
/* Jobs submitted here before an ANALYZE of the live table, and the
 * fewest seconds between two (cluster.c). */
#define CLUSTER_ANALYZE_AFTER 1000
#define CLUSTER_ANALYZE_EVERY 60
/* Seconds between two looks at the ends of every job waited for here. */
#define CLUSTER_WAITS_POLL 10
/* Waiting jobs one sweep looks at, and seconds between two sweeps. */
#define CLUSTER_SETTLE_PAGE 500
#define CLUSTER_SETTLE_EVERY 5
/* Bytes of ended ids kept for the next look while one is out; past
 * them, a sweep. */
#define CLUSTER_SETTLE_PENDING_MAX 8192
#define CL_STR_(x) #x
#define CL_STR(x) CL_STR_(x)
/* Ends committed together at most, in one turn's transaction. */
#define CLUSTER_ENDS_MAX 256
/* Output kept in the database at a job's end, for forq logs elsewhere. */
#define CLUSTER_TAIL_BYTES (64 * 1024)

/* Users known on this node, as claimed jobs' names were looked up:
 * kept CLUSTER_USER_TTL seconds (as nscd keeps them), as many as
 * CLUSTER_USERS, each a name of CLUSTER_USER_NAME_MAX bytes at most
 * (a longer one is looked up each time). */
#define CLUSTER_USERS 16
#define CLUSTER_USER_TTL 5
#define CLUSTER_USER_NAME_MAX 32

struct cl_user {
	char name[CLUSTER_USER_NAME_MAX + 1];
	uid_t uid;
	gid_t gid;
	int64_t at_ns; /* 0: empty */
};

/* A job this node claimed, and the claim's number. */
struct cl_claim {
	uint64_t id;
	int64_t claim;
	uint32_t weight; /* the slots it takes: cl_weight */
};

/* An end to record, until the database has it. */
struct cl_end {
	uint64_t id;
	bool sent;
};

struct cl_submit {
	struct cluster *cl;
	struct cl_submit *next;
	char key[96];
	char *specs, *queues, *priorities, *names, *starts, *sigs, *uniques;
	char *afters, *modes, *holds;
	/* Each task's index and its array's limit (NULL: no task); each
	 * array's first and last task, by place in the batch (from 1). */
	char *indexes, *maxes, *firsts, *lasts;
	bool arrays;
	char *deps; /* every job the batch waits for, "1,2,3"; NULL: none */
	char uid[16], gid[16];
	char *user;
	cluster_ids_fn *fn;
	void *arg;
	bool sent;
	bool failed;   /* a statement of the batch failed: err holds why */
	bool existing; /* the key was there: its ids are asked for */
	char *ids;     /* the ids, as the statement before COMMIT gave them */
	char *held;    /* and those of them that stood for a held key */
	char err[256];
};

struct cluster {
	const struct conf *conf;
	const struct job_limits *limits;
	struct store *store;
	struct pg *pg;
	char node[CONF_NODE_NAME_MAX + 1];
	struct cluster_cb cb;
	struct cl_claim *claims;
	size_t nclaims, claims_cap;
	/* Jobs of the store no longer this node's, stopped, until their
	 * ends are through (cl_stopping_add). */
	uint64_t *stopping;
	size_t nstopping, stopping_cap;
	uint32_t held; /* the claims' weights, summed */
	/* What a worker counts for in the room, at the last poll: a gang
	 * weighs that much for each of its CPUs. */
	uint32_t worker_slots;
	bool claims_known; /* this node's claims were read since up */
	bool rescuing;     /* lost nodes' jobs are being queued again */
	bool giving_back;  /* this node's, its lease lost */
	bool claiming;
	/* When the claim for the slots free now was first put off (0:
	 * none is), and the timer that sends it at the latest. */
	int64_t gather_since;
	struct ev_io gather_io;
	int gather;
	/* From the loss of the lease until it is held again: nothing is
	 * claimed, and a claim answered meanwhile is void (the jobs it
	 * took are queued again by the statement sent after it). */
	bool lease_lost;
	/* Leases lost so far, and as many when the claim in flight was
	 * sent: a claim sent before a loss is void, even if the lease is
	 * held again (renewed late) by the time it is answered. */
	unsigned losses, claim_losses;
	bool claim_again;
	/* Tasks of arrays with a limit were queued at the last claim (or
	 * it is not known): their claim is sent only then. */
	bool tasks_queued;
	/* The claim in flight's rows (one statement for the queues with no
	 * limit, one for each with one, the tasks', the resources'), until
	 * its commit. */
	PGresult *claim_rows[CONF_QUEUES_MAX + 3];
	size_t nclaim_rows;
	struct cl_end *ends;
	size_t nends, ends_cap;
	bool ends_alone; /* one was refused: each commits on its own */
	char *announce;  /* ids recorded ended this turn, comma separated */
	size_t announce_len, announce_cap;
	struct cl_submit *subs;
	bool submitted; /* jobs were queued this turn: the others are told */
	bool room;      /* jobs ended here this turn: more may be claimed */
	uint64_t seq;
	struct ev_loop *loop;
	struct pg *listen; /* LISTEN's own connection, never in a transaction */
	struct ev_io timer_io;
	int timer;
	unsigned ticks;
	int ticks_to_prune;
	bool pruning;
	bool vacuuming;
	unsigned claimed;       /* jobs claimed here since the last VACUUM */
	size_t unanalyzed;      /* jobs submitted here since the last ANALYZE */
	unsigned analyzed_tick; /* ticks at the last ANALYZE; 0: none yet */
	bool queuing_due;       /* scheduled jobs are being queued */
	bool settling;          /* waiting jobs are being looked at */
	bool settle_again;      /* and another look was asked for meanwhile */
	bool sweeping;          /* the look in flight is a page of the sweep */
	uint64_t sweep_from;    /* the sweep's next page starts past this id */
	char *pending;          /* ids ended while a look was out: "1,2,3" */
	size_t pending_len, pending_cap;
	char boot[48];         /* this forqd's run: a submission key's prefix */
	struct signer *signer; /* under the cluster's key */
	struct cl_user users[CLUSTER_USERS];
	unsigned users_next; /* the entry the next new name takes */
};

/* An ended job's result, as cl_read_result reads it. */
#define CL_RESULT_COLUMNS                                                      \
	"(extract(epoch FROM started_at) * 1e9)::bigint, (extract(epoch "      \
	"FROM ended_at) * 1e9)::bigint, exit_code, signal, error, user_us, "   \
	"sys_us, maxrss_kb, procs"
/* The columns a read gives, from the live table or the history alike
 * (cl_read_job reads them; node is column 18; what follows them,
 * column CL_JOB_NCOLS on). */
#define CL_JOB_COLUMNS                                                         \
	"id, state, uid, gid, spec, (extract(epoch FROM submitted_at) * "      \
	"1e9)::bigint, attempt, worker, cpu, " CL_RESULT_COLUMNS ", node, "    \
	"priority, array_id, array_index, array_max"
/* The CL_RESULT_COLUMNS of a job of the live table: not ended. */
#define CL_LIVE_RESULT                                                         \
	"(extract(epoch FROM started_at) * 1e9)::bigint, NULL::bigint, "       \
	"NULL::integer, NULL::integer, NULL::text, NULL::bigint, "             \
	"NULL::bigint, NULL::bigint, NULL::integer"
#define CL_LIVE_COLUMNS                                                        \
	"id, state, uid, gid, spec, (extract(epoch FROM submitted_at) * "      \
	"1e9)::bigint, attempt, worker, cpu, " CL_LIVE_RESULT ", node, "       \
	"priority, array_id, array_index, array_max"
#define CL_JOB_NCOLS 23

/* What a job keeps, the same columns in the live table and the history,
 * when it moves from one to the other (an end, a retry): its spec with
 * its signature, so that it can run again as it was signed. */
#define CL_JOB_KEPT                                                            \
	"id, queue, priority, uid, gid, user_name, name, spec, sig, "          \
	"submit_node, submitted_at, array_id, array_index, array_max"
/* A job leaving the live table (as rows named "gone") for the history,
 * in state st, at now(), with error why (SQL expressions). */
/* The states the statements write, as the store numbers them. */
#define CL_HELD "4"
#define CL_FAILED "6"
#define CL_CANCELLED "8"
#define CL_LOST "9"
_Static_assert(JOB_HELD == 4 && JOB_FAILED == 6 && JOB_CANCELLED == 8 &&
		   JOB_LOST == 9,
	       "the cluster's SQL spells these states as numbers");

#define CL_TO_HISTORY(st, why)                                                 \
	"INSERT INTO forq_history (" CL_JOB_KEPT ", node, attempt, "           \
	"started_at, state, ended_at, error) SELECT " CL_JOB_KEPT              \
	", node, attempt, started_at, " st ", now(), " why " FROM gone"

/* pg_advisory_xact_lock's first key for a queue's claims (the second:
 * the hash of its name), forqd's own. */
#define CL_QUEUE_LOCK "7302"
/* And for the claims of tasks of arrays with a limit (the second: 0). */
#define CL_ARRAY_LOCK "7303"

/* cluster_sql.c: text[] literals built a string at a time, a result's
 * verdicts, a job as a row has it, and this turn's ends to announce. */
char *cl_array_start(size_t *len, size_t *cap);
int cl_array_add(char **buf, size_t *len, size_t *cap, const char *s);
int cl_array_end(char **buf, size_t *len, size_t *cap);
/* ids as a bigint[] literal ("{}" for none); NULL: out of memory. */
char *cl_ids_text(const uint64_t *ids, size_t n);
const char *cl_why(const PGresult *res, const char *err);
bool cl_ok(const PGresult *res);
/* A statement alone in its pipeline (sent and synced), its answer to
 * cb with ctx; -1 if it could not be sent (ctx is the caller's still). */
int cl_send(struct cluster *cl, const char *sql, int n,
	    const char *const *values, pg_cb cb, void *ctx);
/* A column as a number; none if it is NULL. */
long long cl_int(const PGresult *res, int row, int col, long long none);
int cl_read_job(struct cluster *cl, const PGresult *res, int row,
		struct store_job *job);
/* The CL_RESULT_COLUMNS of a row, from column col on, into r (its
 * state is the caller's). */
void cl_read_result(const PGresult *res, int row, int col,
		    struct job_result *r);
void cl_announce(struct cluster *cl, uint64_t id);

/* A statement whose answer nobody reads (a failed one fails its
 * transaction, whose last statement says so). */
void cl_no_answer(void *arg, const PGresult *res, const char *err);

/* cluster_held.c: the claim a job of this node's has (-1: none), added
 * with the slots it takes (cl_weight), let go of once its end is
 * recorded, all forgotten at a reconnect; a claimed job given back to
 * the queue, or refused (it fails, saying why); the jobs of the store
 * that are no longer this node's, stopped. */
int64_t cl_claim_of(const struct cluster *cl, uint64_t id);
uint32_t cl_weight(const struct cluster *cl, const struct job_spec *spec);
int cl_claim_add(struct cluster *cl, uint64_t id, int64_t claim,
		 uint32_t weight);
void cl_claim_drop(struct cluster *cl, uint64_t id);
void cl_claims_clear(struct cluster *cl);
void cl_give_back(struct cluster *cl, uint64_t id, int64_t claim);
void cl_refuse(struct cluster *cl, uint64_t id, int64_t claim, const char *why);
void cl_drop_unclaimed(struct cluster *cl);
/* A copy here of a job that is no longer this node's (its lease was
 * lost, or a previous forqd's), being stopped: the job is not claimed
 * again here until that copy's end is through (cl_stopping_drop), as
 * the claimed job would take the copy's place in the store, its end
 * and its output files. */
void cl_stopping_add(struct cluster *cl, uint64_t id);
bool cl_stopping(const struct cluster *cl, uint64_t id);
void cl_stopping_drop(struct cluster *cl, uint64_t id);

/* cluster_claim.c: the claim's rows dropped; this node's claims, read
 * after a (re)connect. */
void cl_claim_rows_clear(struct cluster *cl);
/* The gathering claim's timer ran out (cl_gather): the claim goes. */
void cl_gathered(struct ev_io *io, uint32_t events);
void cl_mine_done(void *arg, const PGresult *res, const char *err);

/* cluster_end.c: the ends not sent yet, sent. True if the last of them
 * wait for the caller's sync, which commits them with what it sends
 * after them. */
bool cl_send_ends(struct cluster *cl);

/* cluster_after.c: the dependents of jobs that ended ("1,2,3"), and
 * every waiting job, a page at a time, looked at. True if the look was
 * sent now, with a sync that also commits what was sent before it. */
bool cl_settle_ended(struct cluster *cl, const char *ids);
void cl_settle_sweep(struct cluster *cl);

/* cluster_submit.c: submissions in flight, sent (again) and let go. */
void cl_submit_send(struct cl_submit *s);
void cl_submit_free(struct cl_submit *s);

#endif
