/*
 * What forqd asks of the service manager it runs under (systemd, over
 * D-Bus): nothing when it runs under none.
 */
#ifndef FORQ_MANAGER_H
#define FORQ_MANAGER_H

#include <stdbool.h>

/* Whether the manager is stopping: the machine shuts down (or, for a
 * user's manager, the user's last session ends), so running jobs will
 * not outlive forqd by much, and are better stopped and recorded than
 * left. Asked once, at a stop signal, with a short timeout: the one
 * wait forqd makes on anything, made as it stops. */
bool manager_stopping(void);

#endif
