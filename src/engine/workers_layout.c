/*
 * Which worker stands on which CPU: the CPU plan applied at start and
 * at a reload (workers started where the plan wants one, retired where
 * it no longer does), a CPU held while a worker of another layout
 * drains there, and the workers of a previous forqd taken on as they
 * are. A worker's process itself is workers.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/log.h"
#include "ipc/channel.h"
#include "ipc/shm.h"
#include "core/restart.h"
#include "engine/orphans.h"
#include "engine/workers.h"
#include "engine/workers_int.h"

static void
workers_send_config(struct workers *ws)
{
	uint32_t i;

	for (i = 0; i < ws->max; i++) {
		if (ws->w[i].pid != 0)
			workers_send_config_to(&ws->w[i]);
	}
}

static struct sv_worker *
workers_find_planned(struct workers *ws, int cpu)
{
	uint32_t i;

	for (i = 0; i < ws->max; i++) {
		if (ws->w[i].planned && ws->w[i].cpu == cpu)
			return &ws->w[i];
	}
	return NULL;
}

static struct sv_worker *
workers_find_free(struct workers *ws)
{
	uint32_t i;

	for (i = 0; i < ws->max; i++) {
		if (!ws->w[i].planned && ws->w[i].pid == 0)
			return &ws->w[i];
	}
	return NULL;
}

/* Makes the set of workers follow a CPU plan: keeps those whose CPU is
 * still wanted, retires the others gracefully, starts the new ones. */
void
workers_apply_plan(struct workers *ws, const int *cpus, size_t n)
{
	struct sv_worker *w;
	uint32_t i;
	size_t j;
	bool wanted;

	for (i = 0; i < ws->max; i++) {
		w = &ws->w[i];
		if (!w->planned)
			continue;
		wanted = false;
		for (j = 0; j < n; j++)
			wanted |= cpus[j] == w->cpu;
		if (wanted)
			continue;
		w->planned = false;
		w->retry_at_ns = 0;
		if (w->pid != 0) {
			log_info("worker %d (pid %d, cpu %d): cpu no longer "
				 "in the plan, retiring",
				 w->index, (int)w->pid, w->cpu);
			w->retiring = true;
			workers_set_state(w, SB_RETIRING);
			workers_send(w, CH_S_RETIRE, NULL, 0);
		} else {
			workers_set_state(w, SB_EMPTY);
		}
	}
	for (j = 0; j < n; j++) {
		if (workers_find_planned(ws, cpus[j]) != NULL)
			continue;
		if ((w = workers_find_free(ws)) == NULL) {
			log_warnx("no free worker entry for cpu %d", cpus[j]);
			continue;
		}
		w->planned = true;
		w->retiring = false;
		w->cpu = cpus[j];
		w->sb->restarts = 0;
		w->sb->last_exit[0] = '\0';
		restart_state_reset(&w->restart);
		workers_spawn(w);
	}
}

void
workers_hold_for_drain(struct workers *ws, int index, int cpu, pid_t pid)
{
	struct sv_worker *w = &ws->w[index];

	w->drain_held = true;
	w->cpu = cpu;
	w->started_ns = clock_mono_ns();
	w->sb->pid = pid;
	w->sb->cpu = cpu;
	w->sb->started_ns = 0;
	w->sb->adopted_ns = clock_real_ns();
	workers_set_state(w, SB_DRAINING);
}

void
workers_release_drain(struct workers *ws, int index)
{
	struct sv_worker *w = &ws->w[index];

	if (!w->drain_held)
		return;
	w->drain_held = false;
	w->sb->pid = 0;
	if (w->planned && w->pid == 0 && !ws->stopping)
		workers_spawn(w);
	else
		workers_set_state(w, w->planned ? SB_STOPPED : SB_EMPTY);
}

void
workers_take(struct workers *ws, const struct orphan_found *o)
{
	struct sv_worker *w = &ws->w[o->index];
	int64_t now = clock_mono_ns();
	bool gone;
	int pidfd;

	w->planned = true;
	w->retiring = false;
	w->foreign = true;
	w->cpu = o->cpu;
	w->pid = o->pid;
	/* Its age is its own, not this forqd's. */
	w->started_ns = now - (clock_real_ns() - o->born_ns);
	restart_state_reset(&w->restart);
	if ((pidfd = sys_pidfd_open(o->pid)) != -1)
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	gone = pidfd == -1 && errno == ESRCH;
	w->pidfd.fd = pidfd;
	w->chan.fd = o->chan;
	ch_reader_init(&w->reader);
	if ((pidfd != -1 && ev_add(ws->loop, &w->pidfd, EPOLLIN) == -1) ||
	    ev_add(ws->loop, &w->chan, EPOLLIN) == -1)
		fatal("epoll_ctl");
	w->sb->pid = o->pid;
	w->sb->cpu = o->cpu;
	w->sb->started_ns = w->started_ns;
	w->sb->retry_at_ns = 0;
	w->sb->restarts = 0;
	w->sb->adopted_ns = clock_real_ns();
	w->sb->last_exit[0] = '\0';
	workers_set_state(w, SB_READY);
	workers_send_config_to(w);
	log_info("worker %d (pid %d, cpu %d) of the previous forqd taken on, "
		 "with %u jobs",
		 w->index, (int)o->pid, o->cpu, o->held);
	/* Gone already. (Without pidfds at all, the end of its channel
	 * tells of its death: workers_on_message.) */
	if (gone)
		workers_reap(w);
}

void
workers_retire_all(struct workers *ws)
{
	struct sv_worker *w;
	uint32_t i;

	ws->stopping = true;
	for (i = 0; i < ws->max; i++) {
		w = &ws->w[i];
		w->retry_at_ns = 0;
		if (w->pid == 0) {
			if (w->planned)
				workers_set_state(w, SB_STOPPED);
			continue;
		}
		w->retiring = true;
		workers_set_state(w, SB_RETIRING);
		workers_send(w, CH_S_RETIRE, NULL, 0);
	}
}

/* After a reload: held and failed workers get a fresh chance. */
static void
workers_retry_held(struct workers *ws)
{
	struct sv_worker *w;
	uint32_t i;

	for (i = 0; i < ws->max; i++) {
		w = &ws->w[i];
		restart_state_reset(&w->restart);
		if (w->planned && w->pid == 0 &&
		    (w->sb->state == SB_HELD || w->sb->state == SB_FAILED ||
		     w->sb->state == SB_RESTARTING)) {
			w->sb->restarts++;
			workers_spawn(w);
		}
	}
}

void
workers_reload(struct workers *ws, const int *cpus, size_t n)
{
	workers_policy(ws);
	workers_send_config(ws);
	workers_apply_plan(ws, cpus, n);
	workers_retry_held(ws);
}

uint32_t
workers_planned(const struct workers *ws)
{
	uint32_t i, n = 0;

	for (i = 0; i < ws->max; i++)
		n += ws->w[i].planned;
	return n;
}

bool
workers_settled(const struct workers *ws, uint32_t *planned)
{
	const struct sv_worker *w;
	bool settled = true;
	uint32_t i;

	*planned = workers_planned(ws);
	for (i = 0; i < ws->max; i++) {
		w = &ws->w[i];
		if (w->planned && w->sb->state != SB_READY &&
		    w->sb->state != SB_HELD && w->sb->state != SB_FAILED &&
		    w->sb->state != SB_DRAINING)
			settled = false;
	}
	return settled;
}
