/* A worker without its forqd: waiting to be adopted, ends on disk. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "ipc/channel.h"
#include "ipc/orphan.h"
#include "worker/orphan.h"

struct wk_orphan {
	struct ev_loop *loop;
	struct wk_orphan_cb cb;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ev_io listen;
	struct ev_io conn; /* the one connection that may adopt */
	struct ch_reader reader;
	int passed; /* the memfd that came with it; -1: none yet */
	struct ev_io timer;
	int ends_fd; /* STATE/ends */
	int64_t timeout_ms;
	/* Its forqd is gone: an adoption is taken (one that came before is
	 * held until then, so that a forqd restarted at once finds it). */
	bool alone;
	bool pending; /* an adoption waits, read whole, out of the loop */
	struct ch_adopt adopt;
	int index, cpu;
	/* A forqd of another layout asked for a drain (held, as an
	 * adoption is, until the worker is alone), or one is under way:
	 * no deadline then. */
	bool drain_pending;
	bool draining;
};

static void wk_orphan_on_accept(struct ev_io *io, uint32_t events);
static void wk_orphan_on_conn(struct ev_io *io, uint32_t events);
static void wk_orphan_on_timer(struct ev_io *io, uint32_t events);

static void
wk_orphan_drop_conn(struct wk_orphan *o)
{
	if (o->conn.fd != -1) {
		ev_del(o->loop, &o->conn);
		close(o->conn.fd);
		o->conn.fd = -1;
	}
	if (o->passed != -1) {
		close(o->passed);
		o->passed = -1;
	}
	o->pending = false;
	ch_reader_init(&o->reader);
}

/* A drain: the connection is the worker's, to report its jobs on. */
static void
wk_orphan_deliver_drain(struct wk_orphan *o)
{
	int conn = o->conn.fd;

	o->conn.fd = -1;
	o->drain_pending = false;
	ch_reader_init(&o->reader);
	if (o->passed != -1) {
		close(o->passed);
		o->passed = -1;
	}
	o->draining = true;
	(void)ev_timer_arm(o->timer.fd, 0);
	o->cb.drain(o->cb.arg, conn);
}

/* The adoption that was read goes to the worker: taken, the worker is
 * no longer alone and the next loss of its forqd starts over. */
static void
wk_orphan_deliver(struct wk_orphan *o)
{
	int conn = o->conn.fd, shm_fd = o->passed;

	o->conn.fd = -1;
	o->passed = -1;
	o->pending = false;
	ch_reader_init(&o->reader);
	if (!o->cb.adopted(o->cb.arg, &o->adopt, shm_fd, conn))
		return;
	o->alone = false;
	o->draining = false;
	(void)ev_timer_arm(o->timer.fd, 0);
}

void
wk_orphan_alone(struct wk_orphan *o, int64_t timeout_ms)
{
	o->alone = true;
	(void)ev_timer_arm(o->timer.fd,
			   clock_mono_ns() + timeout_ms * NS_PER_MS + 1);
	if (o->drain_pending)
		wk_orphan_deliver_drain(o);
	else if (o->pending)
		wk_orphan_deliver(o);
}

struct wk_orphan *
wk_orphan_new(struct ev_loop *loop, const char *state_dir, int index, int cpu,
	      const struct wk_orphan_cb *cb)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[4200];
	struct wk_orphan *o;
	int fd = -1;

	if ((o = calloc(1, sizeof *o)) == NULL) {
		log_warn("orphan");
		return NULL;
	}
	o->loop = loop;
	o->cb = *cb;
	o->passed = -1;
	o->index = index;
	o->cpu = cpu;
	o->ends_fd = -1;
	ev_io_set(&o->listen, -1, wk_orphan_on_accept, o);
	ev_io_set(&o->conn, -1, wk_orphan_on_conn, o);
	ev_io_set(&o->timer, -1, wk_orphan_on_timer, o);
	snprintf(dir, sizeof dir, "%s/" ORPHAN_ENDS_DIR, state_dir);
	if ((o->ends_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					O_CLOEXEC)) == -1) {
		log_warn("%s", dir);
		goto fail;
	}
	if (orphan_sock_path(state_dir, index, o->path, sizeof o->path) == -1) {
		log_warnx("%s/" ORPHAN_SOCK_DIR ": path too long", state_dir);
		goto fail;
	}
	strlcpy(sa.sun_path, o->path, sizeof sa.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0)) == -1)
		goto fail_sock;
	/* A socket left there is an earlier orphan's of this index, gone
	 * (a live one would hold jobs in our slots' groups). */
	(void)unlink(o->path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    chmod(o->path, 0600) == -1 || listen(fd, 4) == -1)
		goto fail_sock;
	ev_io_set(&o->listen, fd, wk_orphan_on_accept, o);
	if (ev_add(loop, &o->listen, EPOLLIN) == -1)
		goto fail_sock;
	if ((fd = ev_timer_open()) == -1)
		goto fail_sock;
	ev_io_set(&o->timer, fd, wk_orphan_on_timer, o);
	if (ev_add(loop, &o->timer, EPOLLIN) == -1)
		goto fail_sock;
	return o;
fail_sock:
	log_warn("%s", o->path);
	if (fd != -1 && fd != o->listen.fd && fd != o->timer.fd)
		close(fd);
fail:
	wk_orphan_free(o);
	return NULL;
}

void
wk_orphan_free(struct wk_orphan *o)
{
	if (o == NULL)
		return;
	wk_orphan_drop_conn(o);
	if (o->listen.fd != -1) {
		ev_del(o->loop, &o->listen);
		close(o->listen.fd);
		(void)unlink(o->path);
	}
	if (o->timer.fd != -1) {
		ev_del(o->loop, &o->timer);
		close(o->timer.fd);
	}
	if (o->ends_fd != -1)
		close(o->ends_fd);
	free(o);
}

int
wk_orphan_end(struct wk_orphan *o, uint64_t id, uint32_t attempt,
	      const struct job_result *r)
{
	if (orphan_end_write(o->ends_fd, id, attempt, r) == -1) {
		log_warn("job %llu: writing its end to " ORPHAN_ENDS_DIR,
			 (unsigned long long)id);
		return -1;
	}
	return 0;
}

static void
wk_orphan_on_accept(struct ev_io *io, uint32_t events)
{
	struct wk_orphan *o = io->arg;
	char hello[ORPHAN_LINE_MAX];
	struct ucred cred;
	socklen_t len = sizeof cred;
	int fd;

	if ((fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return;
	/* Only a forqd of its own user takes it on (the directory's mode
	 * says so already; this does not lean on it). */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    cred.uid != geteuid()) {
		close(fd);
		return;
	}
	/* The newest forqd is the one to answer: an earlier try that did
	 * not finish is dropped. */
	wk_orphan_drop_conn(o);
	o->drain_pending = false;
	/* Who it is, in words every layout reads: a small first write on
	 * a new socket, which its buffer takes whole. */
	orphan_greeting(hello, sizeof hello, o->index, o->cpu);
	if (write(fd, hello, strlen(hello)) != (ssize_t)strlen(hello)) {
		close(fd);
		return;
	}
	ev_io_set(&o->conn, fd, wk_orphan_on_conn, o);
	if (ev_add(o->loop, &o->conn, EPOLLIN) == -1) {
		close(fd);
		o->conn.fd = -1;
	}
}

static void
wk_orphan_on_conn(struct ev_io *io, uint32_t events)
{
	struct wk_orphan *o = io->arg;
	struct ch_msg msg;
	char why[128];
	ssize_t n;

	n = ch_reader_fill_fd(&o->reader, io->fd, &o->passed);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		wk_orphan_drop_conn(o);
		return;
	}
	/* A forqd of another layout: no channel message, a line. */
	if (o->reader.len >= sizeof ORPHAN_DRAIN - 1 &&
	    memcmp(o->reader.buf, ORPHAN_DRAIN, sizeof ORPHAN_DRAIN - 1) == 0) {
		ev_del(o->loop, &o->conn);
		o->drain_pending = true;
		if (o->alone)
			wk_orphan_deliver_drain(o);
		return;
	}
	if (o->reader.len < sizeof ORPHAN_DRAIN - 1 &&
	    memcmp(o->reader.buf, ORPHAN_DRAIN, o->reader.len) == 0)
		return; /* the rest of the line is on its way */
	switch (ch_next(&o->reader, CH_TO_WORKER, &msg, why, sizeof why)) {
	case CH_NEED_MORE:
		return;
	case CH_ERROR:
		/* Another forqd version, or not a forqd: not adopted. */
		log_warnx("not adopted: %s", why);
		wk_orphan_drop_conn(o);
		return;
	case CH_MESSAGE:
		break;
	}
	if (msg.hdr.type != CH_S_ADOPT || o->passed == -1) {
		log_warnx("not adopted: %s%s", ch_type_name(msg.hdr.type),
			  o->passed == -1 ? " without its shared memory" : "");
		wk_orphan_drop_conn(o);
		return;
	}
	memcpy(&o->adopt, msg.payload, sizeof o->adopt);
	ev_del(o->loop, &o->conn);
	o->pending = true;
	/* Its forqd may be gone without the worker knowing yet: it knows
	 * once its loop reads the end of the channel. */
	if (o->alone)
		wk_orphan_deliver(o);
}

static void
wk_orphan_on_timer(struct ev_io *io, uint32_t events)
{
	struct wk_orphan *o = io->arg;

	ev_timer_drain(io->fd);
	if (!o->alone || o->draining)
		return;
	o->alone = false;
	o->cb.abandoned(o->cb.arg);
}
