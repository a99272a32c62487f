/*
 * Clients waiting for jobs to end: `forq wait`, `submit --wait`, and
 * `logs -f`. A tree keyed by job id holds who waits for what, so a
 * job's end reaches its waiters without a scan, and a client that goes
 * away takes its waits with it.
 */
#ifndef FORQ_WATCH_H
#define FORQ_WATCH_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct supervisor;
struct client;
struct job_result;
struct waiter;
TAILQ_HEAD(waiter_list, waiter);

enum watch_mode {
	WATCH_WAIT,   /* reply once all have ended; events per job if asked */
	WATCH_FOLLOW, /* one event when the job ends */
};

/* Waits for the jobs in ids that are not final yet; done (an array of
 * results of the ones already final) is taken over. */
int watch_add(struct supervisor *sv, struct client *c, struct waiter_list *list,
	      json_t *req_id, enum watch_mode mode, bool events,
	      const uint64_t *ids, size_t n, json_t *done);
void watch_job_final(struct supervisor *sv, uint64_t id,
		     const struct job_result *r);
void watch_client_gone(struct supervisor *sv, struct waiter_list *list);
/* How many waits a client has pending. */
size_t watch_pending(const struct waiter_list *list);
void watch_free_all(struct supervisor *sv);

/* control.c: how a waiter answers its client. */
void control_push(struct client *c, json_t *msg);

#endif
