/* Monotonic and wall-clock time in nanoseconds. */
#ifndef FORQ_CLOCK_H
#define FORQ_CLOCK_H

#include <stdint.h>

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_SEC INT64_C(1000000000)

int64_t clock_mono_ns(void);
int64_t clock_real_ns(void);

#endif
