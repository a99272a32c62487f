#!/usr/bin/env bash
# Nodes of a cluster on one real PostgreSQL (a private server on a Unix
# socket): joining, the list of nodes, leases on the server's clock, a
# lease lost and taken up again, a database that goes away and comes
# back, and the refusals at start-up (unreachable, newer schema, a name
# a live node on another host holds).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pglib.sh"

# Node b: a second forqd with its own socket, state, log and conf.
B=$T/b
mkdir -p "$B"
B_PID=
B_LOG=$B/forqd.log
: >"$B_LOG"

stop_b() {
	if [ -n "$B_PID" ]; then
		timeout 5 "$FORQ" -s "$B/sock" shutdown --kill-jobs >/dev/null 2>&1 ||
			kill -TERM "$B_PID" 2>/dev/null || true
		"$FORQ_PIDWAIT" "$B_PID" 10000 || kill -KILL "$B_PID" 2>/dev/null || true
		B_PID=
	fi
}
cluster_cleanup() {
	kill -CONT "$B_PID" 2>/dev/null || true
	stop_b
	pg_cleanup
}
CLEANUP_HOOK=cluster_cleanup

store_section() {
	echo "[store]"
	echo "backend = postgresql"
	echo "dsn = ${DSN:-$PG_DSN}"
	echo "node = $1"
	echo "lease = ${LEASE:-2s}"
}

# with_log FILE CMD...: lib.sh's log waits, on another forqd's log.
with_log() {
	local save=$LOG mark=$LOG_MARK rc=0
	LOG=$1
	shift
	"$@" || rc=$?
	LOG=$save
	LOG_MARK=$mark
	return $rc
}

# A database that cannot be reached: forqd does not start, and says why.
write_conf
store_section a >>"$CONF"
sed -i "s|^dsn = .*|dsn = host=$T/nowhere dbname=forq connect_timeout=2|" "$CONF"
rc=0
timeout 30 "$FORQD" -c "$CONF" >>"$LOG" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "forqd started, or hung, with no database (rc $rc)"
grep -q 'cannot reach the database' "$LOG" || fail "no reason given: $(tail -n 3 "$LOG")"
ok "a database that cannot be reached stops forqd at start, saying so"

pg_start
pg_make_db

write_conf
store_section a >>"$CONF"
start_forqd
grep -q 'node a: joined the cluster as epoch 1' "$LOG" || fail "node a did not join"
[ "$(pg_sql "SELECT value FROM forq_meta WHERE key = 'schema'")" -ge 1 ] || fail "no schema version"
[ "$(pg_sql "SELECT tableowner FROM pg_tables WHERE tablename = 'forq_nodes'")" = forq ] ||
	fail "the tables are not the forq role's"
ok "forqd made the schema, owned by its role, and joined"

{
	echo "[daemon]"
	echo "socket = $B/sock"
	echo "pidfile = $B/pid"
	echo "state_dir = $B/state"
	echo "[workers]"
	echo "heartbeat_interval = 100ms"
	echo "slots = 2"
	store_section b
} >"$B/conf"
"$FORQD" -c "$B/conf" >>"$B_LOG" 2>&1 &
B_PID=$!
with_log "$B_LOG" wait_log 'ready: [0-9]+ of [0-9]+ workers' 20

nodes=$(fq nodes --json)
[ "$(jq -r '[.nodes[].node] | join(",")' <<<"$nodes")" = a,b ] || fail "nodes: $nodes"
[ "$(jq -r '.nodes[] | select(.node == "a") | .self' <<<"$nodes")" = true ] &&
	[ "$(jq -r '.nodes[] | select(.node == "b") | .self' <<<"$nodes")" = false ] || fail "self: $nodes"
[ "$(jq '[.nodes[] | select(.alive and .state == "up")] | length' <<<"$nodes")" = 2 ] || fail "alive: $nodes"
[ "$(jq '.nodes[] | select(.node == "b") | .slots' <<<"$nodes")" = 2 ] || fail "b's slots: $nodes"
[ "$(jq '.nodes[] | select(.node == "b") | .pid' <<<"$nodes")" = "$B_PID" ] || fail "b's pid: $nodes"
"$FORQ" -s "$B/sock" nodes | grep -q '^b (this) .* up ' || fail "b's view: $("$FORQ" -s "$B/sock" nodes)"
ok "forq nodes on either node lists both, alive, with what each said of itself"

# Leases are renewed on the server's clock.
before=$(pg_sql "SELECT lease_until FROM forq_nodes WHERE name = 'a'")
timeout 10 bash -c "while [ \"\$(\"$PG_BIN/psql\" -X -h '$PG_DIR' -U postgres -d forq -At -c \"SELECT lease_until > '$before' FROM forq_nodes WHERE name = 'a'\")\" != t ]; do sleep 0.2; done" ||
	fail "node a's lease was not renewed"
ok "the lease is renewed"

# A name a live node on another host holds is refused (another host: a
# UTS namespace with another host name).
write_conf
store_section b >>"$CONF"
sed -i "s|^state_dir = .*|state_dir = $T/c|; s|^socket = .*|socket = $T/c.sock|; s|^pidfile = .*|pidfile = $T/c.pid|" "$CONF"
rc=0
timeout 30 unshare --uts sh -c 'hostname forq-elsewhere && exec "$@"' sh "$FORQD" -c "$CONF" >>"$LOG" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a second node b started (rc $rc)"
grep -q "node name \"b\" is held by the forqd on host $(hostname)" "$LOG" || fail "no reason: $(tail -n 3 "$LOG")"
ok "a node name that a live node on another host holds is refused"

# A node stopped past its lease: the others see it lost; once it runs
# again its renewal is refused, it says so and joins under a new epoch.
with_log "$B_LOG" mark_log
B_MARK=$(stat -c %s "$B_LOG")
kill -STOP "$B_PID"
timeout 10 bash -c "while [ \"\$(\"$FORQ\" -s '$SOCK' nodes --json | jq '.nodes[] | select(.node == \"b\") | .alive')\" != false ]; do sleep 0.2; done" ||
	fail "b was not seen lost: $(fq nodes --json)"
fq nodes | grep -q '^b .* lost ' || fail "the table does not say lost: $(fq nodes)"
kill -CONT "$B_PID"
save_mark=$LOG_MARK
LOG=$B_LOG LOG_MARK=$B_MARK wait_log 'node b: the lease was lost' 10
LOG=$B_LOG LOG_MARK=$B_MARK wait_log 'node b: joined again as epoch 2' 10
LOG_MARK=$save_mark
timeout 10 bash -c "while [ \"\$(\"$FORQ\" -s '$SOCK' nodes --json | jq -c '.nodes[] | select(.node == \"b\") | [.alive, .epoch]')\" != '[true,2]' ]; do sleep 0.2; done" ||
	fail "b is not back as epoch 2: $(fq nodes --json)"
ok "a node stopped past its lease is seen lost, finds its lease gone, and joins again"

# The database goes away: forqd keeps answering, says so, and comes back
# by itself when the database does.
mark_log
pg_stop fast
wait_log 'node a: database unreachable' 10
fq ping >/dev/null || fail "forqd does not answer without its database"
[ "$(fq workers --json | jq .store.connected)" = false ] || fail "workers: $(fq workers --json | jq -c .store)"
rc=0
out=$(fq nodes 2>&1) || rc=$?
[ $rc -eq 75 ] && grep -q 'database unreachable' <<<"$out" || fail "nodes without a database: rc $rc: $out"
mark_log
pg_start
wait_log 'node a: database connected' 15
[ "$(fq workers --json | jq .store.connected)" = true ] || fail "workers: $(fq workers --json | jq -c .store)"
[ "$(fq nodes --json | jq '.nodes | length')" = 2 ] || fail "nodes after: $(fq nodes --json)"
ok "a restart of PostgreSQL: forqd answers meanwhile, says so, and reconnects by itself"

# A node that stops says so.
stop_b
timeout 10 bash -c "while [ \"\$(\"$FORQ\" -s '$SOCK' nodes --json | jq -r '.nodes[] | select(.node == \"b\") | .state')\" != stopped ]; do sleep 0.2; done" ||
	fail "b not stopped: $(fq nodes --json)"
ok "a node that stops is listed stopped"

# Requests for jobs are refused with the reason, for now.
rc=0
out=$(fq submit -- true 2>&1) || rc=$?
[ $rc -ne 0 ] && grep -q 'not taken yet' <<<"$out" || fail "submit on a cluster node: rc $rc: $out"
ok "job requests on a cluster node are refused, saying why"

# A database of a newer schema is refused at start.
stop_forqd
pg_sql "UPDATE forq_meta SET value = '999' WHERE key = 'schema'"
rc=0
mark_log
timeout 30 "$FORQD" -c "$CONF" >>"$LOG" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "forqd started on a newer schema (rc $rc)"
grep -q "schema is version 999, newer than this forqd's" "$LOG" || fail "no reason: $(tail -n 3 "$LOG")"
ok "a database of a newer schema stops forqd at start, saying so"
