/* A client's unsent replies: each descriptor arrives with its own
 * line, a full socket keeps the rest, a turn's lines can be taken
 * back, and nothing is left open. */
#include <sys/socket.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/outbox.h"

/* Reads what is there now: bytes into buf, descriptors into fds. */
static size_t
recv_some(int fd, char *buf, size_t len, int *fds, int *nfds)
{
	char control[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control,
			    .msg_controllen = sizeof control};
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

	*nfds = 0;
	if (n <= 0)
		return 0;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		*nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cm), (size_t)*nfds * sizeof(int));
	}
	return (size_t)n;
}

static int
open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

static void
test_descriptors_arrive_with_their_line(void **state)
{
	struct outbox o;
	char buf[256];
	int sv[2], fds[2], nfds, devnull, before;
	size_t n;
	struct stat a, b;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	devnull = open("/dev/null", O_RDONLY);
	before = open_fds();
	outbox_init(&o, 4096);
	assert_int_equal(outbox_append(&o, "first", 5), 0);
	assert_int_equal(outbox_attach(&o, &devnull, 1), 0);
	assert_int_equal(outbox_append(&o, "second", 6), 0);
	assert_int_equal(outbox_append(&o, "third", 5), 0);
	assert_int_equal(outbox_pending(&o), 19);
	assert_int_equal(outbox_send(&o, sv[0]), 0);
	assert_int_equal(outbox_pending(&o), 0);
	/* The first line comes without it (a stream socket may give the
	 * next ones in the same read, and the descriptor with them, but
	 * not before the first byte of its line). */
	n = recv_some(sv[1], buf, 6, fds, &nfds);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "first\n", 6);
	assert_int_equal(nfds, 0);
	n = recv_some(sv[1], buf, sizeof buf, fds, &nfds);
	assert_int_equal(n, 13);
	assert_memory_equal(buf, "second\nthird\n", 13);
	assert_int_equal(nfds, 1);
	assert_int_equal(fstat(fds[0], &a), 0);
	assert_int_equal(fstat(devnull, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fds[0]);
	/* The outbox's copy went when it was sent. */
	assert_int_equal(open_fds(), before);
	outbox_free(&o);
	close(devnull);
	close(sv[0]);
	close(sv[1]);
}

static void
test_a_full_socket_keeps_the_rest(void **state)
{
	static char line[4000];
	struct outbox o;
	char buf[65536];
	int sv[2], fds[2], nfds, sndbuf = 4096, i;
	size_t got = 0, n;

	(void)state;
	memset(line, 'x', sizeof line);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
				    sizeof sndbuf),
			 0);
	outbox_init(&o, 1 << 20);
	for (i = 0; i < 100; i++)
		assert_int_equal(outbox_append(&o, line, sizeof line), 0);
	assert_int_equal(outbox_send(&o, sv[0]), 0);
	assert_true(outbox_pending(&o) > 0);
	while (outbox_pending(&o) > 0) {
		while ((n = recv_some(sv[1], buf, sizeof buf, fds, &nfds)) > 0)
			got += n;
		assert_int_equal(outbox_send(&o, sv[0]), 0);
	}
	while ((n = recv_some(sv[1], buf, sizeof buf, fds, &nfds)) > 0)
		got += n;
	assert_int_equal(got, 100 * (sizeof line + 1));
	/* A closed peer is an error. */
	assert_int_equal(outbox_append(&o, "late", 4), 0);
	close(sv[1]);
	assert_int_equal(outbox_send(&o, sv[0]), -1);
	outbox_free(&o);
	close(sv[0]);
}

static void
test_the_cap_refuses_a_line_whole(void **state)
{
	struct outbox o;

	(void)state;
	outbox_init(&o, 10);
	assert_int_equal(outbox_append(&o, "12345678", 8), 0);
	/* Eight and its newline fit; one more line does not, not even in
	 * part. */
	assert_int_equal(outbox_append(&o, "a", 1), -1);
	assert_int_equal(outbox_pending(&o), 9);
	outbox_free(&o);
}

static void
test_a_turn_is_taken_back_with_its_descriptors(void **state)
{
	struct outbox o;
	int devnull, before;

	(void)state;
	devnull = open("/dev/null", O_RDONLY);
	outbox_init(&o, 4096);
	assert_int_equal(outbox_attach(&o, &devnull, 1), 0);
	assert_int_equal(outbox_append(&o, "kept", 4), 0);
	before = open_fds();
	outbox_mark(&o);
	assert_int_equal(outbox_append(&o, "gone", 4), 0);
	outbox_mark(&o); /* the turn's first mark counts */
	assert_int_equal(outbox_attach(&o, (int[]){devnull, devnull}, 2), 0);
	assert_int_equal(outbox_append(&o, "gone too", 8), 0);
	assert_int_equal(open_fds(), before + 2);
	outbox_take_back(&o);
	assert_int_equal(outbox_pending(&o), 5);
	assert_memory_equal(o.buf.data, "kept\n", 5);
	assert_int_equal(o.npass, 1);
	assert_int_equal(open_fds(), before);
	/* Unmarked, a take-back takes nothing. */
	outbox_unmark(&o);
	outbox_take_back(&o);
	assert_int_equal(outbox_pending(&o), 5);
	/* More than three at once, or more than OUTBOX_FDS_MAX lines. */
	assert_int_equal(outbox_attach(&o, (int[]){0, 0, 0}, 3), -1);
	outbox_free(&o);
	assert_int_equal(open_fds(), before - 1);
	close(devnull);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_descriptors_arrive_with_their_line),
	    cmocka_unit_test(test_a_full_socket_keeps_the_rest),
	    cmocka_unit_test(test_the_cap_refuses_a_line_whole),
	    cmocka_unit_test(test_a_turn_is_taken_back_with_its_descriptors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
