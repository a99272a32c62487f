/*
 * Countable resources: GPUs and the like, declared in forqd.conf's
 * [resources] as indexes ("gpu = 0-3": each index goes to one job at
 * a time) or a count ("license.matlab = 2"); what a job asks for
 * ("gpu=2,license.matlab=1"); and the pool that hands them out, never
 * an index to two jobs. Pure functions.
 */
#ifndef FORQ_RES_H
#define FORQ_RES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RES_KINDS_MAX 16
#define RES_NAME_MAX 31
#define RES_INDEX_MAX 63    /* indexes from 0 to this */
#define RES_COUNT_MAX 65536 /* a counted resource's most */

struct res_kind {
	char name[RES_NAME_MAX + 1];
	bool indexed;
	uint64_t indexes; /* indexed: the bits of those there are */
	uint32_t total;
};

struct res_kinds {
	struct res_kind kind[RES_KINDS_MAX];
	size_t n;
};

/* What a job asks for (want) or was given (mask, for indexes), by the
 * index of the kind. */
struct res_grant {
	uint32_t want[RES_KINDS_MAX];
	uint64_t mask[RES_KINDS_MAX];
};

/* A kind's name: 1 to RES_NAME_MAX of a-z, 0-9, '_', '.', '-'. */
int res_name_check(const char *name);
/* Adds "name = value" of the conf: "0-3", "0,2,5" (indexes) or "2" (a
 * count); -1 with why. */
int res_kind_add(struct res_kinds *k, const char *name, const char *value,
		 char *why, size_t whylen);
/* The kind of k that is NVIDIA's GPUs (an indexed "gpu": its indexes
 * are the /dev/nvidiaN minors, and go to CUDA_VISIBLE_DEVICES); -1 if
 * none. */
int res_gpu_kind(const struct res_kinds *k);
/* The totals of k, as a node tells the others of a cluster:
 * "gpu=4,license.matlab=2" ("" for none); -1 if it does not fit. */
int res_kinds_format(const struct res_kinds *k, char *buf, size_t len);
/* Adds what res_kinds_format wrote of a node to k, each kind a count
 * whose total is the most of any node added: what one job may ask of a
 * cluster. -1 on a text that does not parse (k keeps what was read). */
int res_kinds_merge(struct res_kinds *k, const char *text);
/* "gpu=2,license.matlab=1" into g->want; -1 with why (a name not
 * declared, a bad number), -2 with why if more is asked than there is. */
int res_ask_parse(const struct res_kinds *k, const char *text,
		  struct res_grant *g, char *why, size_t whylen);
bool res_asks(const struct res_grant *g);

/* What is in use. */
struct res_pool {
	uint64_t used_mask[RES_KINDS_MAX];
	uint32_t used[RES_KINDS_MAX];
};
/* Takes what g wants (its mask filled, the lowest free indexes): 0, or
 * -1 if it is not all free now (nothing taken). */
int res_take(const struct res_kinds *k, struct res_pool *p,
	     struct res_grant *g);
/* Takes exactly what g was given (a job taken on after a restart): -1
 * if some of it is in use already, or not there. */
int res_take_given(const struct res_kinds *k, struct res_pool *p,
		   const struct res_grant *g);
void res_give_back(const struct res_kinds *k, struct res_pool *p,
		   const struct res_grant *g);
/* How many of kind i are free now. */
uint32_t res_left(const struct res_kinds *k, const struct res_pool *p,
		  size_t i);
/* Would kind i of g be free now? */
bool res_free(const struct res_kinds *k, const struct res_pool *p,
	      const struct res_grant *g, size_t i);

/* A grant as the store keeps it ("gpu:5;license.matlab:1", masks in
 * hex for indexes), and back; -1 if it does not fit or parse. */
int res_grant_format(const struct res_kinds *k, const struct res_grant *g,
		     char *buf, size_t len);
int res_grant_parse(const struct res_kinds *k, const char *text,
		    struct res_grant *g);
/* What a grant gave, as users read it: "gpu=0,2 license.matlab=1". */
int res_grant_describe(const struct res_kinds *k, const struct res_grant *g,
		       char *buf, size_t len);
/* The job's environment for it: FORQ_RES_<NAME>=0,2 (indexes) or =1
 * (a count), and for "gpu" CUDA_VISIBLE_DEVICES=0,2; NUL-separated,
 * its count in *n. -1 if it does not fit. */
int res_grant_env(const struct res_kinds *k, const struct res_grant *g,
		  char *buf, size_t len, size_t *used, uint32_t *n);

#endif
