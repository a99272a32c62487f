# A stopped worker's heartbeat goes stale: it is killed and replaced
# once heartbeat_timeout has passed, not before.
. "$(dirname "$0")/lib.sh"

HEARTBEAT_TIMEOUT=1s write_conf
start_forqd
old_pid=$(worker_field 0 pid)
cpu=$(worker_field 0 cpu)
mark_log
t0=$(now_ms)
kill -STOP "$old_pid"
wait_log "worker 0 \(pid $old_pid, cpu $cpu\) is hung: no heartbeat for [0-9.]+s \(heartbeat_timeout 1.0s\); killing it" 10
t1=$(now_ms)
wait_log "worker 0 \(pid [0-9]+, cpu $cpu\) ready" 5
new_pid=$(worker_field 0 pid)
[ "$new_pid" != "$old_pid" ] || fail "not replaced"
"$FORQ_PIDWAIT" "$old_pid" 5000 || fail "hung worker $old_pid still exists"
[[ "$(worker_field 0 last_exit)" == *"(hung)" ]] || fail "last exit: $(worker_field 0 last_exit)"
# The last heartbeat may precede the STOP by one interval (100ms).
[ $((t1 - t0)) -ge 850 ] || fail "killed after $((t1 - t0)) ms, before heartbeat_timeout"
ok "stopped worker killed $((t1 - t0)) ms after SIGSTOP (heartbeat_timeout 1s), replaced by $new_pid"
