/* The byte buffer: a moving front, a resumed search, a hard cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buffer.h"

static void
test_lines_come_out_in_order(void **state)
{
	struct buf b;
	char *nl;

	buf_init(&b, 1024);
	assert_int_equal(buf_append(&b, "one\ntw", 6), 0);
	nl = buf_find(&b, '\n');
	assert_non_null(nl);
	assert_int_equal(nl - b.data, 3);
	buf_consume(&b, 4);
	assert_null(buf_find(&b, '\n'));
	assert_int_equal(b.scanned, 2); /* "tw" is not searched again */
	assert_int_equal(buf_append(&b, "o\n", 2), 0);
	nl = buf_find(&b, '\n');
	assert_non_null(nl);
	assert_memory_equal(b.data, "two\n", 4);
	buf_consume(&b, 4);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, b.base);
	buf_free(&b);
}

static void
test_consume_moves_the_front_and_reserve_compacts(void **state)
{
	char chunk[1000];
	struct buf b;
	char *base;

	memset(chunk, 'x', sizeof chunk);
	buf_init(&b, 4096);
	assert_int_equal(buf_append(&b, chunk, sizeof chunk), 0);
	base = b.base;
	buf_consume(&b, 900);
	assert_ptr_equal(b.data, base + 900); /* nothing moved */
	/* 100 live bytes + 3900 fit the 4096 cap only once moved down. */
	assert_int_equal(buf_reserve(&b, 3900), 0);
	assert_ptr_equal(b.data, b.base);
	assert_int_equal(b.len, 100);
	assert_int_equal(buf_reserve(&b, 3997), -1); /* past max */
	buf_free(&b);
}

static void
test_cap_is_hard(void **state)
{
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(buf_append(&b, "a", 1), -1);
	assert_int_equal(b.len, 10);
	buf_clear(&b);
	assert_int_equal(buf_append(&b, "a", 1), 0);
	buf_free(&b);
}

static void
test_shrink_gives_back_a_big_lines_room(void **state)
{
	static char big[1 << 20];
	struct buf b;

	(void)state;
	buf_init(&b, 2 << 20);
	memset(big, 'x', sizeof big);
	assert_int_equal(buf_append(&b, big, sizeof big), 0);
	assert_true(b.cap >= sizeof big);
	/* Still in use: kept. */
	buf_shrink(&b, 4096);
	assert_true(b.cap >= sizeof big);
	buf_consume(&b, sizeof big - 3);
	buf_shrink(&b, 4096);
	assert_int_equal(b.cap, 4096);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "xxx", 3);
	/* Small enough already: kept, so that small lines cost nothing. */
	buf_consume(&b, 3);
	buf_shrink(&b, 4096);
	assert_int_equal(b.cap, 4096);
	/* Empty after a big one: the allocation goes. */
	assert_int_equal(buf_append(&b, big, sizeof big), 0);
	buf_consume(&b, sizeof big);
	buf_shrink(&b, 4096);
	assert_null(b.base);
	assert_int_equal(b.cap, 0);
	/* And it grows again as before. */
	assert_int_equal(buf_append(&b, "ab", 2), 0);
	assert_memory_equal(b.data, "ab", 2);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines_come_out_in_order),
	    cmocka_unit_test(test_consume_moves_the_front_and_reserve_compacts),
	    cmocka_unit_test(test_cap_is_hard),
	    cmocka_unit_test(test_shrink_gives_back_a_big_lines_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
