/*
 * Jobs on the workers' slots. A slot is filled here, in shared memory,
 * and its number sent once the turn's commit has marked the job
 * running; from then the worker moves it on, and tells of its start and
 * its end. A slot whose worker died is settled by how far it got.
 *
 * A job with CPUs of its own is a gang (engine/gangs.h): this map takes
 * it from its queue, starts it once gangs.c says its workers are held
 * and empty, and gives it back to its queue when it may not start.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/access.h"
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
#include "engine/slotfill.h"
#include "engine/workers.h"

/* A turn's starts past this give their room back once sent. */
#define RUNNING_STARTS_KEEP 4096

/* The supervisor's side of a slot it handed to a worker. */
struct run_slot {
	uint64_t job_id; /* 0: free */
	uint32_t attempt;
	bool hook; /* the job's on-finish command runs here, not the job */
	struct job_run run;
	bool cancel_sent;
	/* Stopped by forqd's stop: its end queues it again, unless it
	 * succeeded first. */
	bool interrupt;
	/* Its worker died and forqd watches its job (adopted.c): the slot
	 * stays taken, for the job's processes are in its cgroup. */
	bool adopted;
	bool gang; /* the job has the CPUs of the workers it holds */
	/* A job a worker taken on brought, which the store says is not
	 * running: stopped, and its end not recorded. */
	bool stray;
	bool taken_on; /* brought by a worker of a previous forqd */
};

/* An end recorded this turn, whose evidence goes after the commit. */
struct run_end {
	int worker;
	uint32_t slot;
	uint64_t job_id;
};

/* A slot filled this turn, to be started after the commit. */
struct run_start {
	int worker;
	uint32_t slot;
};

struct running {
	const struct conf *conf;
	const struct access_policy *access;
	const struct shm *shm;
	struct workers *workers;
	struct jobs *jobs;
	struct adopted *adopted;
	uint32_t nworkers;
	uint32_t nslots;        /* per worker */
	struct run_slot *slots; /* nworkers * nslots */
	uint32_t *busy;         /* per worker */
	struct adapt *adapt;    /* how many of its slots a worker may fill */
	/* Per worker: time with a job on it, and since when (monotonic). */
	int64_t *busy_ns, *busy_since;
	struct gangs *gangs;
	bool cpusets; /* a gang's CPUs can be held to it */
	size_t sched_cursor;
	uint64_t kernel_nproc; /* limit_nproc = kernel */
	/* Jobs dispatched this turn: their starts go out once the turn's
	 * commit has marked them running, never before. */
	struct run_start *starts;
	size_t nstarts, starts_cap;
	/* Ends recorded and not yet committed: the slot's last end stays
	 * the worker's evidence (struct slot_end) until the commit. */
	struct run_end *ended;
	size_t nended, ended_cap;
};

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

/* A worker's count of busy slots, and its busy time (from its first
 * job on until its last leaves). */
static void
running_busy_add(struct running *r, int w, int delta)
{
	if (delta > 0) {
		if (r->busy[w]++ == 0)
			r->busy_since[w] = clock_mono_ns();
		adapt_note_busy(r->adapt, w, r->busy[w]);
	} else if (delta < 0 && r->busy[w] > 0 && --r->busy[w] == 0)
		r->busy_ns[w] += clock_mono_ns() - r->busy_since[w];
}

int64_t
running_busy_ns(const struct running *r, int w)
{
	if ((uint32_t)w >= r->nworkers)
		return 0;
	return r->busy_ns[w] +
	       (r->busy[w] > 0 ? clock_mono_ns() - r->busy_since[w] : 0);
}

static struct run_slot *
running_slot(const struct running *r, int w, uint32_t s)
{
	return &r->slots[(size_t)w * r->nslots + s];
}

/* The job's pid once its child has claimed the slot; 0 before. */
static pid_t
running_slot_pid(const struct slot *slot)
{
	int32_t pid = __atomic_load_n(&slot->pid, __ATOMIC_ACQUIRE);

	return pid > 0 ? pid : 0;
}

static void
running_send(struct running *r, int w, uint16_t type, uint32_t slot,
	     uint64_t id)
{
	struct ch_slot msg = {.slot = slot, .job_id = id};

	workers_queue(r->workers, w, type, &msg, sizeof msg);
}

/* What of the conf every slot carries; limits resolved into rl. */
static void
running_fill_conf(const struct running *r, struct slotfill_conf *c,
		  struct job_rlimit_value rl[JOB_RLIMIT_COUNT])
{
	rlimits_resolve(rl, r->conf->job_rlimits, r->kernel_nproc);
	*c = (struct slotfill_conf){.kill_grace_ms = r->conf->kill_grace_ms,
				    .output_max = r->conf->output_max,
				    .tasks_max = r->conf->tasks_max,
				    .umask = r->conf->job_umask,
				    .on_finish_timeout_ms =
					r->conf->on_finish_timeout_ms,
				    .rlimits = rl};
}

/* 0 if the job does not fit its slot (slotfill_job). */
static size_t
running_fill_slot(struct running *r, struct slot *slot,
		  const struct store_job *job)
{
	struct job_rlimit_value rl[JOB_RLIMIT_COUNT];
	struct slotfill_conf c;
	size_t res_len;
	uint32_t nres;
	char res[1024];

	if (jobs_res_env(r->jobs, job->id, res, sizeof res, &res_len, &nres) ==
	    -1)
		return 0;
	running_fill_conf(r, &c, rl);
	return slotfill_job(slot, r->shm->slot_size - sizeof *slot, &c, job,
			    res, res_len, nres,
			    jobs_res_gpu_deny(r->jobs, job->id));
}

static size_t
running_fill_hook(struct running *r, struct slot *slot,
		  const struct store_job *job, const char *cmd)
{
	struct job_rlimit_value rl[JOB_RLIMIT_COUNT];
	struct slotfill_conf c;

	running_fill_conf(r, &c, rl);
	return slotfill_hook(slot, r->shm->slot_size - sizeof *slot, &c, job,
			     cmd, jobs_res_gpu_deny(r->jobs, job->id));
}

static void
running_view(const struct running *r, struct sched_worker *view)
{
	uint32_t i;

	for (i = 0; i < r->nworkers; i++) {
		view[i].ready = workers_is_ready(r->workers, (int)i);
		view[i].held = gangs_holder(r->gangs, (int)i) != 0;
		view[i].busy = r->busy[i];
		view[i].slots = adapt_slots(r->adapt, (int)i);
	}
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

static uint32_t
running_free_slot_of(const struct running *r, int w)
{
	uint32_t s;

	for (s = 0; running_slot(r, w, s)->job_id != 0; s++)
		;
	return s;
}

/* An end recorded: its evidence in the slot is dropped once the turn's
 * commit has written it (running_ends_committed). */
static void
running_end_recorded(struct running *r, int w, uint32_t s, uint64_t id)
{
	if (array_reserve((void **)&r->ended, &r->ended_cap, r->nended,
			  sizeof *r->ended) == -1)
		return; /* kept: a worker taken on tells it again */
	r->ended[r->nended++] =
	    (struct run_end){.worker = w, .slot = s, .job_id = id};
}

/* After a commit: the ends it wrote need no evidence any more. The
 * worker wrote the slot's last end before it told of it, and writes the
 * next only after a job started after this commit: the exchange only
 * guards against a reader of an older turn. */
static void
running_ends_committed(struct running *r)
{
	const struct run_end *e;
	uint64_t id;
	size_t i;

	for (i = 0; i < r->nended; i++) {
		e = &r->ended[i];
		id = e->job_id;
		__atomic_compare_exchange_n(&shm_slot(r->shm,
						      (uint32_t)e->worker,
						      e->slot)
						 ->last.job_id,
					    &id, 0, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
	}
	r->nended = 0;
	array_emptied((void **)&r->ended, &r->ended_cap, RUNNING_STARTS_KEEP);
}

/* The slot's job left it; it ended unless adopted (it runs on). */
static void
running_release(struct running *r, int w, uint32_t s, bool adopted)
{
	struct run_slot *rs = running_slot(r, w, s);

	if (!adopted && !rs->hook)
		jobs_left_slot(r->jobs, &rs->run);
	if (rs->gang)
		gangs_release(r->gangs, rs->job_id);
	shm_slot(r->shm, (uint32_t)w, s)->state = SLOT_FREE;
	*rs = (struct run_slot){0};
	running_busy_add(r, w, -1);
}

/* A dispatch taken back before its start was sent: the job is queued
 * again as the same attempt, for it never ran. */
static void
running_unstart(struct running *r, int w, uint32_t s)
{
	struct run_slot rs = *running_slot(r, w, s);

	running_release(r, w, s, false);
	jobs_queue_again(r->jobs, rs.job_id, &rs.run, rs.attempt);
}

/* A start waits for the commit that marks its job running: a crash
 * before that commit leaves the job queued and never started, a crash
 * after it leaves a job recovery knows may have run. So an (id,
 * attempt) pair runs at most once. */
static int
running_start_later(struct running *r, int w, uint32_t slot)
{
	if (array_reserve((void **)&r->starts, &r->starts_cap, r->nstarts,
			  sizeof *r->starts) == -1)
		return -1;
	r->starts[r->nstarts++] = (struct run_start){.worker = w, .slot = slot};
	return 0;
}

static int
running_cpu_of(void *workers, int w)
{
	return workers_cpu(workers, w);
}

/* Puts a taken job in a free slot of worker w, to start once the
 * turn's commit has marked it running; a gang with the CPUs of every
 * worker held for it. The job is freed. 0: placed, or refused (it
 * failed); -1: it went back to the queue, and dispatch stops for this
 * turn. */
static int
running_place(struct running *r, int w, struct store_job *job,
	      const struct job_run *run, bool gang)
{
	struct slot *slot;
	uint32_t s, i;
	uint64_t id = job->id;

	/* Queued before a reload set allow_root_jobs = no. */
	if (!r->access->allow_root_jobs && job->uid == 0 && geteuid() == 0) {
		jobs_refuse(r->jobs, job,
			    "not run: jobs may not run as root here "
			    "(allow_root_jobs = no)");
		goto refused;
	}
	s = running_free_slot_of(r, w);
	slot = shm_slot(r->shm, (uint32_t)w, s);
	if (running_fill_slot(r, slot, job) == 0) {
		jobs_refuse(r->jobs, job,
			    "job does not fit a slot (argv_bytes_max "
			    "or env_bytes_max was raised after start)");
		goto refused;
	}
	CPU_ZERO(&slot->cpus);
	if (gang) {
		gangs_cpus(r->gangs, id, running_cpu_of, r->workers,
			   &slot->cpus);
		slot->ncpus = (uint32_t)CPU_COUNT(&slot->cpus);
	} else if (!r->conf->pin_jobs) {
		/* The kernel may then move it off a CPU another process
		 * takes; how many run at once is still the slots'. A gang's
		 * CPUs are its own and stay so. */
		for (i = 0; i < r->nworkers; i++)
			if (workers_cpu(r->workers, (int)i) >= 0)
				CPU_SET(workers_cpu(r->workers, (int)i),
					&slot->cpus);
		slot->flags |= SLOT_F_SPREAD;
	}
	*running_slot(r, w, s) = (struct run_slot){.job_id = id,
						   .attempt = job->attempt,
						   .run = *run,
						   .gang = gang};
	store_job_free(job);
	if (jobs_start(r->jobs, id, slot->attempt, run, w,
		       workers_cpu(r->workers, w)) == -1) {
		*running_slot(r, w, s) = (struct run_slot){0};
		if (gang)
			gangs_release(r->gangs, id);
		return -1;
	}
	running_busy_add(r, w, 1);
	slot->state = SLOT_SENT;
	if (running_start_later(r, w, s) == -1) {
		log_warn("job %llu: start", (unsigned long long)id);
		running_unstart(r, w, s);
		return -1;
	}
	return 0;
refused:
	if (gang)
		gangs_release(r->gangs, id);
	return 0;
}

/* Waiting gang k goes back to its queue, as it was, and its workers to
 * everyone: it is about to change, or may not start now. */
static void
running_gang_give_back(struct running *r, size_t k)
{
	struct gang g;

	gangs_remove(r->gangs, k, &g);
	jobs_left_slot(r->jobs, &g.run);
	jobs_queue_again(r->jobs, g.job.id, &g.run, g.job.attempt);
	gangs_release(r->gangs, g.job.id);
	store_job_free(&g.job);
}

/* Starts waiting gang k on the first of its workers if they are all
 * free: -1 if dispatch must stop for this turn. */
static int
running_gang_try(struct running *r, size_t k)
{
	struct sched_worker view[CPU_SETSIZE];
	struct gang g;

	running_view(r, view);
	if (!gangs_hold(r->gangs, k, view))
		return 0;
	gangs_remove(r->gangs, k, &g);
	/* Counted in its queue again as it starts, as any job. */
	jobs_left_slot(r->jobs, &g.run);
	return running_place(r, gangs_first_worker(r->gangs, g.job.id), &g.job,
			     &g.run, true);
}

/* The gangs taken earlier, in their order: a paused queue takes its
 * back; the others hold what has come free, and start if they can. */
static int
running_gangs_advance(struct running *r)
{
	const struct runq *q = jobs_runq(r->jobs);
	size_t k = 0, n;

	while (k < gangs_waiting(r->gangs)) {
		if (runq_paused(q, RUNQ_ALL) ||
		    runq_paused(q, gangs_at(r->gangs, k)->run.queue)) {
			running_gang_give_back(r, k);
			continue;
		}
		n = gangs_waiting(r->gangs);
		if (running_gang_try(r, k) == -1)
			return -1;
		if (gangs_waiting(r->gangs) == n)
			k++;
	}
	return 0;
}

/* A taken job that wants CPUs of its own is held until its workers are
 * free: -1 if dispatch must stop for this turn. */
static int
running_take_gang(struct running *r, struct store_job *job,
		  const struct job_run *run)
{
	char why[160];

	if (!r->cpusets || job->spec.cpus > r->nworkers) {
		snprintf(why, sizeof why,
			 !r->cpusets ? "not run: --cpus %u needs job cpusets, "
				       "and this forqd has none"
				     : "not run: --cpus %u is more than the "
				       "%u workers this forqd has now",
			 job->spec.cpus, r->nworkers);
		jobs_refuse(r->jobs, job, why);
		return 0;
	}
	if (gangs_waiting(r->gangs) == r->nworkers) {
		/* Cannot be: each gang holds a worker. */
		jobs_queue_again(r->jobs, job->id, run, job->attempt);
		store_job_free(job);
		return -1;
	}
	if (jobs_keep_slot(r->jobs, run) == -1) {
		log_warn("job %llu: queue", (unsigned long long)job->id);
		jobs_queue_again(r->jobs, job->id, run, job->attempt);
		store_job_free(job);
		return -1;
	}
	(void)gangs_add(r->gangs, job, run);
	return running_gang_try(r, gangs_waiting(r->gangs) - 1);
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

/* Every job in flight on a dead worker ends recorded or goes back to
 * the queue: by how far the slot got, never by guessing. */
void
running_worker_died(struct running *r, int w)
{
	int cpu = workers_cpu(r->workers, w);
	struct slot *slot;
	struct run_slot *rs;
	uint32_t i;
	int32_t pid;
	bool adopted;

	for (i = 0; i < r->nslots; i++) {
		rs = running_slot(r, w, i);
		if (rs->job_id == 0 || rs->adopted)
			continue;
		slot = shm_slot(r->shm, (uint32_t)w, i);
		adopted = false;
		/* A child forked as its worker died may not have claimed the
		 * slot yet (its spawn's token, below -1, is still there): it
		 * is given up now (-1), so that such a child exits unrun; one
		 * that did claim it has its pid there. */
		pid = __atomic_load_n(&slot->pid, __ATOMIC_SEQ_CST);
		if (pid < -1)
			(void)__atomic_compare_exchange_n(&slot->pid, &pid, -1,
							  false,
							  __ATOMIC_SEQ_CST,
							  __ATOMIC_SEQ_CST);
		/* An on-finish command is not run again, nor watched. */
		if (rs->hook) {
			if (slot->pid > 0)
				kill(-slot->pid, SIGKILL);
			log_warnx("job %llu: its worker died while its "
				  "on-finish command ran",
				  (unsigned long long)rs->job_id);
			running_release(r, w, i, false);
			continue;
		}
		switch (slot->state) {
		case SLOT_SENT:
		case SLOT_ACCEPTED:
			/* It never forked: nothing ran. */
			jobs_unrun(r->jobs, rs->job_id, rs->attempt, &rs->run);
			break;
		case SLOT_SPAWNING:
		case SLOT_SPAWNED:
			if (slot->pid > 0 && workers_foreign(r->workers, w)) {
				/* Not forqd's child, nor will its processes
				 * be: ended, and queued again. */
				adopted_kill(r->adopted, w, i, slot->pid);
				jobs_interrupted(r->jobs, rs->job_id,
						 rs->attempt, &rs->run, w, cpu,
						 "its worker, taken on from a "
						 "previous forqd, died");
			} else if (slot->pid > 0) {
				struct adopted_job aj = {
				    .id = rs->job_id,
				    .attempt = rs->attempt,
				    .run = &rs->run,
				    .pid = slot->pid,
				    .worker = w,
				    .cpu = cpu,
				    .start_ns = slot->start_ns != 0
						    ? slot->start_ns
						    : clock_real_ns(),
				    .timeout_ms = slot->timeout_ms,
				    .slot = i,
				    .cancel = rs->cancel_sent,
				    .interrupt = rs->interrupt,
				    .mem = slot->mem,
				    .cg_base = slot->cg_base,
				};

				adopted = adopted_take(r->adopted, &aj);
			} else {
				jobs_interrupted(r->jobs, rs->job_id,
						 rs->attempt, &rs->run, w, cpu,
						 "its worker died while "
						 "starting it");
			}
			break;
		case SLOT_EXITED:
		case SLOT_DONE: {
			struct job_result res = slot->result;

			res.error[sizeof res.error - 1] = '\0';
			if (!job_state_final(res.state))
				res.state = JOB_LOST;
			/* Stopped by forqd's stop, its worker dying as it
			 * ended: as if its DONE had come. */
			jobs_ended_stopped(r->jobs, rs->job_id, rs->attempt,
					   &rs->run, w, cpu, &res,
					   rs->interrupt);
			break;
		}
		default:
			jobs_interrupted(r->jobs, rs->job_id, rs->attempt,
					 &rs->run, w, cpu, "its worker died");
			break;
		}
		if (adopted)
			rs->adopted = true;
		else
			running_release(r, w, i, false);
	}
}

/* An end a worker taken on kept for want of a commit: recorded now if
 * the store still has that attempt running, else it was already. */
static void
running_take_end(struct running *r, int w, uint32_t s, struct slot *slot)
{
	struct job_result res = slot->last.result;
	struct job_run run;

	res.error[sizeof res.error - 1] = '\0';
	if (!job_state_final(res.state) ||
	    !jobs_adoptable(r->jobs, slot->last.job_id, slot->last.attempt,
			    &run)) {
		slot->last.job_id = 0;
		return;
	}
	running_end_recorded(r, w, s, slot->last.job_id);
	jobs_ended(r->jobs, slot->last.job_id, slot->last.attempt, &run, w,
		   workers_cpu(r->workers, w), &res);
}

void
running_take_worker(struct running *r, int w)
{
	struct run_slot *rs;
	struct slot *slot;
	uint32_t s;

	for (s = 0; s < r->nslots; s++) {
		slot = shm_slot(r->shm, (uint32_t)w, s);
		if (slot->last.job_id != 0)
			running_take_end(r, w, s, slot);
		if (slot->state == SLOT_FREE)
			continue;
		rs = running_slot(r, w, s);
		*rs = (struct run_slot){.job_id = slot->job_id,
					.attempt = slot->attempt,
					.taken_on = true};
		running_busy_add(r, w, 1);
		/* Its queue counts it running, as a job started here. */
		if (jobs_adoptable(r->jobs, slot->job_id, slot->attempt,
				   &rs->run) &&
		    jobs_keep_slot(r->jobs, &rs->run) == 0)
			continue;
		rs->stray = true;
		rs->hook = true; /* not the job's record */
		log_warnx("job %llu (attempt %u) runs on worker %d, which "
			  "was taken on, but is not running by the store; "
			  "stopping it",
			  (unsigned long long)slot->job_id, slot->attempt + 1,
			  w);
		if (slot->state != SLOT_DONE) {
			rs->cancel_sent = true;
			running_send(r, w, CH_S_CANCEL, s, slot->job_id);
		}
	}
}

void
running_adopted_gone(struct running *r, int w, uint32_t s)
{
	struct run_slot *rs = running_slot(r, w, s);

	if (!rs->adopted)
		return;
	if (rs->gang)
		gangs_release(r->gangs, rs->job_id);
	shm_slot(r->shm, (uint32_t)w, s)->state = SLOT_FREE;
	*rs = (struct run_slot){0};
	running_busy_add(r, w, -1);
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
