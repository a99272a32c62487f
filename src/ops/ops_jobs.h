/* The requests that change jobs: submit, cancel, retry, set, clean. */
#ifndef FORQ_OPS_JOBS_H
#define FORQ_OPS_JOBS_H

#include <stddef.h>

#include <jansson.h>

struct client;
struct ops;
struct request;

json_t *ops_submit(struct ops *ops, struct client *c,
		   const struct request *req);
struct job_spec;
/* A submit's jobs, checked and given their queue's defaults: NULL and
 * *specs (freed by ops_specs_free), or the error reply. The jobs they
 * wait for are the caller's to find: in this node's store, or in the
 * cluster's database. */
json_t *ops_submit_specs(struct ops *ops, struct client *c,
			 const struct request *req, struct job_spec **specs,
			 size_t *n);
void ops_specs_free(struct job_spec *specs, size_t n);
/* A submit's reply's "arrays": each array's id (its first task's, ids
 * one for each job and task in order) and how many tasks it has. */
json_t *ops_arrays_json(const struct job_spec *specs, size_t n,
			const uint64_t *ids);
json_t *ops_cancel(struct ops *ops, struct client *c,
		   const struct request *req);
json_t *ops_hold(struct ops *ops, struct client *c, const struct request *req);
json_t *ops_release(struct ops *ops, struct client *c,
		    const struct request *req);
json_t *ops_retry(struct ops *ops, struct client *c, const struct request *req);
json_t *ops_set(struct ops *ops, struct client *c, const struct request *req);
json_t *ops_clean(struct ops *ops, struct client *c, const struct request *req);
/* Ended jobs one clean removes at most ("more": true if it did). */
#define CLEAN_BATCH 10000
struct store_filter;
/* What a clean is asked to remove: the state, whose, ended before when
 * (0: whenever); NULL, or the error reply. */
json_t *ops_clean_filter(struct ops *ops, struct client *c,
			 const struct request *req, struct store_filter *f,
			 int64_t *before);

#endif
