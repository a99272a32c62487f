/* A slot's job, laid out for the worker and its child. */
#include <stdio.h>
#include <string.h>

#include "engine/slotfill.h"
#include "ipc/shm.h"
#include "store/store.h"

/* What every slot says beside its command: who runs it, with which
 * umask and limits, and how it is stopped. */
static void
slotfill_common(struct slot *slot, const struct slotfill_conf *c,
		const struct store_job *job, uint64_t gpu_deny)
{
	slot->kill_grace_ms = c->kill_grace_ms;
	slot->output_max = c->output_max;
	slot->mem = job->spec.mem;
	slot->tasks_max = c->tasks_max;
	slot->gpu_deny = gpu_deny;
	slot->ncpus = 1;
	slot->uid = job->uid;
	slot->gid = job->gid;
	slot->umask = c->umask;
	memcpy(slot->rlimits, c->rlimits, sizeof slot->rlimits);
	slot->job_id = job->id;
	slot->attempt = job->attempt;
	slot->array_id = job->array_id;
	slot->array_index = job->array_index;
	slot->pid = 0;
	slot->start_ns = 0;
}

size_t
slotfill_job(struct slot *slot, size_t room, const struct slotfill_conf *c,
	     const struct store_job *job, const char *res, size_t res_len,
	     uint32_t nres, uint64_t gpu_deny)
{
	const struct job_spec *sp = &job->spec;
	const char *files[] = {job->name != NULL ? job->name : "",
			       sp->stdout_path != NULL ? sp->stdout_path : "",
			       sp->stderr_path != NULL ? sp->stderr_path : "",
			       sp->stdin_path != NULL ? sp->stdin_path : ""};
	size_t cwd_len = strlen(sp->cwd) + 1, files_len = 0, k, n, need;
	char *at;

	for (k = 0; k < 4; k++)
		files_len += strlen(files[k]) + 1;
	need = sp->argv_len + res_len + sp->env_len + cwd_len + files_len;
	if (need > room)
		return 0;
	slotfill_common(slot, c, job, gpu_deny);
	slot->flags = sp->append ? SLOT_F_APPEND : 0;
	slot->files_len = (uint32_t)files_len;
	slot->file_umask = sp->file_umask >= 0 ? (uint32_t)sp->file_umask : 077;
	slot->timeout_ms = sp->timeout_ms;
	slot->argc = sp->argc;
	slot->envc = sp->envc + nres;
	slot->argv_len = (uint32_t)sp->argv_len;
	slot->env_len = (uint32_t)(res_len + sp->env_len);
	slot->cwd_len = (uint32_t)cwd_len;
	at = slot->data;
	memcpy(at, sp->argv, sp->argv_len);
	at += sp->argv_len;
	if (res_len > 0) /* res may be NULL then */
		memcpy(at, res, res_len);
	at += res_len;
	memcpy(at, sp->env, sp->env_len);
	at += sp->env_len;
	memcpy(at, sp->cwd, cwd_len);
	at += cwd_len;
	for (k = 0; k < 4; k++) {
		n = strlen(files[k]) + 1;
		memcpy(at, files[k], n);
		at += n;
	}
	return need;
}

size_t
slotfill_hook(struct slot *slot, size_t room, const struct slotfill_conf *c,
	      const struct store_job *job, const char *cmd, uint64_t gpu_deny)
{
	static const char sh[] = "/bin/sh\0-c";
	char vars[1024], code[16] = "", sig[16] = "";
	size_t cmd_len = strlen(cmd) + 1, cwd_len = strlen(job->spec.cwd) + 1;
	size_t argv_len = sizeof sh + cmd_len, vars_len, need;
	char *at;
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
	if (need > room)
		return 0;
	slotfill_common(slot, c, job, gpu_deny);
	slot->flags = SLOT_F_HOOK;
	slot->files_len = 0;
	slot->timeout_ms = c->on_finish_timeout_ms;
	slot->argc = 3;
	slot->envc = job->spec.envc + 5;
	slot->argv_len = (uint32_t)argv_len;
	slot->env_len = (uint32_t)(job->spec.env_len + vars_len);
	slot->cwd_len = (uint32_t)cwd_len;
	at = slot->data;
	memcpy(at, sh, sizeof sh);
	at += sizeof sh;
	memcpy(at, cmd, cmd_len);
	at += cmd_len;
	memcpy(at, job->spec.env, job->spec.env_len);
	at += job->spec.env_len;
	memcpy(at, vars, vars_len);
	at += vars_len;
	memcpy(at, job->spec.cwd, cwd_len);
	return need;
}
