/*
 * The slots each worker may fill now. Without slots_adapt that is
 * slots, for every worker. With it, slots is a worker's most: each
 * starts at 1, and every CPULOAD_INTERVAL_MS its CPU's load moves it up
 * or down by one (core/cpuload.h). The running map asks here before it
 * fills a slot, and tells what it filled.
 */
#ifndef FORQ_ADAPT_H
#define FORQ_ADAPT_H

#include <stdbool.h>
#include <stdint.h>

struct conf;
struct workers;
struct adapt;

/* slots: per worker, as the shared memory was made. */
struct adapt *adapt_new(const struct conf *conf, struct workers *workers,
			uint32_t nworkers, uint32_t slots);
void adapt_free(struct adapt *a);
uint32_t adapt_slots(const struct adapt *a, int w);
/* busy of worker w's slots are taken now. */
void adapt_note_busy(struct adapt *a, int w, uint32_t busy);
/* When the CPUs are read next; 0: never (no slots_adapt, or 1 slot). */
int64_t adapt_next_deadline(const struct adapt *a);
/* Reads the CPUs when due and moves each worker's slots; busy[w] is
 * worker w's taken slots now. True if a worker may fill more. */
bool adapt_check(struct adapt *a, int64_t now_ns, const uint32_t *busy);

#endif
