/*
 * The service manager, over its private socket: whether it is stopping,
 * and a scope of its own for forqd's workers and jobs. Each call opens
 * its connection and closes it: forqd asks twice in its life.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "common/clock.h"
#include "common/log.h"
#include "supervisor/manager.h"

#define MANAGER_TIMEOUT_US (2 * 1000 * 1000)

/* The manager's own socket rather than the bus: at shutdown the bus
 * daemon may be stopping too. systemctl does the same as root. */
static sd_bus *
manager_connect(void)
{
	char address[4200];
	const char *runtime;
	sd_bus *bus = NULL;

	if (geteuid() == 0)
		snprintf(address, sizeof address,
			 "unix:path=/run/systemd/private");
	else if ((runtime = getenv("XDG_RUNTIME_DIR")) != NULL &&
		 runtime[0] == '/')
		snprintf(address, sizeof address,
			 "unix:path=%s/systemd/private", runtime);
	else
		return NULL;
	if (sd_bus_new(&bus) < 0)
		return NULL;
	if (sd_bus_set_address(bus, address) < 0 ||
	    sd_bus_set_method_call_timeout(bus, MANAGER_TIMEOUT_US) < 0 ||
	    sd_bus_start(bus) < 0) {
		sd_bus_unref(bus);
		return NULL;
	}
	return bus;
}

bool
manager_stopping(void)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	char *state = NULL;
	bool stopping;
	sd_bus *bus;
	int rc;

	/* Started by a manager: it set INVOCATION_ID. */
	if (getenv("INVOCATION_ID") == NULL)
		return false;
	if ((bus = manager_connect()) == NULL) {
		log_warnx("cannot reach the service manager to ask whether "
			  "the system is shutting down; taking it that it is "
			  "not");
		return false;
	}
	rc = sd_bus_get_property_string(bus, "org.freedesktop.systemd1",
					"/org/freedesktop/systemd1",
					"org.freedesktop.systemd1.Manager",
					"SystemState", &err, &state);
	if (rc < 0)
		log_warnx("service manager: SystemState: %s",
			  err.message != NULL ? err.message : strerror(-rc));
	stopping = rc >= 0 && strcmp(state, "stopping") == 0;
	log_debug("service manager: SystemState %s",
		  state != NULL ? state : "unknown");
	free(state);
	sd_bus_error_free(&err);
	sd_bus_flush_close_unref(bus);
	return stopping;
}

struct manager_wait {
	const char *job; /* the object path StartTransientUnit returned */
	bool done;
	char result[32];
};

static int
manager_on_job_removed(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	struct manager_wait *w = arg;
	const char *path, *unit, *result;
	uint32_t id;

	(void)err;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->job != NULL && strcmp(path, w->job) == 0) {
		w->done = true;
		snprintf(w->result, sizeof w->result, "%s", result);
	}
	return 0;
}

static const char *
manager_error(const sd_bus_error *e, int rc)
{
	return e->message != NULL ? e->message : strerror(-rc);
}

/* The scope's start job has ended: it ran ("done") or not. */
static int
manager_wait_job(sd_bus *bus, struct manager_wait *w, char *err, size_t errlen)
{
	int64_t deadline = clock_mono_ns() + MANAGER_TIMEOUT_US * 1000LL;
	int64_t left;
	int rc;

	while (!w->done) {
		if ((rc = sd_bus_process(bus, NULL)) < 0) {
			snprintf(err, errlen, "service manager: %s",
				 strerror(-rc));
			return -1;
		}
		if (rc > 0)
			continue;
		if ((left = deadline - clock_mono_ns()) <= 0) {
			snprintf(err, errlen,
				 "service manager: no answer for the scope's "
				 "start within %ds",
				 MANAGER_TIMEOUT_US / 1000000);
			return -1;
		}
		if ((rc = sd_bus_wait(bus, (uint64_t)(left / 1000))) < 0) {
			snprintf(err, errlen, "service manager: %s",
				 strerror(-rc));
			return -1;
		}
	}
	if (strcmp(w->result, "done") != 0) {
		snprintf(err, errlen, "service manager: the scope's start %s",
			 w->result);
		return -1;
	}
	return 0;
}

static int
manager_start_scope(sd_bus *bus, const char *unit, const char *own, pid_t pid,
		    struct manager_wait *w, bool *exists, char *err,
		    size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	const char *job;
	int rc;

	rc = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1",
					    "/org/freedesktop/systemd1",
					    "org.freedesktop.systemd1.Manager",
					    "StartTransientUnit");
	/* Delegate: the subtree is forqd's. Before forqd's unit: at a
	 * shutdown the scope (its workers) is stopped after forqd, which
	 * stops and records their jobs first. */
	if (rc >= 0)
		rc = sd_bus_message_append(m, "ss", unit, "fail");
	if (rc >= 0)
		rc = sd_bus_message_open_container(m, 'a', "(sv)");
	if (rc >= 0)
		rc =
		    sd_bus_message_append(m, "(sv)(sv)(sv)", "Description", "s",
					  "forq workers and jobs", "PIDs", "au",
					  1, (uint32_t)pid, "Delegate", "b", 1);
	if (rc >= 0 && own != NULL)
		rc = sd_bus_message_append(m, "(sv)", "Before", "as", 1, own);
	if (rc >= 0)
		rc = sd_bus_message_close_container(m);
	if (rc >= 0)
		rc = sd_bus_message_append(m, "a(sa(sv))", 0);
	if (rc < 0) {
		sd_bus_message_unref(m);
		snprintf(err, errlen, "StartTransientUnit: %s", strerror(-rc));
		return -1;
	}
	rc = sd_bus_call(bus, m, 0, &e, &reply);
	sd_bus_message_unref(m);
	if (rc < 0) {
		*exists = sd_bus_error_has_name(&e, "org.freedesktop.systemd1."
						    "UnitExists");
		if (!*exists)
			snprintf(err, errlen, "StartTransientUnit %s: %s", unit,
				 manager_error(&e, rc));
		sd_bus_error_free(&e);
		return *exists ? 0 : -1;
	}
	if ((rc = sd_bus_message_read(reply, "o", &job)) < 0) {
		sd_bus_message_unref(reply);
		snprintf(err, errlen, "StartTransientUnit: %s", strerror(-rc));
		return -1;
	}
	w->job = strdup(job);
	sd_bus_message_unref(reply);
	if (w->job == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return manager_wait_job(bus, w, err, errlen);
}

/* Holds the scope while forqd runs: systemd stops a scope left with
 * no process, and removes its cgroups, which an instant without workers
 * (all restarting) must not cost. It waits for forqd to go: the end of
 * the pipe it reads. */
static pid_t
manager_keeper(int *fd)
{
	sigset_t none;
	pid_t pid;
	char c;
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		/* Nothing of forqd's: its pidfile's lock least of all. */
		if (dup2(p[0], 3) == -1)
			_exit(1);
		closefrom(4);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setproctitle("scope keeper");
		while (read(3, &c, 1) == -1 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	*fd = p[1];
	return pid;
}

int
manager_scope(const char *unit, struct manager_scope *sc, char *err,
	      size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct manager_wait w = {0};
	sd_bus_slot *slot = NULL;
	sd_bus_message *reply = NULL;
	const char *path;
	char *cg = NULL, *own = NULL;
	sd_bus *bus;
	int rc = -1;

	*sc = (struct manager_scope){.keeper = -1, .keeper_fd = -1};
	if ((bus = manager_connect()) == NULL) {
		snprintf(err, errlen, "cannot reach the service manager");
		return -1;
	}
	if ((sc->keeper = manager_keeper(&sc->keeper_fd)) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if ((geteuid() == 0 ? sd_pid_get_unit(0, &own)
			    : sd_pid_get_user_unit(0, &own)) < 0)
		own = NULL;
	/* Before the call: the job may end before its reply is read. */
	if (sd_bus_match_signal(bus, &slot, NULL, "/org/freedesktop/systemd1",
				"org.freedesktop.systemd1.Manager",
				"JobRemoved", manager_on_job_removed, &w) < 0 ||
	    sd_bus_call_method(bus, "org.freedesktop.systemd1",
			       "/org/freedesktop/systemd1",
			       "org.freedesktop.systemd1.Manager", "Subscribe",
			       &e, NULL, NULL) < 0) {
		snprintf(err, errlen, "service manager: Subscribe: %s",
			 e.message != NULL ? e.message : "failed");
		goto out;
	}
	if (manager_start_scope(bus, unit, own, sc->keeper, &w, &sc->existed,
				err, errlen) == -1)
		goto out;
	if (sd_bus_call_method(bus, "org.freedesktop.systemd1",
			       "/org/freedesktop/systemd1",
			       "org.freedesktop.systemd1.Manager", "GetUnit",
			       &e, &reply, "s", unit) < 0 ||
	    sd_bus_message_read(reply, "o", &path) < 0 ||
	    sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
				       "org.freedesktop.systemd1.Scope",
				       "ControlGroup", &e, &cg) < 0) {
		snprintf(err, errlen, "service manager: %s: %s", unit,
			 e.message != NULL ? e.message : "no cgroup");
		goto out;
	}
	if (cg[0] != '/' || strlen(cg) >= sizeof sc->cgroup) {
		snprintf(err, errlen, "service manager: %s: cgroup \"%s\"",
			 unit, cg);
		goto out;
	}
	strlcpy(sc->cgroup, cg, sizeof sc->cgroup);
	rc = 0;
out:
	if (rc == -1)
		manager_scope_close(sc);
	free(cg);
	free(own);
	free((char *)w.job);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	sd_bus_slot_unref(slot);
	sd_bus_flush_close_unref(bus);
	return rc;
}

void
manager_scope_close(struct manager_scope *sc)
{
	if (sc->keeper_fd != -1)
		close(sc->keeper_fd);
	sc->keeper_fd = -1;
	/* It exits on its own, and is reaped as any child. */
	sc->keeper = -1;
}
