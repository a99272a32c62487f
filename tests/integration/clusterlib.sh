# Two nodes of a cluster on the test's own PostgreSQL (pglib.sh): node
# a is lib.sh's forqd; node b a second one with its own socket, state,
# log and conf. Sourced after lib.sh and pglib.sh.

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
# A second user, made by a test that needs one.
U=forqtestu$$
cluster_cleanup() {
	kill -CONT "$B_PID" 2>/dev/null || true
	stop_b
	pg_cleanup
	userdel "$U" 2>/dev/null || true
}
CLEANUP_HOOK=cluster_cleanup

# The key every node signs specs with: one file, root's alone.
(umask 077 && head -c 32 /dev/urandom >"$T/cluster.key")

store_section() {
	echo "[store]"
	echo "backend = postgresql"
	echo "dsn = ${DSN:-$PG_DSN}"
	echo "node = $1"
	echo "lease = ${LEASE:-2s}"
	echo "cluster_key = ${KEY:-$T/cluster.key}"
	echo "[queue one]"
	echo "parallel = 1"
}

# start_b: node b's forqd, in the background, ready (as its log says
# from this start on).
start_b() {
	local mark
	mark=$(stat -c %s "$B_LOG" 2>/dev/null || echo 0)
	"$FORQD" -c "$B/conf" >>"$B_LOG" 2>&1 &
	B_PID=$!
	LOG=$B_LOG LOG_MARK=$mark wait_log 'ready: [0-9]+ of [0-9]+ workers' 20
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

# st SOCK ID JQ: a field of a job's status, asked of one node.
st() { "$FORQ" -s "$1" status --json "$2" | jq -r "$3"; }

# write_b_conf: node b's conf (two slots), as store_section names it.
write_b_conf() {
	{
		echo "[daemon]"
		echo "socket = $B/sock"
		echo "pidfile = $B/pid"
		echo "state_dir = $B/state"
		echo "[access]"
		echo "allow_root_jobs = yes"
		echo "[workers]"
		echo "heartbeat_interval = 100ms"
		echo "slots = 2"
		echo "slots_adapt = no"
		store_section b
	} >"$B/conf"
}
