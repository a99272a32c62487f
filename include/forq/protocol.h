/*
 * The forq client protocol: JSON objects, one per line, over a Unix
 * stream socket. See man/forq-protocol.7 for the full description.
 */
#ifndef FORQ_PROTOCOL_H
#define FORQ_PROTOCOL_H

#define FORQ_PROTOCOL_VERSION 1

#define FORQ_SOCKET_SYSTEM "/run/forq/forqd.sock"
#define FORQ_SOCKET_USER_SUBPATH "forq/forqd.sock" /* under XDG_RUNTIME_DIR */

/* A job's priority runs from -FORQ_PRIORITY_MAX to FORQ_PRIORITY_MAX. */
#define FORQ_PRIORITY_MAX 1000
/* CPUs one job may ask for (CPU_SETSIZE, the most a cpu_set_t holds). */
#define FORQ_CPUS_MAX 1024

/* Error codes, as in {"ok":false,"error":{"code":...,"message":...}}. */
#define FORQ_ERR_BAD_REQUEST "bad_request"
#define FORQ_ERR_UNKNOWN_OP "unknown_op"
#define FORQ_ERR_HELLO_REQUIRED "hello_required"
#define FORQ_ERR_UNSUPPORTED_VERSION "unsupported_version"
#define FORQ_ERR_LIMIT "limit_exceeded"
#define FORQ_ERR_SHUTTING_DOWN "shutting_down"
#define FORQ_ERR_NOT_FOUND "not_found"
#define FORQ_ERR_NOT_PERMITTED "not_permitted"
#define FORQ_ERR_NO_SPACE "no_space"           /* the state directory is full */
#define FORQ_ERR_UNKNOWN_QUEUE "unknown_queue" /* not in forqd.conf */
#define FORQ_ERR_NOT_PENDING "not_pending"     /* it has started already */
#define FORQ_ERR_NOT_ENDED "not_ended"         /* retry of a job not ended */
#define FORQ_ERR_NOT_HELD "not_held"           /* release of a job not held */
#define FORQ_ERR_DUPLICATE "duplicate"     /* its unique key is another's now */
#define FORQ_ERR_UNSUPPORTED "unsupported" /* not on this host: --mem */
#define FORQ_ERR_UNAVAILABLE "unavailable" /* the cluster's database */
#define FORQ_ERR_INTERNAL "internal"

/* Exit codes of the forq CLI, from sysexits(3) so that they stay clear
 * of the small numbers commands themselves use. */
#define FORQ_EXIT_OK 0
#define FORQ_EXIT_FAILURE 1
#define FORQ_EXIT_USAGE 64         /* EX_USAGE */
#define FORQ_EXIT_INVALID 65       /* EX_DATAERR: the daemon refused it */
#define FORQ_EXIT_NO_SUCH_JOB 66   /* EX_NOINPUT */
#define FORQ_EXIT_NOT_RUNNING 69   /* EX_UNAVAILABLE: no daemon there */
#define FORQ_EXIT_TEMPFAIL 75      /* EX_TEMPFAIL: try again later */
#define FORQ_EXIT_PROTOCOL 76      /* EX_PROTOCOL: a reply made no sense */
#define FORQ_EXIT_NOT_PERMITTED 77 /* EX_NOPERM: another user's job */

#endif
