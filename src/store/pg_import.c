/*
 * forqd --import-sqlite: a one-host store moved into a cluster's
 * database, in one transaction. Jobs keep their ids (the cluster's
 * sequence is moved past them), their states, attempts and ends; each
 * spec is signed with the cluster's key as a node signs a submission.
 * Then the store's file is renamed, so that neither a one-host forqd
 * nor this host's node runs its jobs a second time.
 */
#include <sys/param.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "common/clock.h"
#include "core/job.h"
#include "core/sign.h"
#include "store/pg_import.h"
#include "store/pg_schema.h"
#include "store/store.h"

struct import {
	struct store *st;
	PGconn *conn;
	const struct signer *signer;
	const char *node;
	struct pg_import_counts *n;
	char why[512];
	bool failed;
	bool check_only; /* the first pass: what may not be moved */
};

static char *
imp_num(char *buf, size_t len, long long v)
{
	snprintf(buf, len, "%lld", v);
	return buf;
}

/* ids as a bigint[] literal (JOB_AFTER_MAX of them fit in len). */
static char *
imp_ids(char *buf, size_t len, const uint64_t *ids, uint32_t n)
{
	size_t at = 0;
	uint32_t i;

	at += (size_t)snprintf(buf, len, "{");
	for (i = 0; i < n && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%llu",
				       i > 0 ? "," : "",
				       (unsigned long long)ids[i]);
	if (at < len)
		snprintf(buf + at, len - at, "}");
	return buf;
}

static char *
imp_time(char *buf, size_t len, int64_t ns)
{
	if (ns <= 0)
		return NULL;
	snprintf(buf, len, "%.6f", (double)ns / 1e9);
	return buf;
}

static int
imp_one(void *arg, const struct store_job *job)
{
	struct import *im = arg;
	char id[24], state[8], prio[16], uid[16], gid[16], attempt[16],
	    submit[40], start[40], started[40], ended[40], code[16], sig_n[16],
	    user_us[24], sys_us[24], rss[24], sig[SIGN_HEX_LEN], mode[8],
	    after[JOB_AFTER_MAX * 21 + 3];
	uint64_t *deps;
	enum job_state *dep_states;
	size_t ndeps;
	const char *queue =
	    job->spec.queue != NULL ? job->spec.queue : "default";
	const char *values[21];
	struct job_spec eff;
	struct passwd *pw;
	PGresult *res;
	char *text;
	json_t *j;
	bool final = job_state_final(job->state);

	if (job->array_id != 0 && !final) {
		snprintf(im->why, sizeof im->why,
			 "job %llu is task %llu_%u of an array, not ended: a "
			 "cluster does not keep arrays yet; import once it has "
			 "ended (forq wait %llu)",
			 (unsigned long long)job->id,
			 (unsigned long long)job->array_id, job->array_index,
			 (unsigned long long)job->array_id);
		im->failed = true;
		return 1;
	}
	if (job->state == JOB_RUNNING) {
		snprintf(im->why, sizeof im->why,
			 "job %llu is %s: stop the one-host forqd once its "
			 "jobs have ended (forq wait --all), then import",
			 (unsigned long long)job->id,
			 job_state_name(job->state));
		im->failed = true;
		return 1;
	}
	if ((pw = getpwuid(job->uid)) == NULL) {
		snprintf(im->why, sizeof im->why,
			 "job %llu: uid %d has no name here, and a cluster "
			 "runs jobs as a user's name",
			 (unsigned long long)job->id, (int)job->uid);
		im->failed = true;
		return 1;
	}
	if (im->check_only)
		return 0;
	eff = job->spec;
	eff.has_priority = eff.has_timeout = eff.has_retries = true;
	eff.has_retry_delay = eff.has_mem = eff.has_cpus = true;
	j = job_spec_to_json(&eff);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL ||
	    sign_spec(im->signer, pw->pw_name, queue, text, sig) == -1) {
		free(text);
		snprintf(im->why, sizeof im->why,
			 "job %llu: cannot sign its spec",
			 (unsigned long long)job->id);
		im->failed = true;
		return 1;
	}
	values[0] = imp_num(id, sizeof id, (long long)job->id);
	values[1] = imp_num(state, sizeof state, job->state);
	values[2] = queue;
	values[3] = imp_num(prio, sizeof prio, job->spec.priority);
	values[4] = imp_num(uid, sizeof uid, job->uid);
	values[5] = imp_num(gid, sizeof gid, job->gid);
	values[6] = pw->pw_name;
	values[7] = job->spec.name;
	values[8] = text;
	values[9] = im->node;
	values[10] = imp_time(submit, sizeof submit, job->submit_ns);
	values[11] = imp_num(attempt, sizeof attempt, job->attempt);
	values[12] = sig;
	/* The queued: when to start. The ended: how they ended. */
	values[13] = imp_time(start, sizeof start, job->spec.start_at_ns);
	values[14] = job->spec.unique;
	/* A waiting job waits on in the cluster, for jobs imported with it
	 * (the nodes' look at the waiting jobs settles it); what it waits
	 * for is in the store's list of dependencies, not in its spec. A
	 * held job keeps its list for its release. */
	values[15] = NULL;
	if (job->state == JOB_WAITING || job->state == JOB_HELD) {
		if (store_deps(im->st, job->id, &deps, &dep_states, &ndeps) ==
		    -1) {
			snprintf(im->why, sizeof im->why,
				 "job %llu: its dependencies: %s",
				 (unsigned long long)job->id,
				 store_error(im->st));
			im->failed = true;
			free(text);
			return 1;
		}
		values[15] = imp_ids(after, sizeof after, deps,
				     (uint32_t)MIN(ndeps, JOB_AFTER_MAX));
		free(deps);
		free(dep_states);
	}
	values[16] = imp_num(mode, sizeof mode, job->spec.after_mode);
	if (final) {
		values[13] =
		    imp_time(started, sizeof started, job->result.start_ns);
		values[14] = imp_time(ended, sizeof ended, job->result.end_ns);
		values[15] =
		    job->result.signal == 0 && job->result.exit_code >= 0 &&
			    job->result.start_ns > 0
			? imp_num(code, sizeof code, job->result.exit_code)
			: NULL;
		values[16] =
		    job->result.signal != 0
			? imp_num(sig_n, sizeof sig_n, job->result.signal)
			: NULL;
		values[17] =
		    job->result.error[0] != '\0' ? job->result.error : NULL;
		values[18] =
		    imp_num(user_us, sizeof user_us, job->result.user_us);
		values[19] = imp_num(sys_us, sizeof sys_us, job->result.sys_us);
		values[20] = imp_num(rss, sizeof rss, job->result.maxrss_kb);
	}
	if (!final)
		res = PQexecParams(im->conn,
				   "INSERT INTO forq_jobs (id, state, queue, "
				   "priority, uid, "
				   "gid, user_name, name, spec, submit_node, "
				   "submitted_at, "
				   "attempt, sig, start_at, unique_key, "
				   "after_ids, after_mode) VALUES "
				   "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
				   "to_timestamp($11::float8), $12, $13, "
				   "to_timestamp($14::float8), $15, $16, $17)",
				   17, NULL, values, NULL, NULL, 0);
	else
		res = PQexecParams(im->conn,
				   "INSERT INTO forq_history (id, state, "
				   "queue, priority, "
				   "uid, gid, user_name, name, spec, "
				   "submit_node, "
				   "submitted_at, attempt, sig, started_at, "
				   "ended_at, "
				   "exit_code, signal, error, user_us, sys_us, "
				   "maxrss_kb) "
				   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
				   "$9, $10, "
				   "to_timestamp($11::float8), $12, $13, "
				   "to_timestamp($14::float8), "
				   "coalesce(to_timestamp($15::float8), "
				   "now()), $16, $17, "
				   "$18, $19, $20, $21)",
				   21, NULL, values, NULL, NULL, 0);
	free(text);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL
		       ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
		       : "",
		   "23505") == 0) {
		snprintf(im->why, sizeof im->why,
			 "job %llu: its id is taken in the cluster (by a job "
			 "of another host's store, or this one imported "
			 "before): nothing was imported",
			 (unsigned long long)job->id);
		PQclear(res);
		im->failed = true;
		return 1;
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(im->why, sizeof im->why, "job %llu: %s",
			 (unsigned long long)job->id,
			 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			     ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			     : PQerrorMessage(im->conn));
		PQclear(res);
		im->failed = true;
		return 1;
	}
	if (final)
		im->n->ended++;
	else
		im->n->queued++;
	PQclear(res);
	return 0;
}

static int
imp_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
		 PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		snprintf(err, errlen, "database: %s",
			 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			     ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			     : PQerrorMessage(conn));
	PQclear(res);
	return ok ? 0 : -1;
}

int
pg_import_sqlite(const char *dsn, const char *dir, const unsigned char *key,
		 size_t keylen, const char *node,
		 struct pg_import_counts *counts, char *err, size_t errlen)
{
	struct store_filter all = {.state = -1, .uid = -1};
	struct import im = {.node = node, .n = counts};
	char db[PATH_MAX], moved[PATH_MAX + 64];
	struct signer *signer;
	struct store *st;
	int rc = -1;

	memset(counts, 0, sizeof *counts);
	snprintf(db, sizeof db, "%s/jobs.db", dir);
	if (access(db, F_OK) == -1) {
		snprintf(err, errlen, "%s: %s", db, strerror(errno));
		return -1;
	}
	if ((im.signer = signer = signer_new(key, keylen)) == NULL) {
		snprintf(err, errlen, "cannot make an HMAC (OpenSSL)");
		return -1;
	}
	if (store_open(&st, dir, true, err, errlen) == -1) {
		signer_free(signer);
		return -1;
	}
	im.st = st;
	/* Everything checked before anything is moved. */
	im.check_only = true;
	if (store_list(st, &all, UINT32_MAX, imp_one, &im) == -1) {
		snprintf(err, errlen, "%s: %s", db, store_error(st));
		goto out;
	}
	if (im.failed) {
		snprintf(err, errlen, "%s", im.why);
		goto out;
	}
	if ((im.conn = pg_schema_open(dsn, 10, err, errlen)) == NULL)
		goto out;
	if (imp_exec(im.conn, "BEGIN", err, errlen) == -1)
		goto out;
	im.check_only = false;
	if (store_list(st, &all, UINT32_MAX, imp_one, &im) == -1 || im.failed) {
		snprintf(err, errlen, "%s",
			 im.failed ? im.why : store_error(st));
		goto out;
	}
	/* The cluster's next ids come after the imported ones. */
	if (imp_exec(im.conn,
		     "SELECT setval('forq_job_ids', greatest((SELECT "
		     "coalesce(max(id), 0) FROM forq_jobs), (SELECT "
		     "coalesce(max(id), 0) FROM forq_history), (SELECT "
		     "last_value FROM forq_job_ids)))",
		     err, errlen) == -1 ||
	    imp_exec(im.conn, "SELECT pg_notify('forq_jobs', '')", err,
		     errlen) == -1 ||
	    imp_exec(im.conn, "COMMIT", err, errlen) == -1)
		goto out;
	store_close(st);
	st = NULL;
	snprintf(moved, sizeof moved, "%s.imported-%lld", db,
		 (long long)(clock_real_ns() / NS_PER_SEC));
	if (rename(db, moved) == -1) {
		snprintf(err, errlen,
			 "imported, but %s could not be renamed (%s): move it "
			 "away before a forqd uses %s again",
			 db, strerror(errno), dir);
		goto out;
	}
	snprintf(counts->moved_to, sizeof counts->moved_to, "%s", moved);
	rc = 0;
out:
	if (im.conn != NULL)
		PQfinish(im.conn);
	store_close(st);
	signer_free(signer);
	return rc;
}
