/*
 * libforq: the C client of forqd's protocol, used by the forq CLI.
 * Blocking and simple: one connection, one request at a time.
 */
#ifndef FORQ_CLIENT_H
#define FORQ_CLIENT_H

#include <stddef.h>

#include <jansson.h>

enum forq_error_kind {
	FORQ_E_NONE,
	FORQ_E_CONNECT,  /* no daemon at that socket */
	FORQ_E_IO,       /* the connection broke */
	FORQ_E_PROTOCOL, /* the daemon's reply made no sense */
	FORQ_E_SERVER,   /* the daemon refused: see code */
};

struct forq_error {
	enum forq_error_kind kind;
	char code[32];
	char message[512];
};

struct forq_conn;

/* The socket to use: explicit_path if given, else $FORQ_SOCKET, else
 * $XDG_RUNTIME_DIR/forq/forqd.sock if it exists, else the system one. */
void forq_socket_path(const char *explicit_path, char *out, size_t len);
/* The same rule with its inputs passed in (exists: does a path exist). */
void forq_socket_path_from(const char *explicit_path, const char *env_socket,
			   const char *runtime_dir,
			   int (*exists)(const char *path), char *out,
			   size_t len);

/* Connects and sends the hello, not waiting for its reply: that is
 * read before the first request's, and a refused hello is the error of
 * every read from then on. NULL and *err if it cannot connect. */
struct forq_conn *forq_connect(const char *path, struct forq_error *err);
/* Sends {"op":op, "id":n, ...fields} (fields is consumed, may be NULL)
 * and returns the reply object, or NULL and *err. */
json_t *forq_call(struct forq_conn *conn, const char *op, json_t *fields,
		  struct forq_error *err);
void forq_close(struct forq_conn *conn);

/* Lower level, for requests whose answer comes in several lines (wait
 * with events, logs -f): send one request and get its id; then read
 * every message (replies and events) as it comes. */
long long forq_send(struct forq_conn *conn, const char *op, json_t *fields,
		    struct forq_error *err);
json_t *forq_read(struct forq_conn *conn, struct forq_error *err);
/* Descriptors that came with replies (logs), in the order received;
 * -1 when none is left. */
int forq_take_fd(struct forq_conn *conn);
/* The socket, to poll(2) on beside other descriptors; check
 * forq_pending first: a message may already sit in the buffer. */
int forq_socket_fd(const struct forq_conn *conn);
int forq_pending(struct forq_conn *conn);
/* An error reply turned into *err; returns the reply if it was ok. */
json_t *forq_check_reply(json_t *reply, struct forq_error *err);

/* The CLI exit code that goes with an error (FORQ_EXIT_* of protocol.h). */
int forq_error_exit_code(const struct forq_error *err);

#endif
