/*
 * What follows a job's end: the jobs that wait for it (released,
 * cancelled with the reason, or left waiting) and its on-finish
 * commands, which workers run as the job's user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "supervisor/jobs_impl.h"
#include "supervisor/supervisor.h"

/* On-finish commands: the job's own, then forqd.conf's, each run by a
 * worker as the job's user once the job has ended. They wait in memory
 * only: notifications, whose failure is logged and never fatal. */
struct jobs_hook {
	uint64_t id;
	bool conf; /* forqd.conf's on_finish, else the job's own */
};

static void
jobs_hook_add(struct supervisor *sv, uint64_t id, bool conf)
{
	struct jobs_hook *more;
	size_t cap;

	if (sv->hooks_head == sv->nhooks)
		sv->hooks_head = sv->nhooks = 0;
	if (sv->nhooks == sv->hooks_cap) {
		cap = sv->hooks_cap != 0 ? sv->hooks_cap * 2 : 16;
		if ((more = reallocarray(sv->hooks, cap, sizeof *more)) ==
		    NULL) {
			log_warn("job %llu: on-finish command",
				 (unsigned long long)id);
			return;
		}
		sv->hooks = more;
		sv->hooks_cap = cap;
	}
	sv->hooks[sv->nhooks++] = (struct jobs_hook){.id = id, .conf = conf};
}

/* own: 1 the job has an on-finish command, 0 none, -1 not known here. */
void
jobs_hooks_for(struct supervisor *sv, uint64_t id, int own)
{
	struct store_job job;

	if (own == -1 && store_get(sv->store, id, &job) == 0) {
		own = job.spec.on_finish != NULL;
		store_job_free(&job);
	}
	if (own == 1)
		jobs_hook_add(sv, id, false);
	if (sv->conf.on_finish[0] != '\0')
		jobs_hook_add(sv, id, true);
}

/* The hook's slot: /bin/sh -c CMD, in the job's directory, with the
 * job's environment and its end; 0 if that does not fit. */
static size_t
jobs_fill_hook(struct supervisor *sv, struct slot *slot,
	       const struct store_job *job, const char *cmd)
{
	char vars[1024], code[16] = "", sig[16] = "";
	size_t cmd_len = strlen(cmd) + 1, cwd_len = strlen(job->spec.cwd) + 1;
	size_t argv_len = sizeof "/bin/sh" + sizeof "-c" + cmd_len, vars_len;
	size_t need;
	int n;

	if (job->result.signal != 0)
		snprintf(sig, sizeof sig, "%d", job->result.signal);
	else if (job->result.exit_code >= 0)
		snprintf(code, sizeof code, "%d", job->result.exit_code);
	n = snprintf(vars, sizeof vars,
		     "FORQ_JOB_STATE=%s%cFORQ_JOB_EXIT_CODE=%s%c"
		     "FORQ_JOB_SIGNAL=%s%cFORQ_JOB_QUEUE=%s%cFORQ_JOB_NAME=%."
		     "256s",
		     job_state_name(job->state), 0, code, 0, sig, 0,
		     job->spec.queue != NULL ? job->spec.queue : "default", 0,
		     job->name != NULL ? job->name : "");
	if (n < 0 || (size_t)n >= sizeof vars)
		return 0;
	vars_len = (size_t)n + 1;
	need = argv_len + job->spec.env_len + vars_len + cwd_len;
	if (need > sv->shm.slot_size - sizeof *slot)
		return 0;
	slot->flags = SLOT_F_HOOK;
	slot->job_id = job->id;
	slot->attempt = job->attempt;
	slot->timeout_ms = sv->conf.on_finish_timeout_ms;
	jobs_fill_common(sv, slot, job);
	slot->argc = 3;
	slot->envc = job->spec.envc + 5;
	slot->argv_len = (uint32_t)argv_len;
	slot->env_len = (uint32_t)(job->spec.env_len + vars_len);
	slot->cwd_len = (uint32_t)cwd_len;
	slot->pid = 0;
	memcpy(slot->data, "/bin/sh\0-c", sizeof "/bin/sh" + sizeof "-c");
	memcpy(slot->data + sizeof "/bin/sh" + sizeof "-c", cmd, cmd_len);
	memcpy(slot->data + argv_len, job->spec.env, job->spec.env_len);
	memcpy(slot->data + argv_len + job->spec.env_len, vars, vars_len);
	memcpy(slot->data + argv_len + job->spec.env_len + vars_len,
	       job->spec.cwd, cwd_len);
	return need;
}

/* A waiting job whose dependencies may have changed: it goes on, is
 * cancelled with the reason, or waits on. Its release joins the runq
 * after the turn's commit, as a submission does. */
void
jobs_settle_one(struct supervisor *sv, uint64_t id)
{
	struct job_result r = {.state = JOB_CANCELLED, .exit_code = -1};
	enum job_deps_verdict v;
	enum job_state *states = NULL, next;
	struct store_job job;
	uint64_t *deps = NULL;
	size_t n, culprit = 0;
	int q;

	if (store_get(sv->store, id, &job) != 0)
		return;
	if (job.state != JOB_WAITING ||
	    store_deps(sv->store, id, &deps, &states, &n) == -1) {
		store_job_free(&job);
		return;
	}
	v = job_deps_verdict(job.spec.after_any, states, n, &culprit);
	if (v == JOB_DEPS_FAIL) {
		sv->nwaiting--;
		usercount_add(sv->queued_by_uid, job.uid, -1);
		snprintf(r.error, sizeof r.error, "dependency %llu %s",
			 (unsigned long long)deps[culprit],
			 job_state_name(states[culprit]));
		r.end_ns = clock_real_ns();
		log_info("job %llu: cancelled: %s", (unsigned long long)id,
			 r.error);
		jobs_record_final(sv, id, &r, job.spec.on_finish != NULL);
	} else if (v == JOB_DEPS_READY) {
		next = job.spec.start_at_ns > clock_real_ns() ? JOB_SCHEDULED
							      : JOB_QUEUED;
		if (store_release(sv->store, id, next) == 0) {
			sv->nwaiting--;
			q = jobs_queue_index(sv, job.spec.queue != NULL
						     ? job.spec.queue
						     : "default");
			if ((next == JOB_SCHEDULED
				 ? jobs_schedule(sv, id, job.spec.start_at_ns)
			     : q == -1 ? -1
				       : jobs_fresh(sv, q, job.uid, id,
						    job.spec.priority,
						    job.attempt)) == -1)
				log_warn("job %llu: queue",
					 (unsigned long long)id);
		}
	}
	free(deps);
	free(states);
	store_job_free(&job);
}

/* The jobs waiting for one that ended, settled in turn: a worklist,
 * not recursion, so a long chain of failures cannot run out of stack. */
void
jobs_settle_dependents(struct supervisor *sv, uint64_t ended)
{
	uint64_t *ids, *more, id;
	size_t n, i, cap;

	if (sv->nsettle == sv->settle_cap) {
		cap = sv->settle_cap != 0 ? sv->settle_cap * 2 : 16;
		if ((more = reallocarray(sv->settle, cap, sizeof *more)) ==
		    NULL) {
			log_warn("job %llu: dependents",
				 (unsigned long long)ended);
			return;
		}
		sv->settle = more;
		sv->settle_cap = cap;
	}
	sv->settle[sv->nsettle++] = ended;
	if (sv->settling)
		return;
	sv->settling = true;
	while (sv->nsettle > 0) {
		id = sv->settle[--sv->nsettle];
		if (store_dependents(sv->store, id, &ids, &n) == -1) {
			log_warnx("store: %s", store_error(sv->store));
			continue;
		}
		for (i = 0; i < n; i++)
			jobs_settle_one(sv, ids[i]);
		free(ids);
	}
	sv->settling = false;
}

/* At start, and after a failed commit took back releases: every
 * waiting job is settled against what the store says now. */
void
jobs_settle_waiting(struct supervisor *sv)
{
	uint64_t *ids;
	size_t n, i;

	if (store_waiting(sv->store, &ids, &n) == -1) {
		log_warnx("store: %s", store_error(sv->store));
		return;
	}
	sv->nwaiting = n;
	for (i = 0; i < n; i++)
		jobs_settle_one(sv, ids[i]);
	free(ids);
}

/* On-finish commands go before jobs: they are few and short. */
void
jobs_dispatch_hooks(struct supervisor *sv)
{
	struct jobs_hook h;
	struct store_job job;
	struct sv_worker *w;
	struct slot *slot;
	const char *cmd;
	uint32_t s;

	while (sv->hooks_head < sv->nhooks && !sv->stopping &&
	       (w = jobs_pick_worker(sv)) != NULL) {
		h = sv->hooks[sv->hooks_head++];
		if (store_get(sv->store, h.id, &job) != 0)
			continue; /* cleaned away meanwhile */
		cmd = h.conf ? sv->conf.on_finish : job.spec.on_finish;
		if (cmd == NULL || cmd[0] == '\0' ||
		    (job.uid == 0 && geteuid() == 0 &&
		     !sv->access.allow_root_jobs)) {
			store_job_free(&job);
			continue;
		}
		for (s = 0; w->slots[s].job_id != 0; s++)
			;
		slot = shm_slot(&sv->shm, (uint32_t)w->index, s);
		if (jobs_fill_hook(sv, slot, &job, cmd) == 0) {
			log_warnx("job %llu: its on-finish command does not "
				  "fit a slot; not run",
				  (unsigned long long)h.id);
			store_job_free(&job);
			continue;
		}
		store_job_free(&job);
		w->slots[s] = (struct sv_slot){.job_id = h.id,
					       .attempt = slot->attempt,
					       .hook = true};
		w->busy++;
		slot->state = SLOT_SENT;
		jobs_send(w, CH_S_RUN, s, h.id);
	}
}

/* A hook's end: logged when it failed, nothing more. */
void
jobs_hook_ended(struct supervisor *sv, uint64_t id, const struct job_result *r)
{
	char what[64];

	if (r->state == JOB_SUCCEEDED)
		return;
	if (r->error[0] != '\0')
		strlcpy(what, r->error, sizeof what);
	else
		job_describe_exit(r->exit_code, r->signal, what, sizeof what);
	log_warnx("job %llu: on-finish command %s; its output is in "
		  "%s/logs/%llu.hook",
		  (unsigned long long)id, what, sv->conf.state_dir,
		  (unsigned long long)id);
}
