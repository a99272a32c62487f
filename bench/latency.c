/*
 * Latency through libforq, one job at a time on an idle forqd: submit
 * to acknowledged (the reply, sent after the durable commit), and
 * submit to started (the job's started_at, taken by its worker just
 * before the spawn). Prints "ack_p50 ack_p99 start_p50 start_p99" in
 * microseconds.
 *
 *     latency SOCKET N
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "forq/client.h"

static double
now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return v[i];
}

int
main(int argc, char **argv)
{
	struct forq_error err;
	struct forq_conn *conn;
	double *ack, *start, t0, t1, started;
	json_t *reply, *fields, *job;
	long long id;
	char cwd[4096];
	int i, n;

	if (argc != 3 || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: latency SOCKET N\n");
		return 64;
	}
	if ((conn = forq_connect(argv[1], &err)) == NULL) {
		fprintf(stderr, "latency: %s\n", err.message);
		return 69;
	}
	ack = calloc((size_t)n, sizeof *ack);
	start = calloc((size_t)n, sizeof *start);
	if (ack == NULL || start == NULL || getcwd(cwd, sizeof cwd) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		fields = json_pack("{s:[{s:[s], s:s}]}", "jobs", "argv",
				   "/bin/true", "cwd", cwd);
		t0 = now_real();
		reply = forq_call(conn, "submit", fields, &err);
		t1 = now_real();
		if (reply == NULL) {
			fprintf(stderr, "latency: submit: %s\n", err.message);
			return 1;
		}
		id = json_integer_value(
		    json_array_get(json_object_get(reply, "ids"), 0));
		json_decref(reply);
		reply = forq_call(conn, "wait",
				  json_pack("{s:[I]}", "jobs", id), &err);
		json_decref(reply);
		reply = forq_call(conn, "status", json_pack("{s:I}", "job", id),
				  &err);
		if (reply == NULL) {
			fprintf(stderr, "latency: status: %s\n", err.message);
			return 1;
		}
		job = json_object_get(reply, "job");
		started = json_real_value(json_object_get(job, "started_at"));
		ack[i] = (t1 - t0) * 1e6;
		start[i] = (started - t0) * 1e6;
		json_decref(reply);
	}
	qsort(ack, (size_t)n, sizeof *ack, cmp);
	qsort(start, (size_t)n, sizeof *start, cmp);
	printf("%.0f %.0f %.0f %.0f\n", pct(ack, n, 0.5), pct(ack, n, 0.99),
	       pct(start, n, 0.5), pct(start, n, 0.99));
	forq_close(conn);
	free(ack);
	free(start);
	return 0;
}
