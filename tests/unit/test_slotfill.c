/* A slot's job as the worker reads it: the order of its bytes, the
 * [resources] variables ahead of the job's own, what does not fit, and
 * an on-finish command's shell and end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/slotfill.h"
#include "ipc/shm.h"
#include "store/store.h"

#define ROOM 4096

static struct job_rlimit_value limits[JOB_RLIMIT_COUNT];

static const struct slotfill_conf conf = {
    .kill_grace_ms = 5000,
    .output_max = 1 << 20,
    .tasks_max = 512,
    .umask = 022,
    .on_finish_timeout_ms = 60000,
    .rlimits = limits,
};

static struct slot *
new_slot(void)
{
	struct slot *s = calloc(1, sizeof *s + ROOM);

	assert_non_null(s);
	s->job_id = 999; /* untouched when nothing fits */
	return s;
}

static struct store_job
a_job(void)
{
	static char argv[] = "echo\0hi";
	static char env[] = "A=1\0B=2";
	struct store_job j = {.id = 41,
			      .attempt = 2,
			      .uid = 1000,
			      .gid = 100,
			      .array_id = 40,
			      .array_index = 1};

	j.name = "build";
	j.spec.argv = argv;
	j.spec.argv_len = sizeof argv;
	j.spec.argc = 2;
	j.spec.env = env;
	j.spec.env_len = sizeof env;
	j.spec.envc = 2;
	j.spec.cwd = "/tmp";
	j.spec.stdout_path = "out.%j";
	j.spec.file_umask = -1;
	j.spec.timeout_ms = 1500;
	j.spec.mem = 1 << 30;
	return j;
}

static void
test_a_job_in_order(void **state)
{
	static const char want[] = "echo\0hi\0"
				   "FORQ_GPU=0\0"
				   "A=1\0B=2\0"
				   "/tmp\0"
				   "build\0out.%j\0\0";
	struct slot *s = new_slot();
	struct store_job j = a_job();
	size_t n;

	(void)state;
	limits[0] = (struct job_rlimit_value){.soft = 7, .hard = 9};
	n = slotfill_job(s, ROOM, &conf, &j, "FORQ_GPU=0", 11, 1, 0x4);
	/* The literal's own NUL ends the last (stdin) pattern. */
	assert_int_equal(n, sizeof want);
	assert_memory_equal(s->data, want, sizeof want);
	assert_int_equal(s->argc, 2);
	assert_int_equal(s->envc, 3);
	assert_int_equal(s->argv_len, 8);
	assert_int_equal(s->env_len, 11 + 8);
	assert_int_equal(s->cwd_len, 5);
	assert_int_equal(s->files_len, 6 + 7 + 1 + 1);
	assert_int_equal(s->file_umask, 077);
	assert_int_equal(s->job_id, 41);
	assert_int_equal(s->attempt, 2);
	assert_int_equal(s->array_id, 40);
	assert_int_equal(s->array_index, 1);
	assert_int_equal(s->uid, 1000);
	assert_int_equal(s->gid, 100);
	assert_int_equal(s->timeout_ms, 1500);
	assert_int_equal(s->mem, 1 << 30);
	assert_int_equal(s->gpu_deny, 0x4);
	assert_int_equal(s->kill_grace_ms, 5000);
	assert_int_equal(s->tasks_max, 512);
	assert_int_equal(s->umask, 022);
	assert_int_equal(s->ncpus, 1);
	assert_int_equal(s->flags, 0);
	assert_int_equal(s->rlimits[0].soft, 7);
	assert_int_equal(s->rlimits[0].hard, 9);
	free(s);
}

static void
test_what_does_not_fit_writes_nothing(void **state)
{
	struct slot *s = new_slot();
	struct store_job j = a_job();
	size_t need;

	(void)state;
	need = slotfill_job(s, ROOM, &conf, &j, NULL, 0, 0, 0);
	assert_true(need > 0);
	s->job_id = 999;
	assert_int_equal(slotfill_job(s, need - 1, &conf, &j, NULL, 0, 0, 0),
			 0);
	assert_int_equal(s->job_id, 999);
	/* Exactly room is enough. */
	assert_int_equal(slotfill_job(s, need, &conf, &j, NULL, 0, 0, 0), need);
	free(s);
}

static void
test_an_on_finish_command(void **state)
{
	static const char want[] = "/bin/sh\0-c\0notify-send done\0"
				   "A=1\0B=2\0"
				   "FORQ_JOB_STATE=failed\0"
				   "FORQ_JOB_EXIT_CODE=3\0"
				   "FORQ_JOB_SIGNAL=\0"
				   "FORQ_JOB_QUEUE=default\0"
				   "FORQ_JOB_NAME=build\0"
				   "/tmp";
	struct slot *s = new_slot();
	struct store_job j = a_job();
	size_t n;

	(void)state;
	j.state = JOB_FAILED;
	j.result.exit_code = 3;
	n = slotfill_hook(s, ROOM, &conf, &j, "notify-send done", 0);
	assert_int_equal(n, sizeof want);
	assert_memory_equal(s->data, want, sizeof want);
	assert_int_equal(s->flags, SLOT_F_HOOK);
	assert_int_equal(s->argc, 3);
	assert_int_equal(s->envc, 2 + 5);
	assert_int_equal(s->files_len, 0);
	assert_int_equal(s->timeout_ms, 60000);
	assert_int_equal(s->job_id, 41);
	/* A killed job: the signal, no exit code. */
	j.state = JOB_CANCELLED;
	j.result.signal = 15;
	assert_true(slotfill_hook(s, ROOM, &conf, &j, "true", 0) > 0);
	assert_non_null(memmem(s->data, ROOM, "FORQ_JOB_EXIT_CODE=\0", 20));
	assert_non_null(memmem(s->data, ROOM, "FORQ_JOB_SIGNAL=15\0", 19));
	assert_int_equal(slotfill_hook(s, 20, &conf, &j, "true", 0), 0);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_job_in_order),
	    cmocka_unit_test(test_what_does_not_fit_writes_nothing),
	    cmocka_unit_test(test_an_on_finish_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
