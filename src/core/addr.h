/* A TCP address as a conf gives it: "127.0.0.1:9464", "[::1]:9464". */
#ifndef FORQ_ADDR_H
#define FORQ_ADDR_H

#include <sys/socket.h>

#include <stddef.h>

/* Numeric only (a name would need a resolver at start, and could mean
 * more than one address): an IPv4 address or a bracketed IPv6 one,
 * a colon and a port of 0 to 65535 (0: one the kernel picks). -1 with err if it
 * is not that. */
int addr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len,
	       char *err, size_t errlen);
/* The address back as text, for logs. */
void addr_format(const struct sockaddr *sa, char *buf, size_t len);

#endif
