/*
 * The supervisor's making (modules.c), for sv_init and the reload in
 * supervisor.c. Each fills its part of struct supervisor; -1 is
 * logged.
 */
#ifndef FORQ_SV_MODULES_H
#define FORQ_SV_MODULES_H

#include <stdint.h>

struct conf;
struct httpd;
struct supervisor;

int sv_state_dir(const char *dir);
void sv_raise_nofile(const struct conf *conf);
/* state_reserve bytes held in state_dir, freed when the disk fills. */
int sv_reserve_make(const struct conf *conf);
void sv_cgroups(struct supervisor *sv);
/* The CPUs this node offers the cluster. */
uint32_t sv_node_cpus(const struct supervisor *sv);
int sv_start_node(struct supervisor *sv);
int sv_open_clients(struct supervisor *sv);
int sv_open_jobs(struct supervisor *sv);
/* How long the store may wait, idle, before what it committed is
 * synced, under conf c: on a node of a cluster (sv->node, joined at
 * start whatever a reload says), CLUSTER_STORE_SYNC_MS. */
int64_t sv_sync_delay_ms(const struct supervisor *sv, const struct conf *c);
/* The metrics endpoint c asks for into *out (NULL: none). */
int sv_open_metrics(struct supervisor *sv, const struct conf *c,
		    struct httpd **out);
/* The workers of a previous forqd, and their jobs, become this one's. */
int sv_take_orphans(struct supervisor *sv);

#endif
