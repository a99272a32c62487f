/* Jobs with CPUs of their own and the workers held for them. */
#include <stdlib.h>
#include <string.h>

#include "core/sched.h"
#include "engine/gangs.h"

struct gangs {
	uint32_t nworkers;
	uint64_t *held_by; /* per worker: the gang's job id; 0: none */
	struct gang *list; /* waiting, in the order they were taken */
	size_t n;          /* fewer than nworkers: each holds one */
};

struct gangs *
gangs_new(uint32_t nworkers)
{
	struct gangs *g;

	if ((g = calloc(1, sizeof *g)) == NULL)
		return NULL;
	g->nworkers = nworkers;
	g->held_by = calloc(nworkers, sizeof *g->held_by);
	g->list = calloc(nworkers, sizeof *g->list);
	if (g->held_by == NULL || g->list == NULL) {
		gangs_free(g);
		return NULL;
	}
	return g;
}

void
gangs_free(struct gangs *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++)
		store_job_free(&g->list[i].job);
	free(g->list);
	free(g->held_by);
	free(g);
}

uint64_t
gangs_holder(const struct gangs *g, int w)
{
	return (uint32_t)w < g->nworkers ? g->held_by[w] : 0;
}

void
gangs_release(struct gangs *g, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < g->nworkers; i++) {
		if (g->held_by[i] == id)
			g->held_by[i] = 0;
	}
}

int
gangs_first_worker(const struct gangs *g, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < g->nworkers; i++) {
		if (g->held_by[i] == id)
			return (int)i;
	}
	return -1;
}

void
gangs_cpus(const struct gangs *g, uint64_t id, int (*cpu_of)(void *, int),
	   void *arg, cpu_set_t *set)
{
	uint32_t i;
	int cpu;

	for (i = 0; i < g->nworkers; i++) {
		if (g->held_by[i] == id && (cpu = cpu_of(arg, (int)i)) >= 0)
			CPU_SET(cpu, set);
	}
}

size_t
gangs_waiting(const struct gangs *g)
{
	return g->n;
}

struct gang *
gangs_at(struct gangs *g, size_t k)
{
	return &g->list[k];
}

ptrdiff_t
gangs_find(const struct gangs *g, uint64_t id)
{
	size_t k;

	for (k = 0; k < g->n; k++) {
		if (g->list[k].job.id == id)
			return (ptrdiff_t)k;
	}
	return -1;
}

int
gangs_add(struct gangs *g, const struct store_job *job,
	  const struct job_run *run)
{
	if (g->n == g->nworkers)
		return -1;
	g->list[g->n++] =
	    (struct gang){.job = *job, .run = *run, .want = job->spec.cpus};
	return 0;
}

void
gangs_remove(struct gangs *g, size_t k, struct gang *out)
{
	*out = g->list[k];
	memmove(&g->list[k], &g->list[k + 1], (g->n - k - 1) * sizeof *g->list);
	g->n--;
}

bool
gangs_hold(struct gangs *g, size_t k, struct sched_worker *view)
{
	struct gang *gang = &g->list[k];
	uint64_t id = gang->job.id;
	int chosen[CPU_SETSIZE];
	size_t got, i;

	for (i = 0; i < g->nworkers; i++) {
		if (g->held_by[i] == id && !view[i].ready) {
			g->held_by[i] = 0;
			view[i].held = false;
			gang->have--;
		}
	}
	if (gang->have < gang->want) {
		got = sched_gang_pick(view, g->nworkers,
				      gang->want - gang->have, chosen);
		for (i = 0; i < got; i++) {
			g->held_by[chosen[i]] = id;
			view[chosen[i]].held = true;
		}
		gang->have += (uint32_t)got;
		if (gang->have < gang->want)
			return false;
	}
	for (i = 0; i < g->nworkers; i++) {
		if (g->held_by[i] == id && view[i].busy != 0)
			return false;
	}
	return true;
}
