/*
 * Jobs on the workers' slots: the map's face. Queued jobs are handed
 * to free slots here (running_slots.c fills them), their starts go out
 * once the turn's commit has marked them running, and what workers
 * report of them (started, done) is settled; running jobs are found,
 * cancelled and killed from here. A job with CPUs of its own waits as
 * a gang (running_gangs.c); a dead worker's slots and a taken-on
 * worker's are settled by running_handover.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/rlimits.h"
#include "core/runq.h"
#include "core/sched.h"
#include "ipc/channel.h"
#include "ipc/shm.h"
#include "store/store.h"
#include "engine/adapt.h"
#include "engine/adopted.h"
#include "engine/gangs.h"
#include "engine/jobs.h"
#include "engine/running.h"
#include "engine/running_int.h"
#include "engine/workers.h"

struct running *
running_new(const struct conf *conf, const struct access_policy *access,
	    const struct shm *shm, struct workers *workers, struct jobs *jobs,
	    struct adopted *adopted, bool cpusets)
{
	struct running *r;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	r->conf = conf;
	r->access = access;
	r->shm = shm;
	r->workers = workers;
	r->jobs = jobs;
	r->adopted = adopted;
	r->nworkers = workers_max(workers);
	r->nslots = shm->slots_per_worker;
	r->kernel_nproc = rlimits_kernel_nproc(4096);
	r->slots = calloc((size_t)r->nworkers * r->nslots, sizeof *r->slots);
	r->busy = calloc(r->nworkers, sizeof *r->busy);
	r->busy_ns = calloc(r->nworkers, sizeof *r->busy_ns);
	r->busy_since = calloc(r->nworkers, sizeof *r->busy_since);
	r->gangs = gangs_new(r->nworkers);
	r->cpusets = cpusets;
	r->adapt = adapt_new(conf, workers, r->nworkers, r->nslots);
	if (r->adapt == NULL || r->slots == NULL || r->busy == NULL ||
	    r->busy_ns == NULL || r->busy_since == NULL || r->gangs == NULL) {
		running_free(r);
		return NULL;
	}
	return r;
}

void
running_free(struct running *r)
{
	if (r == NULL)
		return;
	gangs_free(r->gangs);
	adapt_free(r->adapt);
	free(r->slots);
	free(r->busy);
	free(r->busy_ns);
	free(r->busy_since);
	free(r->starts);
	free(r->ended);
	free(r);
}

int64_t
running_busy_ns(const struct running *r, int w)
{
	if ((uint32_t)w >= r->nworkers)
		return 0;
	return r->busy_ns[w] +
	       (r->busy[w] > 0 ? clock_mono_ns() - r->busy_since[w] : 0);
}

/* The job's pid once its child has claimed the slot; 0 before. */
static pid_t
running_slot_pid(const struct slot *slot)
{
	int32_t pid = __atomic_load_n(&slot->pid, __ATOMIC_ACQUIRE);

	return pid > 0 ? pid : 0;
}

uint32_t
running_room(const struct running *r)
{
	uint32_t i, n = 0;

	for (i = 0; i < r->nworkers; i++)
		if (workers_is_ready(r->workers, (int)i))
			n += adapt_slots(r->adapt, (int)i);
	return n;
}

uint32_t
running_slots(const struct running *r, int w)
{
	return adapt_slots(r->adapt, w);
}

int64_t
running_next_deadline(const struct running *r)
{
	return adapt_next_deadline(r->adapt);
}

void
running_check(struct running *r, int64_t now_ns)
{
	adapt_check(r->adapt, now_ns, r->busy);
}

int
running_pick_worker(struct running *r)
{
	struct sched_worker view[CPU_SETSIZE];

	running_view(r, view);
	return sched_pick(view, r->nworkers, &r->sched_cursor);
}

void
running_dispatch(struct running *r)
{
	struct store_job job;
	struct job_run run;
	int w, rc;

	if (gangs_waiting(r->gangs) > 0 && running_gangs_advance(r) == -1)
		return;
	while (jobs_ready(r->jobs) > 0 && (w = running_pick_worker(r)) != -1 &&
	       jobs_take(r->jobs, &job, &run) == JOBS_TAKEN) {
		if (job.spec.cpus > 1)
			rc = running_take_gang(r, &job, &run);
		else
			rc = running_place(r, w, &job, &run, false);
		if (rc == -1)
			break;
	}
}

bool
running_unhold(struct running *r, uint64_t id)
{
	ptrdiff_t k = gangs_find(r->gangs, id);

	if (k == -1)
		return false;
	running_gang_give_back(r, (size_t)k);
	return true;
}

bool
running_starts_committed(struct running *r, bool committed)
{
	const struct run_start *st;
	const struct run_slot *rs;
	size_t i, n = r->nstarts;

	for (i = 0; i < n; i++) {
		st = &r->starts[i];
		rs = running_slot(r, st->worker, st->slot);
		if (committed) {
			running_send(r, st->worker, CH_S_RUN, st->slot,
				     rs->job_id);
			/* Cancelled in this turn: the worker dropped the
			 * cancel, for a slot it had not started. */
			if (rs->cancel_sent)
				running_send(r, st->worker, CH_S_CANCEL,
					     st->slot, rs->job_id);
		} else
			running_unstart(r, st->worker, st->slot);
	}
	r->nstarts = 0;
	array_emptied((void **)&r->starts, &r->starts_cap, RUNNING_STARTS_KEEP);
	/* Ends not committed keep their slots until a commit writes them
	 * (they are written again with the next transaction). */
	if (committed)
		running_ends_committed(r);
	/* The queued counts are taken again from the store, where held
	 * gangs are queued: they go back to be counted once. */
	while (!committed && gangs_waiting(r->gangs) > 0)
		running_gang_give_back(r, 0);
	return !committed && n > 0;
}

int
running_start_hook(struct running *r, int w, const struct store_job *job,
		   const char *cmd)
{
	uint32_t s = running_free_slot_of(r, w);
	struct slot *slot = shm_slot(r->shm, (uint32_t)w, s);

	if (running_fill_hook(r, slot, job, cmd) == 0)
		return -1;
	*running_slot(r, w, s) = (struct run_slot){.job_id = job->id,
						   .attempt = slot->attempt,
						   .hook = true};
	running_busy_add(r, w, 1);
	slot->state = SLOT_SENT;
	running_send(r, w, CH_S_RUN, s, job->id);
	return 0;
}

/* A worker that speaks of a slot it does not hold is replaced. */
static struct run_slot *
running_slot_of(struct running *r, int w, uint32_t s, uint64_t id,
		const char *what)
{
	char why[128];

	if (s >= r->nslots || running_slot(r, w, s)->job_id != id) {
		snprintf(why, sizeof why,
			 "%s for slot %u, job %llu, which it does not hold",
			 what, s, (unsigned long long)id);
		workers_replace(r->workers, w, why);
		return NULL;
	}
	return running_slot(r, w, s);
}

void
running_on_started(struct running *r, int w, const struct ch_started *st)
{
	struct run_slot *rs =
	    running_slot_of(r, w, st->slot, st->job_id, "started");

	if (rs == NULL)
		return;
	/* Told by a worker taken on: a cancel that came before goes out
	 * now. */
	if (rs->cancel_sent)
		running_send(r, w, CH_S_CANCEL, st->slot, st->job_id);
}

/* A hook's end: logged when it failed, nothing more. */
static void
running_hook_ended(struct running *r, uint64_t id, const struct job_result *res)
{
	char what[64];

	if (res->state == JOB_SUCCEEDED)
		return;
	if (res->error[0] != '\0')
		strlcpy(what, res->error, sizeof what);
	else
		job_describe_exit(res->exit_code, res->signal, what,
				  sizeof what);
	log_warnx("job %llu: on-finish command %s; its output is in "
		  "%s/logs/%llu.hook",
		  (unsigned long long)id, what, r->conf->state_dir,
		  (unsigned long long)id);
}

void
running_on_done(struct running *r, int w, const struct ch_slot *done)
{
	struct run_slot *rs =
	    running_slot_of(r, w, done->slot, done->job_id, "done");
	struct slot *slot;
	struct job_result res;
	struct run_slot was;
	char why[128];

	if (rs == NULL)
		return;
	slot = shm_slot(r->shm, (uint32_t)w, done->slot);
	if (slot->state != SLOT_DONE) {
		snprintf(why, sizeof why, "done for slot %u in state %u",
			 done->slot, slot->state);
		workers_replace(r->workers, w, why);
		return;
	}
	res = slot->result;
	res.error[sizeof res.error - 1] = '\0';
	if (!job_state_final(res.state))
		res.state = JOB_LOST;
	was = *rs;
	if (was.hook || was.stray) {
		running_release(r, w, done->slot, false);
		if (!was.stray)
			running_hook_ended(r, done->job_id, &res);
		return;
	}
	running_release(r, w, done->slot, false);
	running_end_recorded(r, w, done->slot, done->job_id);
	jobs_ended_stopped(r->jobs, done->job_id, was.attempt, &was.run, w,
			   workers_cpu(r->workers, w), &res, was.interrupt);
}

static struct run_slot *
running_lookup(const struct running *r, uint64_t id, int *worker,
	       uint32_t *slot)
{
	struct run_slot *rs;
	uint32_t i, s;

	for (i = 0; i < r->nworkers; i++) {
		if (r->busy[i] == 0)
			continue;
		for (s = 0; s < r->nslots; s++) {
			rs = running_slot(r, (int)i, s);
			if (rs->job_id == id && !rs->hook && !rs->adopted) {
				*worker = (int)i;
				*slot = s;
				return rs;
			}
		}
	}
	return NULL;
}

bool
running_find(const struct running *r, uint64_t id, struct running_where *where)
{
	const struct run_slot *rs;
	const struct slot *slot;
	uint32_t s;
	int w;

	if ((rs = running_lookup(r, id, &w, &s)) == NULL)
		return false;
	slot = shm_slot(r->shm, (uint32_t)w, s);
	*where = (struct running_where){.worker = w,
					.cpu = workers_cpu(r->workers, w),
					.pid = running_slot_pid(slot),
					.start_ns = slot->start_ns,
					.taken_on = rs->taken_on,
					.slot = s,
					.cg_base = slot->cg_base};
	return true;
}

/* Its worker stops it (TERM, KILL after kill_grace), once; one sent
 * before its RUN goes again after it (running_starts_committed). */
static void
running_stop_slot(struct running *r, int w, uint32_t s, struct run_slot *rs)
{
	if (rs->cancel_sent)
		return;
	rs->cancel_sent = true;
	running_send(r, w, CH_S_CANCEL, s, rs->job_id);
}

bool
running_cancel(struct running *r, uint64_t id)
{
	struct run_slot *rs;
	uint32_t s;
	int w;

	/* A held gang is still queued: cancelled as such. */
	if (running_unhold(r, id))
		return false;
	if ((rs = running_lookup(r, id, &w, &s)) != NULL) {
		running_stop_slot(r, w, s, rs);
		return true;
	}
	return adopted_cancel(r->adopted, id);
}

int
running_ids(const struct running *r, int queue, uint64_t **ids, size_t *n)
{
	const struct run_slot *rs;
	size_t cap = runq_running(jobs_runq(r->jobs)) + 1;
	uint32_t i, s;

	*n = 0;
	if ((*ids = calloc(cap, sizeof **ids)) == NULL)
		return -1;
	for (i = 0; i < r->nworkers; i++) {
		for (s = 0; s < r->nslots; s++) {
			rs = running_slot(r, (int)i, s);
			if (rs->job_id != 0 && !rs->hook && !rs->adopted &&
			    *n < cap &&
			    (queue == RUNQ_ALL || rs->run.queue == queue))
				(*ids)[(*n)++] = rs->job_id;
		}
	}
	adopted_ids(r->adopted, queue, *ids, n, cap);
	return 0;
}

size_t
running_on_worker(const struct running *r, int w, uint64_t *ids, size_t cap)
{
	size_t n = 0;
	uint32_t s;

	struct running_where where;

	for (s = 0; s < r->nslots && n < cap; s++) {
		if (running_slot(r, w, s)->job_id != 0 &&
		    !running_slot(r, w, s)->adopted)
			ids[n++] = running_slot(r, w, s)->job_id;
	}
	/* A gang runs on the CPUs of every worker it holds. */
	if (n == 0 && n < cap && gangs_holder(r->gangs, w) != 0 &&
	    running_find(r, gangs_holder(r->gangs, w), &where))
		ids[n++] = gangs_holder(r->gangs, w);
	return n;
}

uint32_t
running_busy(const struct running *r)
{
	uint32_t i, n = 0;

	for (i = 0; i < r->nworkers; i++)
		n += r->busy[i];
	return n;
}

void
running_interrupt_all(struct running *r)
{
	struct run_slot *rs;
	uint32_t i, s;

	for (i = 0; i < r->nworkers; i++) {
		for (s = 0; s < r->nslots && r->busy[i] > 0; s++) {
			rs = running_slot(r, (int)i, s);
			if (rs->job_id == 0 || rs->hook || rs->adopted)
				continue;
			rs->interrupt = true;
			running_stop_slot(r, (int)i, s, rs);
		}
	}
	adopted_stop_all(r->adopted);
}

uint32_t
running_let_go(struct running *r)
{
	uint32_t i, n = 0;

	for (i = 0; i < r->nworkers; i++) {
		if (r->busy[i] > 0) {
			workers_let_go(r->workers, (int)i);
			n++;
		}
	}
	adopted_stop_all(r->adopted);
	return n;
}

void
running_kill_all(struct running *r)
{
	const struct run_slot *rs;
	pid_t pid;
	uint32_t s;
	int w;

	for (w = 0; w < (int)r->nworkers; w++) {
		for (s = 0; s < r->nslots; s++) {
			rs = running_slot(r, w, s);
			pid =
			    running_slot_pid(shm_slot(r->shm, (uint32_t)w, s));
			if (rs->job_id != 0 && !rs->adopted && pid > 0)
				kill(-pid, SIGKILL);
		}
	}
	adopted_kill_all(r->adopted);
}
