/*
 * A small epoll loop. Each watched descriptor is an ev_io embedded in
 * its owner; callbacks must not free another owner's ev_io, only mark it
 * for freeing after the turn (the loop may still hold a pointer to it).
 */
#ifndef FORQ_EVENT_H
#define FORQ_EVENT_H

#include <stdint.h>
#include <sys/epoll.h>

struct ev_io;
typedef void (*ev_cb)(struct ev_io *io, uint32_t events);

struct ev_io {
	int fd;
	uint32_t events;
	ev_cb cb;
	void *arg;
};

struct ev_loop {
	int epfd;
};

int ev_loop_init(struct ev_loop *loop);
void ev_loop_close(struct ev_loop *loop);
void ev_io_set(struct ev_io *io, int fd, ev_cb cb, void *arg);
int ev_add(struct ev_loop *loop, struct ev_io *io, uint32_t events);
int ev_mod(struct ev_loop *loop, struct ev_io *io, uint32_t events);
int ev_del(struct ev_loop *loop, struct ev_io *io);
/* Waits up to timeout_ms (-1: forever) and runs the callbacks. */
int ev_run_once(struct ev_loop *loop, int timeout_ms);

/* timerfd helpers on CLOCK_MONOTONIC; 0 disarms. */
int ev_timer_open(void);
int ev_timer_arm(int fd, int64_t deadline_ns);
int ev_timer_every(int fd, int64_t interval_ns);
void ev_timer_drain(int fd);

#endif
