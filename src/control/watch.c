/* Who waits for which job. */
#include "common/compat.h"

#include <sys/queue.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "core/job.h"
#include "control/control.h"
#include "control/watch.h"

struct waiter;

/* One job's waiters. */
struct watch_job {
	RB_ENTRY(watch_job) node;
	uint64_t job_id;
	TAILQ_HEAD(, watch_ref) refs;
};

struct watch_ref {
	TAILQ_ENTRY(watch_ref) by_job;
	struct waiter *waiter;
	struct watch_job *job;
};

/* One client's waits. */
struct watch_peer {
	RB_ENTRY(watch_peer) node;
	struct client *client;
	TAILQ_HEAD(, waiter) waiters;
	size_t n;
};

struct waiter {
	TAILQ_ENTRY(waiter) by_client;
	struct watch_peer *peer;
	json_t *req_id;
	enum watch_mode mode;
	bool events;
	size_t remaining;
	json_t *results;
	size_t nrefs;
	struct watch_ref refs[];
};

static int
watch_job_cmp(const struct watch_job *a, const struct watch_job *b)
{
	return a->job_id < b->job_id ? -1 : a->job_id > b->job_id;
}

static int
watch_peer_cmp(const struct watch_peer *a, const struct watch_peer *b)
{
	uintptr_t x = (uintptr_t)a->client, y = (uintptr_t)b->client;

	return x < y ? -1 : x > y;
}

RB_HEAD(watch_jobs, watch_job);
RB_GENERATE_STATIC(watch_jobs, watch_job, node, watch_job_cmp)
RB_HEAD(watch_peers, watch_peer);
RB_GENERATE_STATIC(watch_peers, watch_peer, node, watch_peer_cmp)

struct watch {
	struct watch_jobs jobs;
	struct watch_peers peers;
};

struct watch *
watch_new(void)
{
	struct watch *w;

	if ((w = calloc(1, sizeof *w)) == NULL)
		return NULL;
	RB_INIT(&w->jobs);
	RB_INIT(&w->peers);
	return w;
}

static struct watch_job *
watch_job_get(struct watch *w, uint64_t id, bool create)
{
	struct watch_job key = {.job_id = id}, *j;

	if ((j = RB_FIND(watch_jobs, &w->jobs, &key)) != NULL || !create)
		return j;
	if ((j = calloc(1, sizeof *j)) == NULL)
		return NULL;
	j->job_id = id;
	TAILQ_INIT(&j->refs);
	RB_INSERT(watch_jobs, &w->jobs, j);
	return j;
}

static struct watch_peer *
watch_peer_get(struct watch *w, struct client *c, bool create)
{
	struct watch_peer key = {.client = c}, *p;

	if ((p = RB_FIND(watch_peers, &w->peers, &key)) != NULL || !create)
		return p;
	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	p->client = c;
	TAILQ_INIT(&p->waiters);
	RB_INSERT(watch_peers, &w->peers, p);
	return p;
}

static void
watch_unref(struct watch *w, struct watch_ref *ref)
{
	struct watch_job *j = ref->job;

	if (j == NULL)
		return;
	TAILQ_REMOVE(&j->refs, ref, by_job);
	ref->job = NULL;
	if (TAILQ_EMPTY(&j->refs)) {
		RB_REMOVE(watch_jobs, &w->jobs, j);
		free(j);
	}
}

static void
waiter_free(struct watch *w, struct waiter *wt)
{
	struct watch_peer *p = wt->peer;
	size_t i;

	for (i = 0; i < wt->nrefs; i++)
		watch_unref(w, &wt->refs[i]);
	TAILQ_REMOVE(&p->waiters, wt, by_client);
	if (--p->n == 0) {
		RB_REMOVE(watch_peers, &w->peers, p);
		free(p);
	}
	json_decref(wt->req_id);
	json_decref(wt->results);
	free(wt);
}

size_t
watch_pending(struct watch *w, struct client *c)
{
	struct watch_peer *p = watch_peer_get(w, c, false);

	return p != NULL ? p->n : 0;
}

int
watch_add(struct watch *w, struct client *c, json_t *req_id,
	  enum watch_mode mode, bool events, const uint64_t *ids, size_t n,
	  json_t *done)
{
	struct watch_peer *p;
	struct watch_job *j;
	struct waiter *wt;
	size_t i;

	if ((p = watch_peer_get(w, c, true)) == NULL ||
	    (wt = calloc(1, sizeof *wt + n * sizeof wt->refs[0])) == NULL) {
		if (p != NULL && p->n == 0) {
			RB_REMOVE(watch_peers, &w->peers, p);
			free(p);
		}
		json_decref(done);
		return -1;
	}
	wt->peer = p;
	wt->req_id = req_id != NULL ? json_incref(req_id) : NULL;
	wt->mode = mode;
	wt->events = events;
	wt->results = done;
	TAILQ_INSERT_TAIL(&p->waiters, wt, by_client);
	p->n++;
	for (i = 0; i < n; i++) {
		if ((j = watch_job_get(w, ids[i], true)) == NULL) {
			waiter_free(w, wt);
			return -1;
		}
		wt->refs[i].waiter = wt;
		wt->refs[i].job = j;
		TAILQ_INSERT_TAIL(&j->refs, &wt->refs[i], by_job);
		wt->nrefs++;
		wt->remaining++;
	}
	return 0;
}

static json_t *
watch_message(struct waiter *wt, const char *key, json_t *value)
{
	json_t *msg = json_object();

	if (wt->req_id != NULL)
		json_object_set(msg, "id", wt->req_id);
	json_object_set_new(msg, key, value);
	return msg;
}

/* Each waiter names a job at most once (ops dedupe the ids), so the
 * refs of one job belong to distinct waiters. */
int
watch_jobs_waited(const struct watch *w, uint64_t **ids, size_t *n)
{
	struct watch_job *j;
	size_t cap = 0;

	*ids = NULL;
	*n = 0;
	RB_FOREACH (j, watch_jobs, (struct watch_jobs *)&w->jobs) {
		if (array_reserve((void **)ids, &cap, *n, sizeof **ids) == -1) {
			free(*ids);
			*ids = NULL;
			*n = 0;
			return -1;
		}
		(*ids)[(*n)++] = j->job_id;
	}
	return 0;
}

bool
watch_wanted(const struct watch *w, uint64_t id)
{
	return watch_job_get((struct watch *)w, id, false) != NULL;
}

void
watch_job_final(struct watch *w, uint64_t id, const struct job_result *r)
{
	struct watch_job *j = watch_job_get(w, id, false);
	struct watch_ref *ref;
	struct waiter *wt;
	json_t *msg;

	if (j == NULL)
		return;
	RB_REMOVE(watch_jobs, &w->jobs, j);
	while ((ref = TAILQ_FIRST(&j->refs)) != NULL) {
		TAILQ_REMOVE(&j->refs, ref, by_job);
		ref->job = NULL;
		wt = ref->waiter;
		if (wt->mode == WATCH_FOLLOW || wt->events) {
			msg = watch_message(wt, "job", job_result_json(id, r));
			json_object_set_new(msg, "event",
					    json_string(wt->mode == WATCH_FOLLOW
							    ? "ended"
							    : "job_ended"));
			control_push(wt->peer->client, msg);
		}
		json_array_append_new(wt->results, job_result_json(id, r));
		if (--wt->remaining > 0)
			continue;
		if (wt->mode == WATCH_WAIT) {
			msg = watch_message(wt, "ok", json_true());
			json_object_set(msg, "jobs", wt->results);
			control_push(wt->peer->client, msg);
		}
		waiter_free(w, wt);
	}
	free(j);
}

void
watch_client_gone(struct watch *w, struct client *c)
{
	struct watch_peer *p = watch_peer_get(w, c, false);
	size_t n;

	/* The last waiter_free frees the peer itself. */
	for (n = p != NULL ? p->n : 0; n > 0; n--)
		waiter_free(w, TAILQ_FIRST(&p->waiters));
}

void
watch_free(struct watch *w)
{
	struct watch_peer *p;

	if (w == NULL)
		return;
	while ((p = RB_MIN(watch_peers, &w->peers)) != NULL)
		watch_client_gone(w, p->client);
	free(w);
}
