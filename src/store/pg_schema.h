/*
 * The cluster database's schema, and what a forqd does with it at
 * start-up, before its loop runs and before it answers anyone: the only
 * place where forqd waits on PostgreSQL, bounded by a connect timeout.
 */
#ifndef FORQ_PG_SCHEMA_H
#define FORQ_PG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libpq-fe.h>

/* Bump with a migration in pg_schema.c. */
#define PG_SCHEMA_VERSION 18

/* What a node says of itself when it joins. */
struct pg_node_info {
	const char *name;
	const char *host; /* the host name, which may differ from name */
	const char *version;
	const char *state_dir;
	const char *res; /* its [resources]' totals (res_kinds_format) */
	pid_t pid;
	uint32_t cpus;
	uint32_t slots;
	int64_t lease_ms;
};

/*
 * Connects (within timeout_s), creates or migrates the schema (one
 * forqd at a time, under an advisory lock), and registers the node
 * under a new epoch, which *epoch gets. Refuses, with why in err: a
 * database that cannot be reached, of a schema newer than this forqd
 * knows, or where a live forqd on another host holds the node's name.
 */
/* Connected (within timeout_s), the schema made or migrated, and held
 * by its advisory lock until PQfinish: NULL and why in err. */
PGconn *pg_schema_open(const char *dsn, int timeout_s, char *err,
		       size_t errlen);
int pg_schema_join(const char *dsn, int timeout_s,
		   const struct pg_node_info *node, int64_t *epoch, char *err,
		   size_t errlen);

#endif
