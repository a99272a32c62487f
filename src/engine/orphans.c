/* Taking on the workers a previous forqd left with jobs. */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/compat.h"
#include "common/log.h"
#include "core/conf.h"
#include "ipc/channel.h"
#include "ipc/orphan.h"
#include "ipc/shm.h"
#include "engine/orphans.h"

/* How long a worker has to answer, and to end after it is told to. */
#define ORPHANS_ANSWER_MS 5000
#define ORPHANS_END_MS 10000

/* Exactly n bytes within the deadline (monotonic): 0, or -1. */
static int
orphans_read(int fd, void *buf, size_t n, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t got = 0;
	ssize_t r;
	int64_t left;

	while (got < n) {
		left = (deadline - clock_mono_ns()) / NS_PER_MS;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0) {
			if (r == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/* Its answer: READY, taken on; read to the byte, so that what it says
 * next stays in the socket for the loop. */
static int
orphans_answer(int fd, struct ch_ready *ready, char *why, size_t whylen)
{
	int64_t deadline = clock_mono_ns() + ORPHANS_ANSWER_MS * NS_PER_MS;
	struct ch_reader reader;
	struct ch_header hdr;
	struct ch_msg msg;

	if (orphans_read(fd, &hdr, sizeof hdr, deadline) == -1 ||
	    hdr.len > CH_PAYLOAD_MAX) {
		snprintf(why, whylen, "no answer within %dms",
			 ORPHANS_ANSWER_MS);
		return -1;
	}
	ch_reader_init(&reader);
	ch_reader_feed(&reader, &hdr, sizeof hdr);
	if (orphans_read(fd, reader.buf + reader.len, hdr.len, deadline) ==
	    -1) {
		snprintf(why, whylen, "its answer was cut short");
		return -1;
	}
	reader.len += hdr.len;
	if (ch_next(&reader, CH_TO_SUPERVISOR, &msg, why, whylen) != CH_MESSAGE)
		return -1;
	memcpy(ready, msg.payload, sizeof *ready);
	if (msg.hdr.type != CH_W_READY || !(ready->flags & CH_READY_ADOPTED)) {
		snprintf(why, whylen, "it answered %s, not ready",
			 ch_type_name(msg.hdr.type));
		return -1;
	}
	return 0;
}

/* One that cannot be taken on ends its jobs (its SIGTERM does) and is
 * waited for: they are queued again, and must not run on beside. */
static void
orphans_end(pid_t pid, int index)
{
	struct pollfd p = {.events = POLLIN};

	log_warnx("worker %d (pid %d) of a previous forqd cannot be taken "
		  "on; ending it and its jobs, which are queued again",
		  index, (int)pid);
	p.fd = sys_pidfd_open(pid);
	if (kill(pid, SIGTERM) == -1 || p.fd == -1) {
		if (p.fd != -1)
			close(p.fd);
		return;
	}
	if (poll(&p, 1, ORPHANS_END_MS) <= 0) {
		log_warnx("worker %d (pid %d) did not end: killing it", index,
			  (int)pid);
		kill(pid, SIGKILL);
	}
	close(p.fd);
}

/* A line, to its '\n', within the deadline: read a byte at a time, so
 * that what follows stays in the socket. */
static int
orphans_read_line(int fd, char *buf, size_t len, int64_t deadline)
{
	size_t n = 0;

	while (n + 1 < len) {
		if (orphans_read(fd, buf + n, 1, deadline) == -1)
			return -1;
		if (buf[n++] == '\n') {
			buf[n] = '\0';
			return 0;
		}
	}
	return -1;
}

/* A worker of another layout runs its jobs to their end for this forqd,
 * which learns them here; its lines go on on fd (draining.c). */
static int
orphans_drain(int fd, const struct orphan_greeting *hello, pid_t pid,
	      struct orphan_found *found)
{
	int64_t deadline = clock_mono_ns() + ORPHANS_ANSWER_MS * NS_PER_MS;
	struct orphan_drain_line l;
	char line[ORPHAN_LINE_MAX];
	struct orphan_job *jobs = NULL;
	size_t n = 0, want;

	if (write(fd, ORPHAN_DRAIN, sizeof ORPHAN_DRAIN - 1) !=
		(ssize_t)(sizeof ORPHAN_DRAIN - 1) ||
	    orphans_read_line(fd, line, sizeof line, deadline) == -1 ||
	    orphan_drain_parse(line, &l) != 'n' || l.id > 4096 ||
	    (jobs = calloc(l.id + 1, sizeof *jobs)) == NULL)
		goto fail;
	for (want = l.id; n < want; n++) {
		if (orphans_read_line(fd, line, sizeof line, deadline) == -1 ||
		    orphan_drain_parse(line, &l) != 'j')
			goto fail;
		jobs[n] = (struct orphan_job){.id = l.id,
					      .attempt = l.attempt,
					      .slot = l.slot,
					      .pid = l.pid};
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		goto fail;
	log_warnx("worker %d (pid %d, cpu %d) of a previous forqd speaks "
		  "another layout (channel %u, shared memory %u; this forqd "
		  "%u, %u): it cannot be taken on, and drains: its %zu jobs "
		  "run to their end",
		  hello->index, (int)pid, hello->cpu, hello->ch, hello->shm,
		  (unsigned)CH_VERSION, (unsigned)SHM_VERSION, n);
	*found = (struct orphan_found){.index = hello->index,
				       .cpu = hello->cpu,
				       .pid = pid,
				       .chan = fd,
				       .drain = true,
				       .jobs = jobs,
				       .njobs = n};
	return 0;
fail:
	free(jobs);
	log_warnx("worker %d (pid %d) of another layout did not drain",
		  hello->index, (int)pid);
	close(fd);
	orphans_end(pid, hello->index);
	return -1;
}

static int
orphans_take(const struct conf *conf, const struct shm *shm, int index,
	     const char *path, struct orphan_found *found)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ch_adopt adopt = {
	    .index = index,
	    .slots = shm->slots_per_worker,
	    .heartbeat_interval_ms = (uint32_t)conf->heartbeat_interval_ms,
	    .adopt_timeout_ms = (uint32_t)conf->adopt_timeout_ms,
	};
	struct ch_ready ready = {0};
	struct orphan_greeting hello;
	char why[160] = "", line[ORPHAN_LINE_MAX];
	struct ucred cred;
	socklen_t len = sizeof cred;
	int fd;

	strlcpy(sa.sun_path, path, sizeof sa.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		/* Nobody there: one that gave up, or died. */
		if (errno == ECONNREFUSED || errno == ENOENT)
			(void)unlink(path);
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    cred.uid != geteuid()) {
		close(fd);
		return -1;
	}
	if ((uint32_t)index >= shm->header->workers_max) {
		log_warnx("worker %d (pid %d): not a worker index here", index,
			  (int)cred.pid);
		close(fd);
		orphans_end(cred.pid, index);
		return -1;
	}
	if (orphans_read_line(fd, line, sizeof line,
			      clock_mono_ns() +
				  ORPHANS_ANSWER_MS * NS_PER_MS) == -1 ||
	    orphan_greeting_parse(line, &hello) == -1 || hello.index != index) {
		log_warnx("worker %d (pid %d): no greeting it could be told "
			  "by",
			  index, (int)cred.pid);
		close(fd);
		orphans_end(cred.pid, index);
		return -1;
	}
	if (!orphan_layout_same(hello.ch, hello.shm))
		return orphans_drain(fd, &hello, cred.pid, found);
	if (ch_send_fd(fd, CH_S_ADOPT, &adopt, sizeof adopt, shm->fd) == -1 ||
	    orphans_answer(fd, &ready, why, sizeof why) == -1 ||
	    ready.index != index || ready.pid != cred.pid) {
		if (why[0] == '\0')
			snprintf(why, sizeof why,
				 "it answered as worker %d pid %d", ready.index,
				 (int)ready.pid);
		log_warnx("worker %d (pid %d): %s", index, (int)cred.pid, why);
		close(fd);
		orphans_end(cred.pid, index);
		return -1;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		close(fd);
		orphans_end(cred.pid, index);
		return -1;
	}
	*found = (struct orphan_found){.index = index,
				       .cpu = ready.cpu,
				       .pid = cred.pid,
				       .chan = fd,
				       .held = ready.held,
				       .born_ns = ready.born_ns};
	return 0;
}

size_t
orphans_adopt(const struct conf *conf, const struct shm *shm,
	      struct orphan_found *found, size_t max)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 32];
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int index;

	snprintf(dir, sizeof dir, "%s/" ORPHAN_SOCK_DIR, conf->state_dir);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		if ((index = orphan_sock_index(de->d_name)) == -1 ||
		    orphan_sock_path(conf->state_dir, index, path,
				     sizeof path) == -1)
			continue;
		if (orphans_take(conf, shm, index, path, &found[n]) == 0)
			n++;
	}
	closedir(d);
	return n;
}
