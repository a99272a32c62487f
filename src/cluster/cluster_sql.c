/*
 * What both halves of the shared queue say to the database, and read
 * back: text[] literals (a NULL element is SQL's NULL), a result's
 * verdicts, a job as a row of either table has it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>

#include <jansson.h>

#include "common/compat.h"
#include "core/job.h"
#include "store/pg.h"
#include "store/store.h"
#include "cluster/cluster_int.h"

/* A text[] literal of NUL-terminated strings (NULL: SQL NULL). */
int
cl_array_add(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t need = (s != NULL ? strlen(s) * 2 : 4) + 4;
	char *p;

	if (*len + need + 2 > *cap) {
		size_t ncap = MAX(*cap * 2, *len + need + 64);

		if ((p = realloc(*buf, ncap)) == NULL)
			return -1;
		*buf = p;
		*cap = ncap;
	}
	p = *buf + *len;
	if (*len > 1)
		*p++ = ',';
	if (s == NULL) {
		memcpy(p, "NULL", 4);
		p += 4;
	} else {
		*p++ = '"';
		for (; *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				*p++ = '\\';
			*p++ = *s;
		}
		*p++ = '"';
	}
	*p = '\0';
	*len = (size_t)(p - *buf);
	return 0;
}

char *
cl_array_start(size_t *len, size_t *cap)
{
	char *b = malloc(64);

	if (b != NULL) {
		memcpy(b, "{", 2);
		*len = 1;
		*cap = 64;
	}
	return b;
}

int
cl_array_end(char **buf, size_t *len, size_t *cap)
{
	char *p;

	if (*len + 2 > *cap) {
		if ((p = realloc(*buf, *len + 2)) == NULL)
			return -1;
		*buf = p;
	}
	(*buf)[(*len)++] = '}';
	(*buf)[*len] = '\0';
	return 0;
}

char *
cl_ids_text(const uint64_t *ids, size_t n)
{
	size_t len, cap, i;
	char num[24], *list;

	list = cl_array_start(&len, &cap);
	for (i = 0; list != NULL && i < n; i++) {
		snprintf(num, sizeof num, "%llu", (unsigned long long)ids[i]);
		if (cl_array_add(&list, &len, &cap, num) == -1) {
			free(list);
			return NULL;
		}
	}
	if (list != NULL && cl_array_end(&list, &len, &cap) == -1) {
		free(list);
		return NULL;
	}
	return list;
}

const char *
cl_why(const PGresult *res, const char *err)
{
	return res != NULL ? pg_result_why(res) : err;
}

bool
cl_ok(const PGresult *res)
{
	return res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
			       PQresultStatus(res) == PGRES_TUPLES_OK);
}

int
cl_send(struct cluster *cl, const char *sql, int n, const char *const *values,
	pg_cb cb, void *ctx)
{
	if (pg_send(cl->pg, sql, n, values, cb, ctx) == -1)
		return -1;
	(void)pg_sync(cl->pg);
	return 0;
}

long long
cl_int(const PGresult *res, int row, int col, long long none)
{
	return PQgetisnull(res, row, col)
		   ? none
		   : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

void
cl_read_result(const PGresult *res, int row, int col, struct job_result *r)
{
	r->start_ns = cl_int(res, row, col, 0);
	r->end_ns = cl_int(res, row, col + 1, 0);
	r->exit_code = (int)cl_int(res, row, col + 2, -1);
	r->signal = (int)cl_int(res, row, col + 3, 0);
	if (!PQgetisnull(res, row, col + 4))
		strlcpy(r->error, PQgetvalue(res, row, col + 4),
			sizeof r->error);
	r->user_us = cl_int(res, row, col + 5, 0);
	r->sys_us = cl_int(res, row, col + 6, 0);
	r->maxrss_kb = cl_int(res, row, col + 7, 0);
	r->procs = (uint32_t)cl_int(res, row, col + 8, 0);
}

int
cl_read_job(struct cluster *cl, const PGresult *res, int row,
	    struct store_job *job)
{
	struct job_limits any = *cl->limits;
	struct job_error err;
	json_t *spec;

	memset(job, 0, sizeof *job);
	job->id = (uint64_t)cl_int(res, row, 0, 0);
	job->state = (enum job_state)cl_int(res, row, 1, 0);
	job->uid = (uid_t)cl_int(res, row, 2, 0);
	job->gid = (gid_t)cl_int(res, row, 3, 0);
	job->submit_ns = cl_int(res, row, 5, 0);
	job->attempt = (uint32_t)cl_int(res, row, 6, 0);
	job->worker = (int)cl_int(res, row, 7, -1);
	job->cpu = (int)cl_int(res, row, 8, -1);
	job->result.state = job->state;
	cl_read_result(res, row, 9, &job->result);
	/* Another node's limits may be wider: a read shows any spec. */
	any.argv_max = UINT32_MAX;
	any.argv_bytes_max = any.env_bytes_max = UINT64_MAX;
	any.name_max = UINT32_MAX;
	if ((spec = json_loads(PQgetvalue(res, row, 4), 0, NULL)) == NULL ||
	    job_spec_from_json(spec, NULL, &any, &job->spec, &err) == -1) {
		json_decref(spec);
		return -1;
	}
	json_decref(spec);
	job->name = job->spec.name;
	/* forq set changes the column, not the spec as signed. */
	job->spec.priority = (int32_t)cl_int(res, row, 19, 0);
	job->array_id = (uint64_t)cl_int(res, row, 20, 0);
	job->array_index = (uint32_t)cl_int(res, row, 21, 0);
	job->array_max = (uint32_t)cl_int(res, row, 22, 0);
	return 0;
}

void
cl_announce(struct cluster *cl, uint64_t id)
{
	char num[24];
	int len =
	    snprintf(num, sizeof num, "%s%llu", cl->announce_len > 0 ? "," : "",
		     (unsigned long long)id);

	/* A NOTIFY payload holds under 8000 bytes: past it, the others
	 * learn of the rest by their poll. */
	if (cl->announce_len + (size_t)len >= 7900)
		return;
	if (cl->announce_len + (size_t)len + 1 > cl->announce_cap) {
		size_t cap = MAX(cl->announce_cap * 2, 256);
		char *p = realloc(cl->announce, cap);

		if (p == NULL)
			return;
		cl->announce = p;
		cl->announce_cap = cap;
	}
	memcpy(cl->announce + cl->announce_len, num, (size_t)len + 1);
	cl->announce_len += (size_t)len;
}

void
cl_no_answer(void *arg, const PGresult *res, const char *err)
{
	(void)arg;
	(void)res;
	(void)err;
}
