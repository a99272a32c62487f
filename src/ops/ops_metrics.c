/*
 * forqd's metrics page: OpenMetrics text, for `forq metrics` and the
 * HTTP endpoint alike. Each module writes its own metrics; this file
 * puts the page together and adds the process's.
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/metrics.h"
#include "core/request.h"
#include "ipc/shm.h"
#include "store/store.h"
#include "engine/jobs.h"
#include "ops/ops_common.h"
#include "ops/ops_metrics.h"
#include "engine/running.h"
#include "engine/workers.h"
#include "forq/protocol.h"
#include "version.h"

/* A page larger than this is a failure, not a reply. */
#define METRICS_PAGE_MAX (16u << 20)

/* Resident memory from /proc/self/statm, in bytes (0: unknown). */
static uint64_t
ops_self_rss(void)
{
	unsigned long long size, resident;
	FILE *f;
	int n;

	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return n == 2 ? resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static void
ops_metrics_process(struct ops *ops, struct om *om)
{
	const char *version[] = {"version", FORQ_VERSION};
	struct rusage ru;
	double cpu = 0;

	om_family(om, "forq_build", OM_INFO, NULL, "This forqd's version.");
	om_sample(om, "forq_build_info", version, 1, 1);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	om_family(om, "process_cpu_seconds", OM_COUNTER, "seconds",
		  "CPU time of forqd's supervisor, user and system.");
	om_sample(om, "process_cpu_seconds_total", NULL, 0, cpu);
	om_family(om, "process_resident_memory_bytes", OM_GAUGE, "bytes",
		  "Resident memory of forqd's supervisor.");
	om_sample_u64(om, "process_resident_memory_bytes", NULL, 0,
		      ops_self_rss());
	om_family(om, "process_start_time_seconds", OM_GAUGE, "seconds",
		  "When forqd started, since the epoch.");
	om_sample(om, "process_start_time_seconds", NULL, 0,
		  (double)(clock_real_ns() -
			   (clock_mono_ns() - ops->started_ns)) /
		      1e9);
}

/* One sample per worker that runs or is meant to, labelled worker and
 * cpu. */
enum ops_worker_value { OW_UP, OW_RESTARTS, OW_BUSY, OW_JOBS };

static void
ops_metrics_workers_of(struct ops *ops, struct om *om, const char *name,
		       enum ops_worker_value what)
{
	char index[16], cpu[16];
	const char *labels[] = {"worker", index, "cpu", cpu};
	struct worker_view w;
	uint32_t i;

	for (i = 0; i < workers_max(ops->d.workers); i++) {
		workers_view(ops->d.workers, (int)i, &w);
		if (!w.planned && w.pid == 0)
			continue;
		snprintf(index, sizeof index, "%d", w.index);
		snprintf(cpu, sizeof cpu, "%d", w.cpu);
		switch (what) {
		case OW_UP:
			om_sample_u64(om, name, labels, 2, w.pid != 0);
			break;
		case OW_RESTARTS:
			om_sample_u64(om, name, labels, 2, w.sb->restarts);
			break;
		case OW_BUSY:
			om_sample(om, name, labels, 2,
				  (double)running_busy_ns(ops->d.running,
							  (int)i) /
				      1e9);
			break;
		case OW_JOBS:
			om_sample_u64(om, name, labels, 2, w.sb->jobs_done);
			break;
		}
	}
}

static void
ops_metrics_workers(struct ops *ops, struct om *om)
{
	om_family(om, "forq_worker_up", OM_GAUGE, NULL,
		  "1 if the worker's process runs, 0 if it is restarting, "
		  "held or failed.");
	ops_metrics_workers_of(ops, om, "forq_worker_up", OW_UP);
	om_family(om, "forq_worker_restarts", OM_COUNTER, NULL,
		  "Times the worker was started again after it died.");
	ops_metrics_workers_of(ops, om, "forq_worker_restarts_total",
			       OW_RESTARTS);
	om_family(om, "forq_worker_busy_seconds", OM_COUNTER, "seconds",
		  "Time the worker had at least one job, since forqd "
		  "started.");
	ops_metrics_workers_of(ops, om, "forq_worker_busy_seconds_total",
			       OW_BUSY);
	om_family(om, "forq_worker_jobs", OM_COUNTER, NULL,
		  "Jobs the worker's present process has run to their end.");
	ops_metrics_workers_of(ops, om, "forq_worker_jobs_total", OW_JOBS);
	om_family(om, "forq_worker_crash_loop_holds", OM_COUNTER, NULL,
		  "Times a worker that kept dying young was held for "
		  "crash_loop_hold.");
	om_sample_u64(om, "forq_worker_crash_loop_holds_total", NULL, 0,
		      workers_crash_loops(ops->d.workers));
}

int
ops_metrics_page(struct ops *ops, struct buf *b)
{
	struct om om;

	om_begin(&om, b);
	ops_metrics_process(ops, &om);
	ops_metrics_workers(ops, &om);
	(void)jobs_metrics(ops->d.jobs, &om);
	store_metrics(ops->d.store, &om);
	return om_end(&om);
}

json_t *
ops_metrics(struct ops *ops, const struct request *req)
{
	struct buf b;
	json_t *reply;

	buf_init(&b, METRICS_PAGE_MAX);
	if (ops_metrics_page(ops, &b) == -1) {
		buf_free(&b);
		return ops_error(req, FORQ_ERR_INTERNAL,
				 "the metrics page does not fit %u bytes",
				 METRICS_PAGE_MAX);
	}
	reply = reply_ok(req->id);
	json_object_set_new(reply, "text", json_stringn(b.data, b.len));
	buf_free(&b);
	return reply;
}
