/* The epoll wrapper every forq process runs its loop on. */
#include <sys/timerfd.h>

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/event.h"

#define EV_BATCH 64

int
ev_loop_init(struct ev_loop *loop)
{
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epfd == -1 ? -1 : 0;
}

void
ev_loop_close(struct ev_loop *loop)
{
	if (loop->epfd != -1)
		close(loop->epfd);
	loop->epfd = -1;
}

void
ev_io_set(struct ev_io *io, int fd, ev_cb cb, void *arg)
{
	io->fd = fd;
	io->events = 0;
	io->cb = cb;
	io->arg = arg;
}

static int
ev_ctl(struct ev_loop *loop, int op, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	if (epoll_ctl(loop->epfd, op, io->fd, &ev) == -1)
		return -1;
	io->events = events;
	return 0;
}

int
ev_add(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	return ev_ctl(loop, EPOLL_CTL_ADD, io, events);
}

int
ev_mod(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	if (io->events == events)
		return 0;
	return ev_ctl(loop, EPOLL_CTL_MOD, io, events);
}

int
ev_del(struct ev_loop *loop, struct ev_io *io)
{
	io->events = 0;
	return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

int
ev_run_once(struct ev_loop *loop, int timeout_ms)
{
	struct epoll_event evs[EV_BATCH];
	struct ev_io *io;
	int i, n;

	n = epoll_wait(loop->epfd, evs, EV_BATCH, timeout_ms);
	if (n == -1)
		return errno == EINTR ? 0 : -1;
	for (i = 0; i < n; i++) {
		io = evs[i].data.ptr;
		/* An earlier callback in this batch may have closed it. */
		if (io->fd == -1 || io->events == 0)
			continue;
		io->cb(io, evs[i].events);
	}
	return n;
}

int
ev_timer_open(void)
{
	return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}

int
ev_timer_arm(int fd, int64_t deadline_ns)
{
	struct itimerspec its = {0};

	if (deadline_ns > 0) {
		its.it_value.tv_sec = deadline_ns / NS_PER_SEC;
		its.it_value.tv_nsec = deadline_ns % NS_PER_SEC;
	}
	return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
}

int
ev_timer_every(int fd, int64_t interval_ns)
{
	struct itimerspec its = {0};

	its.it_interval.tv_sec = interval_ns / NS_PER_SEC;
	its.it_interval.tv_nsec = interval_ns % NS_PER_SEC;
	its.it_value = its.it_interval;
	return timerfd_settime(fd, 0, &its, NULL);
}

void
ev_timer_drain(int fd)
{
	uint64_t expirations;

	/* EAGAIN just means it was already drained. */
	(void)!read(fd, &expirations, sizeof expirations);
}
