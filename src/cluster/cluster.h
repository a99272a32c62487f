/*
 * The shared queue of a cluster, on the node's PostgreSQL connection:
 * submissions go into it, this node claims from it what it has room
 * for, and the ends of the jobs it ran go back into it. A claimed job
 * becomes a queued job of this node's own store, which runs it as it
 * runs any job, and which keeps its end until the cluster's database
 * has it: the node's store is its outbox, so an end survives a crash
 * of forqd or of the database (and a power cut of the node once
 * synced, within CLUSTER_STORE_SYNC_MS). Reads that clients ask for go
 * to the database and are answered when its rows come.
 */
#ifndef FORQ_CLUSTER_H
#define FORQ_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The most a node's own store waits, idle, to sync what it committed:
 * no client is told anything of it (see sv_sync_delay_ms). */
#define CLUSTER_STORE_SYNC_MS 1000

struct conf;
struct job_edit;
struct job_limits;
struct job_result;
struct job_spec;
struct node;
struct pg;
struct store;
struct store_filter;
struct store_attempt;
struct store_job;
struct cluster;

struct cluster_cb {
	/* Jobs this node can run at once now (0: none, it is stopping or
	 * its disk is full): it claims up to that, less what it holds;
	 * *per_worker: what one worker counts for in it, which a job with
	 * CPUs of its own weighs for each of its workers. */
	uint32_t (*room)(void *arg, uint32_t *per_worker);
	/* The most one job may have here: CPUs of its own (--cpus), and
	 * bytes of --mem (0: none, no memory is held here). */
	void (*fits)(void *arg, uint32_t *cpus, uint64_t *mem);
	/* Of each [resources] kind (the conf's order), how many a job
	 * claimed now could be given here. */
	void (*res_left)(void *arg, uint32_t *left);
	/* A claimed job, to be queued here: -1 if it cannot be (it is
	 * given back to the cluster). */
	int (*claimed)(void *arg, const struct store_job *job);
	/* A job that runs here is to be cancelled (asked on another node). */
	void (*cancel)(void *arg, uint64_t id);
	/* Jobs that ended, here or on another node, once the database
	 * has their end: whoever waits here for them is told. wanted says
	 * whether anyone does. */
	bool (*wanted)(void *arg, uint64_t id);
	/* Every job waited for here (*ids malloc'd): looked at once a
	 * second, a NOTIFY missed or not. */
	int (*waited)(void *arg, uint64_t **ids, size_t *n);
	void (*ended)(void *arg, uint64_t id, const struct job_result *r);
	/* The database has the end of a job this node ran: the node's
	 * copy of it may go, now or once what follows it here has run. */
	void (*forget)(void *arg, uint64_t id);
	/* A job this node ran left the history by retention: its output
	 * files, kept here till then, go. */
	void (*pruned)(void *arg, uint64_t id);
	void *arg;
};

struct ev_loop;

/* pg: the node's connection (statements); LISTEN gets one of its own.
 * key: the cluster's, which signs the specs submitted here and checks
 * those claimed (core/sign.h). */
struct cluster *cluster_new(struct ev_loop *loop, const struct conf *conf,
			    const struct job_limits *limits,
			    struct store *store, struct node *node,
			    const struct cluster_cb *cb);
void cluster_free(struct cluster *cl);
/* The connection is up (again): what was not answered is sent again,
 * and the queue is looked at at once. */
void cluster_up(struct cluster *cl);
/* A NOTIFY on the LISTEN connection. */
void cluster_notify(struct cluster *cl, const char *channel,
		    const char *payload);
/* Whenever room may have come (and once a second by itself): claims
 * what fits. */
void cluster_poll(struct cluster *cl);
/* End of a loop turn: the turn's ends go out, with one NOTIFY. */
void cluster_end_turn(struct cluster *cl);

/* This node's lease was lost (others may have taken its jobs on): its
 * claimed jobs are queued again in the cluster and stopped here, and it
 * claims nothing until cluster_lease_held. */
void cluster_lease_lost(struct cluster *cl);
/* The lease is held (joined, joined again, or renewed). */
void cluster_lease_held(struct cluster *cl);
/* The node's claims are known since it connected: until then it
 * starts nothing (what its store holds may be another's by now). */
bool cluster_ready(const struct cluster *cl);

/* The ends this node's store holds that the cluster has not recorded
 * yet (left by a previous forqd): sent once connected. */
int cluster_load(struct cluster *cl);
/* A job that ran here ended for good: recorded in the cluster. */
void cluster_ended(struct cluster *cl, uint64_t id);

/* existing[i]: ids[i] is a job not ended of the same user that held
 * job i's unique key, which was not stored. */
typedef void cluster_ids_fn(void *arg, const uint64_t *ids,
			    const bool *existing, size_t n, const char *err);
/* Jobs submitted through this node, as uid/gid (user: the name they
 * run as on the node that claims them); fn gets their ids once the
 * database has committed them, or err. -1: not connected. */
int cluster_submit(struct cluster *cl, const struct job_spec *specs, size_t n,
		   uid_t uid, gid_t gid, const char *user, cluster_ids_fn *fn,
		   void *arg);

/* A job as the database has it; node: where it runs or ran (NULL:
 * nowhere yet). job NULL and err NULL: no such job. */
typedef void cluster_job_fn(void *arg, const struct store_job *job,
			    const char *node, const char *err);
int cluster_get(struct cluster *cl, uint64_t id, cluster_job_fn *fn, void *arg);
/* Those of ids there are, in no order, as cluster_list gives them. */
int cluster_get_many(struct cluster *cl, const uint64_t *ids, size_t n,
		     cluster_job_fn *fn, void *arg);
/* What a wait reads of jobs: each one's owner, and its state and
 * result in r (r->state; an unended job's result is empty), in no
 * order; then fn once with r NULL (err: why it stopped short). Not
 * their specs: parsed for nothing, they were a third of the
 * supervisor's time in a 10,000-job `submit -w`. */
typedef void cluster_result_fn(void *arg, uint64_t id, uid_t uid,
			       const struct job_result *r, const char *err);
int cluster_results_many(struct cluster *cl, const uint64_t *ids, size_t n,
			 cluster_result_fn *fn, void *arg);
/* Jobs newest first, as store_list; fn is called for each, then once
 * with job NULL (err: why it stopped short). */
int cluster_list(struct cluster *cl, const struct store_filter *filter,
		 uint32_t limit, cluster_job_fn *fn, void *arg);

/* The attempts of a job before its last, in order (node: where each
 * ran), then fn once with a NULL (err: why it stopped short). */
typedef void cluster_attempt_fn(void *arg, const struct store_attempt *a,
				const char *node, const char *err);
int cluster_attempts(struct cluster *cl, uint64_t id, cluster_attempt_fn *fn,
		     void *arg);

/* Where a job's output is: node ran it (NULL: none yet); on this node
 * its files are in the state directory; elsewhere, once it has ended,
 * the database kept the last bytes of each (kept: it did). */
struct cluster_output {
	const char *node;
	const char *state_dir; /* the node's, as it said */
	const char *user;      /* the job's user, by name */
	bool ran_here;
	bool kept;
	const unsigned char *out, *err;
	size_t out_len, err_len;
};
typedef void cluster_logs_fn(void *arg, const struct store_job *job,
			     const struct cluster_output *o, const char *err);
int cluster_output(struct cluster *cl, uint64_t id, cluster_logs_fn *fn,
		   void *arg);

/* How many tasks of an array are in each state (counts indexed by
 * state), or err. */
typedef void cluster_states_fn(void *arg, const uint64_t *counts,
			       const char *err);
int cluster_array_states(struct cluster *cl, uint64_t array_id,
			 cluster_states_fn *fn, void *arg);
/* The tasks named by n (array, index) pairs (index < 0: every task of
 * the array, or the task whose id the number is), in the order asked
 * and then by index: for each task found, which pair named it (from
 * 0), its id and its array's; or err. */
struct cluster_task {
	size_t which;
	uint64_t id;
	uint64_t array;
	uint32_t index;
};
typedef void cluster_tasks_fn(void *arg, const struct cluster_task *t, size_t n,
			      const char *err);
int cluster_tasks(struct cluster *cl, const uint64_t *arrays,
		  const int64_t *indexes, size_t n, cluster_tasks_fn *fn,
		  void *arg);

/* The jobs not ended of uid (-1: anyone's; in queue, unless NULL;
 * only those claimed by some node, if claimed), oldest first: what forq
 * wait --all waits for, and forq drain. */
typedef void cluster_ids_only_fn(void *arg, const uint64_t *ids, size_t n,
				 const char *err);
int cluster_unfinished(struct cluster *cl, int64_t uid, const char *queue,
		       bool claimed, cluster_ids_only_fn *fn, void *arg);

/* Each queue's jobs not ended, across the nodes, and whether it is
 * paused (queues with neither are not there; "" stands for all of
 * them, paused or not). */
struct cluster_queue_load {
	const char *queue;
	uint64_t queued, running, scheduled;
	bool paused;
};
typedef void cluster_load_fn(void *arg, const struct cluster_queue_load *q,
			     size_t n, const char *err);
int cluster_queues(struct cluster *cl, cluster_load_fn *fn, void *arg);

/* What a change a client asked for came to. */
enum cluster_outcome {
	CLUSTER_DONE,        /* a cancel before the job started, a retry,
				a change, a clean (n: how many), a pause */
	CLUSTER_ASKED,       /* cancel: it runs on a node, which is asked to */
	CLUSTER_NOT_PENDING, /* cancel, set, hold: it runs or ended; retry:
				it has not ended */
	CLUSTER_NOT_HELD,    /* release: it was not held */
	CLUSTER_NO_SUCH_JOB,
	CLUSTER_KEY_HELD, /* retry: a job not ended holds its unique key */
	CLUSTER_FAILED,   /* err says why */
};
/* n: retry, the attempt now queued (0: the first); clean, the number
 * removed; hold and release, the job's state now (enum job_state). */
typedef void cluster_change_fn(void *arg, enum cluster_outcome how, int64_t n,
			       const char *err);

/* Each acts as uid (-1: on anyone's jobs); -1: not connected. */
int cluster_cancel(struct cluster *cl, uint64_t id, int64_t uid,
		   cluster_change_fn *fn, void *arg);
/* A job not claimed yet is held: no node claims it until its release,
 * which puts it where it would be had it never been held (waiting,
 * scheduled, queued). */
int cluster_hold(struct cluster *cl, uint64_t id, int64_t uid,
		 cluster_change_fn *fn, void *arg);
int cluster_release(struct cluster *cl, uint64_t id, int64_t uid,
		    cluster_change_fn *fn, void *arg);
/* An ended job queued again, as its next attempt. */
int cluster_retry(struct cluster *cl, uint64_t id, int64_t uid,
		  cluster_change_fn *fn, void *arg);
/* A job not claimed yet takes another priority, start time, queue,
 * timeout or name (the fields of e; n: its state now); the last three
 * are in its spec, which this node signs anew. */
int cluster_edit(struct cluster *cl, uint64_t id, int64_t uid,
		 const struct job_edit *e, cluster_change_fn *fn, void *arg);
/* Ended jobs out of the history: at most limit of them, in state
 * (-1: any), ended before before_ns (0: whenever). Their output files
 * go too, on the node that ran each (this one now, the others at their
 * next round of retention). */
int cluster_clean(struct cluster *cl, int state, int64_t uid, int64_t before_ns,
		  uint32_t limit, cluster_change_fn *fn, void *arg);
/* No node claims the queue's jobs while it is paused; jobs a node
 * claimed already run. */
int cluster_pause(struct cluster *cl, const char *queue, bool paused,
		  cluster_change_fn *fn, void *arg);

#endif
