/*
 * Small portability shims. libbsd on Linux leaves __unused and __dead
 * undefined; they are defined once here.
 */
#ifndef FORQ_COMPAT_H
#define FORQ_COMPAT_H

#include <sys/cdefs.h>

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

/* sysexits.h's EX_CONFIG: "fatal configuration", never respawned. */
#define FORQ_EXIT_CONFIG 78

#endif
