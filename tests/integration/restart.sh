# A killed worker is replaced on the same CPU at once; a worker that
# speaks garbage on its channel is replaced too.
. "$(dirname "$0")/lib.sh"

write_conf
start_forqd
old_pid=$(worker_field 0 pid)
cpu=$(worker_field 0 cpu)

mark_log
t0=$(now_ms)
kill -9 "$old_pid"
wait_log "worker 0 \(pid [0-9]+, cpu $cpu\) ready" 1
t1=$(now_ms)
new_pid=$(worker_field 0 pid)
[ "$new_pid" != "$old_pid" ] || fail "same pid after kill -9"
[ "$(worker_field 0 cpu)" = "$cpu" ] || fail "replacement not on cpu $cpu"
[ "$(worker_field 0 restarts)" = 1 ] || fail "restarts $(worker_field 0 restarts), want 1"
[ "$(worker_field 0 state)" = ready ] || fail "replacement not ready"
[[ "$(worker_field 0 last_exit)" == "killed by signal 9 (SIGKILL)" ]] ||
	fail "last exit: $(worker_field 0 last_exit)"
[ "$(cpus_allowed_of "$new_pid")" = "$cpu" ] || fail "replacement not pinned"
grep -qE "worker 0 \(pid $old_pid, cpu $cpu\) killed by signal 9 \(SIGKILL\) after" "$LOG" ||
	fail "death not logged with its cause"
ok "kill -9 worker 0: replaced by pid $new_pid on cpu $cpu in $((t1 - t0)) ms"
stop_forqd

# A worker sending a malformed frame is killed and replaced; forqd
# carries on serving.
write_conf "crash_loop_limit = 1000"
mark_log
FORQD_TEST_WORKER_FAULT=garbage:$cpu "$FORQD" -c "$CONF" >>"$LOG" 2>&1 &
FORQD_PID=$!
wait_log "worker 0 \(pid [0-9]+\): malformed message: protocol version 99, expected [0-9]+; replacing it" 10
wait_log "worker 0 \(pid [0-9]+, cpu $cpu\) killed by signal 9 \(SIGKILL\) \(protocol error\)" 10
fq ping >/dev/null || fail "forqd stopped answering"
ok "a worker speaking garbage is replaced, forqd still answers"
