/* The supervisor <-> worker framing: whole, split, joined and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ipc/channel.h"

static struct ch_reader reader;
static struct ch_msg msg;
static char why[128];

static size_t
encode_ready(unsigned char *out, int32_t index)
{
	struct ch_ready ready = {.index = index,
				 .cpu = 3,
				 .pid = 42,
				 .pinned = 1};

	return ch_encode(out, 64, CH_W_READY, &ready, sizeof ready);
}

static enum ch_status
next_for_supervisor(void)
{
	return ch_next(&reader, CH_TO_SUPERVISOR, &msg, why, sizeof why);
}

static void
test_one_whole_message(void **state)
{
	unsigned char frame[64];
	struct ch_ready got;
	size_t n = encode_ready(frame, 7);

	assert_int_equal(n, sizeof(struct ch_header) + sizeof got);
	ch_reader_init(&reader);
	ch_reader_feed(&reader, frame, n);
	assert_int_equal(next_for_supervisor(), CH_MESSAGE);
	assert_int_equal(msg.hdr.type, CH_W_READY);
	memcpy(&got, msg.payload, sizeof got);
	assert_int_equal(got.index, 7);
	assert_int_equal(got.pid, 42);
	assert_int_equal(next_for_supervisor(), CH_NEED_MORE);
}

static void
test_partial_reads_byte_by_byte(void **state)
{
	unsigned char frame[64];
	size_t n = encode_ready(frame, 1), i;

	ch_reader_init(&reader);
	for (i = 0; i < n - 1; i++) {
		ch_reader_feed(&reader, frame + i, 1);
		assert_int_equal(next_for_supervisor(), CH_NEED_MORE);
	}
	ch_reader_feed(&reader, frame + n - 1, 1);
	assert_int_equal(next_for_supervisor(), CH_MESSAGE);
}

static void
test_several_messages_in_one_read(void **state)
{
	unsigned char frames[256];
	struct ch_ready got;
	size_t n = 0;
	int i;

	for (i = 0; i < 3; i++)
		n += encode_ready(frames + n, i);
	ch_reader_init(&reader);
	ch_reader_feed(&reader, frames, n);
	for (i = 0; i < 3; i++) {
		assert_int_equal(next_for_supervisor(), CH_MESSAGE);
		memcpy(&got, msg.payload, sizeof got);
		assert_int_equal(got.index, i);
	}
	assert_int_equal(next_for_supervisor(), CH_NEED_MORE);
}

static void
test_empty_payload_message(void **state)
{
	unsigned char frame[16];
	size_t n = ch_encode(frame, sizeof frame, CH_S_RETIRE, NULL, 0);

	assert_int_equal(n, sizeof(struct ch_header));
	ch_reader_init(&reader);
	ch_reader_feed(&reader, frame, n);
	assert_int_equal(ch_next(&reader, CH_TO_WORKER, &msg, why, sizeof why),
			 CH_MESSAGE);
	assert_int_equal(msg.hdr.type, CH_S_RETIRE);
}

static void
test_oversized_message_rejected_from_its_header(void **state)
{
	struct ch_header hdr = {.len = 1u << 30,
				.type = CH_W_READY,
				.version = CH_VERSION};

	ch_reader_init(&reader);
	ch_reader_feed(&reader, &hdr, sizeof hdr);
	assert_int_equal(next_for_supervisor(), CH_ERROR);
	assert_string_equal(why, "ready message of 1073741824 bytes (flags "
				 "0), expected 32");
}

static void
test_truncated_payload_size_rejected(void **state)
{
	struct ch_header hdr = {.len = 4,
				.type = CH_W_READY,
				.version = CH_VERSION};
	unsigned char bytes[sizeof hdr + 4] = {0};

	memcpy(bytes, &hdr, sizeof hdr);
	ch_reader_init(&reader);
	ch_reader_feed(&reader, bytes, sizeof bytes);
	assert_int_equal(next_for_supervisor(), CH_ERROR);
	assert_string_equal(why,
			    "ready message of 4 bytes (flags 0), expected 32");
}

static void
test_wrong_version_and_direction(void **state)
{
	struct ch_header hdr = {.len = 0, .type = CH_S_RETIRE, .version = 9};
	char want[64];

	ch_reader_init(&reader);
	ch_reader_feed(&reader, &hdr, sizeof hdr);
	assert_int_equal(next_for_supervisor(), CH_ERROR);
	snprintf(want, sizeof want, "protocol version 9, expected %d",
		 CH_VERSION);
	assert_string_equal(why, want);

	/* A worker must not send the supervisor's message types. */
	hdr.version = CH_VERSION;
	ch_reader_init(&reader);
	ch_reader_feed(&reader, &hdr, sizeof hdr);
	assert_int_equal(next_for_supervisor(), CH_ERROR);
	assert_string_equal(why, "unexpected message type 101");

	hdr.type = 999;
	ch_reader_init(&reader);
	ch_reader_feed(&reader, &hdr, sizeof hdr);
	assert_int_equal(next_for_supervisor(), CH_ERROR);
}

static void
test_encode_refuses_wrong_sizes(void **state)
{
	unsigned char frame[64];
	struct ch_ready ready = {0};

	assert_int_equal(ch_encode(frame, sizeof frame, CH_W_READY, &ready, 3),
			 0);
	assert_int_equal(ch_encode(frame, sizeof frame, 12345, NULL, 0), 0);
	assert_int_equal(ch_encode(frame, 10, CH_W_READY, &ready, sizeof ready),
			 0);
}

static void
test_queue_appends_frames(void **state)
{
	struct ch_config cfg = {.heartbeat_interval_ms = 500, .slots = 2};
	struct buf out;

	buf_init(&out, 64);
	assert_int_equal(ch_queue(&out, CH_S_CONFIG, &cfg, sizeof cfg), 0);
	assert_int_equal(ch_queue(&out, CH_S_RETIRE, NULL, 0), 0);
	ch_reader_init(&reader);
	ch_reader_feed(&reader, out.data, out.len);
	assert_int_equal(ch_next(&reader, CH_TO_WORKER, &msg, why, sizeof why),
			 CH_MESSAGE);
	assert_int_equal(msg.hdr.type, CH_S_CONFIG);
	assert_int_equal(ch_next(&reader, CH_TO_WORKER, &msg, why, sizeof why),
			 CH_MESSAGE);
	assert_int_equal(msg.hdr.type, CH_S_RETIRE);
	/* Past the buffer's cap the message is refused, not truncated. */
	while (ch_queue(&out, CH_S_RETIRE, NULL, 0) == 0)
		;
	assert_true(out.len <= 64);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_whole_message),
	    cmocka_unit_test(test_partial_reads_byte_by_byte),
	    cmocka_unit_test(test_several_messages_in_one_read),
	    cmocka_unit_test(test_empty_payload_message),
	    cmocka_unit_test(test_oversized_message_rejected_from_its_header),
	    cmocka_unit_test(test_truncated_payload_size_rejected),
	    cmocka_unit_test(test_wrong_version_and_direction),
	    cmocka_unit_test(test_encode_refuses_wrong_sizes),
	    cmocka_unit_test(test_queue_appends_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
