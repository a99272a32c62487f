# TERM stops in order; -d detaches with a pidfile that a second
# instance respects.
. "$(dirname "$0")/lib.sh"

STOP_GRACE=5s write_conf
start_forqd
pids=$(workers_json | jq -r '.[].pid')
t0=$(now_ms)
rc=0
stop_forqd || rc=$?
t1=$(now_ms)
[ $rc -eq 0 ] || fail "forqd exited $rc on TERM"
[ $((t1 - t0)) -lt 5000 ] || fail "stop took $((t1 - t0)) ms, grace is 5s"
for pid in $pids; do
	"$FORQ_PIDWAIT" "$pid" 1000 || fail "worker $pid outlived forqd"
done
[ ! -e "$SOCK" ] || fail "socket left behind"
[ ! -e "$PIDFILE" ] || fail "pidfile left behind"
grep -q "SIGTERM received: stopping" "$LOG" || fail "stop not logged"
ok "TERM: exit 0 in $((t1 - t0)) ms, workers gone, socket and pidfile removed"

# -d returns once ready, leaving the daemon and its pidfile.
"$FORQD" -d -c "$CONF" 2>>"$LOG" || fail "forqd -d failed"
daemon_pid=$(cat "$PIDFILE")
kill -0 "$daemon_pid" || fail "no daemon at the pidfile's pid"
FORQD_PID=
fq ping >/dev/null || fail "detached forqd does not answer"
rc=0
out=$("$FORQD" -c "$CONF" 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "a second forqd started"
[[ $out == *"already running as pid $daemon_pid (pidfile $PIDFILE)"* ]] || fail "message: $out"
ok "second instance refused: $out"
kill -TERM "$daemon_pid"
"$FORQ_PIDWAIT" "$daemon_pid" 10000 || fail "detached forqd did not stop"
[ ! -e "$PIDFILE" ] && [ ! -e "$SOCK" ] || fail "detached forqd left files"
ok "forqd -d: ready on return, stopped by TERM"

# A worker that ignores its retirement is killed at the end of the grace.
STOP_GRACE=500ms write_conf
start_forqd
pid=$(worker_field 0 pid)
kill -STOP "$pid"
t0=$(now_ms)
rc=0
stop_forqd || rc=$?
t1=$(now_ms)
[ $rc -eq 0 ] || fail "exit $rc"
grep -qE "worker 0 \(pid $pid, cpu [0-9]+\): not stopped within stop_grace \(500ms\); killing it" "$LOG" ||
	fail "no kill at the end of the grace period"
[ $((t1 - t0)) -ge 450 ] || fail "stopped after $((t1 - t0)) ms, before the grace"
ok "a stuck worker is killed after stop_grace ($((t1 - t0)) ms)"
