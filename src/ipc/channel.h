/*
 * Framing for the supervisor <-> worker socketpair. Every message is an
 * 8-byte header (payload length, type, protocol version) and a payload
 * whose size is fixed by its type; anything else is a protocol error and
 * gets the worker replaced. Types are numbered in ranges per direction,
 * as in tmux: 1xx supervisor to worker, 2xx worker to supervisor.
 */
#ifndef FORQ_CHANNEL_H
#define FORQ_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buffer.h"

/* Bump when a payload's layout or meaning changes. FORQ_LAYOUT_NEXT
 * builds the test forqd of a later layout, whose workers a forqd of
 * this one cannot take on (tests/integration/upgrade.sh). */
#ifdef FORQ_LAYOUT_NEXT
#define CH_VERSION 203
#else
#define CH_VERSION 3
#endif
#define CH_PAYLOAD_MAX 512
#define CH_READ_MAX 8192

enum ch_type {
	CH_S_CONFIG = 100, /* struct ch_config */
	CH_S_RETIRE = 101, /* empty: finish the jobs, then exit 0 */
	CH_S_RUN = 102,    /* struct ch_slot: run the job in this slot */
	CH_S_CANCEL = 103, /* struct ch_slot: stop that job */
	/* struct ch_adopt, and the new forqd's shm memfd beside it: to a
	 * worker a dead forqd left with jobs (ipc/orphan.h) */
	CH_S_ADOPT = 104,

	CH_W_READY = 200,   /* struct ch_ready */
	CH_W_STARTED = 201, /* struct ch_started: from a worker taken on */
	CH_W_DONE = 202,    /* struct ch_slot: result is in the slot */
};

enum ch_direction {
	CH_TO_WORKER,
	CH_TO_SUPERVISOR,
};

struct ch_header {
	uint32_t len; /* payload bytes, header excluded */
	uint16_t type;
	uint8_t version;
	uint8_t flags; /* zero for now */
};

struct ch_config {
	uint32_t heartbeat_interval_ms;
	uint32_t slots;
	uint32_t adopt_timeout_ms; /* alone, how long it keeps its jobs */
	uint32_t pad;
};

struct ch_adopt {
	int32_t index; /* its index here: it must be the same */
	uint32_t slots;
	uint32_t heartbeat_interval_ms;
	uint32_t adopt_timeout_ms;
};

struct ch_ready {
	int32_t index;
	int32_t cpu;
	int32_t pid;
	int32_t pinned;  /* 1 if sched_setaffinity succeeded */
	uint32_t held;   /* adopted: the slots it brought (jobs, ends) */
	uint32_t flags;  /* CH_READY_ADOPTED */
	int64_t born_ns; /* CLOCK_REALTIME: when it was forked */
};

#define CH_READY_ADOPTED 1

struct ch_slot {
	uint32_t slot;
	uint32_t pad;
	uint64_t job_id;
};

struct ch_started {
	uint32_t slot;
	int32_t pid;
	uint64_t job_id;
	int64_t start_ns; /* CLOCK_REALTIME */
};

struct ch_msg {
	struct ch_header hdr;
	unsigned char payload[CH_PAYLOAD_MAX];
};

struct ch_reader {
	unsigned char buf[CH_READ_MAX];
	size_t len;
};

enum ch_status {
	CH_ERROR = -1,    /* malformed: see the reason */
	CH_NEED_MORE = 0, /* no complete message buffered */
	CH_MESSAGE = 1,   /* *msg holds one message */
};

const char *ch_type_name(uint16_t type);

void ch_reader_init(struct ch_reader *r);
/* Appends bytes as read(2) would; returns what was consumed. */
size_t ch_reader_feed(struct ch_reader *r, const void *data, size_t len);
/* read(2) from fd into the reader; returns read's result. */
ssize_t ch_reader_fill(struct ch_reader *r, int fd);
/* The same through recvmsg(2), keeping a descriptor passed beside the
 * bytes in *passed (closed first if one was kept already). */
ssize_t ch_reader_fill_fd(struct ch_reader *r, int fd, int *passed);
/* Sends one message with a descriptor beside it (SCM_RIGHTS): 0, or -1
 * with errno; a short send is an error (the socket is new, and empty). */
int ch_send_fd(int sock, uint16_t type, const void *payload, size_t len,
	       int passed);
/* Takes the next message off the front, checked for version, type and
 * exact size for the given receiving direction. */
enum ch_status ch_next(struct ch_reader *r, enum ch_direction dir,
		       struct ch_msg *msg, char *why, size_t whylen);

/* Encodes one message into out; returns its total length or 0 if the
 * type/size pair is not valid. */
size_t ch_encode(void *out, size_t outlen, uint16_t type, const void *payload,
		 size_t len);

/* Appends one encoded message to an output buffer; -1 if it does not
 * fit the buffer's cap or the type/size pair is not valid. */
int ch_queue(struct buf *out, uint16_t type, const void *payload, size_t len);

#endif
