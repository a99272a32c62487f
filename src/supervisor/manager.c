/* The service manager's state, read over its private socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

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
