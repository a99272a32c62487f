/*
 * forqd -d: detach into the background, but let the starting terminal
 * see startup errors and return only once the daemon is ready.
 */
#ifndef FORQ_DAEMONIZE_H
#define FORQ_DAEMONIZE_H

/* Returns in the child with a descriptor for daemonize_done(); the
 * parent exits 0 when the child is ready, else with the child's status. */
int daemonize(void);
/* Ready: stderr goes to /dev/null, logging to syslog, the parent exits. */
void daemonize_done(int ready_fd);

#endif
