/* The conf's TCP addresses: numeric IPv4 and bracketed IPv6, a port. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/addr.h"

static void
test_good(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256], back[80];

	assert_int_equal(addr_parse("127.0.0.1:9464", &ss, &len, err,
				    sizeof err),
			 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	addr_format((struct sockaddr *)&ss, back, sizeof back);
	assert_string_equal(back, "127.0.0.1:9464");

	assert_int_equal(addr_parse("[::1]:80", &ss, &len, err, sizeof err), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	addr_format((struct sockaddr *)&ss, back, sizeof back);
	assert_string_equal(back, "[::1]:80");

	/* 0: a port the kernel picks. */
	assert_int_equal(addr_parse("0.0.0.0:0", &ss, &len, err, sizeof err),
			 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 0);
}

static void
test_bad(void **state)
{
	static const char *const bad[] = {
	    "localhost:9464",
	    "127.0.0.1",
	    "127.0.0.1:",
	    ":9464",
	    "::1:9464",
	    "[::1]9464",
	    "[::1]:",
	    "1.2.3.4:x",
	    "1.2.3.4:65536",
	    "1.2.3.4:-1",
	    "1.2.3.4:1 ",
	    "[127.0.0.1]:1",
	    "",
	    "1.2.3.4.5:1",
	};
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		if (addr_parse(bad[i], &ss, &len, err, sizeof err) != -1)
			fail_msg("took \"%s\"", bad[i]);
		assert_true(err[0] != '\0');
	}
	addr_parse("1.2.3.4:65536", &ss, &len, err, sizeof err);
	assert_non_null(strstr(err, "0 to 65535"));
	addr_parse("localhost:1", &ss, &len, err, sizeof err);
	assert_non_null(strstr(err, "numeric addresses only"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
