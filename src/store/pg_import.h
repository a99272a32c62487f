/* forqd --import-sqlite: a one-host store moved into a cluster. */
#ifndef FORQ_PG_IMPORT_H
#define FORQ_PG_IMPORT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct pg_import_counts {
	uint64_t queued; /* queued or scheduled, now the cluster's */
	uint64_t ended;  /* into the history */
	char moved_to[PATH_MAX + 64]; /* where the store's file went */
};

/* The store of state directory dir, into the database of dsn, each
 * spec signed with key as submitted through node; all or nothing. A
 * store with jobs running or waiting, or whose jobs not ended have
 * dependencies, is refused, as is a job whose uid has no
 * name here or whose id the cluster has given already. -1 and why in
 * err. */
int pg_import_sqlite(const char *dsn, const char *dir, const unsigned char *key,
		     size_t keylen, const char *node,
		     struct pg_import_counts *counts, char *err, size_t errlen);

#endif
