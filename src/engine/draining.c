/* Workers of another layout, running their jobs to the end for us. */
#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/array.h"
#include "common/clock.h"
#include "common/compat.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/job.h"
#include "ipc/orphan.h"
#include "engine/draining.h"
#include "engine/jobs.h"
#include "engine/orphans.h"
#include "engine/workers.h"

struct drain_job {
	struct orphan_job at;
	struct job_run run;
	bool cancel;        /* its end is recorded as cancelled */
	int64_t kill_at_ns; /* monotonic: KILL, kill_grace after TERM */
};

struct drainer {
	struct draining *owner;
	int index;
	int cpu;
	pid_t pid;
	struct ev_io conn;  /* its lines */
	struct ev_io pidfd; /* -1: none (no pidfds), or gone */
	char buf[ORPHAN_LINE_MAX * 4];
	size_t len;
	struct drain_job *jobs;
	size_t njobs;
	bool conn_gone;
	bool proc_gone;
};

struct end_file {
	uint64_t id;
	uint32_t attempt;
};

struct draining {
	struct ev_loop *loop;
	const struct conf *conf;
	const struct cg_tree *cg;
	struct jobs *jobs;
	struct workers *workers;
	struct drainer **d;
	size_t n, cap;
	/* Ends recorded, whose files go once a commit has them. */
	struct end_file *done;
	size_t ndone, done_cap;
};

static void draining_on_conn(struct ev_io *io, uint32_t events);
static void draining_on_exit(struct ev_io *io, uint32_t events);

struct draining *
draining_new(struct ev_loop *loop, const struct conf *conf,
	     const struct cg_tree *cg, struct jobs *jobs,
	     struct workers *workers)
{
	struct draining *d;

	if ((d = calloc(1, sizeof *d)) == NULL)
		return NULL;
	d->loop = loop;
	d->conf = conf;
	d->cg = cg;
	d->jobs = jobs;
	d->workers = workers;
	return d;
}

static void
drainer_close(struct drainer *dr)
{
	struct ev_loop *loop = dr->owner->loop;

	if (dr->conn.fd != -1) {
		ev_del(loop, &dr->conn);
		close(dr->conn.fd);
		dr->conn.fd = -1;
	}
	if (dr->pidfd.fd != -1) {
		ev_del(loop, &dr->pidfd);
		close(dr->pidfd.fd);
		dr->pidfd.fd = -1;
	}
}

static void
drainer_free(struct drainer *dr)
{
	drainer_close(dr);
	free(dr->jobs);
	free(dr);
}

void
draining_free(struct draining *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		drainer_free(d->d[i]);
	free(d->d);
	free(d->done);
	free(d);
}

static void
drain_job_signal(const struct drainer *dr, const struct drain_job *j, int sig)
{
	cg_job_signal(dr->owner->cg, dr->index, j->at.slot, j->at.pid, sig);
}

static void
drainer_forget(struct drainer *dr, size_t k)
{
	dr->jobs[k] = dr->jobs[--dr->njobs];
}

static ssize_t
drainer_find(const struct drainer *dr, uint64_t id, uint32_t attempt)
{
	size_t k;

	for (k = 0; k < dr->njobs; k++) {
		if (dr->jobs[k].at.id == id &&
		    dr->jobs[k].at.attempt == attempt)
			return (ssize_t)k;
	}
	return -1;
}

/* A job's end, from its file: recorded as any end, its file removed
 * once that is committed. -1 if there is no such file. */
static int
drainer_record(struct drainer *dr, size_t k)
{
	struct draining *d = dr->owner;
	struct drain_job *j = &dr->jobs[k];
	struct job_result r;

	if (orphan_end_read(d->conf->state_dir, j->at.id, j->at.attempt, &r) ==
		-1 ||
	    array_reserve((void **)&d->done, &d->done_cap, d->ndone + 1,
			  sizeof *d->done) == -1)
		return -1;
	if (j->cancel && r.state != JOB_SUCCEEDED) {
		r.state = JOB_CANCELLED;
		snprintf(r.error, sizeof r.error, "cancelled");
	}
	d->done[d->ndone++] =
	    (struct end_file){.id = j->at.id, .attempt = j->at.attempt};
	jobs_left_slot(d->jobs, &j->run);
	jobs_ended(d->jobs, j->at.id, j->at.attempt, &j->run, dr->index,
		   dr->cpu, &r);
	drainer_forget(dr, k);
	return 0;
}

static void
drainer_line(struct drainer *dr, const char *line)
{
	struct orphan_drain_line l;
	ssize_t k;

	if (orphan_drain_parse(line, &l) != 'e')
		return;
	if ((k = drainer_find(dr, l.id, l.attempt)) == -1)
		return;
	if (drainer_record(dr, (size_t)k) == -1)
		log_warnx("job %llu: its draining worker %d said it ended, "
			  "but its end cannot be read from " ORPHAN_ENDS_DIR,
			  (unsigned long long)l.id, dr->index);
}

/* Gone, process and connection: what it still ran is killed (its end
 * file, if it made one, is its end) and queued again; its CPU takes a
 * worker of this forqd's. */
static void
drainer_done(struct drainer *dr)
{
	struct draining *d = dr->owner;
	struct drain_job *j;
	size_t i;

	while (dr->njobs > 0) {
		j = &dr->jobs[dr->njobs - 1];
		drain_job_signal(dr, j, SIGKILL);
		if (drainer_record(dr, dr->njobs - 1) == 0)
			continue;
		jobs_left_slot(d->jobs, &j->run);
		jobs_interrupted(d->jobs, j->at.id, j->at.attempt, &j->run,
				 dr->index, dr->cpu,
				 "its worker, of a previous forqd's layout, "
				 "ended before it");
		dr->njobs--;
	}
	log_info("worker %d (pid %d) of the previous layout has drained",
		 dr->index, (int)dr->pid);
	workers_release_drain(d->workers, dr->index);
	for (i = 0; i < d->n; i++) {
		if (d->d[i] == dr) {
			d->d[i] = d->d[--d->n];
			break;
		}
	}
	drainer_free(dr);
}

static void
draining_on_conn(struct ev_io *io, uint32_t events)
{
	struct drainer *dr = io->arg;
	char *nl, *start;
	ssize_t n;

	n = read(io->fd, dr->buf + dr->len, sizeof dr->buf - dr->len - 1);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		dr->len += (size_t)n;
		dr->buf[dr->len] = '\0';
		start = dr->buf;
		while ((nl = strchr(start, '\n')) != NULL) {
			char line[ORPHAN_LINE_MAX * 4];
			size_t len = (size_t)(nl - start) + 1;

			memcpy(line, start, len);
			line[len] = '\0';
			drainer_line(dr, line);
			start = nl + 1;
		}
		dr->len -= (size_t)(start - dr->buf);
		memmove(dr->buf, start, dr->len);
		/* A line longer than any it says: not a worker's. */
		if (dr->len < sizeof dr->buf - 1)
			return;
	}
	dr->conn_gone = true;
	ev_del(dr->owner->loop, &dr->conn);
	close(dr->conn.fd);
	dr->conn.fd = -1;
	if (dr->proc_gone || dr->pidfd.fd == -1)
		drainer_done(dr);
}

static void
draining_on_exit(struct ev_io *io, uint32_t events)
{
	struct drainer *dr = io->arg;

	dr->proc_gone = true;
	ev_del(dr->owner->loop, &dr->pidfd);
	close(dr->pidfd.fd);
	dr->pidfd.fd = -1;
	/* Its last lines are read before it is taken for gone. */
	if (dr->conn_gone)
		drainer_done(dr);
}

void
draining_add(struct draining *d, struct orphan_found *o)
{
	struct drainer *dr;
	struct drain_job *j;
	size_t i;
	bool gone;
	int fd;

	if (array_reserve((void **)&d->d, &d->cap, d->n + 1, sizeof *d->d) ==
		-1 ||
	    (dr = calloc(1, sizeof *dr)) == NULL ||
	    (dr->jobs = calloc(o->njobs + 1, sizeof *dr->jobs)) == NULL)
		fatal("draining");
	dr->owner = d;
	dr->index = o->index;
	dr->cpu = o->cpu;
	dr->pid = o->pid;
	for (i = 0; i < o->njobs; i++) {
		j = &dr->jobs[dr->njobs];
		j->at = o->jobs[i];
		/* Its queue counts it running, as a job started here. */
		if (jobs_adoptable(d->jobs, j->at.id, j->at.attempt, &j->run) &&
		    jobs_keep_slot(d->jobs, &j->run) == 0) {
			dr->njobs++;
			continue;
		}
		log_warnx("job %llu (attempt %u) runs on draining worker %d, "
			  "but is not running by the store; stopping it",
			  (unsigned long long)j->at.id, j->at.attempt + 1,
			  o->index);
		drain_job_signal(dr, j, SIGKILL);
	}
	free(o->jobs);
	o->jobs = NULL;
	ev_io_set(&dr->conn, o->chan, draining_on_conn, dr);
	o->chan = -1;
	fd = sys_pidfd_open(o->pid);
	gone = fd == -1 && errno == ESRCH;
	ev_io_set(&dr->pidfd, fd, draining_on_exit, dr);
	if (ev_add(d->loop, &dr->conn, EPOLLIN) == -1 ||
	    (fd != -1 && ev_add(d->loop, &dr->pidfd, EPOLLIN) == -1))
		fatal("epoll_ctl");
	d->d[d->n++] = dr;
	workers_hold_for_drain(d->workers, dr->index, dr->cpu, dr->pid);
	/* Gone already: its lines are still to be read. */
	if (gone)
		dr->proc_gone = true;
}

void
draining_committed(struct draining *d, bool committed)
{
	size_t i;

	if (!committed)
		return;
	for (i = 0; i < d->ndone; i++)
		orphan_end_remove(d->conf->state_dir, d->done[i].id,
				  d->done[i].attempt);
	d->ndone = 0;
}

size_t
draining_jobs(const struct draining *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		n += d->d[i]->njobs;
	return n;
}

size_t
draining_workers(const struct draining *d)
{
	return d->n;
}

bool
draining_cancel(struct draining *d, uint64_t id)
{
	struct drainer *dr;
	size_t i, k;

	for (i = 0; i < d->n; i++) {
		dr = d->d[i];
		for (k = 0; k < dr->njobs; k++) {
			if (dr->jobs[k].at.id != id)
				continue;
			if (!dr->jobs[k].cancel) {
				dr->jobs[k].cancel = true;
				dr->jobs[k].kill_at_ns =
				    clock_mono_ns() +
				    d->conf->kill_grace_ms * NS_PER_MS + 1;
				drain_job_signal(dr, &dr->jobs[k], SIGTERM);
			}
			return true;
		}
	}
	return false;
}

void
draining_end_all(struct draining *d, bool hard)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		kill(d->d[i]->pid, hard ? SIGKILL : SIGTERM);
}

void
draining_leave_all(struct draining *d)
{
	size_t i;

	/* They drain on; the next forqd asks them again. */
	for (i = 0; i < d->n; i++)
		drainer_free(d->d[i]);
	d->n = 0;
}

int64_t
draining_next_deadline(const struct draining *d)
{
	int64_t next = 0, at;
	size_t i, k;

	for (i = 0; i < d->n; i++) {
		for (k = 0; k < d->d[i]->njobs; k++) {
			at = d->d[i]->jobs[k].kill_at_ns;
			if (at != 0 && (next == 0 || at < next))
				next = at;
		}
	}
	return next;
}

void
draining_check(struct draining *d, int64_t now)
{
	struct drain_job *j;
	size_t i, k;

	for (i = 0; i < d->n; i++) {
		for (k = 0; k < d->d[i]->njobs; k++) {
			j = &d->d[i]->jobs[k];
			if (j->kill_at_ns != 0 && now >= j->kill_at_ns) {
				j->kill_at_ns = 0;
				drain_job_signal(d->d[i], j, SIGKILL);
			}
		}
	}
}

size_t
draining_on_worker(const struct draining *d, int index, uint64_t *ids,
		   size_t cap)
{
	size_t i, k, n = 0;

	for (i = 0; i < d->n; i++) {
		if (d->d[i]->index != index)
			continue;
		for (k = 0; k < d->d[i]->njobs && n < cap; k++)
			ids[n++] = d->d[i]->jobs[k].at.id;
	}
	return n;
}
