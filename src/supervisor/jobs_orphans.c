/*
 * The jobs of a worker that died: each ends recorded, goes back to the
 * queue, or, when it still runs, is adopted: forqd, as the child
 * subreaper that inherited it, watches it to its end, enforces its
 * timeout and its cancel, and records how it ended. None vanishes and
 * none that finished runs again.
 */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "supervisor/jobs_impl.h"
#include "supervisor/supervisor.h"
#include "supervisor/watch.h"

static void jobs_on_adopted_exit(struct ev_io *io, uint32_t events);
static void jobs_orphan_stop(struct adopted *a, enum job_state end,
			     int64_t now);

/* Adopted jobs reaped this turn: the loop may still hold an event for
 * one of them (its pidfd and SIGCHLD can come in the same batch). */
void
jobs_end_turn(struct supervisor *sv)
{
	struct adopted *a;

	while ((a = TAILQ_FIRST(&sv->adopted_gone)) != NULL) {
		TAILQ_REMOVE(&sv->adopted_gone, a, entry);
		free(a);
	}
}

/* 0: forqd watches the job now; -1: it was gone, and is recorded. */
static int
jobs_adopt(struct sv_worker *w, const struct slot *slot, struct sv_slot *s)
{
	struct supervisor *sv = w->sv;
	struct adopted *a;
	int fd;

	/* ENOSYS: no pidfds here; its SIGCHLD will come to us instead. */
	fd = (int)syscall(SYS_pidfd_open, slot->pid, 0);
	if ((fd == -1 && errno != ENOSYS) ||
	    (a = calloc(1, sizeof *a)) == NULL) {
		/* Gone already: it ended as the worker died, unrecorded. */
		if (fd != -1)
			close(fd);
		struct job_result r = {.state = JOB_LOST,
				       .exit_code = -1,
				       .end_ns = clock_real_ns()};
		snprintf(r.error, sizeof r.error,
			 "its worker died as the job ended; result unknown");
		log_warnx("job %llu (pid %d): its worker died as it ended; "
			  "result unknown, marked lost",
			  (unsigned long long)s->job_id, (int)slot->pid);
		jobs_ended(sv, s->job_id, s->attempt, &s->run, w->index, w->cpu,
			   &r);
		return -1;
	}
	a->sv = sv;
	a->job_id = s->job_id;
	a->attempt = s->attempt;
	a->run = s->run;
	a->pid = slot->pid;
	a->worker = w->index;
	a->cpu = w->cpu;
	a->start_ns = s->start_ns;
	a->timeout_ms = slot->timeout_ms;
	a->end = JOB_RUNNING;
	if (slot->timeout_ms > 0)
		a->deadline_ns = clock_mono_ns() +
				 slot->timeout_ms * NS_PER_MS -
				 (clock_real_ns() - s->start_ns);
	ev_io_set(&a->pidfd, fd, jobs_on_adopted_exit, a);
	if (fd != -1 && ev_add(&sv->loop, &a->pidfd, EPOLLIN) == -1)
		fatal("epoll_ctl");
	TAILQ_INSERT_TAIL(&sv->adopted, a, entry);
	log_info("job %llu (pid %d) outlives worker %d; forqd watches it now",
		 (unsigned long long)a->job_id, (int)a->pid, w->index);
	if (s->cancel_sent)
		jobs_orphan_stop(a, JOB_CANCELLED, clock_mono_ns());
	return 0;
}

/* Every job in flight on a dead worker ends recorded or goes back to
 * the queue: by how far the slot got, never by guessing. */
void
jobs_worker_died(struct sv_worker *w)
{
	struct supervisor *sv = w->sv;
	struct slot *slot;
	struct sv_slot *s;
	uint32_t i;
	bool adopted;

	for (i = 0; i < sv->shm.slots_per_worker; i++) {
		s = &w->slots[i];
		if (s->job_id == 0)
			continue;
		slot = shm_slot(&sv->shm, (uint32_t)w->index, i);
		adopted = false;
		/* An on-finish command is not run again, nor watched. */
		if (s->hook) {
			if (slot->pid > 0)
				kill(-slot->pid, SIGKILL);
			log_warnx("job %llu: its worker died while its "
				  "on-finish command ran",
				  (unsigned long long)s->job_id);
			jobs_free_slot(w, i, false);
			continue;
		}
		switch (slot->state) {
		case SLOT_SENT:
		case SLOT_ACCEPTED:
			/* It never forked: nothing ran. */
			store_requeue(sv->store, s->job_id, s->attempt, 0,
				      NULL);
			jobs_queue_again(sv, s->job_id, &s->run, s->attempt);
			break;
		case SLOT_SPAWNING:
		case SLOT_SPAWNED:
			if (slot->pid > 0) {
				if (s->start_ns == 0)
					s->start_ns = clock_real_ns();
				adopted = jobs_adopt(w, slot, s) == 0;
			} else {
				jobs_interrupted(sv, s, w->index, w->cpu,
						 "its worker died while "
						 "starting it");
			}
			break;
		case SLOT_EXITED:
		case SLOT_DONE: {
			struct job_result r = slot->result;

			r.error[sizeof r.error - 1] = '\0';
			if (!job_state_final(r.state))
				r.state = JOB_LOST;
			jobs_ended(sv, s->job_id, s->attempt, &s->run, w->index,
				   w->cpu, &r);
			break;
		}
		default:
			jobs_interrupted(sv, s, w->index, w->cpu,
					 "its worker died");
			break;
		}
		jobs_free_slot(w, i, adopted);
	}
}

static void
jobs_adopted_reap(struct adopted *a)
{
	struct supervisor *sv = a->sv;
	struct job_result r = {0};
	struct rusage ru;
	int status;
	pid_t pid;

	pid = wait4(a->pid, &status, WNOHANG, &ru);
	if (pid == 0 || (pid == -1 && errno == EINTR))
		return;
	r.start_ns = a->start_ns;
	r.end_ns = clock_real_ns();
	if (pid == -1) {
		r.state = JOB_LOST;
		r.exit_code = -1;
		snprintf(r.error, sizeof r.error, "wait4: %s", strerror(errno));
	} else {
		job_result_from_wait(&r, status, &ru);
		r.state = a->end != JOB_RUNNING ? a->end
			  : r.exit_code == 0    ? JOB_SUCCEEDED
						: JOB_FAILED;
		if (a->end == JOB_TIMED_OUT)
			snprintf(r.error, sizeof r.error,
				 "timed out after %lldms",
				 (long long)a->timeout_ms);
	}
	if (a->pidfd.fd != -1) {
		ev_del(&sv->loop, &a->pidfd);
		close(a->pidfd.fd);
		a->pidfd.fd = -1;
	}
	TAILQ_REMOVE(&sv->adopted, a, entry);
	TAILQ_INSERT_TAIL(&sv->adopted_gone, a, entry);
	runq_ended(sv->runq, a->run.queue, a->run.uid);
	jobs_ended(sv, a->job_id, a->attempt, &a->run, a->worker, a->cpu, &r);
}

static void
jobs_on_adopted_exit(struct ev_io *io, uint32_t events)
{
	jobs_adopted_reap(io->arg);
}

/* SIGCHLD: as subreaper forqd inherits whatever jobs leave behind.
 * Workers and adopted jobs are reaped by their own handlers (which need
 * their status and rusage); any other child is reaped here. */
void
jobs_reap_children(struct supervisor *sv)
{
	struct adopted *a;
	siginfo_t si;
	pid_t last = 0;
	uint32_t i;
	bool known;

	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 ||
		    si.si_pid == 0 || si.si_pid == last)
			return; /* none left, or a handler could not reap it */
		last = si.si_pid;
		known = false;
		for (i = 0; i < sv->workers_max && !known; i++) {
			if (sv->workers[i].pid == si.si_pid) {
				/* What its pidfd handler would do. */
				workers_reap(&sv->workers[i]);
				known = true;
			}
		}
		if (known)
			continue;
		TAILQ_FOREACH (a, &sv->adopted, entry) {
			if (a->pid == si.si_pid) {
				jobs_adopted_reap(a);
				known = true;
				break;
			}
		}
		if (!known) {
			waitpid(si.si_pid, NULL, WNOHANG);
			log_debug("reaped pid %d, left behind by a job",
				  (int)si.si_pid);
		}
	}
}

/* Ends an adopted job as end: TERM now, KILL after kill_grace. */
static void
jobs_orphan_stop(struct adopted *a, enum job_state end, int64_t now)
{
	a->end = end;
	kill(-a->pid, SIGTERM);
	a->kill_at_ns = now + a->sv->conf.kill_grace_ms * NS_PER_MS + 1;
}

bool
jobs_orphans_cancel(struct supervisor *sv, uint64_t id)
{
	struct adopted *a;

	TAILQ_FOREACH (a, &sv->adopted, entry) {
		if (a->job_id != id)
			continue;
		if (a->end == JOB_RUNNING)
			jobs_orphan_stop(a, JOB_CANCELLED, clock_mono_ns());
		return true;
	}
	return false;
}

int64_t
jobs_orphans_deadline(const struct supervisor *sv)
{
	const struct adopted *a;
	int64_t next = 0, at;

	TAILQ_FOREACH (a, &sv->adopted, entry) {
		at = a->kill_at_ns != 0      ? a->kill_at_ns
		     : a->end == JOB_RUNNING ? a->deadline_ns
					     : 0;
		if (at != 0 && (next == 0 || at < next))
			next = at;
	}
	return next;
}

/* Their timeouts, and KILL for those that outlived their grace. */
void
jobs_orphans_check(struct supervisor *sv, int64_t now)
{
	struct adopted *a;

	TAILQ_FOREACH (a, &sv->adopted, entry) {
		if (a->kill_at_ns != 0 && now >= a->kill_at_ns) {
			kill(-a->pid, SIGKILL);
			a->kill_at_ns = 0;
		} else if (a->end == JOB_RUNNING && a->deadline_ns != 0 &&
			   now >= a->deadline_ns) {
			jobs_orphan_stop(a, JOB_TIMED_OUT, now);
		}
	}
}

void
jobs_orphans_ids(const struct supervisor *sv, int queue, uint64_t *ids,
		 size_t *n, size_t cap)
{
	const struct adopted *a;

	TAILQ_FOREACH (a, &sv->adopted, entry) {
		if (*n < cap && (queue == RUNQ_ALL || a->run.queue == queue))
			ids[(*n)++] = a->job_id;
	}
}

void
jobs_orphans_kill_all(struct supervisor *sv)
{
	struct adopted *a;

	TAILQ_FOREACH (a, &sv->adopted, entry)
		kill(-a->pid, SIGKILL);
}

void
jobs_orphans_free(struct supervisor *sv)
{
	struct adopted *a;

	while ((a = TAILQ_FIRST(&sv->adopted)) != NULL) {
		TAILQ_REMOVE(&sv->adopted, a, entry);
		if (a->pidfd.fd != -1)
			close(a->pidfd.fd);
		free(a);
	}
	jobs_end_turn(sv);
}
