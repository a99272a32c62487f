/*
 * The cluster schema, created and migrated by whichever forqd starts
 * first; each step runs in its own transaction and moves
 * forq_meta.schema one version on, so a forqd stopped half-way leaves a
 * database the next one carries on from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/compat.h"
#include "store/pg_schema.h"

/* Any fixed number: forqd's own, for pg_advisory_lock. */
#define PG_SCHEMA_LOCK "7301"

/* migrations[i] takes the schema from version i to i + 1. */
static const char *const migrations[] = {
    /* 0 -> 1: the nodes. Times are the server's: nodes' clocks never
     * decide who is alive. */
    ("CREATE TABLE forq_nodes ("
     " name text PRIMARY KEY,"
     " epoch bigint NOT NULL,"
     " host text NOT NULL,"
     " pid integer NOT NULL,"
     " version text NOT NULL,"
     " cpus integer NOT NULL,"
     " slots integer NOT NULL,"
     " running integer NOT NULL DEFAULT 0,"
     " state text NOT NULL," /* up, or stopped once it said goodbye */
     " lease_ms bigint NOT NULL,"
     " started_at timestamptz NOT NULL,"
     " renewed_at timestamptz NOT NULL,"
     " lease_until timestamptz NOT NULL)"),
    /* 1 -> 2: the jobs. forq_jobs holds those not ended, so that a
     * claim's scan stays short however long the history grows; an end
     * moves its job to forq_history. A claim is a number from a
     * sequence, written with the node's name: every later write of
     * the node about the job names it, so that a node taken for dead
     * cannot overwrite what another made of the job since. */
    ("CREATE SEQUENCE forq_job_ids;"
     "CREATE SEQUENCE forq_claims;"
     "CREATE TABLE forq_jobs ("
     " id bigint PRIMARY KEY DEFAULT nextval('forq_job_ids'),"
     " state smallint NOT NULL,"
     " queue text NOT NULL,"
     " priority integer NOT NULL,"
     " uid integer NOT NULL,"
     " gid integer NOT NULL,"
     " user_name text NOT NULL,"
     " name text,"
     " spec text NOT NULL,"
     " submit_node text NOT NULL,"
     " submitted_at timestamptz NOT NULL DEFAULT now(),"
     " start_at timestamptz,"
     " attempt integer NOT NULL DEFAULT 0,"
     " node text,"
     " claim bigint,"
     " claimed_at timestamptz,"
     " started_at timestamptz,"
     " worker integer,"
     " cpu integer,"
     " cancel boolean NOT NULL DEFAULT false);"
     "CREATE INDEX forq_jobs_ready ON forq_jobs (priority DESC, id)"
     " WHERE state = 0;"
     "CREATE INDEX forq_jobs_node ON forq_jobs (node) WHERE node IS NOT NULL;"
     "CREATE TABLE forq_history ("
     " id bigint PRIMARY KEY,"
     " state smallint NOT NULL,"
     " queue text NOT NULL,"
     " priority integer NOT NULL,"
     " uid integer NOT NULL,"
     " gid integer NOT NULL,"
     " user_name text NOT NULL,"
     " name text,"
     " spec text NOT NULL,"
     " submit_node text NOT NULL,"
     " submitted_at timestamptz NOT NULL,"
     " attempt integer NOT NULL,"
     " node text,"
     " worker integer,"
     " cpu integer,"
     " started_at timestamptz,"
     " ended_at timestamptz NOT NULL,"
     " exit_code integer,"
     " signal integer,"
     " error text,"
     " user_us bigint,"
     " sys_us bigint,"
     " maxrss_kb bigint,"
     " procs integer,"
     " out_tail bytea," /* the output's last bytes, for the other nodes */
     " err_tail bytea);"
     "CREATE INDEX forq_history_ended ON forq_history (ended_at);"
     /* A submission's key: the same submission sent again after a
      * commit whose answer was lost finds the ids it got. */
     "CREATE TABLE forq_submissions ("
     " key text PRIMARY KEY,"
     " ids bigint[] NOT NULL,"
     " at timestamptz NOT NULL DEFAULT now())"),
    /* 2 -> 3: each spec's signature, by the node that took it. */
    ("ALTER TABLE forq_jobs ADD COLUMN sig text NOT NULL DEFAULT '';"
     "ALTER TABLE forq_history ADD COLUMN sig text NOT NULL DEFAULT ''"),
    /* 3 -> 4: where a node keeps its jobs' output, for forq logs on
     * another node to say. */
    ("ALTER TABLE forq_nodes ADD COLUMN state_dir text NOT NULL DEFAULT ''"),
    /* 4 -> 5: scheduled jobs, found by their time when it comes. */
    ("CREATE INDEX forq_jobs_due ON forq_jobs (start_at) WHERE state = 2"),
    /* 5 -> 6: what runs of each queue, counted at each claim of a
     * queue with a parallel limit. */
    ("CREATE INDEX forq_jobs_running ON forq_jobs (queue) WHERE state = 1"),
    /* 6 -> 7: unique keys, held by a user's jobs not ended (the live
     * table's only), and which of a submission's ids stood for a job
     * that held its key. */
    ("ALTER TABLE forq_jobs ADD COLUMN unique_key text;"
     "CREATE UNIQUE INDEX forq_jobs_unique ON forq_jobs (uid, unique_key)"
     " WHERE unique_key IS NOT NULL;"
     "ALTER TABLE forq_submissions ADD COLUMN existing bigint[] NOT NULL"
     " DEFAULT '{}'"),
    /* 7 -> 8: dependencies. A waiting job names the jobs it waits for
     * (found, when one of them ends, through the array's index; and
     * all of them, a page at a time, by id) and what of them it waits
     * for (enum job_after). */
    ("ALTER TABLE forq_jobs ADD COLUMN after_ids bigint[];"
     "ALTER TABLE forq_jobs ADD COLUMN after_mode smallint NOT NULL"
     " DEFAULT 0;"
     "CREATE INDEX forq_jobs_waiting ON forq_jobs USING gin (after_ids)"
     " WHERE state = 3;"
     "CREATE INDEX forq_jobs_waiting_ids ON forq_jobs (id) WHERE state = 3"),
    /* 8 -> 9: queues paused across the cluster (no node claims their
     * jobs), and the output files a node is to delete, of jobs that
     * left the history by forq clean or retry rather than by its own
     * retention. */
    ("CREATE TABLE forq_queues ("
     " name text PRIMARY KEY,"
     " paused boolean NOT NULL DEFAULT false);"
     "CREATE TABLE forq_cleaned ("
     " node text NOT NULL,"
     " id bigint NOT NULL);"
     "CREATE INDEX forq_cleaned_node ON forq_cleaned (node)"),
    /* 9 -> 10: fairness between users, as on one host: a claim reads
     * each user's best jobs (found a user at a time through the first
     * index), counts what each runs (the second), and on a tie serves
     * the user served longest ago (the table). */
    ("CREATE INDEX forq_jobs_user_ready ON forq_jobs (uid, priority DESC, id)"
     " WHERE state = 0;"
     "CREATE INDEX forq_jobs_user_running ON forq_jobs (uid) WHERE state = 1;"
     "CREATE TABLE forq_served ("
     " uid integer PRIMARY KEY,"
     " at timestamptz NOT NULL)"),
    /* 10 -> 11: claims read the ready jobs by user now; an index no
     * statement reads costs every submission and claim its upkeep. */
    ("DROP INDEX forq_jobs_ready"),
    /* 11 -> 12: held (4) joins the states not ended, in the live table;
     * the ended ones move up one. */
    ("UPDATE forq_history SET state = state + 1 WHERE state >= 4"),
    /* 12 -> 13: the cancels asked of a node's running jobs, which it
     * looks for once a second: through the node index they cost a
     * visit to every row it ever claimed that vacuum has not cleared. */
    ("CREATE INDEX forq_jobs_cancel ON forq_jobs (node) WHERE cancel"),
    /* 13 -> 14: what a job asks of the node that claims it, read out
     * of its signed spec (which always says both), so that a claim
     * takes only what fits the node and no writer can make the two
     * disagree. */
    ("ALTER TABLE forq_jobs ADD COLUMN cpus integer GENERATED ALWAYS AS"
     " (coalesce((spec::jsonb ->> 'cpus')::integer, 1)) STORED,"
     " ADD COLUMN mem bigint GENERATED ALWAYS AS"
     " (coalesce((spec::jsonb ->> 'mem')::bigint, 0)) STORED"),
    /* 14 -> 15: fairness within each queue, as on one host: what a user
     * runs, and when it was served last, of that queue. */
    ("DROP INDEX forq_jobs_user_running;"
     "CREATE INDEX forq_jobs_user_running ON forq_jobs (uid, queue)"
     " WHERE state = 1;"
     "ALTER TABLE forq_served ADD COLUMN queue text NOT NULL DEFAULT '';"
     "ALTER TABLE forq_served DROP CONSTRAINT forq_served_pkey;"
     "ALTER TABLE forq_served ADD PRIMARY KEY (uid, queue)"),
    /* 15 -> 16: the attempts before a job's last, as one host keeps
     * them: written when an attempt is retried (by its policy, by forq
     * retry, or as a lost node's), gone with the job's history. */
    ("CREATE TABLE forq_attempts ("
     " id bigint NOT NULL,"
     " attempt integer NOT NULL,"
     " state smallint NOT NULL,"
     " exit_code integer,"
     " signal integer,"
     " started_at timestamptz,"
     " ended_at timestamptz NOT NULL,"
     " error text,"
     " node text,"
     " worker integer,"
     " cpu integer,"
     " PRIMARY KEY (id, attempt))"),
    /* 16 -> 17: what a job may ask of the cluster is what one node
     * has. Each node says what it has of [resources] (at start) and
     * the most CPUs and memory one job may have there (with each
     * renewal of its lease; NULL until the first). What a job asks of
     * [resources] is read out of its signed spec, and the few jobs
     * that ask are claimed through an index of their own. */
    ("ALTER TABLE forq_nodes ADD COLUMN res text NOT NULL DEFAULT '',"
     " ADD COLUMN job_cpus integer, ADD COLUMN job_mem bigint;"
     "ALTER TABLE forq_jobs ADD COLUMN res text GENERATED ALWAYS AS"
     " (spec::jsonb ->> 'res') STORED;"
     "CREATE INDEX forq_jobs_res_ready ON forq_jobs (priority DESC, id)"
     " WHERE state = 0 AND res IS NOT NULL"),
    /* 17 -> 18: job arrays. A task is a job of its own, with its
     * array's id (its first task's), its index and the array's limit
     * of tasks at once; tasks are found by array (a task's name, an
     * array's id), and the few of limited arrays are claimed through
     * an index of their own. */
    ("ALTER TABLE forq_jobs ADD COLUMN array_id bigint,"
     " ADD COLUMN array_index integer,"
     " ADD COLUMN array_max integer NOT NULL DEFAULT 0;"
     "ALTER TABLE forq_history ADD COLUMN array_id bigint,"
     " ADD COLUMN array_index integer,"
     " ADD COLUMN array_max integer NOT NULL DEFAULT 0;"
     "CREATE INDEX forq_jobs_array ON forq_jobs (array_id, array_index)"
     " WHERE array_id IS NOT NULL;"
     "CREATE INDEX forq_history_array ON forq_history (array_id,"
     " array_index) WHERE array_id IS NOT NULL;"
     "CREATE INDEX forq_jobs_limited_ready ON forq_jobs (array_id,"
     " priority DESC, id) WHERE state = 0 AND array_max > 0;"
     "CREATE INDEX forq_jobs_limited_running ON forq_jobs (array_id)"
     " WHERE state = 1 AND array_max > 0"),
};

_Static_assert(nitems(migrations) == PG_SCHEMA_VERSION,
	       "a migration for each schema version");

static int
pg_exec(PGconn *conn, const char *sql, int n, const char *const *values,
	PGresult **out, char *err, size_t errlen)
{
	PGresult *res;
	ExecStatusType st;
	const char *msg;

	/* A migration is several statements: only the simple protocol
	 * takes them. */
	res = n == 0 ? PQexec(conn, sql)
		     : PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		snprintf(err, errlen, "%s",
			 msg != NULL ? msg : PQerrorMessage(conn));
		PQclear(res);
		return -1;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return 0;
}

static int
pg_schema_version(PGconn *conn, long *version, char *err, size_t errlen)
{
	PGresult *res;

	if (pg_exec(conn,
		    "CREATE TABLE IF NOT EXISTS forq_meta ("
		    " key text PRIMARY KEY, value text NOT NULL)",
		    0, NULL, NULL, err, errlen) == -1 ||
	    pg_exec(conn, "SELECT value FROM forq_meta WHERE key = 'schema'", 0,
		    NULL, &res, err, errlen) == -1)
		return -1;
	*version =
	    PQntuples(res) == 0 ? 0 : strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static int
pg_schema_migrate(PGconn *conn, char *err, size_t errlen)
{
	char why[256], v[16];
	const char *values[1] = {v};
	long version;

	if (pg_schema_version(conn, &version, err, errlen) == -1)
		return -1;
	if (version > PG_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "the database's schema is version %ld, newer than "
			 "this forqd's (%d): upgrade forqd on this host",
			 version, PG_SCHEMA_VERSION);
		return -1;
	}
	for (; version < PG_SCHEMA_VERSION; version++) {
		snprintf(v, sizeof v, "%ld", version + 1);
		if (pg_exec(conn, "BEGIN", 0, NULL, NULL, err, errlen) == -1)
			return -1;
		if (pg_exec(conn, migrations[version], 0, NULL, NULL, why,
			    sizeof why) == -1 ||
		    pg_exec(conn,
			    "INSERT INTO forq_meta (key, value) "
			    "VALUES ('schema', $1) ON CONFLICT (key) "
			    "DO UPDATE SET value = excluded.value",
			    1, values, NULL, why, sizeof why) == -1 ||
		    pg_exec(conn, "COMMIT", 0, NULL, NULL, why, sizeof why) ==
			-1) {
			(void)pg_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
			snprintf(err, errlen, "schema version %ld: %s",
				 version + 1, why);
			return -1;
		}
	}
	return 0;
}

/* A name held by a forqd on another host whose lease still runs is
 * that forqd's: two nodes of one name would take each other's jobs for
 * their own. The same host's forqd, restarted, takes the name on. */
static int
pg_node_register(PGconn *conn, const struct pg_node_info *node, int64_t *epoch,
		 char *err, size_t errlen)
{
	char pid[16], cpus[16], slots[16], lease[32];
	const char *values[] = {node->name, node->host, pid,   node->version,
				cpus,       slots,      lease, node->state_dir,
				node->res};
	PGresult *res;

	snprintf(pid, sizeof pid, "%d", (int)node->pid);
	snprintf(cpus, sizeof cpus, "%u", node->cpus);
	snprintf(slots, sizeof slots, "%u", node->slots);
	snprintf(lease, sizeof lease, "%lld", (long long)node->lease_ms);
	if (pg_exec(conn,
		    "SELECT host, ceil(extract(epoch FROM lease_until - "
		    "now()))::bigint FROM forq_nodes WHERE name = $1 AND "
		    "state = 'up' AND lease_until > now() AND host <> $2",
		    2, values, &res, err, errlen) == -1)
		return -1;
	if (PQntuples(res) > 0) {
		snprintf(err, errlen,
			 "node name \"%s\" is held by the forqd on host %s "
			 "(its lease runs %ss more): give this host another "
			 "[store] node",
			 node->name, PQgetvalue(res, 0, 0),
			 PQgetvalue(res, 0, 1));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	if (pg_exec(conn,
		    "INSERT INTO forq_nodes (name, epoch, host, pid, version, "
		    "cpus, slots, running, state, lease_ms, started_at, "
		    "renewed_at, lease_until, state_dir, res) VALUES ($1, 1, "
		    "$2, "
		    "$3, $4, $5, "
		    "$6, 0, 'up', $7::bigint, now(), now(), now() + $7::bigint "
		    "* interval "
		    "'1 millisecond', $8, $9) ON CONFLICT (name) DO UPDATE SET "
		    "epoch = forq_nodes.epoch + 1, host = excluded.host, "
		    "pid = excluded.pid, version = excluded.version, "
		    "cpus = excluded.cpus, slots = excluded.slots, "
		    "running = 0, state = 'up', lease_ms = excluded.lease_ms, "
		    "started_at = now(), renewed_at = now(), "
		    "lease_until = excluded.lease_until, state_dir = "
		    "excluded.state_dir, res = excluded.res RETURNING epoch",
		    9, values, &res, err, errlen) == -1)
		return -1;
	*epoch = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* The server's notices ("already exists, skipping") are not news. */
static void
pg_schema_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

PGconn *
pg_schema_open(const char *dsn, int timeout_s, char *err, size_t errlen)
{
	char timeout[16], why[512];
	const char *keys[] = {"dbname", "connect_timeout", "application_name",
			      NULL};
	const char *values[] = {dsn, timeout, "forqd", NULL};
	PGconn *conn;

	snprintf(timeout, sizeof timeout, "%d", timeout_s);
	conn = PQconnectdbParams(keys, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errlen, "cannot reach the database: %s",
			 conn != NULL ? PQerrorMessage(conn) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, pg_schema_notice, NULL);
	/* Two forqd starting at once would both create the tables. */
	if (pg_exec(conn, "SELECT pg_advisory_lock(" PG_SCHEMA_LOCK ")", 0,
		    NULL, NULL, why, sizeof why) == -1 ||
	    pg_schema_migrate(conn, why, sizeof why) == -1) {
		snprintf(err, errlen, "database: %s", why);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

int
pg_schema_join(const char *dsn, int timeout_s, const struct pg_node_info *node,
	       int64_t *epoch, char *err, size_t errlen)
{
	char why[512];
	PGconn *conn;
	int rc = 0;

	if ((conn = pg_schema_open(dsn, timeout_s, err, errlen)) == NULL)
		return -1;
	if (pg_node_register(conn, node, epoch, why, sizeof why) == -1) {
		snprintf(err, errlen, "database: %s", why);
		rc = -1;
	}
	PQfinish(conn); /* and with it the advisory lock */
	return rc;
}
