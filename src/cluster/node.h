/*
 * This forqd as a node of a cluster that shares one PostgreSQL: its
 * connection, its lease (renewed on the server's clock, a third of the
 * lease apart), and what it can tell of the other nodes. It never
 * blocks: every statement goes through the loop (store/pg.h), and an
 * answer that is late only delays what waits for it.
 */
#ifndef FORQ_NODE_H
#define FORQ_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct conf;
struct ev_loop;
struct node;
struct pg;

struct node_cb {
	/* Jobs running here now, for the others to see. */
	uint32_t (*busy)(void *arg);
	/* The most one job may have here, for the others to check
	 * submissions against: CPUs of its own, and bytes of --mem (0:
	 * none, no memory is held here). */
	void (*fits)(void *arg, uint32_t *cpus, uint64_t *mem);
	/* The database is reachable (again). */
	void (*up)(void *arg);
	/* The lease was found lost: the others took this node for dead. */
	void (*lost)(void *arg);
	/* The lease holds until then (CLOCK_MONOTONIC, by this node's
	 * count, which is never later than the server's) unless renewed. */
	void (*renewed)(void *arg, int64_t until_ns);
	void *arg;
};

/* At start, before anything runs: the node's name (conf, else the host
 * name), the cluster key read, the schema made or migrated and this
 * node registered under a new epoch, waiting up to join_timeout_s for
 * the database. NULL, the reason logged, if any of it fails: forqd
 * does not start. cpus: what this node offers, for forq nodes. */
struct node *node_join(const struct conf *conf, uint32_t cpus,
		       int join_timeout_s);
void node_free(struct node *n);
/* The node's life on the loop: its connection, its lease. */
int node_start(struct node *n, struct ev_loop *loop, const struct node_cb *cb);
const char *node_name(const struct node *n);
/* The cluster key, copied into key (at most size bytes) and wiped
 * here: the length copied. */
size_t node_take_key(struct node *n, unsigned char *key, size_t size);
/* The node's connection, for the statements of its shared queue. */
struct pg *node_pg(struct node *n);
/* forqd stops: the node says so (a stopped node is not rescued from);
 * best effort, its lease says the rest. node_leaving: the goodbye is
 * on its way, for at most NODE_LEAVE_WAIT_MS: forqd waits for it. */
#define NODE_LEAVE_WAIT_MS 1000
void node_leave(struct node *n);
bool node_leaving(const struct node *n);

/* This node, for forq workers: name, epoch, whether the database is
 * reachable (and if not, why), how long since the lease was renewed. */
json_t *node_self(const struct node *n);

/* Every node, for forq nodes: rows (an array, taken) or err. */
typedef void node_rows_fn(void *arg, json_t *rows, const char *err);
/* -1 (err: why, fn not called) if the database is not reachable now;
 * fn may be called before this returns. */
int node_list(struct node *n, node_rows_fn *fn, void *arg, const char **err);

#endif
