/*
 * A slot of the map filled in shared memory, its start held until the
 * turn's commit has marked its job running, and released when its job
 * leaves it; the ends recorded in a turn, whose evidence in the slot
 * goes once the commit has written them.
 */
#include <unistd.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/access.h"
#include "core/conf.h"
#include "core/rlimits.h"
#include "core/sched.h"
#include "ipc/channel.h"
#include "ipc/shm.h"
#include "store/store.h"
#include "engine/adapt.h"
#include "engine/gangs.h"
#include "engine/jobs.h"
#include "engine/running_int.h"
#include "engine/slotfill.h"
#include "engine/workers.h"

/* A worker's count of busy slots, and its busy time (from its first
 * job on until its last leaves). */
void
running_busy_add(struct running *r, int w, int delta)
{
	if (delta > 0) {
		if (r->busy[w]++ == 0)
			r->busy_since[w] = clock_mono_ns();
		adapt_note_busy(r->adapt, w, r->busy[w]);
	} else if (delta < 0 && r->busy[w] > 0 && --r->busy[w] == 0)
		r->busy_ns[w] += clock_mono_ns() - r->busy_since[w];
}

void
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

size_t
running_fill_hook(struct running *r, struct slot *slot,
		  const struct store_job *job, const char *cmd)
{
	struct job_rlimit_value rl[JOB_RLIMIT_COUNT];
	struct slotfill_conf c;

	running_fill_conf(r, &c, rl);
	return slotfill_hook(slot, r->shm->slot_size - sizeof *slot, &c, job,
			     cmd, jobs_res_gpu_deny(r->jobs, job->id));
}

void
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
running_free_slot_of(const struct running *r, int w)
{
	uint32_t s;

	for (s = 0; running_slot(r, w, s)->job_id != 0; s++)
		;
	return s;
}

/* An end recorded: its evidence in the slot is dropped once the turn's
 * commit has written it (running_ends_committed). */
void
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
void
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
void
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
void
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
int
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
