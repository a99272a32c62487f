/* The SQLite job store, on a file in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"

struct fixture {
	char dir[64];
	struct store *st;
};

static int
setup(void **state)
{
	static struct fixture f;
	char err[256];

	strcpy(f.dir, "/tmp/forq-store-test.XXXXXX");
	if (mkdtemp(f.dir) == NULL)
		return -1;
	if (store_open(&f.st, f.dir, false, err, sizeof err) == -1)
		return -1;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	store_close(f->st);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct job_spec
spec(const char *argv0, const char *env)
{
	struct job_spec s = {0};

	s.argv = (char *)argv0;
	s.argv_len = strlen(argv0) + 1;
	s.argc = 1;
	s.env = (char *)env;
	s.env_len = strlen(env) + 1;
	s.envc = 1;
	s.cwd = (char *)"/tmp";
	return s;
}

static uint64_t
add(struct store *st, const char *argv0)
{
	struct job_spec s = spec(argv0, "A=1");
	uint64_t id;

	assert_int_equal(store_insert(st, &s, 1, 1000, 100, 42, &id, NULL), 0);
	assert_int_equal(store_commit(st), 0);
	return id;
}

static int64_t
count(struct fixture *f, const char *sql)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t n;

	snprintf(path, sizeof path, "%s/jobs.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void
test_insert_and_get(void **state)
{
	struct fixture *f = *state;
	struct job_spec s[3] = {spec("a", "E=1"), spec("b", "E=1"),
				spec("c", "E=2")};
	struct store_job j;
	uint64_t ids[3];

	s[0].name = (char *)"first";
	s[2].timeout_ms = 1500;
	assert_int_equal(store_insert(f->st, s, 3, 1000, 100, 42, ids, NULL),
			 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(ids[1], ids[0] + 1);
	assert_int_equal(store_get(f->st, ids[0], &j), STORE_OK);
	assert_int_equal(j.state, JOB_QUEUED);
	assert_string_equal(j.name, "first");
	assert_int_equal(j.uid, 1000);
	assert_int_equal(j.gid, 100);
	assert_int_equal(j.submit_ns, 42);
	assert_memory_equal(j.spec.argv, "a", 2);
	assert_memory_equal(j.spec.env, "E=1", 4);
	assert_string_equal(j.spec.cwd, "/tmp");
	store_job_free(&j);
	assert_int_equal(store_get(f->st, ids[2], &j), STORE_OK);
	assert_int_equal(j.spec.timeout_ms, 1500);
	assert_memory_equal(j.spec.env, "E=2", 4);
	store_job_free(&j);
	assert_int_equal(store_get(f->st, 999, &j), STORE_NO_MATCH);
	/* Two environments stored for three jobs. */
	assert_int_equal(count(f, "SELECT count(*) FROM envs"), 2);
	assert_int_equal(count(f, "SELECT refs FROM envs WHERE data = "
				  "CAST('E=1' || char(0) AS BLOB)"),
			 2);
}

static void
test_rollback_forgets_the_turn(void **state)
{
	struct fixture *f = *state;
	struct job_spec s = spec("x", "A=1");
	struct store_job j;
	uint64_t id;

	assert_int_equal(store_insert(f->st, &s, 1, 0, 0, 1, &id, NULL), 0);
	assert_true(store_dirty(f->st));
	store_rollback(f->st);
	assert_false(store_dirty(f->st));
	assert_int_equal(store_get(f->st, id, &j), STORE_NO_MATCH);
}

static void
test_running_then_final(void **state)
{
	struct fixture *f = *state;
	struct job_result r = {.state = JOB_FAILED,
			       .exit_code = 3,
			       .start_ns = 10,
			       .end_ns = 20,
			       .user_us = 5,
			       .sys_us = 6,
			       .maxrss_kb = 7};
	struct store_job j;
	uint64_t id = add(f->st, "x");

	assert_int_equal(store_mark_running(f->st, id, 1, 3, 0, 9, NULL), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, id, &j), STORE_OK);
	assert_int_equal(j.state, JOB_RUNNING);
	assert_int_equal(j.worker, 1);
	assert_int_equal(j.cpu, 3);
	store_job_free(&j);
	strcpy(r.error, "why");
	assert_int_equal(store_finish(f->st, id, &r), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, id, &j), STORE_OK);
	assert_int_equal(j.state, JOB_FAILED);
	assert_int_equal(j.result.exit_code, 3);
	assert_int_equal(j.result.start_ns, 10);
	assert_int_equal(j.result.end_ns, 20);
	assert_int_equal(j.result.maxrss_kb, 7);
	assert_string_equal(j.result.error, "why");
	store_job_free(&j);
}

static void
test_final_state_recorded_once(void **state)
{
	struct fixture *f = *state;
	struct job_result cancelled = {.state = JOB_CANCELLED, .end_ns = 5};
	struct job_result late = {.state = JOB_SUCCEEDED,
				  .exit_code = 0,
				  .start_ns = 1,
				  .end_ns = 9};
	struct store_job j;
	uint64_t id = add(f->st, "x");

	assert_int_equal(store_finish(f->st, id, &cancelled), 0);
	/* A late result, a requeue or a dispatch cannot undo it. */
	assert_int_equal(store_finish(f->st, id, &late), 0);
	assert_int_equal(store_requeue(f->st, id, 1, 7, "lost"), 0);
	assert_int_equal(store_mark_running(f->st, id, 0, 0, 0, 1, NULL), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, id, &j), STORE_OK);
	assert_int_equal(j.state, JOB_CANCELLED);
	assert_int_equal(j.result.end_ns, 5);
	assert_int_equal(j.attempt, 0);
	store_job_free(&j);
}

struct seen {
	uint64_t ids[16];
	int n;
};

static int
collect(void *arg, const struct store_job *j)
{
	struct seen *s = arg;

	s->ids[s->n++] = j->id;
	return 0;
}

static void
test_list_newest_first_by_state(void **state)
{
	struct fixture *f = *state;
	struct job_result done = {.state = JOB_SUCCEEDED, .end_ns = 1};
	struct seen s = {0};
	uint64_t a = add(f->st, "a"), b = add(f->st, "b"), c = add(f->st, "c");

	assert_int_equal(store_finish(f->st, b, &done), 0);
	assert_int_equal(store_commit(f->st), 0);
	struct store_filter any = {.state = -1, .uid = -1};
	struct store_filter queued = {.state = JOB_QUEUED, .uid = -1};
	struct store_filter uid7 = {.state = -1, .uid = 7};
	struct store_filter mine = {.state = JOB_SUCCEEDED, .uid = 1000};

	assert_int_equal(store_list(f->st, &any, 2, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], c);
	assert_int_equal(s.ids[1], b);
	s.n = 0;
	assert_int_equal(store_list(f->st, &queued, 10, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], c);
	assert_int_equal(s.ids[1], a);
	/* add() submits as uid 1000: uid 7 has no jobs. */
	s.n = 0;
	assert_int_equal(store_list(f->st, &uid7, 10, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(store_list(f->st, &mine, 10, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ids[0], b);
}

static int
collect_queued(void *arg, const struct store_pending *p)
{
	struct seen *s = arg;

	s->ids[s->n++] = p->id;
	return 0;
}

static int
count_user(void *arg, uid_t uid, uint64_t n)
{
	struct seen *s = arg;

	s->n += (size_t)n;
	return 0;
}

/* A job a worker this forqd adopted still runs: recovery leaves it be. */
static void
test_recover_keeps_adopted(void **state)
{
	struct fixture *f = *state;
	struct store_recovery rec;
	struct store_job j;
	uint64_t a = add(f->st, "a"), b = add(f->st, "b"), c = add(f->st, "c");
	uint64_t keep[2] = {a, c};

	assert_int_equal(store_mark_running(f->st, a, 0, 0, 0, 1, NULL), 0);
	assert_int_equal(store_mark_running(f->st, b, 0, 0, 0, 1, NULL), 0);
	assert_int_equal(store_mark_running(f->st, c, 1, 1, 0, 1, NULL), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_recover(f->st, 2, 777, keep, 2, &rec), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(rec.requeued, 1);
	assert_int_equal(store_get(f->st, a, &j), STORE_OK);
	assert_int_equal(j.state, JOB_RUNNING);
	store_job_free(&j);
	assert_int_equal(store_get(f->st, b, &j), STORE_OK);
	assert_int_equal(j.state, JOB_QUEUED);
	store_job_free(&j);
	assert_int_equal(store_get(f->st, c, &j), STORE_OK);
	assert_int_equal(j.state, JOB_RUNNING);
	assert_int_equal(j.attempt, 0);
	store_job_free(&j);

	/* Taken on: said, the first time kept, and only of that attempt. */
	assert_int_equal(store_adopted(f->st, a, 0, 500), 0);
	assert_int_equal(store_adopted(f->st, a, 0, 900), 0);
	assert_int_equal(store_adopted(f->st, c, 1, 500), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, a, &j), STORE_OK);
	assert_int_equal(j.adopted_ns, 500);
	store_job_free(&j);
	assert_int_equal(store_get(f->st, c, &j), STORE_OK);
	assert_int_equal(j.adopted_ns, 0);
	store_job_free(&j);
	/* A next attempt was not. */
	assert_int_equal(store_requeue(f->st, a, 1, 600, "lost"), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, a, &j), STORE_OK);
	assert_int_equal(j.adopted_ns, 0);
	store_job_free(&j);
}

static void
test_recover_requeues_then_loses(void **state)
{
	struct fixture *f = *state;
	struct store_recovery rec;
	struct store_job j;
	struct seen s = {0};
	uint64_t fresh = add(f->st, "fresh"), tired = add(f->st, "tired");
	uint64_t waiting = add(f->st, "waiting");

	assert_int_equal(store_mark_running(f->st, fresh, 0, 0, 0, 1, NULL), 0);
	assert_int_equal(store_mark_running(f->st, tired, 0, 0, 2, 1, NULL), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_recover(f->st, 2, 777, NULL, 0, &rec), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(rec.requeued, 1);
	assert_int_equal(rec.lost, 1);
	assert_int_equal(store_get(f->st, fresh, &j), STORE_OK);
	assert_int_equal(j.state, JOB_QUEUED);
	assert_int_equal(j.attempt, 1);
	store_job_free(&j);
	/* The interrupted attempt is kept, as lost, ended at recovery. */
	assert_int_equal(count(f, "SELECT count(*) FROM attempts WHERE "
				  "attempt = 0 AND state = 9 AND end_ns = 777 "
				  "AND error LIKE '%crash of forqd%'"),
			 1);
	assert_int_equal(store_get(f->st, tired, &j), STORE_OK);
	assert_int_equal(j.state, JOB_LOST);
	assert_non_null(strstr(j.result.error, "crash of forqd"));
	/* Ended when recovered: retention counts its age from then. */
	assert_int_equal(j.result.end_ns, 777);
	store_job_free(&j);
	/* Oldest first: the re-queued job goes before the one behind it. */
	assert_int_equal(store_pending(f->st, collect_queued, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], fresh);
	assert_int_equal(s.ids[1], waiting);
	s.n = 0;
	assert_int_equal(store_queued_per_user(f->st, count_user, &s), 0);
	assert_int_equal(s.n, 2); /* both queued jobs, of one user */
}

static void
note_pruned(void *arg, uint64_t id)
{
	struct seen *s = arg;

	s->ids[s->n++] = id;
}

static void
test_prune_by_count_and_age(void **state)
{
	struct fixture *f = *state;
	struct job_result r = {.state = JOB_SUCCEEDED};
	struct seen s = {0};
	struct store_job j;
	uint64_t ids[6];
	int i;

	for (i = 0; i < 6; i++) {
		ids[i] = add(f->st, "p");
		r.end_ns = 100 + i;
		if (i < 5)
			assert_int_equal(store_finish(f->st, ids[i], &r), 0);
	}
	assert_int_equal(store_commit(f->st), 0);
	/* Keep the newest 3 finished: the oldest 2 go. */
	assert_int_equal(store_prune(f->st, 0, 3, 100, note_pruned, &s), 2);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], ids[0]);
	assert_int_equal(s.ids[1], ids[1]);
	/* By age: what ended before 104 goes; the queued one stays. */
	s.n = 0;
	assert_int_equal(store_prune(f->st, 104, 0, 100, note_pruned, &s), 2);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, ids[4], &j), STORE_OK);
	store_job_free(&j);
	assert_int_equal(store_get(f->st, ids[5], &j), STORE_OK);
	store_job_free(&j);
	assert_int_equal(store_get(f->st, ids[3], &j), STORE_NO_MATCH);
	/* The shared environment is still referenced by two jobs. */
	assert_int_equal(count(f, "SELECT refs FROM envs"), 2);
}

static void
test_lost_jobs_are_kept_for_the_retention_age(void **state)
{
	struct fixture *f = *state;
	struct store_recovery rec;
	struct seen s = {0};
	uint64_t a = add(f->st, "a"), b = add(f->st, "b");

	assert_int_equal(store_mark_running(f->st, a, 0, 0, 0, 1, NULL), 0);
	assert_int_equal(store_mark_running(f->st, b, 0, 0, 0, 1, NULL), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_recover(f->st, 0, 1000000, NULL, 0, &rec), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(rec.lost, 2);
	/* An age cutoff before their recovery leaves both. */
	assert_int_equal(store_prune(f->st, 999999, 0, 100, note_pruned, &s),
			 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(store_prune(f->st, 1000001, 0, 100, note_pruned, &s),
			 2);
}

static void
test_ids_only_grow(void **state)
{
	struct fixture *f = *state;
	struct job_result r = {.state = JOB_SUCCEEDED, .end_ns = 5};
	struct store_filter all = {.state = -1, .uid = -1};
	struct seen s = {0};
	char err[256];
	uint64_t first = add(f->st, "a"), second = add(f->st, "b"), third;

	assert_int_equal(store_finish(f->st, second, &r), 0);
	assert_int_equal(store_commit(f->st), 0);
	/* forq clean removes the newest job... */
	assert_int_equal(store_clean(f->st, &all, 0, 10, note_pruned, &s), 1);
	assert_int_equal(store_commit(f->st), 0);
	/* ...and its id is not given again, not even after a reopen. */
	store_close(f->st);
	assert_int_equal(store_open(&f->st, f->dir, false, err, sizeof err), 0);
	third = add(f->st, "c");
	assert_true(third > second);
	assert_true(second > first);
	/* A turn that was not stored leaves a gap, never a reuse. */
	{
		struct job_spec sp = spec("d", "A=1");
		uint64_t refused, fourth;

		assert_int_equal(store_insert(f->st, &sp, 1, 1000, 100, 42,
					      &refused, NULL),
				 0);
		store_rollback(f->st);
		fourth = add(f->st, "e");
		assert_true(fourth > refused);
	}
}

/* A cluster node's store: jobs under the cluster's ids and attempts,
 * which move its own ids on, and gone once the cluster has their end. */
static void
test_claimed_jobs_keep_the_clusters_id(void **state)
{
	struct fixture *f = *state;
	struct job_result r = {.state = JOB_SUCCEEDED, .end_ns = 5};
	struct job_spec s = spec("c", "A=1");
	struct store_job j, in = {.spec = s,
				  .id = 500,
				  .attempt = 2,
				  .uid = 1000,
				  .gid = 100,
				  .submit_ns = 7};
	uint64_t mine;

	assert_int_equal(store_insert_as(f->st, &in), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, 500, &j), STORE_OK);
	assert_int_equal(j.state, JOB_QUEUED);
	assert_int_equal(j.attempt, 2);
	assert_int_equal(j.uid, 1000);
	assert_string_equal(j.spec.argv, "c");
	store_job_free(&j);
	/* Ids only grow: past the cluster's too. */
	mine = add(f->st, "a");
	assert_true(mine > 500);
	/* Claimed again (a stale row of the same id): replaced; a task
	 * keeps its array's id, index and limit. */
	in.attempt = 3;
	in.array_id = 490;
	in.array_index = 11;
	in.array_max = 4;
	assert_int_equal(store_insert_as(f->st, &in), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, 500, &j), STORE_OK);
	assert_int_equal(j.attempt, 3);
	assert_int_equal(j.array_id, 490);
	assert_int_equal(j.array_index, 11);
	assert_int_equal(j.array_max, 4);
	store_job_free(&j);
	assert_int_equal(store_finish(f->st, 500, &r), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_forget(f->st, 500), STORE_OK);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, 500, &j), STORE_NO_MATCH);
	assert_int_equal(store_forget(f->st, 500), STORE_NO_MATCH);
	/* Its environment went with it; the other job's stays. */
	assert_int_equal(count(f, "SELECT count(*) FROM envs"), 1);
	/* The cluster keeps unique keys and dependencies, not a node. */
	in.spec.unique = (char *)"k";
	in.id = 501;
	assert_int_equal(store_insert_as(f->st, &in), -1);
	store_rollback(f->st);
}

struct pending_seen {
	struct store_pending p[4];
	int n;
};

static int
collect_pending(void *arg, const struct store_pending *p)
{
	struct pending_seen *s = arg;

	s->p[s->n] = *p;
	s->p[s->n++].queue = NULL; /* valid during the call only */
	return 0;
}

static void
test_scheduled_queue_priority_and_filters(void **state)
{
	struct fixture *f = *state;
	struct job_spec js[2] = {spec("later", "E=1"), spec("now", "E=1")};
	struct store_filter by_queue = {.state = -1, .uid = -1, .queue = "gpu"};
	struct store_filter by_name = {.state = -1, .uid = -1, .name = "n"};
	struct pending_seen ps = {0};
	struct store_pending *p = ps.p;
	struct seen s = {0};
	struct store_job j;
	uint64_t ids[2], *un;
	size_t n;

	js[0].start_at_ns = 1000; /* after the submit time, 42 */
	js[0].queue = (char *)"gpu";
	js[0].priority = 7;
	js[1].name = (char *)"n";
	assert_int_equal(store_insert(f->st, js, 2, 1000, 100, 42, ids, NULL),
			 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, ids[0], &j), STORE_OK);
	assert_int_equal(j.state, JOB_SCHEDULED);
	assert_string_equal(j.spec.queue, "gpu");
	assert_int_equal(j.spec.priority, 7);
	assert_int_equal(j.spec.start_at_ns, 1000);
	store_job_free(&j);
	assert_int_equal(store_pending(f->st, collect_pending, &ps), 0);
	assert_int_equal(ps.n, 2);
	assert_int_equal(p[0].id, ids[0]);
	assert_int_equal(p[0].state, JOB_SCHEDULED);
	assert_int_equal(p[0].start_at_ns, 1000);
	assert_int_equal(p[1].id, ids[1]);
	assert_int_equal(p[1].state, JOB_QUEUED);
	/* Filters, each by index. */
	assert_int_equal(store_list(f->st, &by_queue, 10, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ids[0], ids[0]);
	s.n = 0;
	assert_int_equal(store_list(f->st, &by_name, 10, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ids[0], ids[1]);
	assert_int_equal(store_unfinished(f->st, 1000, "gpu", &un, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(un[0], ids[0]);
	free(un);
	/* Priority changes while it waits; its time comes once. */
	assert_int_equal(store_edit(f->st, ids[0],
				    &(struct job_edit){.fields =
							   JOB_EDIT_PRIORITY,
						       .priority = -3}),
			 STORE_OK);
	assert_int_equal(store_due(f->st, ids[0], 999),
			 STORE_NO_MATCH); /* not yet */
	assert_int_equal(store_due(f->st, ids[0], 1000), STORE_OK);
	assert_int_equal(store_due(f->st, ids[0], 1000), STORE_NO_MATCH);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, ids[0], &j), STORE_OK);
	assert_int_equal(j.state, JOB_QUEUED);
	assert_int_equal(j.spec.priority, -3);
	store_job_free(&j);
	assert_int_equal(store_mark_running(f->st, ids[0], 0, 0, 0, 5, NULL),
			 0);
	assert_int_equal(store_edit(f->st, ids[0],
				    &(struct job_edit){.fields =
							   JOB_EDIT_PRIORITY,
						       .priority = 1}),
			 STORE_NO_MATCH);
}

/* Deduplication: a key held by a job not ended stands for new jobs
 * with it, in the same batch too; an ended job frees it. */
static void
test_unique_key(void **state)
{
	struct fixture *f = *state;
	struct job_spec js[3] = {spec("a", "E=1"), spec("b", "E=1"),
				 spec("c", "E=2")};
	struct job_result done = {.state = JOB_SUCCEEDED, .end_ns = 9};
	bool existing[3];
	uint64_t ids[3], holder;

	js[0].unique = js[1].unique = (char *)"k";
	assert_int_equal(store_insert(f->st, js, 3, 1000, 100, 42, ids,
				      existing),
			 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_false(existing[0]);
	assert_true(existing[1]);
	assert_false(existing[2]);
	assert_int_equal(ids[1], ids[0]);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs"), 2);
	/* The environment is counted once per stored job only. */
	assert_int_equal(count(f, "SELECT refs FROM envs WHERE data = "
				  "x'453d3100'"),
			 1);
	/* Another user's key is another key. */
	assert_int_equal(store_unique_holder(f->st, 1001, "k", &holder),
			 STORE_NO_MATCH);
	assert_int_equal(store_unique_holder(f->st, 1000, "k", &holder),
			 STORE_OK);
	assert_int_equal(holder, ids[0]);
	assert_int_equal(store_finish(f->st, ids[0], &done), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_unique_holder(f->st, 1000, "k", &holder),
			 STORE_NO_MATCH);
}

static int
collect_paused(void *arg, const char *queue)
{
	char *out = arg;

	strcat(out, queue);
	strcat(out, ";");
	return 0;
}

static void
test_paused_queues_are_kept(void **state)
{
	struct fixture *f = *state;
	char seen[64] = "", err[256];

	assert_int_equal(store_set_paused(f->st, "*", true), 0);
	assert_int_equal(store_set_paused(f->st, "gpu", true), 0);
	assert_int_equal(store_set_paused(f->st, "gpu", true), 0);
	assert_int_equal(store_set_paused(f->st, "*", false), 0);
	assert_int_equal(store_commit(f->st), 0);
	store_close(f->st);
	assert_int_equal(store_open(&f->st, f->dir, false, err, sizeof err), 0);
	assert_int_equal(store_paused(f->st, collect_paused, seen), 0);
	assert_string_equal(seen, "gpu;");
}

/* A store written by schema 2 (before queues): its final states move
 * up to make room for scheduled and waiting, nothing else changes. */
static void
test_schema_2_is_migrated(void **state)
{
	struct fixture *f = *state;
	char path[128], err[256];
	struct store_job j;
	sqlite3 *db;

	store_close(f->st);
	f->st = NULL;
	snprintf(path, sizeof path, "%s/jobs.db", f->dir);
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE envs(id INTEGER PRIMARY "
				      "KEY, hash INTEGER NOT "
				      "NULL, refs INTEGER NOT NULL, data BLOB "
				      "NOT NULL);"
				      "CREATE INDEX envs_hash ON envs(hash);"
				      "CREATE TABLE jobs(id INTEGER PRIMARY "
				      "KEY, state INTEGER NOT "
				      "NULL, name TEXT, uid INTEGER NOT NULL, "
				      "gid INTEGER NOT NULL, "
				      "argv BLOB NOT NULL, argc INTEGER NOT "
				      "NULL, env_id INTEGER NOT "
				      "NULL, envc INTEGER NOT NULL, cwd TEXT "
				      "NOT NULL, timeout_ms "
				      "INTEGER NOT NULL, submit_ns INTEGER NOT "
				      "NULL, start_ns "
				      "INTEGER, end_ns INTEGER, exit_code "
				      "INTEGER, signal INTEGER, "
				      "error TEXT, user_us INTEGER, sys_us "
				      "INTEGER, maxrss_kb "
				      "INTEGER, worker INTEGER, cpu INTEGER, "
				      "attempt INTEGER NOT "
				      "NULL DEFAULT 0);"
				      "CREATE INDEX jobs_state ON jobs(state, "
				      "id);"
				      "CREATE INDEX jobs_final_end ON "
				      "jobs(end_ns) WHERE state >= 2;"
				      "CREATE INDEX jobs_final_id ON jobs(id) "
				      "WHERE state >= 2;"
				      "CREATE INDEX jobs_uid ON jobs(uid, id);"
				      "CREATE INDEX jobs_uid_state ON "
				      "jobs(uid, state, id);"
				      "INSERT INTO envs VALUES (1, 0, 3, "
				      "x'00');"
				      "INSERT INTO jobs(id, state, uid, gid, "
				      "argv, argc, env_id, "
				      "envc, cwd, timeout_ms, submit_ns, "
				      "end_ns, exit_code) VALUES "
				      "(1, 0, 1000, 100, x'7100', 1, 1, 0, "
				      "'/', 0, 1, NULL, NULL),"
				      "(2, 3, 1000, 100, x'7100', 1, 1, 0, "
				      "'/', 0, 1, 5, 1),"
				      "(3, 6, 1000, 100, x'7100', 1, 1, 0, "
				      "'/', 0, 1, 0, NULL);"
				      "PRAGMA user_version = 2;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(&f->st, f->dir, false, err, sizeof err), 0);
	assert_int_equal(store_get(f->st, 1, &j), STORE_OK);
	assert_int_equal(j.state, JOB_QUEUED);
	assert_string_equal(j.spec.queue, "default");
	assert_int_equal(j.spec.priority, 0);
	store_job_free(&j);
	assert_int_equal(store_get(f->st, 2, &j), STORE_OK);
	assert_int_equal(j.state, JOB_FAILED);
	assert_int_equal(j.result.exit_code, 1);
	store_job_free(&j);
	/* A job lost with no end time (schema 3 recovery) ends now. */
	assert_int_equal(store_get(f->st, 3, &j), STORE_OK);
	assert_int_equal(j.state, JOB_LOST);
	assert_true(j.result.end_ns > (int64_t)1700000000 * 1000000000);
	store_job_free(&j);
	assert_int_equal(add(f->st, "next"), 4);
	assert_int_equal(count(f, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

/* A job submitted held is stored held, keeps its unique key, and moves
 * only from the state the caller saw: a move from another finds
 * nothing to do. Ended jobs are "state >= 5", held ones not. */
static void
test_held_jobs_move_from_the_state_seen(void **state)
{
	struct fixture *f = *state;
	struct job_spec s = spec("held", "A=1");
	struct job_result done = {.state = JOB_SUCCEEDED, .end_ns = 9};
	struct store_job j;
	uint64_t id, again;
	bool existing;

	s.hold = true;
	s.unique = "k";
	assert_int_equal(store_insert(f->st, &s, 1, 1000, 100, 42, &id, NULL),
			 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_get(f->st, id, &j), STORE_OK);
	assert_int_equal(j.state, JOB_HELD);
	store_job_free(&j);
	s.hold = false;
	assert_int_equal(store_insert(f->st, &s, 1, 1000, 100, 43, &again,
				      &existing),
			 0);
	assert_true(existing);
	assert_int_equal(again, id);
	assert_int_equal(store_move(f->st, id, JOB_WAITING, JOB_QUEUED),
			 STORE_NO_MATCH);
	assert_int_equal(store_move(f->st, id, JOB_HELD, JOB_QUEUED), STORE_OK);
	assert_int_equal(store_move(f->st, id, JOB_QUEUED, JOB_HELD), STORE_OK);
	assert_int_equal(store_edit(f->st, id,
				    &(struct job_edit){.fields =
							   JOB_EDIT_PRIORITY,
						       .priority = 3}),
			 STORE_OK);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE state >= 5"),
			 0);
	assert_int_equal(store_move(f->st, id, JOB_HELD, JOB_QUEUED), STORE_OK);
	assert_int_equal(store_mark_running(f->st, id, 0, 0, 0, 50, NULL), 0);
	assert_int_equal(store_finish(f->st, id, &done), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_move(f->st, id, JOB_QUEUED, JOB_HELD),
			 STORE_NO_MATCH);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs WHERE state = 5"),
			 1);
}

/* store_pending_counts against a count of the rows themselves. */
struct pending_text {
	char line[512];
};

static int
pending_line(void *arg, const char *queue, enum job_state state, uint64_t n)
{
	struct pending_text *p = arg;
	size_t used = strlen(p->line);

	snprintf(p->line + used, sizeof p->line - used, "%s:%d=%llu ", queue,
		 (int)state, (unsigned long long)n);
	return 0;
}

static void
assert_pending(struct fixture *f, const char *want)
{
	struct pending_text seen = {""};
	char path[128], brute[512] = "";
	sqlite3 *db;
	sqlite3_stmt *s;

	assert_int_equal(store_pending_counts(f->st, pending_line, &seen), 0);
	assert_string_equal(seen.line, want);
	/* The triggers' counts are the rows' (once committed). */
	snprintf(path, sizeof path, "%s/jobs.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT queue, state, count(*) "
					    "FROM jobs WHERE "
					    "state BETWEEN 2 AND 4 GROUP BY 1, "
					    "2 ORDER BY 1, "
					    "2",
					    -1, &s, NULL),
			 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		snprintf(brute + strlen(brute), sizeof brute - strlen(brute),
			 "%s:%d=%lld ", (const char *)sqlite3_column_text(s, 0),
			 sqlite3_column_int(s, 1),
			 (long long)sqlite3_column_int64(s, 2));
	sqlite3_finalize(s);
	sqlite3_close(db);
	assert_string_equal(brute, want);
}

static void
test_pending_counts_follow_every_change(void **state)
{
	struct fixture *f = *state;
	struct job_spec s = spec("p", "A=1");
	struct job_edit to_b = {.fields = JOB_EDIT_QUEUE, .queue = "b"};
	uint64_t held, later, dep, waiting, ids[3];

	s.queue = "a";
	s.hold = true;
	assert_int_equal(store_insert(f->st, &s, 1, 1000, 100, 1, &held, NULL),
			 0);
	s.hold = false;
	s.start_at_ns = INT64_C(4000000000) * 1000000000;
	assert_int_equal(store_insert(f->st, &s, 1, 1000, 100, 1, &later, NULL),
			 0);
	s.start_at_ns = 0;
	dep = add(f->st, "dep");
	s.after = &dep;
	s.nafter = 1;
	assert_int_equal(store_insert(f->st, &s, 1, 1000, 100, 1, &waiting,
				      NULL),
			 0);
	s.after = NULL;
	s.nafter = 0;
	/* An array of three held tasks: each a job. */
	s.hold = true;
	s.array.index = (uint32_t[]){1, 2, 3};
	s.array.n = 3;
	assert_int_equal(store_insert(f->st, &s, 1, 1000, 100, 1, ids, NULL),
			 0);
	s.array.n = 0;
	s.array.index = NULL;
	assert_int_equal(store_commit(f->st), 0);
	assert_pending(f, "a:2=1 a:3=1 a:4=4 ");

	/* Held, released, moved to another queue, cancelled, started. */
	assert_int_equal(store_move(f->st, held, JOB_HELD, JOB_QUEUED),
			 STORE_OK);
	assert_int_equal(store_edit(f->st, later, &to_b), STORE_OK);
	assert_int_equal(store_move(f->st, waiting, JOB_WAITING, JOB_HELD),
			 STORE_OK);
	assert_int_equal(store_cancel(f->st, ids[0], 5), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_pending(f, "a:4=3 b:2=1 ");

	/* A turn rolled back leaves the counts as they were. */
	assert_int_equal(store_move(f->st, ids[1], JOB_HELD, JOB_QUEUED),
			 STORE_OK);
	store_rollback(f->st);
	assert_pending(f, "a:4=3 b:2=1 ");

	assert_int_equal(store_due(f->st, later, INT64_MAX), STORE_OK);
	assert_int_equal(store_commit(f->st), 0);
	assert_pending(f, "a:4=3 ");
}

static void
test_newer_schema_is_refused(void **state)
{
	struct fixture *f = *state;
	struct store *other;
	char path[128], err[256];
	sqlite3 *db;

	snprintf(path, sizeof path, "%s/jobs.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(&other, f->dir, false, err, sizeof err),
			 -1);
	snprintf(path, sizeof path,
		 "schema version 99, newer than this forqd's %d",
		 STORE_SCHEMA_VERSION);
	assert_non_null(strstr(err, path));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_insert_and_get, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_forgets_the_turn,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_running_then_final, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_final_state_recorded_once,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_newest_first_by_state,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recover_requeues_then_loses,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lost_jobs_are_kept_for_the_retention_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ids_only_grow, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_claimed_jobs_keep_the_clusters_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prune_by_count_and_age, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_scheduled_queue_priority_and_filters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_paused_queues_are_kept, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unique_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_2_is_migrated, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_recover_keeps_adopted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_held_jobs_move_from_the_state_seen, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_pending_counts_follow_every_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
