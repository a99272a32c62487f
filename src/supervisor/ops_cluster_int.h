/*
 * What the two halves of a cluster node's requests share (ops_cluster.c
 * the reads and the dispatch, ops_cluster_change.c what changes the
 * queue): the owed answer of one request, and how it is given. Nothing
 * else includes this.
 */
#ifndef FORQ_OPS_CLUSTER_INT_H
#define FORQ_OPS_CLUSTER_INT_H

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
	uint64_t id;  /* status: the job asked about */
	bool *seen;   /* wait: which of ids the database has */
	size_t *byid; /* wait: the indexes of ids, in the order of the ids */
	bool events;  /* wait: an event per job */
	bool drain;   /* pause: and wait for what runs */
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
bool opsc_ask_may_touch(const struct ask *a, const struct store_job *job);
/* wait --all, --queue, and drain: the jobs ids names, waited for. */
void opsc_wait_mine(void *arg, const uint64_t *ids, size_t n, const char *err);

/* ops_cluster_change.c */
json_t *opsc_submit(struct ops *ops, struct client *c,
		    const struct request *req);
json_t *opsc_cancel(struct ops *ops, struct client *c,
		    const struct request *req);
json_t *opsc_retry(struct ops *ops, struct client *c,
		   const struct request *req);
json_t *opsc_set(struct ops *ops, struct client *c, const struct request *req);
json_t *opsc_clean(struct ops *ops, struct client *c,
		   const struct request *req);
json_t *opsc_pause(struct ops *ops, struct client *c,
		   const struct request *req);

#endif
