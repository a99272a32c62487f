/*
 * What the request handlers share: the context they act through (the
 * supervisor's modules, given at ops_new), error replies, and who may
 * see or touch which job.
 */
#ifndef FORQ_OPS_COMMON_H
#define FORQ_OPS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/compat.h"

struct access_policy;
struct cg_tree;
struct conf;
struct job_limits;
struct draining;
struct jobs;
struct running;
struct store;
struct watch;
struct workers;

/* How forqd stops, by signal or by forq shutdown. */
enum ops_stop {
	/* Running jobs stay with their workers for the next forqd to take
	 * on (a restart, an upgrade): the default. */
	OPS_STOP_LEAVE,
	/* Running jobs end as they will, within stop_grace. */
	OPS_STOP_DRAIN,
	/* Running jobs are stopped (TERM, then KILL after kill_grace) and
	 * queued again, as interrupted: a shutdown of the machine. */
	OPS_STOP_KILL,
};

/* Told to the supervisor, which acts on it after the turn, once the
 * reply is out: forq shutdown. */
typedef void ops_stop_fn(void *arg, enum ops_stop how);

/* What the handlers act through; the pointers stay the supervisor's
 * (conf, access and limits change in place at a reload). */
struct ops_deps {
	const struct conf *conf;
	const struct access_policy *access;
	const struct job_limits *limits;
	struct store *store;
	struct jobs *jobs;
	struct running *running;
	struct draining *draining;
	struct watch *watch;
	const struct workers *workers;
	struct node *node;        /* NULL: this host alone (backend = sqlite) */
	struct later *later;      /* replies that wait on the database */
	struct cluster *cluster;  /* the node's shared queue, with node */
	const struct cg_tree *cg; /* where running jobs' counters are */
	bool cgroups;             /* jobs run in cgroups: --mem can be kept */
	bool cpusets; /* and in cpusets: --cpus above 1 can be kept */
	ops_stop_fn *stop;
	void *stop_arg;
};

/* Whether new jobs are taken. */
enum ops_intake {
	OPS_OPEN,
	OPS_FULL,     /* state_dir has no room */
	OPS_STOPPING, /* forqd is stopping */
};

struct ops *ops_new(const struct ops_deps *deps);
void ops_free(struct ops *ops);
void ops_set_intake(struct ops *ops, enum ops_intake intake);
struct ops {
	struct ops_deps d;
	enum ops_intake intake;
	int64_t started_ns; /* monotonic: forqd's uptime */
};

struct client;
struct request;
struct req_error;
struct store_job;

/* Error replies: a code and a message; a named limit and its value; the
 * store's last error; a request's field error. */
json_t *ops_error(const struct request *req, const char *code, const char *fmt,
		  ...) __printflike(3, 4);
json_t *ops_limit(const struct request *req, const char *limit,
		  unsigned long long max, const char *fmt, ...)
    __printflike(4, 5);
json_t *ops_store_error(struct ops *ops, const struct request *req);
json_t *ops_req_error(const struct req_error *err);
json_t *ops_not_found(const struct request *req, uint64_t id);
json_t *ops_not_permitted(const struct request *req, uint64_t id);
/* Seconds since the epoch, or null for 0. */
json_t *ops_time(int64_t ns);

/* Root or a member of admin_group: sees and acts on every job. */
bool ops_is_admin(struct ops *ops, const struct client *c);
/* A user sees and acts on their own jobs; an admin on everyone's. */
bool ops_may_touch(struct ops *ops, struct client *c,
		   const struct store_job *job);
/* The job a request names, if it exists and the client may see it;
 * else the error reply. */
json_t *ops_get_job(struct ops *ops, struct client *c,
		    const struct request *req, uint64_t id,
		    struct store_job *job);
/* As ops_get_job, for a request that makes the job run again or
 * changes it: that stays with its owner and root, admin_group or not. */
json_t *ops_get_own_job(struct ops *ops, struct client *c,
			const struct request *req, uint64_t id,
			struct store_job *job, const char *what);
struct job_edit;
/* The edit a set request asks for (e), checked, queue included: NULL,
 * or the error reply (e is then freed). */
json_t *ops_edit_of(struct ops *ops, const struct request *req,
		    struct job_edit *e);
/* Whose jobs a list or clean is about (see ops.c). */
json_t *ops_whose(struct ops *ops, struct client *c, const struct request *req,
		  int64_t *uid);
/* Before the events of a wait for jobs the client did not name. */
void ops_push_waiting(struct client *c, const struct request *req, size_t n);

/* Tasks named as users name them, in "job" and "jobs": "41_7" becomes
 * the task's id, and in "jobs" an array's id stands for all its tasks.
 * NULL, or the error reply (no such task). */
json_t *ops_resolve_tasks(struct ops *ops, const struct request *req);

#endif
