/*
 * The metrics endpoint: libmicrohttpd on forqd's own loop. MHD runs in
 * its "external" mode with epoll, so that its one epoll descriptor sits
 * in ours and MHD_run never blocks; its timeouts go on a timerfd. A
 * scraper costs the supervisor at most one page a second, whoever asks
 * and however often (the page is kept that long), and a slow or stuck
 * one only its own connection: MHD writes without blocking, holds at
 * most metrics_clients_max of them and cuts those idle for
 * metrics_timeout.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/buffer.h"
#include "common/clock.h"
#include "common/compat.h"
#include "common/event.h"
#include "common/log.h"
#include "common/ratelimit.h"
#include "core/addr.h"
#include "control/httpd.h"

/* A page is made again after this long. */
#define HTTPD_PAGE_TTL_NS (NS_PER_SEC)
#define HTTPD_PAGE_MAX (16u << 20)

struct httpd {
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	struct ev_io io;    /* MHD's epoll descriptor */
	struct ev_io timer; /* MHD's next timeout */
	httpd_page_fn *page;
	void *arg;
	struct buf body; /* the last page */
	int64_t made_ns; /* monotonic; 0: none yet */
	char where[80];
	int64_t timeout_ms;
	unsigned int clients_max;
	/* A flood of refused or stuck scrapers is not a flood of lines. */
	struct ratelimit said, cut;
};

static const char httpd_type[] =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/* Whether to tell of an event now; more gets " (and N more since)"
 * for those the limit held back before it. */
static bool
httpd_tell(struct ratelimit *rl, char *more, size_t len)
{
	int64_t now = clock_mono_ns();
	uint64_t n = ratelimit_flush(rl, now);

	more[0] = '\0';
	if (n == 0)
		return ratelimit_pass(rl, now);
	snprintf(more, len, " (and %llu more since)", (unsigned long long)n);
	return true;
}

static void __attribute__((format(printf, 2, 0)))
httpd_log(void *arg, const char *fmt, va_list ap)
{
	struct httpd *h = arg;
	char msg[512], more[64];

	if (!httpd_tell(&h->said, more, sizeof more))
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warnx("metrics: %s%s", msg, more);
}

/* A scraper that stopped reading (or sending) is cut by MHD; said,
 * for whoever wonders why a scrape failed. */
static void
httpd_done(void *arg, struct MHD_Connection *conn, void **req,
	   enum MHD_RequestTerminationCode why)
{
	struct httpd *h = arg;
	char more[64];

	(void)conn;
	(void)req;
	if (why != MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ||
	    !httpd_tell(&h->cut, more, sizeof more))
		return;
	log_info("metrics: a scraper idle for metrics_timeout (%lldms) was "
		 "cut%s",
		 (long long)h->timeout_ms, more);
}

static enum MHD_Result
httpd_reply(struct MHD_Connection *conn, unsigned int status, const char *type,
	    const char *text, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, (void *)text,
					    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
httpd_answer(void *cls, struct MHD_Connection *conn, const char *url,
	     const char *method, const char *version, const char *upload,
	     size_t *upload_size, void **req)
{
	static const char not_found[] = "not found: forqd serves /metrics\n";
	static const char not_allowed[] = "only GET and HEAD\n";
	static const char failed[] = "the metrics page could not be made\n";
	struct httpd *h = cls;
	int64_t now = clock_mono_ns();

	(void)version;
	(void)upload;
	/* A body is not read: the request is answered as it stands. */
	*upload_size = 0;
	*req = h;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return httpd_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "text/plain", not_allowed,
				   sizeof not_allowed - 1);
	if (strcmp(url, "/metrics") != 0)
		return httpd_reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
				   not_found, sizeof not_found - 1);
	if (h->made_ns == 0 || now - h->made_ns >= HTTPD_PAGE_TTL_NS) {
		buf_clear(&h->body);
		if (h->page(h->arg, &h->body) == -1) {
			log_warn("metrics: the page");
			h->made_ns = 0;
			return httpd_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
					   "text/plain", failed,
					   sizeof failed - 1);
		}
		h->made_ns = now;
	}
	return httpd_reply(conn, MHD_HTTP_OK, httpd_type, h->body.data,
			   h->body.len);
}

/* MHD's work, then its next timeout on the timer. */
static void
httpd_run(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	const union MHD_DaemonInfo *info;
	unsigned int before, after;

	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	before = info != NULL ? info->num_connections : 0;
	if (MHD_run(h->mhd) == MHD_NO)
		log_warnx("metrics: MHD_run failed");
	/* MHD takes its listening socket out of its epoll set at
	 * metrics_clients_max and puts it back only as a run starts: a run
	 * that closed connections is followed by one that does, else no
	 * event would ever come for it. */
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	after = info != NULL ? info->num_connections : 0;
	if (after < before && before >= h->clients_max &&
	    MHD_run(h->mhd) == MHD_NO)
		log_warnx("metrics: MHD_run failed");
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
		ev_timer_arm(h->timer.fd,
			     clock_mono_ns() + (int64_t)ms * NS_PER_MS + 1);
	else
		ev_timer_arm(h->timer.fd, 0);
}

static void
httpd_on_events(struct ev_io *io, uint32_t events)
{
	(void)events;
	httpd_run(io->arg);
}

static void
httpd_on_timer(struct ev_io *io, uint32_t events)
{
	(void)events;
	ev_timer_drain(io->fd);
	httpd_run(io->arg);
}

struct httpd *
httpd_open(struct ev_loop *loop, const char *listen, uint32_t clients_max,
	   int64_t timeout_ms, httpd_page_fn *page, void *arg, char *err,
	   size_t errlen)
{
	struct sockaddr_storage ss, bound;
	socklen_t sslen, blen = sizeof bound;
	const union MHD_DaemonInfo *info;
	struct httpd *h;
	char why[256];
	int fd;

	if (addr_parse(listen, &ss, &sslen, why, sizeof why) == -1) {
		snprintf(err, errlen, "metrics_listen: %s", why);
		return NULL;
	}
	if ((h = calloc(1, sizeof *h)) == NULL) {
		snprintf(err, errlen, "metrics: out of memory");
		return NULL;
	}
	h->loop = loop;
	h->page = page;
	h->arg = arg;
	h->io.fd = h->timer.fd = -1;
	h->timeout_ms = timeout_ms;
	h->clients_max = clients_max;
	ratelimit_init(&h->said, 10 * NS_PER_SEC);
	ratelimit_init(&h->cut, 10 * NS_PER_SEC);
	buf_init(&h->body, HTTPD_PAGE_MAX);
	h->mhd =
	    MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
				 (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, httpd_answer, h,
			     MHD_OPTION_EXTERNAL_LOGGER, httpd_log, h,
			     MHD_OPTION_NOTIFY_COMPLETED, httpd_done, h,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_LIMIT,
			     (unsigned int)clients_max,
			     MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned int)((timeout_ms + 999) / 1000),
			     MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
			     MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, errlen,
			 "metrics_listen %s: cannot listen there (in use, or "
			 "not this host's address)",
			 listen);
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_LISTEN_FD);
	if (info != NULL &&
	    getsockname(info->listen_fd, (struct sockaddr *)&bound, &blen) == 0)
		addr_format((struct sockaddr *)&bound, h->where,
			    sizeof h->where);
	else
		strlcpy(h->where, listen, sizeof h->where);
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || (fd = ev_timer_open()) == -1) {
		snprintf(err, errlen, "metrics: %s", strerror(errno));
		goto fail;
	}
	ev_io_set(&h->timer, fd, httpd_on_timer, h);
	ev_io_set(&h->io, info->epoll_fd, httpd_on_events, h);
	if (ev_add(loop, &h->io, EPOLLIN) == -1 ||
	    ev_add(loop, &h->timer, EPOLLIN) == -1) {
		snprintf(err, errlen, "metrics: epoll: %s", strerror(errno));
		goto fail;
	}
	httpd_run(h);
	return h;
fail:
	httpd_close(h);
	return NULL;
}

const char *
httpd_where(const struct httpd *h)
{
	return h->where;
}

void
httpd_close(struct httpd *h)
{
	if (h == NULL)
		return;
	if (h->timer.fd != -1) {
		ev_del(h->loop, &h->timer);
		close(h->timer.fd);
	}
	if (h->io.fd != -1)
		ev_del(h->loop, &h->io);
	if (h->mhd != NULL)
		MHD_stop_daemon(h->mhd);
	buf_free(&h->body);
	free(h);
}
