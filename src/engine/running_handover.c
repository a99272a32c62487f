/*
 * Slots that change hands. A dead worker's are settled by how far each
 * got, never by guessing: not forked, queued again; running, adopted
 * by forqd (engine/adopted.c); ended, recorded. A worker taken on from
 * a previous forqd brings its slots into the map, with the ends it
 * kept for want of a commit.
 */
#include <signal.h>

#include "common/clock.h"
#include "common/log.h"
#include "ipc/channel.h"
#include "ipc/shm.h"
#include "engine/adopted.h"
#include "engine/gangs.h"
#include "engine/jobs.h"
#include "engine/running.h"
#include "engine/running_int.h"
#include "engine/workers.h"

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
