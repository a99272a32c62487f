/* The ready jobs: queues of users of heaps, and the choice of the next. */
#include <stdlib.h>
#include <string.h>

#include "common/heap.h"
#include "core/runq.h"

struct runq_user {
	uid_t uid;
	uint32_t running;
	uint64_t served;  /* the runq's count of picks at its last; 0: never */
	struct heap jobs; /* struct runq_job */
};

struct runq_queue {
	char *name;
	/* An array's own queue under its queue (parent): its parallel is
	 * the array's limit, its jobs count against the parent's too;
	 * parent -1: a queue of the conf. One whose array has nothing ready
	 * or running serves the next array. */
	int parent;
	uint64_t key;
	uint32_t parallel;
	uint32_t running;
	size_t ready; /* entries in the heaps */
	size_t stale; /* of them, those the supervisor will skip */
	bool paused;
	/* Users with ready or running jobs here: few, so an array. */
	struct runq_user **users;
	size_t nusers;
	size_t cap;
};

struct runq {
	struct runq_queue *queues;
	size_t nqueues;
	size_t ready, stale;
	size_t running;
	uint64_t picks;
	bool paused;
};

/* Higher priority first, then the older job. */
static bool
runq_job_before(const void *a, const void *b)
{
	const struct runq_job *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority > y->priority;
	return x->id < y->id;
}

struct runq *
runq_new(void)
{
	return calloc(1, sizeof(struct runq));
}

void
runq_free(struct runq *q)
{
	struct runq_queue *qu;
	size_t i, u;

	if (q == NULL)
		return;
	for (i = 0; i < q->nqueues; i++) {
		qu = &q->queues[i];
		for (u = 0; u < qu->nusers; u++) {
			heap_free(&qu->users[u]->jobs);
			free(qu->users[u]);
		}
		free(qu->users);
		free(qu->name);
	}
	free(q->queues);
	free(q);
}

int
runq_find(const struct runq *q, const char *name)
{
	size_t i;

	for (i = 0; i < q->nqueues; i++) {
		if (q->queues[i].parent == -1 &&
		    strcmp(q->queues[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

/* A new queue at the end: its index, or -1. */
static int
runq_add(struct runq *q, const char *name, int parent)
{
	struct runq_queue *more;

	if ((more = reallocarray(q->queues, q->nqueues + 1, sizeof *more)) ==
	    NULL)
		return -1;
	q->queues = more;
	memset(&more[q->nqueues], 0, sizeof *more);
	more[q->nqueues].parent = parent;
	if ((more[q->nqueues].name = strdup(name)) == NULL)
		return -1;
	return (int)q->nqueues++;
}

static bool
runq_idle(const struct runq_queue *qu)
{
	return qu->ready == 0 && qu->running == 0 && qu->nusers == 0;
}

int
runq_subqueue(struct runq *q, int parent, uint64_t key, uint32_t parallel)
{
	struct runq_queue *qu;
	size_t i;
	int spare = -1;

	for (i = 0; i < q->nqueues; i++) {
		qu = &q->queues[i];
		if (qu->parent != parent)
			continue;
		if (qu->key == key)
			return (int)i;
		if (spare == -1 && runq_idle(qu))
			spare = (int)i;
	}
	if (spare == -1 &&
	    (spare = runq_add(q, q->queues[parent].name, parent)) == -1)
		return -1;
	qu = &q->queues[spare];
	qu->key = key;
	qu->parallel = parallel;
	qu->stale = 0;
	return spare;
}

int
runq_queue(struct runq *q, const char *name)
{
	int i;

	if ((i = runq_find(q, name)) != -1)
		return i;
	return runq_add(q, name, -1);
}

size_t
runq_queues(const struct runq *q)
{
	return q->nqueues;
}

void
runq_set_parallel(struct runq *q, int queue, uint32_t parallel)
{
	q->queues[queue].parallel = parallel;
}

void
runq_set_paused(struct runq *q, int queue, bool paused)
{
	if (queue == RUNQ_ALL)
		q->paused = paused;
	else
		q->queues[queue].paused = paused;
}

bool
runq_paused(const struct runq *q, int queue)
{
	return queue == RUNQ_ALL ? q->paused : q->queues[queue].paused;
}

void
runq_info(const struct runq *q, int queue, struct runq_info *info)
{
	const struct runq_queue *qu = &q->queues[queue];
	size_t i;

	info->name = qu->name;
	info->parallel = qu->parallel;
	info->running = qu->running;
	info->ready = qu->ready - qu->stale;
	info->paused = qu->paused;
	info->parent = qu->parent;
	/* A queue's ready jobs include those of its arrays. */
	for (i = 0; qu->parent == -1 && i < q->nqueues; i++) {
		if (q->queues[i].parent == queue)
			info->ready += q->queues[i].ready - q->queues[i].stale;
	}
}

int
runq_conf_queue(const struct runq *q, int queue)
{
	return q->queues[queue].parent != -1 ? q->queues[queue].parent : queue;
}

/* The user's entry in a queue, made if asked and missing. */
static struct runq_user *
runq_user(struct runq_queue *qu, uid_t uid, bool make)
{
	struct runq_user **more, *u;
	size_t i, cap;

	for (i = 0; i < qu->nusers; i++) {
		if (qu->users[i]->uid == uid)
			return qu->users[i];
	}
	if (!make)
		return NULL;
	if (qu->nusers == qu->cap) {
		cap = qu->cap != 0 ? qu->cap * 2 : 4;
		if ((more = reallocarray(qu->users, cap, sizeof *more)) == NULL)
			return NULL;
		qu->users = more;
		qu->cap = cap;
	}
	if ((u = calloc(1, sizeof *u)) == NULL)
		return NULL;
	u->uid = uid;
	heap_init(&u->jobs, sizeof(struct runq_job), runq_job_before);
	qu->users[qu->nusers++] = u;
	return u;
}

/* A user with nothing ready and nothing running leaves the queue. */
static void
runq_user_drop_if_idle(struct runq_queue *qu, struct runq_user *u)
{
	size_t i;

	if (u->running > 0 || u->jobs.len > 0)
		return;
	for (i = 0; i < qu->nusers && qu->users[i] != u; i++)
		;
	qu->users[i] = qu->users[--qu->nusers];
	heap_free(&u->jobs);
	free(u);
}

int
runq_push(struct runq *q, int queue, uid_t uid, const struct runq_job *job)
{
	struct runq_queue *qu = &q->queues[queue];
	struct runq_user *u;

	if ((u = runq_user(qu, uid, true)) == NULL)
		return -1;
	if (heap_push(&u->jobs, job) == -1) {
		runq_user_drop_if_idle(qu, u);
		return -1;
	}
	qu->ready++;
	q->ready++;
	return 0;
}

/* Is a (head of user a) to run before b (head of user ub)? */
static bool
runq_better(const struct runq_job *a, const struct runq_user *ua,
	    const struct runq_job *b, const struct runq_user *ub)
{
	if (a->priority != b->priority)
		return a->priority > b->priority;
	if (ua->running != ub->running)
		return ua->running < ub->running;
	if (ua->served != ub->served)
		return ua->served < ub->served;
	return a->id < b->id;
}

/* A queue that may start a job, whatever it has ready. */
static bool
runq_open(const struct runq_queue *qu)
{
	return !qu->paused && (qu->parallel == 0 || qu->running < qu->parallel);
}

bool
runq_may_start(const struct runq *q, int queue)
{
	const struct runq_queue *qu = &q->queues[queue];

	return !q->paused && runq_open(qu) &&
	       (qu->parent == -1 || runq_open(&q->queues[qu->parent]));
}

int
runq_pop(struct runq *q, struct runq_pick *pick)
{
	struct runq_queue *qu, *best_q = NULL;
	struct runq_user *u, *best_u = NULL;
	const struct runq_job *head, *best = NULL;
	size_t i, k;

	if (q->paused)
		return -1;
	for (i = 0; i < q->nqueues; i++) {
		qu = &q->queues[i];
		if (qu->paused || qu->ready == 0 ||
		    (qu->parallel != 0 && qu->running >= qu->parallel) ||
		    (qu->parent != -1 && !runq_open(&q->queues[qu->parent])))
			continue;
		for (k = 0; k < qu->nusers; k++) {
			u = qu->users[k];
			if ((head = heap_top(&u->jobs)) == NULL)
				continue;
			if (best == NULL ||
			    runq_better(head, u, best, best_u)) {
				best = head;
				best_u = u;
				best_q = qu;
			}
		}
	}
	if (best == NULL)
		return -1;
	heap_pop(&best_u->jobs, &pick->job);
	best_u->served = ++q->picks;
	pick->queue = (int)(best_q - q->queues);
	pick->uid = best_u->uid;
	best_q->ready--;
	q->ready--;
	/* No entry left to be stale: a count that drifted starts over. */
	if (best_q->ready < best_q->stale) {
		q->stale -= best_q->stale - best_q->ready;
		best_q->stale = best_q->ready;
	}
	runq_user_drop_if_idle(best_q, best_u);
	return 0;
}

void
runq_went_stale(struct runq *q, int queue)
{
	struct runq_queue *qu = &q->queues[queue];

	if (qu->stale < qu->ready) {
		qu->stale++;
		q->stale++;
	}
}

void
runq_skipped(struct runq *q, int queue)
{
	struct runq_queue *qu = &q->queues[queue];

	if (qu->stale > 0) {
		qu->stale--;
		q->stale--;
	}
}

int
runq_started(struct runq *q, int queue, uid_t uid)
{
	struct runq_queue *qu = &q->queues[queue];
	struct runq_user *u;

	if ((u = runq_user(qu, uid, true)) == NULL)
		return -1;
	u->running++;
	qu->running++;
	if (qu->parent != -1)
		q->queues[qu->parent].running++;
	q->running++;
	return 0;
}

void
runq_ended(struct runq *q, int queue, uid_t uid)
{
	struct runq_queue *qu = &q->queues[queue];
	struct runq_user *u;

	if ((u = runq_user(qu, uid, false)) == NULL || u->running == 0)
		return;
	u->running--;
	qu->running--;
	if (qu->parent != -1)
		q->queues[qu->parent].running--;
	q->running--;
	runq_user_drop_if_idle(qu, u);
}

size_t
runq_ready(const struct runq *q)
{
	return q->ready - q->stale;
}

size_t
runq_running(const struct runq *q)
{
	return q->running;
}
