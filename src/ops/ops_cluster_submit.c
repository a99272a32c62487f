/*
 * A cluster node's submit: what its jobs wait for found first (by id
 * or by a task's name, on any node), what they ask of CPUs, memory and
 * [resources] checked against what some node has, then the submission
 * sent, answered in a later turn through an owed reply in the one-host
 * reply's shape.
 */
#include <sys/param.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/compat.h"
#include "common/log.h"
#include "common/units.h"
#include "core/conf.h"
#include "core/job.h"
#include "core/request.h"
#include "core/res.h"
#include "store/store.h"
#include "cluster/cluster.h"
#include "cluster/node.h"
#include "control/control.h"
#include "control/later.h"
#include "ops/ops_cluster.h"
#include "ops/ops_cluster_read.h"
#include "ops/ops_common.h"
#include "ops/ops_jobs.h"
#include "forq/protocol.h"

static void
opsc_submitted(void *arg, const uint64_t *ids, const bool *existing, size_t n,
	       const char *err)
{
	struct ask *a = arg;
	json_t *reply, *list, *held;
	size_t i;

	if (ids == NULL) {
		opsc_ask_answer(a, opsc_ask_error(a, FORQ_ERR_UNAVAILABLE,
						  "the cluster did not take "
						  "the jobs: %s",
						  err));
		return;
	}
	reply = reply_ok(later_req_id(a->reply));
	list = json_array();
	held = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(list, json_integer((json_int_t)ids[i]));
		if (existing[i])
			json_array_append_new(held,
					      json_integer((json_int_t)ids[i]));
	}
	json_object_set_new(reply, "ids", list);
	/* The ids that stand for a job not stored: a job not ended held
	 * its unique key. */
	json_object_set_new(reply, "existing", held);
	json_object_set_new(reply, "arrays",
			    ops_arrays_json(a->specs, a->nspecs, ids));
	log_debug("uid %d submitted %zu jobs to the cluster, first %llu",
		  (int)a->uid, n, n > 0 ? (unsigned long long)ids[0] : 0ULL);
	opsc_ask_answer(a, reply);
}

static void
opsc_submit_send(struct ask *a)
{
	if (cluster_submit(a->ops->d.cluster, a->specs, a->nspecs, a->uid,
			   a->gid, a->user, opsc_submitted, a) == -1)
		opsc_submitted(a, NULL, NULL, 0,
			       "the database cannot be reached");
}

/* Which job of the batch names dep first, for the error. */
static size_t
opsc_naming(const struct ask *a, uint64_t dep)
{
	size_t i;
	uint32_t k;

	for (i = 0; i < a->nspecs; i++) {
		for (k = 0; k < a->specs[i].nafter; k++) {
			if (a->specs[i].after[k] == dep)
				return i + 1;
		}
	}
	return 0;
}

/* The jobs they wait for, as on one host: each must exist, and be the
 * client's own unless it is an admin; only jobs that exist can be
 * named, so no cycle can form. */
static void
opsc_dep_found(void *arg, const struct store_job *job, const char *node,
	       const char *err)
{
	struct ask *a = arg;
	size_t i;

	(void)node;
	if (job != NULL) {
		for (i = 0; i < a->nids && a->ids[i] != job->id; i++)
			;
		if (i < a->nids)
			a->seen[i] = true;
		if (!opsc_ask_may_touch(a, job->uid) && a->done == NULL)
			a->done =
			    opsc_ask_error(a, FORQ_ERR_NOT_PERMITTED,
					   "job %zu: --after %llu: another "
					   "user's job",
					   opsc_naming(a, job->id),
					   (unsigned long long)job->id);
		return;
	}
	if (err != NULL) {
		opsc_ask_answer(a, opsc_db_error(a, err));
		return;
	}
	for (i = 0; a->done == NULL && i < a->nids; i++) {
		if (!a->seen[i])
			a->done =
			    opsc_ask_error(a, FORQ_ERR_NOT_FOUND,
					   "job %zu: --after %llu: no such job",
					   opsc_naming(a, a->ids[i]),
					   (unsigned long long)a->ids[i]);
	}
	if (a->done != NULL) {
		opsc_ask_answer(a, json_incref(a->done));
		return;
	}
	opsc_submit_send(a);
}

/* Every job the batch waits for, once each. */
static int
opsc_deps_of(struct ask *a)
{
	size_t i, k, cap = 0;
	uint32_t d;

	for (i = 0; i < a->nspecs; i++) {
		for (d = 0; d < a->specs[i].nafter; d++) {
			for (k = 0;
			     k < a->nids && a->ids[k] != a->specs[i].after[d];
			     k++)
				;
			if (k < a->nids)
				continue;
			if (array_reserve((void **)&a->ids, &cap, a->nids,
					  sizeof *a->ids) == -1)
				return -1;
			a->ids[a->nids++] = a->specs[i].after[d];
		}
	}
	if (a->nids > 0 && (a->seen = calloc(a->nids, sizeof *a->seen)) == NULL)
		return -1;
	return 0;
}

/* The jobs the batch waits for are looked up, then it is sent. */
static void
opsc_submit_deps(struct ask *a)
{
	if (a->nids == 0)
		opsc_submit_send(a);
	else if (cluster_get_many(a->ops->d.cluster, a->ids, a->nids,
				  opsc_dep_found, a) == -1)
		opsc_submitted(a, NULL, NULL, 0,
			       "the database cannot be reached");
}

/* What the nodes of a cluster take, the most of any node: a job is
 * checked against that, not against the node it came through, which
 * may be the smallest. A node not heard from since it started (no
 * renewal yet) takes anything, until it says. */
struct opsc_fit {
	struct res_kinds res;
	uint32_t cpus; /* 0: a node has not said */
	uint64_t mem;
	bool mem_said;
};

static void
opsc_fit_add(struct opsc_fit *f, const json_t *row)
{
	const char *text = json_string_value(json_object_get(row, "res"));
	const json_t *cpus = json_object_get(row, "job_cpus");
	const json_t *mem = json_object_get(row, "job_mem");

	if (text != NULL && res_kinds_merge(&f->res, text) == -1)
		log_warnx("node %s: its resources (%s) do not parse",
			  json_string_value(json_object_get(row, "node")),
			  text);
	if (!json_is_integer(cpus) || !json_is_integer(mem)) {
		f->cpus = UINT32_MAX;
		f->mem = UINT64_MAX;
		return;
	}
	f->cpus = MAX(f->cpus, (uint32_t)json_integer_value(cpus));
	f->mem = MAX(f->mem, (uint64_t)json_integer_value(mem));
}

static json_t *
opsc_fit_check(struct ask *a, const struct opsc_fit *f,
	       const struct job_spec *spec, size_t i)
{
	char why[256], want[32], most[32];
	struct res_grant g;
	int rc;

	if (spec->cpus > f->cpus) {
		if (f->cpus <= 1)
			snprintf(why, sizeof why,
				 "job %zu: --cpus %u: no node of the cluster "
				 "holds a job to CPUs of its own (job cgroups "
				 "with the cpuset controller)",
				 i + 1, spec->cpus);
		else
			snprintf(why, sizeof why,
				 "job %zu: --cpus %u is over the workers of "
				 "every node of the cluster (the most: %u)",
				 i + 1, spec->cpus, f->cpus);
		return reply_limit(later_req_id(a->reply), "workers", f->cpus,
				   why);
	}
	if (spec->mem > f->mem) {
		units_format_size(spec->mem, want, sizeof want);
		units_format_size(f->mem, most, sizeof most);
		if (f->mem == 0)
			snprintf(why, sizeof why,
				 "job %zu: --mem %s: no node of the cluster "
				 "holds a job's memory (job cgroups)",
				 i + 1, want);
		else
			snprintf(why, sizeof why,
				 "job %zu: --mem %s is over the mem_max of "
				 "every node of the cluster (the most: %s)",
				 i + 1, want, most);
		return reply_limit(later_req_id(a->reply), "mem_max", f->mem,
				   why);
	}
	if (spec->res == NULL ||
	    (rc = res_ask_parse(&f->res, spec->res, &g, why, sizeof why)) == 0)
		return NULL;
	return rc == -2 ? opsc_ask_error(a, FORQ_ERR_LIMIT,
					 "job %zu: res %s (on the node of the "
					 "cluster with the most)",
					 i + 1, why)
			: opsc_ask_error(a, FORQ_ERR_BAD_REQUEST,
					 "job %zu: res: %s of any node of the "
					 "cluster",
					 i + 1, why);
}

/* A job that asks for CPUs of its own, memory or [resources] is
 * checked against the nodes as the database lists them, up or not. */
static void
opsc_fit_nodes(void *arg, json_t *rows, const char *err)
{
	struct ask *a = arg;
	struct opsc_fit f;
	json_t *row, *reply;
	size_t i;

	if (err != NULL) {
		opsc_ask_answer(a, opsc_db_error(a, err));
		return;
	}
	memset(&f, 0, sizeof f);
	json_array_foreach(rows, i, row) opsc_fit_add(&f, row);
	json_decref(rows);
	for (i = 0; i < a->nspecs; i++) {
		if ((reply = opsc_fit_check(a, &f, &a->specs[i], i)) != NULL) {
			opsc_ask_answer(a, reply);
			return;
		}
	}
	opsc_submit_deps(a);
}

static bool
opsc_asks_much(const struct job_spec *spec)
{
	return spec->cpus > 1 || spec->mem > 0 || spec->res != NULL;
}

json_t *
opsc_submit(struct ops *ops, struct client *c, const struct request *req)
{
	const struct ucred *cred = control_cred(c);
	struct job_spec *specs;
	struct passwd *pw;
	struct ask *a;
	json_t *reply;
	size_t n;

	if ((reply = ops_submit_specs(ops, c, req, &specs, &n)) != NULL)
		return reply;
	/* The node that runs it looks the name up: uids may differ. */
	if ((pw = getpwuid(cred->uid)) == NULL) {
		ops_specs_free(specs, n);
		return ops_error(req, FORQ_ERR_NOT_PERMITTED,
				 "uid %d has no name here, and a cluster runs "
				 "jobs as a user's name",
				 (int)cred->uid);
	}
	if ((a = opsc_ask_new(ops, c, req)) == NULL) {
		ops_specs_free(specs, n);
		return ops_error(req, FORQ_ERR_INTERNAL, "out of memory");
	}
	a->specs = specs;
	a->nspecs = n;
	a->gid = cred->gid;
	if ((a->user = strdup(pw->pw_name)) == NULL || opsc_deps_of(a) == -1) {
		opsc_ask_answer(a, opsc_ask_error(a, FORQ_ERR_INTERNAL,
						  "out of memory"));
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (opsc_asks_much(&specs[i])) {
			const char *why;

			if (node_list(ops->d.node, opsc_fit_nodes, a, &why) ==
			    -1)
				opsc_ask_answer(a, opsc_db_error(a, why));
			return NULL;
		}
	}
	opsc_submit_deps(a);
	return NULL;
}
