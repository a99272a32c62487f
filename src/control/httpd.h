/* The metrics endpoint: HTTP on forqd's loop, GET /metrics. */
#ifndef FORQ_HTTPD_H
#define FORQ_HTTPD_H

#include <stdint.h>

struct buf;
struct ev_loop;
struct httpd;

/* Writes the page into b: 0, or -1 (errno) if it cannot. */
typedef int httpd_page_fn(void *arg, struct buf *b);

/* Listens at listen (ADDRESS:PORT) and serves page; NULL with err if
 * it cannot. */
struct httpd *httpd_open(struct ev_loop *loop, const char *listen,
			 uint32_t clients_max, int64_t timeout_ms,
			 httpd_page_fn *page, void *arg, char *err,
			 size_t errlen);
/* Where it listens, as bound (the port the kernel picked for 0). */
const char *httpd_where(const struct httpd *h);
void httpd_close(struct httpd *h);

#endif
