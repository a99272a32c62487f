/*
 * The node's lease. A renewal only counts if the row still carries this
 * node's epoch and the lease had not run out on the server's clock: a
 * node that comes back after others took it for dead finds the renewal
 * refused, says so, and joins again under a new epoch. By its own
 * clock it counts the lease from when the last renewal that held was
 * sent, which is never later than the server's view of it.
 */
#include <sys/param.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/compat.h"
#include "common/event.h"
#include "common/log.h"
#include "core/conf.h"
#include "core/sign.h"
#include "store/pg_schema.h"
#include "store/pg.h"
#include "cluster/node.h"
#include "version.h"

struct node {
	struct ev_loop *loop;
	const struct conf *conf;
	struct node_cb cb;
	char name[CONF_NODE_NAME_MAX + 1];
	char host[256];
	int64_t epoch;
	/* Read at the join, so a bad key file stops forqd at once; handed
	 * to the shared queue, then wiped here. */
	unsigned char key[SIGN_KEY_MAX];
	size_t keylen;
	struct pg *pg;
	struct ev_io timer_io;
	int timer;
	struct ev_io deadline_io; /* when its jobs must stop, if not renewed */
	int deadline;
	bool renewing;      /* a renewal is in flight */
	bool rejoining;     /* a join under a new epoch is in flight */
	int64_t renew_sent; /* monotonic: when the one in flight went */
	int64_t renewed;    /* monotonic: when the last that held went */
	bool lease_run_out; /* told once */
	bool leaving;
	bool leave_sent;     /* the goodbye went */
	bool left;           /* the goodbye was answered, or failed */
	int64_t leave_until; /* monotonic: how long forqd waits for it */
};

struct node_query {
	struct node *n;
	node_rows_fn *fn;
	void *arg;
};

static void node_renew(struct node *n);
static void node_say_stopped(struct node *n);

/*
 * When this node's jobs must stop unless the lease is renewed: a fifth
 * of the lease before it runs out by this node's count (never later
 * than the server's), so that they have stopped (TERM, and what
 * survives it the kill_grace after) by the time another node may take
 * them on, a fifth after it runs out.
 */
static int64_t
node_stop_at(const struct node *n)
{
	int64_t lease = n->conf->lease_ms * NS_PER_MS;

	return n->renewed + lease - lease / 5;
}

static void
node_held(struct node *n)
{
	if (n->deadline != -1)
		(void)ev_timer_arm(n->deadline, node_stop_at(n));
	if (n->cb.renewed != NULL)
		n->cb.renewed(n->cb.arg, node_stop_at(n));
}

static void
node_join_done(void *arg, const PGresult *res, const char *err)
{
	struct node *n = arg;

	n->rejoining = false;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		log_warnx("node %s: cannot join again: %s", n->name,
			  res != NULL ? pg_result_why(res) : err);
		return;
	}
	n->epoch = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	n->renewed = n->renew_sent;
	n->lease_run_out = false;
	node_held(n);
	log_warnx("node %s: joined again as epoch %lld", n->name,
		  (long long)n->epoch);
}

/* The lease was lost: this node's claims are void, and it starts anew. */
static void
node_rejoin(struct node *n)
{
	char pid[16], slots[16], lease[32], epoch[32];
	const char *values[] = {n->name, n->host, pid,  FORQ_VERSION,
				slots,   lease,   epoch};

	snprintf(pid, sizeof pid, "%d", (int)getpid());
	snprintf(slots, sizeof slots, "%u", n->conf->slots);
	snprintf(lease, sizeof lease, "%lld", (long long)n->conf->lease_ms);
	snprintf(epoch, sizeof epoch, "%lld", (long long)n->epoch);
	n->renew_sent = clock_mono_ns();
	if (pg_send(n->pg,
		    "UPDATE forq_nodes SET epoch = epoch + 1, host = $2, "
		    "pid = $3, version = $4, slots = $5, state = 'up', "
		    "lease_ms = $6::bigint, renewed_at = now(), lease_until = "
		    "now() + $6::bigint * interval '1 millisecond' WHERE name "
		    "= $1 AND "
		    "epoch = $7 RETURNING epoch",
		    7, values, node_join_done, n) == 0) {
		n->rejoining = true;
		(void)pg_sync(n->pg); /* a failure answers node_join_done */
	}
}

static void
node_renew_done(void *arg, const PGresult *res, const char *err)
{
	struct node *n = arg;

	n->renewing = false;
	if (res == NULL) {
		log_debug("node %s: renewal unanswered: %s", n->name, err);
		return;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("node %s: cannot renew the lease: %s", n->name,
			  pg_result_why(res));
		return;
	}
	if (PQntuples(res) == 1) {
		n->renewed = n->renew_sent;
		node_held(n);
		if (n->lease_run_out)
			log_info("node %s: lease renewed", n->name);
		n->lease_run_out = false;
		return;
	}
	log_warnx("node %s: the lease was lost (the other nodes took this "
		  "node for dead): joining again",
		  n->name);
	if (n->cb.lost != NULL)
		n->cb.lost(n->cb.arg);
	node_rejoin(n);
}

static void
node_renew(struct node *n)
{
	char epoch[32], running[16], cpus[16], mem[24];
	const char *values[] = {n->name, epoch, running, cpus, mem};
	uint32_t job_cpus;
	uint64_t job_mem;

	if (n->renewing || n->rejoining || n->leaving || !pg_is_up(n->pg))
		return;
	snprintf(epoch, sizeof epoch, "%lld", (long long)n->epoch);
	snprintf(running, sizeof running, "%u", n->cb.busy(n->cb.arg));
	n->cb.fits(n->cb.arg, &job_cpus, &job_mem);
	snprintf(cpus, sizeof cpus, "%u", job_cpus);
	snprintf(mem, sizeof mem, "%llu", (unsigned long long)job_mem);
	n->renew_sent = clock_mono_ns();
	if (pg_send(n->pg,
		    "UPDATE forq_nodes SET renewed_at = now(), lease_until = "
		    "now() + lease_ms * interval '1 millisecond', running = "
		    "$3, "
		    "job_cpus = $4, job_mem = $5 "
		    "WHERE name = $1 AND epoch = $2 AND state = 'up' AND "
		    "lease_until > now() RETURNING epoch",
		    5, values, node_renew_done, n) == 0) {
		n->renewing = true;
		(void)pg_sync(n->pg); /* a failure answers node_renew_done */
	}
}

static void
node_check_lease(struct node *n)
{
	if (n->lease_run_out || clock_mono_ns() < node_stop_at(n))
		return;
	n->lease_run_out = true;
	log_warnx("node %s: the lease ran out (not renewed for %lldms of "
		  "%lldms, its jobs stop now: %s)",
		  n->name,
		  (long long)((clock_mono_ns() - n->renewed) / NS_PER_MS),
		  (long long)n->conf->lease_ms,
		  pg_is_up(n->pg) ? "no answer in time" : pg_why(n->pg));
	/* By this node's clock, which counts from before the server's:
	 * its jobs stop before any other node may take them on. */
	if (n->cb.lost != NULL)
		n->cb.lost(n->cb.arg);
}

static void
node_tick(struct ev_io *io, uint32_t events)
{
	struct node *n = io->arg;

	(void)events;
	ev_timer_drain(n->timer);
	node_check_lease(n);
	node_renew(n);
}

static void
node_on_deadline(struct ev_io *io, uint32_t events)
{
	struct node *n = io->arg;

	(void)events;
	ev_timer_drain(n->deadline);
	node_check_lease(n);
}

static void
node_up(void *arg)
{
	struct node *n = arg;

	log_info("node %s: database connected", n->name);
	/* Stopped before its connection was up: it says so now, in place
	 * of a renewal. */
	if (n->leaving)
		node_say_stopped(n);
	else
		node_renew(n);
	if (n->cb.up != NULL)
		n->cb.up(n->cb.arg);
}

static void
node_down(void *arg, const char *why)
{
	struct node *n = arg;

	log_warnx("node %s: database unreachable: %s; trying again", n->name,
		  why);
}

static const struct pg_hooks node_hooks = {
    .up = node_up,
    .down = node_down,
};

struct node *
node_join(const struct conf *conf, uint32_t cpus, int join_timeout_s)
{
	char err[CONF_ERROR_MAX], res[RES_KINDS_MAX * (RES_NAME_MAX + 8)];
	struct pg_node_info info;
	struct node *n;

	if ((n = calloc(1, sizeof *n)) == NULL) {
		log_warn("node");
		return NULL;
	}
	n->conf = conf;
	n->timer = n->deadline = -1;
	if (gethostname(n->host, sizeof n->host) == -1)
		strlcpy(n->host, "localhost", sizeof n->host);
	n->host[sizeof n->host - 1] = '\0';
	strlcpy(n->name, conf->node[0] != '\0' ? conf->node : n->host,
		sizeof n->name);
	if (conf_name_check(n->name, CONF_NODE_NAME_MAX) == -1) {
		log_warnx("[store] node: the host name \"%s\" cannot name "
			  "a node: set node in forqd.conf",
			  n->host);
		goto fail;
	}
	if (sign_key_load(conf->cluster_key, geteuid(), n->key, &n->keylen, err,
			  sizeof err) == -1) {
		log_warnx("[store] cluster_key: %s", err);
		goto fail;
	}
	if (res_kinds_format(&conf->res, res, sizeof res) == -1)
		fatalx("[resources] do not fit %zu bytes", sizeof res);
	info = (struct pg_node_info){.name = n->name,
				     .host = n->host,
				     .version = FORQ_VERSION,
				     .state_dir = conf->state_dir,
				     .res = res,
				     .pid = getpid(),
				     .cpus = cpus,
				     .slots = conf->slots,
				     .lease_ms = conf->lease_ms};
	if (pg_schema_join(conf->dsn, join_timeout_s, &info, &n->epoch, err,
			   sizeof err) == -1) {
		log_warnx("%s", err);
		goto fail;
	}
	n->renewed = clock_mono_ns(); /* pg_schema_join just renewed it */
	log_info("node %s: joined the cluster as epoch %lld", n->name,
		 (long long)n->epoch);
	return n;
fail:
	node_free(n);
	return NULL;
}

int
node_start(struct node *n, struct ev_loop *loop, const struct node_cb *cb)
{
	char app[64];

	n->loop = loop;
	n->cb = *cb;
	snprintf(app, sizeof app, "forqd %s", n->name);
	/* A server silent for half a lease is as good as gone. */
	if ((n->pg = pg_new(loop, n->conf->dsn, app, n->conf->lease_ms / 2,
			    &node_hooks, n)) == NULL ||
	    (n->timer = ev_timer_open()) == -1)
		return -1;
	ev_io_set(&n->timer_io, n->timer, node_tick, n);
	if (ev_add(loop, &n->timer_io, EPOLLIN) == -1) {
		close(n->timer);
		n->timer = -1;
		return -1;
	}
	if ((n->deadline = ev_timer_open()) == -1)
		return -1;
	ev_io_set(&n->deadline_io, n->deadline, node_on_deadline, n);
	if (ev_add(loop, &n->deadline_io, EPOLLIN) == -1) {
		close(n->deadline);
		n->deadline = -1;
		return -1;
	}
	(void)ev_timer_every(n->timer,
			     MAX(n->conf->lease_ms / 3, 500) * NS_PER_MS);
	node_held(n); /* as the join left it */
	pg_start(n->pg);
	return 0;
}

const char *
node_name(const struct node *n)
{
	return n->name;
}

size_t
node_take_key(struct node *n, unsigned char *key, size_t size)
{
	size_t len = MIN(n->keylen, size);

	memcpy(key, n->key, len);
	explicit_bzero(n->key, sizeof n->key);
	n->keylen = 0;
	return len;
}

void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	pg_free(n->pg);
	explicit_bzero(n->key, sizeof n->key);
	if (n->timer != -1) {
		(void)ev_del(n->loop, &n->timer_io);
		close(n->timer);
	}
	if (n->deadline != -1) {
		(void)ev_del(n->loop, &n->deadline_io);
		close(n->deadline);
	}
	free(n);
}

struct pg *
node_pg(struct node *n)
{
	return n->pg;
}

static void
node_leave_done(void *arg, const PGresult *res, const char *err)
{
	struct node *n = arg;

	n->left = true;
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		log_debug("node %s: could not say it stopped: %s", n->name,
			  res != NULL ? pg_result_why(res) : err);
}

static void
node_say_stopped(struct node *n)
{
	char epoch[32];
	const char *values[] = {n->name, epoch};

	if (n->leave_sent || !pg_is_up(n->pg))
		return;
	n->leave_sent = true;
	snprintf(epoch, sizeof epoch, "%lld", (long long)n->epoch);
	if (pg_send(n->pg,
		    "UPDATE forq_nodes SET state = 'stopped', running = 0, "
		    "renewed_at = now() WHERE name = $1 AND epoch = $2",
		    2, values, node_leave_done, n) == 0)
		(void)pg_sync(n->pg);
	else
		n->left = true;
}

/* A stop that comes while the connection is down or not yet up (a
 * forqd stopped just after it started) waits for it as long as for an
 * answer: node_up says it then. */
void
node_leave(struct node *n)
{
	if (n->leaving)
		return;
	n->leaving = true;
	n->leave_until = clock_mono_ns() + NODE_LEAVE_WAIT_MS * NS_PER_MS;
	node_say_stopped(n);
}

bool
node_leaving(const struct node *n)
{
	return n->leaving && !n->left && clock_mono_ns() < n->leave_until;
}

json_t *
node_self(const struct node *n)
{
	json_t *o;

	o = json_pack("{s:s, s:s, s:I, s:b, s:I}", "backend", "postgresql",
		      "node", n->name, "epoch", (json_int_t)n->epoch,
		      "connected", pg_is_up(n->pg), "lease_renewed_ms_ago",
		      (json_int_t)((clock_mono_ns() - n->renewed) / NS_PER_MS));
	json_object_set_new(o, "why",
			    pg_is_up(n->pg) ? json_null()
					    : json_string(pg_why(n->pg)));
	return o;
}

static json_t *
node_value(const PGresult *res, int row, int col, bool number)
{
	if (PQgetisnull(res, row, col))
		return json_null();
	if (number)
		return json_integer(
		    strtoll(PQgetvalue(res, row, col), NULL, 10));
	return json_string(PQgetvalue(res, row, col));
}

static void
node_list_done(void *arg, const PGresult *res, const char *err)
{
	static const char *const names[] = {
	    "node",     "host",         "epoch",    "pid",
	    "version",  "cpus",         "slots",    "running",
	    "state",    "lease_age_ms", "alive",    "started_at",
	    "lease_ms", "res",          "job_cpus", "job_mem",
	};
	static const bool numbers[] = {false, false, true,  true, false, true,
				       true,  true,  false, true, false, true,
				       true,  false, true,  true};
	struct node_query *q = arg;
	json_t *rows, *row;
	int i, c;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		q->fn(q->arg, NULL, res != NULL ? pg_result_why(res) : err);
		free(q);
		return;
	}
	rows = json_array();
	for (i = 0; i < PQntuples(res); i++) {
		row = json_object();
		for (c = 0; c < (int)nitems(names); c++) {
			if (strcmp(names[c], "alive") == 0)
				json_object_set_new(row, "alive",
						    json_boolean(
							PQgetvalue(res, i,
								   c)[0] ==
							't'));
			else
				json_object_set_new(row, names[c],
						    node_value(res, i, c,
							       numbers[c]));
		}
		json_object_set_new(row, "self",
				    json_boolean(strcmp(PQgetvalue(res, i, 0),
							q->n->name) == 0));
		json_array_append_new(rows, row);
	}
	q->fn(q->arg, rows, NULL);
	free(q);
}

int
node_list(struct node *n, node_rows_fn *fn, void *arg, const char **err)
{
	struct node_query *q;

	if (!pg_is_up(n->pg)) {
		*err = pg_why(n->pg);
		return -1;
	}
	if ((q = malloc(sizeof *q)) == NULL) {
		*err = "out of memory";
		return -1;
	}
	*q = (struct node_query){.n = n, .fn = fn, .arg = arg};
	if (pg_send(n->pg,
		    "SELECT name, host, epoch, pid, version, cpus, slots, "
		    "running, state, (extract(epoch FROM now() - renewed_at) "
		    "* 1000)::bigint, state = 'up' AND lease_until > now(), "
		    "extract(epoch FROM started_at)::bigint, lease_ms, res, "
		    "job_cpus, job_mem "
		    "FROM forq_nodes ORDER BY name",
		    0, NULL, node_list_done, q) == -1) {
		free(q);
		*err = pg_why(n->pg);
		return -1;
	}
	(void)pg_sync(n->pg); /* a failure answers through fn at once */
	return 0;
}
