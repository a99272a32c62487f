/*
 * A cluster node's requests that read the shared queue, and the owed
 * answer of one request, which those that change it (ops_cluster.c,
 * ops_cluster_submit.c) give the same way. Nothing but those two
 * include this.
 */
#ifndef FORQ_OPS_CLUSTER_READ_H
#define FORQ_OPS_CLUSTER_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/compat.h"
#include "core/job.h"

struct client;
struct ops;
struct request;
struct store_job;

/* What an answer from the database needs to be replied with. */
struct ask {
	struct ops *ops;
	struct later_reply *reply;
	json_t *req; /* the request's root, kept */
	uid_t uid;   /* the client's */
	bool admin;  /* it sees and acts on every job */
	size_t left; /* answers still to come */
	json_t *acc; /* what the answers so far made */
	json_t *done;
	uint64_t *ids;
	size_t nids;
	uint64_t id;    /* status: the job asked about */
	bool *seen;     /* wait: which of ids the database has */
	size_t *byid;   /* wait: the indexes of ids, in the order of the ids */
	bool events;    /* wait: an event per job */
	bool drain;     /* pause: and wait for what runs */
	bool head;      /* status: of an array's first task, the array */
	enum req_op op; /* a request served once its tasks are named */
	bool failed;
	/* submit with dependencies: the jobs, until those they wait for
	 * are found; who submits them. */
	struct job_spec *specs;
	size_t nspecs;
	gid_t gid;
	char *user;
};

struct ask *opsc_ask_new(struct ops *ops, struct client *c,
			 const struct request *req);
/* reply NULL: the token was answered another way. Frees a. */
void opsc_ask_answer(struct ask *a, json_t *reply);
json_t *opsc_ask_error(struct ask *a, const char *code, const char *fmt, ...)
    __printflike(3, 4);
/* The database did not answer as it should: err says why. */
json_t *opsc_db_error(struct ask *a, const char *err);
bool opsc_ask_may_touch(const struct ask *a, uid_t owner);
/* wait --all, --queue, and drain: the jobs ids names, waited for. */
void opsc_wait_mine(void *arg, const uint64_t *ids, size_t n, const char *err);

/* The reads: the reply, or NULL when it comes later. */
json_t *opsc_status(struct ops *ops, struct client *c,
		    const struct request *req);
json_t *opsc_list(struct ops *ops, struct client *c, const struct request *req);
json_t *opsc_wait(struct ops *ops, struct client *c, const struct request *req);
json_t *opsc_queues(struct ops *ops, struct client *c,
		    const struct request *req);
json_t *opsc_logs(struct ops *ops, struct client *c, const struct request *req);

/* ops_cluster_submit.c: a submit, answered later (NULL) or now. */
json_t *opsc_submit(struct ops *ops, struct client *c,
		    const struct request *req);

#endif
