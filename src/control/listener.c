/*
 * The listening socket: passed by systemd (socket activation), or made
 * here with a tight umask and then given the conf's mode and group; a
 * stale socket file is replaced, a live one (another forqd) refused. accept()
 * at EMFILE backs off for a second instead of spinning, as tmux does.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/path.h"
#include "core/conf.h"
#include "control/listener.h"

#define LISTEN_BACKLOG 512
#define ACCEPT_BACKOFF_NS NS_PER_SEC

struct listener {
	struct ev_loop *loop;
	struct ev_io io;
	listener_accept_fn *accept;
	void *arg;
	bool owned;        /* we created the socket file: unlinked at close */
	int64_t resume_ns; /* accept() backoff after EMFILE; 0: none */
	char path[108];    /* the socket really listened on */
};

static void listener_on_accept(struct ev_io *io, uint32_t events);
static int listener_bind(struct listener *l, const struct conf *c, char *err,
			 size_t errlen);

/* A socket file left by a forqd that died is removed; one that answers
 * belongs to a running forqd and is left alone. */
static int
listener_claim_path(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(sun->sun_path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket",
			 sun->sun_path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "another forqd is listening on %s",
			 sun->sun_path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "%s: %s", sun->sun_path, strerror(errno));
		return -1;
	}
	if (unlink(sun->sun_path) == -1) {
		snprintf(err, errlen, "cannot remove stale %s: %s",
			 sun->sun_path, strerror(errno));
		return -1;
	}
	log_info("removed stale socket %s", sun->sun_path);
	return 0;
}

/* Socket activation: systemd made the socket (its path, mode and group
 * come from forqd.socket) and passed it; it stays after forqd exits. */
static int
listener_adopt(struct listener *l, int n, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof sun;
	int fd = SD_LISTEN_FDS_START;

	if (n != 1) {
		snprintf(err, errlen,
			 "systemd passed %d sockets; forqd takes exactly one",
			 n);
		return -1;
	}
	if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
		snprintf(err, errlen,
			 "the socket systemd passed is not a "
			 "listening Unix stream socket");
		return -1;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == 0 &&
	    sun.sun_path[0] != '\0')
		strlcpy(l->path, sun.sun_path, sizeof l->path);
	else
		strlcpy(l->path, "(from systemd)", sizeof l->path);
	l->owned = false;
	ev_io_set(&l->io, fd, listener_on_accept, l);
	if (ev_add(l->loop, &l->io, EPOLLIN) == -1) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	log_info("listening on %s, passed by systemd", l->path);
	return 0;
}

struct listener *
listener_open(struct ev_loop *loop, const struct conf *c,
	      listener_accept_fn *accept, void *arg, char *err, size_t errlen)
{
	struct listener *l;

	if ((l = calloc(1, sizeof *l)) == NULL) {
		snprintf(err, errlen, "listener: %s", strerror(errno));
		return NULL;
	}
	l->loop = loop;
	l->accept = accept;
	l->arg = arg;
	ev_io_set(&l->io, -1, listener_on_accept, l);
	if (listener_bind(l, c, err, errlen) == -1) {
		listener_close(l);
		return NULL;
	}
	return l;
}

static int
listener_bind(struct listener *l, const struct conf *c, char *err,
	      size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct group *gr;
	mode_t old;
	int fd, n;

	/* 1: unset LISTEN_FDS and friends, so no child inherits them. */
	if ((n = sd_listen_fds(1)) < 0) {
		snprintf(err, errlen, "sd_listen_fds: %s", strerror(-n));
		return -1;
	}
	if (n > 0)
		return listener_adopt(l, n, err, errlen);
	strlcpy(l->path, c->socket, sizeof l->path);
	if (strlcpy(sun.sun_path, c->socket, sizeof sun.sun_path) >=
	    sizeof sun.sun_path) {
		snprintf(err, errlen, "socket path too long: %s", c->socket);
		return -1;
	}
	if (path_mkdir_parent(c->socket, geteuid() == 0 ? 0755 : 0700, err,
			      errlen) == -1 ||
	    listener_claim_path(&sun, err, errlen) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		umask(old);
		snprintf(err, errlen, "bind %s: %s", sun.sun_path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	l->owned = true;
	ev_io_set(&l->io, fd, listener_on_accept, l);
	if (c->socket_group[0] != '\0') {
		if ((gr = getgrnam(c->socket_group)) == NULL ||
		    chown(sun.sun_path, (uid_t)-1, gr->gr_gid) == -1) {
			snprintf(err, errlen, "socket_group %s: %s",
				 c->socket_group,
				 gr == NULL ? "no such group"
					    : strerror(errno));
			return -1;
		}
	}
	if (chmod(sun.sun_path, (mode_t)c->socket_mode) == -1) {
		snprintf(err, errlen, "chmod %s: %s", sun.sun_path,
			 strerror(errno));
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		return -1;
	}
	if (ev_add(l->loop, &l->io, EPOLLIN) == -1) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

const char *
listener_path(const struct listener *l)
{
	return l->path;
}

void
listener_stop(struct listener *l)
{
	if (l == NULL || l->io.fd == -1)
		return;
	if (l->io.events != 0)
		ev_del(l->loop, &l->io);
	close(l->io.fd);
	l->io.fd = -1;
	l->resume_ns = 0;
	if (l->owned && unlink(l->path) == -1 && errno != ENOENT)
		log_warn("unlink %s", l->path);
	l->owned = false;
}

void
listener_close(struct listener *l)
{
	listener_stop(l);
	free(l);
}

static void
listener_on_accept(struct ev_io *io, uint32_t events)
{
	struct listener *l = io->arg;
	int fd;

	for (;;) {
		fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			l->accept(l->arg, fd);
			continue;
		}
		switch (errno) {
		case EAGAIN:
		case EINTR:
		case ECONNABORTED:
			return;
		case EMFILE:
		case ENFILE:
			log_warn("accept; pausing the listener for a second");
			ev_del(l->loop, io);
			/* The loop arms the timer for it at the end of
			 * the turn. */
			l->resume_ns = clock_mono_ns() + ACCEPT_BACKOFF_NS;
			return;
		default:
			log_warn("accept");
			return;
		}
	}
}

int64_t
listener_next_deadline(const struct listener *l)
{
	return l != NULL ? l->resume_ns : 0;
}

void
listener_check(struct listener *l, int64_t now)
{
	if (l == NULL || l->resume_ns == 0 || now < l->resume_ns)
		return;
	l->resume_ns = 0;
	if (l->io.fd != -1 && ev_add(l->loop, &l->io, EPOLLIN) == -1)
		log_warn("epoll_ctl listener");
}
