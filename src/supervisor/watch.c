/* Who waits for which job. */
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "supervisor/supervisor.h"
#include "supervisor/watch.h"

struct watch_ref {
	TAILQ_ENTRY(watch_ref) by_job;
	struct waiter *waiter;
	struct watch *watch;
};

struct watch {
	RB_ENTRY(watch) node;
	uint64_t job_id;
	TAILQ_HEAD(, watch_ref) refs;
};

struct waiter {
	TAILQ_ENTRY(waiter) by_client;
	struct client *client;
	struct waiter_list *list;
	json_t *req_id;
	enum watch_mode mode;
	bool events;
	size_t remaining;
	json_t *results;
	size_t nrefs;
	struct watch_ref refs[];
};

static int
watch_cmp(const struct watch *a, const struct watch *b)
{
	return a->job_id < b->job_id ? -1 : a->job_id > b->job_id;
}

RB_HEAD(watch_tree, watch);
RB_GENERATE_STATIC(watch_tree, watch, node, watch_cmp)

static struct watch_tree *
watch_tree(struct supervisor *sv)
{
	if (sv->watches == NULL &&
	    (sv->watches = calloc(1, sizeof *sv->watches)) != NULL)
		RB_INIT(sv->watches);
	return sv->watches;
}

static struct watch *
watch_get(struct supervisor *sv, uint64_t id, bool create)
{
	struct watch key = {.job_id = id}, *w;
	struct watch_tree *tree = watch_tree(sv);

	if (tree == NULL)
		return NULL;
	if ((w = RB_FIND(watch_tree, tree, &key)) != NULL || !create)
		return w;
	if ((w = calloc(1, sizeof *w)) == NULL)
		return NULL;
	w->job_id = id;
	TAILQ_INIT(&w->refs);
	RB_INSERT(watch_tree, tree, w);
	return w;
}

static void
watch_unref(struct supervisor *sv, struct watch_ref *ref)
{
	struct watch *w = ref->watch;

	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->refs, ref, by_job);
	ref->watch = NULL;
	if (TAILQ_EMPTY(&w->refs)) {
		RB_REMOVE(watch_tree, sv->watches, w);
		free(w);
	}
}

static void
waiter_free(struct supervisor *sv, struct waiter *wt)
{
	size_t i;

	for (i = 0; i < wt->nrefs; i++)
		watch_unref(sv, &wt->refs[i]);
	TAILQ_REMOVE(wt->list, wt, by_client);
	json_decref(wt->req_id);
	json_decref(wt->results);
	free(wt);
}

size_t
watch_pending(const struct waiter_list *list)
{
	const struct waiter *wt;
	size_t n = 0;

	TAILQ_FOREACH (wt, list, by_client)
		n++;
	return n;
}

int
watch_add(struct supervisor *sv, struct client *c, struct waiter_list *list,
	  json_t *req_id, enum watch_mode mode, bool events,
	  const uint64_t *ids, size_t n, json_t *done)
{
	struct waiter *wt;
	struct watch *w;
	size_t i;

	wt = calloc(1, sizeof *wt + n * sizeof wt->refs[0]);
	if (wt == NULL) {
		json_decref(done);
		return -1;
	}
	wt->client = c;
	wt->list = list;
	wt->req_id = req_id != NULL ? json_incref(req_id) : NULL;
	wt->mode = mode;
	wt->events = events;
	wt->results = done;
	TAILQ_INSERT_TAIL(list, wt, by_client);
	for (i = 0; i < n; i++) {
		if ((w = watch_get(sv, ids[i], true)) == NULL) {
			waiter_free(sv, wt);
			return -1;
		}
		wt->refs[i].waiter = wt;
		wt->refs[i].watch = w;
		TAILQ_INSERT_TAIL(&w->refs, &wt->refs[i], by_job);
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
 * refs in this watch belong to distinct waiters. */
void
watch_job_final(struct supervisor *sv, uint64_t id, const struct job_result *r)
{
	struct watch *w = watch_get(sv, id, false);
	struct watch_ref *ref;
	struct waiter *wt;
	json_t *msg;

	if (w == NULL)
		return;
	RB_REMOVE(watch_tree, sv->watches, w);
	while ((ref = TAILQ_FIRST(&w->refs)) != NULL) {
		TAILQ_REMOVE(&w->refs, ref, by_job);
		ref->watch = NULL;
		wt = ref->waiter;
		if (wt->mode == WATCH_FOLLOW || wt->events) {
			msg = watch_message(wt, "job", job_result_json(id, r));
			json_object_set_new(msg, "event",
					    json_string(wt->mode == WATCH_FOLLOW
							    ? "ended"
							    : "job_ended"));
			control_push(wt->client, msg);
		}
		json_array_append_new(wt->results, job_result_json(id, r));
		if (--wt->remaining > 0)
			continue;
		if (wt->mode == WATCH_WAIT) {
			msg = watch_message(wt, "ok", json_true());
			json_object_set(msg, "jobs", wt->results);
			control_push(wt->client, msg);
		}
		waiter_free(sv, wt);
	}
	free(w);
}

void
watch_client_gone(struct supervisor *sv, struct waiter_list *list)
{
	struct waiter *wt;

	while ((wt = TAILQ_FIRST(list)) != NULL)
		waiter_free(sv, wt);
}

void
watch_free_all(struct supervisor *sv)
{
	free(sv->watches);
	sv->watches = NULL;
}
