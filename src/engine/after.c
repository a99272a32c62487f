/*
 * What follows a job's end. A dependent's settling may end it too
 * (cancelled: a dependency failed); that end goes on jobs.c's worklist
 * like any other, so a long chain of failures is a loop over the
 * worklist, never a recursion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/access.h"
#include "core/conf.h"
#include "store/store.h"
#include "engine/after.h"
#include "engine/jobs.h"
#include "engine/running.h"

/* On-finish commands: the job's own, then forqd.conf's, each run by a
 * worker as the job's user once the job has ended. They wait in memory
 * only: notifications, whose failure is logged and never fatal. */
struct after_hook {
	uint64_t id;
	bool conf;   /* forqd.conf's on_finish, else the job's own */
	bool forget; /* the job's last here: the store's copy goes after */
};

struct after {
	const struct conf *conf;
	const struct access_policy *access;
	struct store *store;
	struct jobs *jobs;
	struct running *running;
	/* Waiting to run: [head, n). */
	struct after_hook *hooks;
	size_t head, n, cap;
};

struct after *
after_new(const struct conf *conf, const struct access_policy *access,
	  struct store *store, struct jobs *jobs, struct running *running)
{
	struct after *a;

	if ((a = calloc(1, sizeof *a)) == NULL)
		return NULL;
	a->conf = conf;
	a->access = access;
	a->store = store;
	a->jobs = jobs;
	a->running = running;
	return a;
}

void
after_free(struct after *a)
{
	if (a == NULL)
		return;
	free(a->hooks);
	free(a);
}

static void
after_hook_add(struct after *a, uint64_t id, bool conf)
{
	if (a->head == a->n)
		a->head = a->n = 0;
	if (array_reserve((void **)&a->hooks, &a->cap, a->n,
			  sizeof *a->hooks) == -1) {
		log_warn("job %llu: on-finish command", (unsigned long long)id);
		return;
	}
	a->hooks[a->n++] = (struct after_hook){.id = id, .conf = conf};
}

void
after_job_ended(struct after *a, uint64_t id, int own)
{
	struct store_job job;
	uint64_t *ids;
	size_t n, i;

	if (own == -1 && store_get(a->store, id, &job) == STORE_OK) {
		own = job.spec.on_finish != NULL;
		store_job_free(&job);
	}
	if (own == 1)
		after_hook_add(a, id, false);
	if (own != JOBS_NO_HOOKS && a->conf->on_finish[0] != '\0')
		after_hook_add(a, id, true);
	if (jobs_waiting(a->jobs) == 0)
		return;
	if (store_dependents(a->store, id, &ids, &n) == -1) {
		log_warnx("store: %s", store_error(a->store));
		return;
	}
	for (i = 0; i < n; i++)
		after_settle(a, ids[i]);
	free(ids);
}

void
after_settle(struct after *a, uint64_t id)
{
	struct job_result r = {.state = JOB_CANCELLED, .exit_code = -1};
	enum job_deps_verdict v;
	enum job_state *states = NULL;
	struct store_job job;
	uint64_t *deps = NULL;
	size_t n, culprit = 0;

	if (store_get(a->store, id, &job) != STORE_OK)
		return;
	if (job.state != JOB_WAITING ||
	    store_deps(a->store, id, &deps, &states, &n) == -1) {
		store_job_free(&job);
		return;
	}
	v = job_deps_verdict(job.spec.after_mode, states, n, &culprit);
	if (v == JOB_DEPS_FAIL) {
		snprintf(r.error, sizeof r.error, "dependency %llu %s",
			 (unsigned long long)deps[culprit],
			 job_state_name(states[culprit]));
		r.end_ns = clock_real_ns();
		log_info("job %llu: cancelled: %s", (unsigned long long)id,
			 r.error);
		jobs_fail_waiting(a->jobs, &job, &r);
	} else if (v == JOB_DEPS_READY) {
		jobs_deps_met(a->jobs, &job);
	}
	free(deps);
	free(states);
	store_job_free(&job);
}

void
after_dispatch_hooks(struct after *a)
{
	struct after_hook h;
	struct store_job job;
	const char *cmd;
	int w;

	while (a->head < a->n && (w = running_pick_worker(a->running)) != -1) {
		h = a->hooks[a->head++];
		if (store_get(a->store, h.id, &job) != STORE_OK)
			continue; /* cleaned away meanwhile */
		cmd = h.conf ? a->conf->on_finish : job.spec.on_finish;
		if (cmd != NULL && cmd[0] != '\0' &&
		    !(!a->access->allow_root_jobs && job.uid == 0 &&
		      geteuid() == 0) &&
		    running_start_hook(a->running, w, &job, cmd) == -1)
			log_warnx("job %llu: its on-finish command does not "
				  "fit a slot; not run",
				  (unsigned long long)h.id);
		store_job_free(&job);
		if (h.forget && store_forget(a->store, h.id) == STORE_FAILED)
			log_warnx("store: %s", store_error(a->store));
	}
}

bool
after_forget_later(struct after *a, uint64_t id)
{
	size_t i;

	for (i = a->n; i > a->head; i--) {
		if (a->hooks[i - 1].id == id) {
			a->hooks[i - 1].forget = true;
			return true;
		}
	}
	return false;
}
