/*
 * Small portability shims. libbsd on Linux leaves __unused and __dead
 * undefined; they are defined once here.
 */
#ifndef FORQ_COMPAT_H
#define FORQ_COMPAT_H

#include <sys/cdefs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef __unused
#define __unused __attribute__((__unused__))
#endif
#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#ifndef __printflike
#define __printflike(a, b) __attribute__((__format__(__printf__, a, b)))
#endif
#ifndef nitems
#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* pidfd_open(2) by its syscall (glibc wraps it only from 2.36): -1
 * with ENOSYS before Linux 5.3 and under valgrind. */
static inline int
sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* sysexits.h's EX_CONFIG: "fatal configuration", never respawned. */
#define FORQ_EXIT_CONFIG 78

#endif
