/*
 * Clients waiting for jobs to end: `forq wait`, `submit --wait`, and
 * `logs -f`. A tree keyed by job id holds who waits for what, so a
 * job's end reaches its waiters without a scan; a tree keyed by client
 * holds each client's waits, so one that goes away takes them along.
 */
#ifndef FORQ_WATCH_H
#define FORQ_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct client;
struct job_result;
struct watch;

enum watch_mode {
	WATCH_WAIT,   /* reply once all have ended; events per job if asked */
	WATCH_FOLLOW, /* one event when the job ends */
};

struct watch *watch_new(void);
void watch_free(struct watch *w);
/* Waits for the jobs in ids that are not final yet; done (an array of
 * results of the ones already final) is taken over. */
int watch_add(struct watch *w, struct client *c, json_t *req_id,
	      enum watch_mode mode, bool events, const uint64_t *ids, size_t n,
	      json_t *done);
void watch_job_final(struct watch *w, uint64_t id, const struct job_result *r);
/* Every job someone waits for; *ids is malloc'd. */
int watch_jobs_waited(const struct watch *w, uint64_t **ids, size_t *n);
/* Someone waits for job id. */
bool watch_wanted(const struct watch *w, uint64_t id);
void watch_client_gone(struct watch *w, struct client *c);
/* How many waits a client has pending. */
size_t watch_pending(struct watch *w, struct client *c);

#endif
