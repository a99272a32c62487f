/*
 * Job cgroups against a fake cgroupfs: a directory with a mountinfo
 * file naming mounts below it, a /proc/self/cgroup file, and the
 * control files v1 and v2 groups have, as plain files.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup/cgroup.h"
#include "core/job.h"

struct fake {
	char root[PATH_MAX];
	char mountinfo[PATH_MAX + 32];
	char self[PATH_MAX + 32];
};

static void
put(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
get(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX * 2];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void
mkdirs(const char *root, const char *sub)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof path, "%s/%s", root, sub);
	assert_int_equal(mkdir(path, 0755), 0);
}

static int
setup(void **state)
{
	struct fake *f = calloc(1, sizeof *f);

	strcpy(f->root, "/tmp/forq-cgtest.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->mountinfo, sizeof f->mountinfo, "%s/mountinfo", f->root);
	snprintf(f->self, sizeof f->self, "%s/self", f->root);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fake *f = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf %s", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
test_formats(void **state)
{
	char path[256];
	uint64_t v;

	(void)state;
	assert_int_equal(cg_parse_u64("max\n", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(cg_parse_u64("67108864\n", &v), 0);
	assert_int_equal(v, 67108864);
	assert_int_equal(cg_parse_u64("-1", &v), -1);
	assert_int_equal(cg_parse_u64("12x", &v), -1);
	/* v2 cpu.stat, v1 memory.oom_control */
	assert_int_equal(cg_parse_keyed("usage_usec 900\nuser_usec 700\n"
					"system_usec 200\n",
					"user_usec", &v),
			 0);
	assert_int_equal(v, 700);
	assert_int_equal(cg_parse_keyed("usage_usec 900\nuser_usec 700\n",
					"usec", &v),
			 -1);
	assert_int_equal(cg_parse_keyed("oom_kill_disable 0\nunder_oom 0\n"
					"oom_kill 3\n",
					"oom_kill", &v),
			 0);
	assert_int_equal(v, 3);
	/* /proc/self/cgroup: v1 lines, comounted controllers, v2's 0:: */
	assert_int_equal(cg_parse_self("4:memory:/a/b\n2:cpu,cpuacct:/c\n"
				       "0::/user.slice/x.scope\n",
				       "cpuacct", path, sizeof path),
			 0);
	assert_string_equal(path, "/c");
	assert_int_equal(cg_parse_self("4:memory:/a/b\n0::/u/x.scope\n", NULL,
				       path, sizeof path),
			 0);
	assert_string_equal(path, "/u/x.scope");
	assert_int_equal(cg_parse_self("4:memory:/a/b\n", "pids", path,
				       sizeof path),
			 -1);
}

/* A hybrid host, as the CI machine: v1 controllers, an empty v2. */
static void
fake_hybrid(struct fake *f)
{
	static const char *const ctls[] = {"memory",  "cpuacct", "pids",
					   "freezer", "cpuset",  "devices",
					   "unified"};
	char mi[8192] = "", line[PATH_MAX * 2];
	size_t i;

	for (i = 0; i < sizeof ctls / sizeof ctls[0]; i++) {
		mkdirs(f->root, ctls[i]);
		snprintf(line, sizeof line,
			 "%zu 31 0:%zu / %s/%s rw,relatime - %s cgroup rw,%s\n",
			 32 + i, 28 + i, f->root, ctls[i],
			 strcmp(ctls[i], "unified") == 0 ? "cgroup2" : "cgroup",
			 ctls[i]);
		strcat(mi, line);
	}
	put(f->root, "mountinfo", mi);
	put(f->root, "unified/cgroup.controllers", "\n");
	put(f->root, "self", "4:memory:/svc\n3:pids:/svc\n0::/\n");
	put(f->root, "cpuset/cpuset.cpus", "0-1\n");
	put(f->root, "cpuset/cpuset.mems", "0\n");
}

static void
test_detect_v1(void **state)
{
	struct fake *f = *state;
	struct cg_tree t;
	char want[PATH_MAX * 2], err[256];

	fake_hybrid(f);
	cg_detect(&t, f->mountinfo, f->self, false, "forq-1", err, sizeof err);
	assert_int_equal(t.version, CG_V1);
	snprintf(want, sizeof want, "%s/memory/forq-1", f->root);
	assert_string_equal(t.base[CG_MEMORY], want);
	snprintf(want, sizeof want, "%s/cpuacct/forq-1", f->root);
	assert_string_equal(t.base[CG_CPU], want);
	/* Delegated: below forqd's own group, controller by controller. */
	mkdirs(f->root, "memory/svc");
	mkdirs(f->root, "pids/svc");
	cg_detect(&t, f->mountinfo, f->self, true, "forq-1", err, sizeof err);
	/* No line for cpuacct and freezer in self: not enough. */
	assert_int_equal(t.version, CG_NONE);
	assert_non_null(strstr(err, "controllers"));
}

static void
test_detect_v2_and_none(void **state)
{
	struct fake *f = *state;
	struct cg_tree t;
	char mi[PATH_MAX * 2], want[PATH_MAX * 2], err[256];

	mkdirs(f->root, "v2");
	snprintf(mi, sizeof mi,
		 "41 31 0:38 / %s/v2 rw,relatime - cgroup2 cgroup2 rw\n",
		 f->root);
	put(f->root, "mountinfo", mi);
	put(f->root, "self", "0::/\n");
	put(f->root, "v2/cgroup.controllers", "cpuset cpu io memory pids\n");
	cg_detect(&t, f->mountinfo, f->self, false, "forq-2", err, sizeof err);
	assert_int_equal(t.version, CG_V2);
	snprintf(want, sizeof want, "%s/v2/forq-2", f->root);
	assert_string_equal(t.base[CG_MEMORY], want);
	/* Without memory and pids handed down, v2 will not do. */
	put(f->root, "v2/cgroup.controllers", "cpu io\n");
	cg_detect(&t, f->mountinfo, f->self, false, "forq-2", err, sizeof err);
	assert_int_equal(t.version, CG_NONE);
	put(f->root, "mountinfo", "");
	cg_detect(&t, f->mountinfo, f->self, false, "forq-2", err, sizeof err);
	assert_int_equal(t.version, CG_NONE);
}

/* Under a scope of systemd's: the subtree in it where the manager made
 * it, at the root where not (v1 freezer, cpuset); a worker joins the
 * scope in systemd's own hierarchies, on v2 in a leaf. */
static void
test_detect_scope(void **state)
{
	static const char scope[] = "/system.slice/forq-9.scope";
	static const char *const in_scope[] = {"memory", "cpuacct", "pids",
					       "unified", "systemd"};
	struct fake *f = *state;
	struct cg_tree t;
	char mi[8192], line[PATH_MAX * 2], want[PATH_MAX * 2], buf[64];
	char err[256];
	size_t i;

	fake_hybrid(f);
	mkdirs(f->root, "systemd");
	get(f->root, "mountinfo", mi, sizeof mi);
	snprintf(line, sizeof line,
		 "50 31 0:60 / %s/systemd rw,relatime - cgroup cgroup "
		 "rw,xattr,name=systemd\n",
		 f->root);
	strcat(mi, line);
	put(f->root, "mountinfo", mi);
	for (i = 0; i < sizeof in_scope / sizeof in_scope[0]; i++) {
		snprintf(line, sizeof line, "%s/system.slice", in_scope[i]);
		mkdirs(f->root, line);
		snprintf(line, sizeof line, "%s%s", in_scope[i], scope);
		mkdirs(f->root, line);
	}
	cg_detect_at(&t, f->mountinfo, scope, "forq-9", err, sizeof err);
	assert_int_equal(t.version, CG_V1);
	assert_string_equal(t.scope, scope);
	snprintf(want, sizeof want, "%s/memory%s/forq-9", f->root, scope);
	assert_string_equal(t.base[CG_MEMORY], want);
	snprintf(want, sizeof want, "%s/freezer/forq-9", f->root);
	assert_string_equal(t.base[CG_FREEZER], want);
	assert_int_equal(t.njoin, 2);
	snprintf(want, sizeof want, "%s/unified%s/workers", f->root, scope);
	assert_string_equal(t.join[0], want);
	snprintf(want, sizeof want, "%s/systemd%s", f->root, scope);
	assert_string_equal(t.join[1], want);
	/* A cgroupfs has the files of a directory made: the fake, made. */
	snprintf(line, sizeof line, "unified%s/workers", scope);
	mkdirs(f->root, line);
	put(t.join[0], "cgroup.procs", "");
	put(t.join[1], "cgroup.procs", "");
	assert_int_equal(cg_scope_enter(&t, 4242), 0);
	get(t.join[0], "cgroup.procs", buf, sizeof buf);
	assert_string_equal(buf, "4242");
	assert_int_equal(cg_join_scope(&t, 4343), 0);
	get(t.join[1], "cgroup.procs", buf, sizeof buf);
	assert_string_equal(buf, "4343");

	/* Without a scope, nobody joins anything. */
	cg_detect(&t, f->mountinfo, f->self, false, "forq-1", err, sizeof err);
	assert_int_equal(t.njoin, 0);
	assert_int_equal(cg_join_scope(&t, 4444), 0);
}

/* The files of a v1 slot's group in each controller. */
static void
fake_v1_slot(const struct cg_tree *t, const char *name)
{
	char dir[PATH_MAX * 2];
	int i;

	for (i = 0; i < CG_NCTL; i++) {
		snprintf(dir, sizeof dir, "%s/%s", t->base[i], name);
		assert_int_equal(mkdir(dir, 0755), 0);
		put(dir, "cgroup.procs", "");
	}
	snprintf(dir, sizeof dir, "%s/%s", t->base[CG_CPUSET], name);
	put(dir, "cpuset.cpus", "");
	put(dir, "cpuset.mems", "");
	snprintf(dir, sizeof dir, "%s/%s", t->base[CG_MEMORY], name);
	put(dir, "memory.limit_in_bytes", "9223372036854771712\n");
	put(dir, "memory.memsw.limit_in_bytes", "9223372036854771712\n");
	put(dir, "memory.max_usage_in_bytes", "123456789\n");
	put(dir, "memory.usage_in_bytes", "4096\n");
	put(dir, "memory.oom_control",
	    "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	snprintf(dir, sizeof dir, "%s/%s", t->base[CG_CPU], name);
	put(dir, "cpuacct.usage", "999999\n");
	put(dir, "cpuacct.usage_user", "0\n");
	put(dir, "cpuacct.usage_sys", "0\n");
	snprintf(dir, sizeof dir, "%s/%s", t->base[CG_PIDS], name);
	put(dir, "pids.max", "max\n");
	snprintf(dir, sizeof dir, "%s/%s", t->base[CG_DEVICES], name);
	put(dir, "devices.allow", "");
	put(dir, "devices.deny", "");
}

static void
test_v1_slot(void **state)
{
	struct fake *f = *state;
	struct cg_limits lim = {.mem = 64 << 20, .tasks_max = 100};
	struct cg_stats st;
	struct cg_slot s;
	struct cg_tree t;
	char dir[PATH_MAX * 2], buf[64], err[256];
	int n;

	fake_hybrid(f);
	cg_detect(&t, f->mountinfo, f->self, false, "forq-1", err, sizeof err);
	assert_int_equal(t.version, CG_V1);
	/* cgroupfs makes a group's files with it; here they are made. */
	for (n = 0; n < CG_NCTL; n++)
		assert_int_equal(mkdir(t.base[n], 0755), 0);
	put(t.base[CG_CPUSET], "cpuset.cpus", "");
	put(t.base[CG_CPUSET], "cpuset.mems", "");
	assert_int_equal(cg_create(&t, NULL, 0, err, sizeof err), 0);
	/* A new cpuset group gets its parent's CPUs and nodes. */
	get(t.base[CG_CPUSET], "cpuset.cpus", buf, sizeof buf);
	assert_string_equal(buf, "0-1\n");
	fake_v1_slot(&t, "w1s2");
	assert_int_equal(cg_slot_open(&t, 1, 2, &s, err, sizeof err), 0);
	cg_slot_join_fds(&s, &n);
	assert_int_equal(n, 5); /* memory, cpuacct, pids, freezer, devices */
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	snprintf(dir, sizeof dir, "%s/w1s2", t.base[CG_MEMORY]);
	get(dir, "memory.limit_in_bytes", buf, sizeof buf);
	assert_string_equal(buf, "67108864");
	/* No swap beyond the limit. */
	get(dir, "memory.memsw.limit_in_bytes", buf, sizeof buf);
	assert_string_equal(buf, "67108864");
	/* The last job's peak does not count in this one's. */
	get(dir, "memory.max_usage_in_bytes", buf, sizeof buf);
	assert_string_equal(buf, "0");
	snprintf(dir, sizeof dir, "%s/w1s2", t.base[CG_PIDS]);
	get(dir, "pids.max", buf, sizeof buf);
	assert_string_equal(buf, "100");
	snprintf(dir, sizeof dir, "%s/w1s2", t.base[CG_CPU]);
	get(dir, "cpuacct.usage", buf, sizeof buf);
	assert_string_equal(buf, "0");

	/* The job ran: 1.5 s user, 0.25 s system, 64M peak, one OOM kill
	 * (two were before it). */
	put(dir, "cpuacct.usage_user", "1500000000\n");
	put(dir, "cpuacct.usage_sys", "250000000\n");
	snprintf(dir, sizeof dir, "%s/w1s2", t.base[CG_MEMORY]);
	put(dir, "memory.max_usage_in_bytes", "67108864\n");
	put(dir, "memory.oom_control",
	    "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
	snprintf(dir, sizeof dir, "%s/w1s2", t.base[CG_PIDS]);
	put(dir, "cgroup.procs", "4242\n4243\n");
	assert_int_equal(cg_slot_count(&s), 2);
	cg_slot_stats(&s, &st);
	assert_int_equal(st.user_us, 1500000);
	assert_int_equal(st.sys_us, 250000);
	assert_int_equal(st.mem_peak, 64 << 20);
	assert_int_equal(st.oom_kills, 1);
	assert_int_equal(st.procs_peak, 2);

	/* No limit again: "-1" lifts it. */
	lim.mem = 0;
	lim.tasks_max = 0;
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	snprintf(dir, sizeof dir, "%s/w1s2", t.base[CG_MEMORY]);
	get(dir, "memory.limit_in_bytes", buf, sizeof buf);
	assert_string_equal(buf, "-1");
	snprintf(dir, sizeof dir, "%s/w1s2", t.base[CG_PIDS]);
	get(dir, "pids.max", buf, sizeof buf);
	assert_string_equal(buf, "max");

	/* A job with CPUs of its own joins the cpuset hierarchy too, its
	 * CPUs written there; the next one-CPU job does not join it. */
	assert_true(cg_has_cpuset(&t));
	snprintf(dir, sizeof dir, "%s/w1s2", t.base[CG_CPUSET]);
	lim = (struct cg_limits){.cpus = "1", .gang = false};
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	get(dir, "cpuset.cpus", buf, sizeof buf);
	assert_string_equal(buf, "0-1\n"); /* its parent's, untouched */
	lim = (struct cg_limits){.cpus = "0-1", .gang = true};
	put(dir, "cpuset.cpus", "1\n");
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	get(dir, "cpuset.cpus", buf, sizeof buf);
	assert_string_equal(buf, "0-1");
	cg_slot_join_fds(&s, &n);
	assert_int_equal(n, 6);
	lim = (struct cg_limits){.cpus = "1", .gang = false};
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	cg_slot_join_fds(&s, &n);
	assert_int_equal(n, 5);

	/* GPUs not its own: every device let in, then those denied (the
	 * fake files keep the last write); the same again is not written. */
	snprintf(dir, sizeof dir, "%s/w1s2", t.base[CG_DEVICES]);
	lim = (struct cg_limits){.cpus = "1", .gpu_deny = 0x5};
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	get(dir, "devices.allow", buf, sizeof buf);
	assert_string_equal(buf, "a");
	get(dir, "devices.deny", buf, sizeof buf);
	assert_string_equal(buf, "c 195:2 rwm");
	put(dir, "devices.allow", "untouched");
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	get(dir, "devices.allow", buf, sizeof buf);
	assert_string_equal(buf, "untouched");
	lim.gpu_deny = 0;
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	get(dir, "devices.allow", buf, sizeof buf);
	assert_string_equal(buf, "a");

	/* A standby joins what every job joins, never the cpuset; it is
	 * not the job's (not counted), and pids.max is the job's alone:
	 * the standby joins after the job started, and one more allowed
	 * for it would be the job's to take until then. */
	lim = (struct cg_limits){.cpus = "0-1", .gang = true};
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	cg_slot_standby_fds(&s, &n);
	assert_int_equal(n, 5);
	cg_slot_spare(&s, 4243);
	snprintf(dir, sizeof dir, "%s/w1s2", t.base[CG_PIDS]);
	put(dir, "cgroup.procs", "4242\n4243\n");
	assert_int_equal(cg_slot_count(&s), 1);
	put(dir, "cgroup.procs", "4243\n");
	assert_int_equal(cg_slot_count(&s), 0);
	lim = (struct cg_limits){.tasks_max = 100, .cpus = "1"};
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	get(dir, "pids.max", buf, sizeof buf);
	assert_string_equal(buf, "100");
	cg_slot_spare(&s, 0);
	lim.tasks_max = 50;
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	get(dir, "pids.max", buf, sizeof buf);
	assert_string_equal(buf, "50");
	lim.tasks_max = 0;
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	get(dir, "pids.max", buf, sizeof buf);
	assert_string_equal(buf, "max");
	cg_slot_close(&s);
}

static void
test_v2_slot(void **state)
{
	struct fake *f = *state;
	struct cg_limits lim = {.mem = 1 << 30, .tasks_max = 0};
	struct cg_stats st;
	struct cg_slot s;
	struct cg_tree t;
	char mi[PATH_MAX * 2], dir[PATH_MAX * 2], buf[64], err[256];
	int n;

	mkdirs(f->root, "v2");
	snprintf(mi, sizeof mi,
		 "41 31 0:38 / %s/v2 rw,relatime - cgroup2 cgroup2 rw\n",
		 f->root);
	put(f->root, "mountinfo", mi);
	put(f->root, "self", "0::/\n");
	put(f->root, "v2/cgroup.controllers", "cpu memory pids\n");
	put(f->root, "v2/cgroup.subtree_control", "");
	cg_detect(&t, f->mountinfo, f->self, false, "forq-3", err, sizeof err);
	assert_int_equal(t.version, CG_V2);
	mkdirs(f->root, "v2/forq-3");
	put(t.base[CG_MEMORY], "cgroup.subtree_control", "");
	assert_int_equal(cg_create(&t, NULL, 0, err, sizeof err), 0);
	/* The controllers go down to the slots' groups. */
	get(t.base[CG_MEMORY], "cgroup.subtree_control", buf, sizeof buf);
	assert_non_null(strstr(buf, "+"));
	snprintf(dir, sizeof dir, "%s/w0s0", t.base[CG_MEMORY]);
	assert_int_equal(mkdir(dir, 0755), 0);
	put(dir, "cgroup.procs", "");
	put(dir, "memory.max", "max\n");
	put(dir, "memory.swap.max", "max\n");
	put(dir, "memory.oom.group", "0\n");
	put(dir, "memory.peak", "5000\n");
	put(dir, "memory.current", "4096\n");
	put(dir, "memory.events", "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n");
	put(dir, "cpu.stat", "usage_usec 100\nuser_usec 60\nsystem_usec 40\n");
	put(dir, "pids.max", "max\n");
	assert_int_equal(cg_slot_open(&t, 0, 0, &s, err, sizeof err), 0);
	cg_slot_join_fds(&s, &n);
	assert_int_equal(n, 1);
	/* No cpuset controller here: a gang cannot be held to its CPUs. */
	assert_false(cg_has_cpuset(&t));
	lim.gang = true;
	lim.cpus = "0-1";
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), -1);
	lim.gang = false;
	lim.cpus = "0";
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	get(dir, "memory.max", buf, sizeof buf);
	assert_string_equal(buf, "1073741824");
	get(dir, "memory.swap.max", buf, sizeof buf);
	assert_string_equal(buf, "0");
	get(dir, "memory.oom.group", buf, sizeof buf);
	assert_string_equal(buf, "1");
	/* Counters read as a baseline: what came before is not the job's. */
	put(dir, "cpu.stat",
	    "usage_usec 2100\nuser_usec 1560\nsystem_usec 540\n");
	put(dir, "memory.events", "low 0\nhigh 0\nmax 2\noom 3\noom_kill 3\n");
	put(dir, "memory.peak", "1073741824\n");
	cg_slot_stats(&s, &st);
	assert_int_equal(st.user_us, 1500);
	assert_int_equal(st.sys_us, 500);
	assert_int_equal(st.oom_kills, 2);
	assert_int_equal(st.mem_peak, 1 << 30);
	cg_slot_close(&s);

	/* With cpuset handed down, every job's CPUs are written in the one
	 * group: a gang's, then its worker's one again. */
	put(t.base[CG_MEMORY], "cgroup.subtree_control",
	    "cpuset cpu memory pids\n");
	assert_true(cg_has_cpuset(&t));
	put(dir, "cpuset.cpus", "");
	assert_int_equal(cg_slot_open(&t, 0, 0, &s, err, sizeof err), 0);
	lim = (struct cg_limits){.cpus = "0-3", .gang = true};
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	get(dir, "cpuset.cpus", buf, sizeof buf);
	assert_string_equal(buf, "0-3");
	cg_slot_join_fds(&s, &n);
	assert_int_equal(n, 1);
	lim = (struct cg_limits){.cpus = "2", .gang = false};
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), 0);
	get(dir, "cpuset.cpus", buf, sizeof buf);
	assert_string_equal(buf, "2");
	cg_slot_close(&s);

	/* With a device program to put on the group (t.devbpf), a job kept
	 * from a GPU does not start where it cannot be put: this fake
	 * group is no cgroup (unit.devbpf puts one on a real group). */
	t.devbpf = true;
	assert_int_equal(cg_slot_open(&t, 0, 0, &s, err, sizeof err), 0);
	lim = (struct cg_limits){.cpus = "2", .gpu_deny = 1};
	assert_int_equal(cg_slot_prepare(&s, &lim, err, sizeof err), -1);
	assert_non_null(strstr(err, "w0s0"));
	cg_slot_close(&s);
	t.devbpf = false;

	/* cgroup.kill spares nobody: a kill of the group says whether it
	 * took the slot's standby with it, so that the worker dismisses
	 * it. (No such pids: nothing is signalled here.) */
	put(dir, "cgroup.kill", "");
	put(dir, "cgroup.procs", "999999998\n999999999\n");
	put(dir, "pids.current", "2\n");
	assert_int_equal(cg_slot_open(&t, 0, 0, &s, err, sizeof err), 0);
	assert_false(cg_slot_kill(&s));
	get(dir, "cgroup.kill", buf, sizeof buf);
	assert_string_equal(buf, "1");
	cg_slot_spare(&s, 999999999);
	assert_true(cg_slot_kill(&s));
	/* A job's end: its first process (a zombie pids.current still
	 * counts) and the standby are all there is, and nothing is
	 * killed; one process more is a leftover, killed with the
	 * standby. */
	put(dir, "cgroup.kill", "");
	assert_false(cg_slot_end(&s, 1));
	get(dir, "cgroup.kill", buf, sizeof buf);
	assert_string_equal(buf, "");
	put(dir, "pids.current", "3\n");
	put(dir, "cgroup.procs", "999999997\n999999998\n999999999\n");
	assert_true(cg_slot_end(&s, 1));
	get(dir, "cgroup.kill", buf, sizeof buf);
	assert_string_equal(buf, "1");
	cg_slot_close(&s);
}

/* A job's end from its group's counts; the OOM killer named only for a
 * job that failed on its own. */
static void
test_job_result(void **state)
{
	struct cg_stats st = {.user_us = 1500,
			      .sys_us = 500,
			      .mem_peak = 64 << 20,
			      .oom_kills = 1,
			      .procs_peak = 3};
	struct job_result r = {.state = JOB_FAILED, .maxrss_kb = 7};

	cg_job_result(&st, 64 << 20, true, &r);
	assert_int_equal(r.user_us, 1500);
	assert_int_equal(r.sys_us, 500);
	assert_int_equal(r.maxrss_kb, 64 * 1024);
	assert_int_equal(r.procs, 3);
	assert_string_equal(r.error, "out of memory: limit 64M, peak 64M (1 "
				     "process killed by the OOM killer)");
	r = (struct job_result){.state = JOB_FAILED};
	st.oom_kills = 2;
	cg_job_result(&st, 0, true, &r);
	assert_string_equal(r.error, "out of memory: limit none, peak 64M (2 "
				     "processes killed by the OOM killer)");
	r = (struct job_result){.state = JOB_CANCELLED};
	cg_job_result(&st, 0, false, &r);
	assert_string_equal(r.error, "");
	/* No peak known: the rusage's stays. */
	st.mem_peak = 0;
	r = (struct job_result){.maxrss_kb = 7};
	cg_job_result(&st, 0, false, &r);
	assert_int_equal(r.maxrss_kb, 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_formats),
	    cmocka_unit_test(test_job_result),
	    cmocka_unit_test_setup_teardown(test_detect_v1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_detect_v2_and_none, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_detect_scope, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v1_slot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v2_slot, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
