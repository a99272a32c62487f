/* libFuzzer: the worker channel's framing. The first byte picks the
 * receiving side and how the stream is cut into reads; the rest is the
 * stream. A malformed frame must be reported, never crash or loop. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ipc/channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ch_reader r;
	struct ch_msg msg;
	enum ch_direction dir;
	enum ch_status st;
	size_t cut, off = 0, took;
	unsigned char out[sizeof(struct ch_msg)];
	char why[128];
	int guard;

	if (size < 1)
		return 0;
	dir = (data[0] & 1) ? CH_TO_SUPERVISOR : CH_TO_WORKER;
	cut = 1 + (data[0] >> 1) * 7u; /* bytes per read: 1 to 890 */
	data++;
	size--;
	ch_reader_init(&r);
	while (off < size) {
		took = ch_reader_feed(&r, data + off,
				      size - off < cut ? size - off : cut);
		off += took;
		for (guard = 0; guard < 10000; guard++) {
			st = ch_next(&r, dir, &msg, why, sizeof why);
			if (st == CH_ERROR)
				return 0; /* the worker would be replaced */
			if (st == CH_NEED_MORE)
				break;
			/* What was accepted must be what the sender encodes. */
			if (ch_encode(out, sizeof out, msg.hdr.type,
				      msg.payload, msg.hdr.len) == 0)
				abort();
		}
		if (took == 0 && st == CH_NEED_MORE)
			return 0; /* full and no message: ch_next said so */
	}
	return 0;
}
