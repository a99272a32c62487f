/* TCP addresses of the conf: parsed and written back. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/compat.h"
#include "core/addr.h"

int
addr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len,
	   char *err, size_t errlen)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port, *given = text;
	unsigned long n;
	char *end;
	size_t hl;

	memset(ss, 0, sizeof *ss);
	if (text[0] == '[') {
		colon = strstr(text, "]:");
		if (colon == NULL)
			goto bad;
		hl = (size_t)(colon - text - 1);
		port = colon + 2;
		text++;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			goto bad;
		hl = (size_t)(colon - text);
		port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof host)
		goto bad;
	memcpy(host, text, hl);
	host[hl] = '\0';
	errno = 0;
	n = strtoul(port, &end, 10);
	if (*port < '0' || *port > '9' || *end != '\0' || errno != 0 ||
	    n > 65535) {
		snprintf(err, errlen, "\"%s\": the port must be 0 to 65535",
			 port);
		return -1;
	}
	/* An IPv6 address only in brackets, where its colons are its own. */
	if ((given[0] == '[') != (strchr(host, ':') != NULL))
		goto bad;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)n);
		*len = sizeof *in4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)n);
		*len = sizeof *in6;
		return 0;
	}
bad:
	snprintf(err, errlen,
		 "\"%s\" is not ADDRESS:PORT (127.0.0.1:9464, [::1]:9464; "
		 "numeric addresses only)",
		 given);
	return -1;
}

void
addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host) != NULL)
		snprintf(buf, len, "%s:%u", host, ntohs(in4->sin_port));
	else if (sa->sa_family == AF_INET6 &&
		 inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host) !=
		     NULL)
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	else
		strlcpy(buf, "?", len);
}
