# SIGHUP: a broken conf is refused with file:line and the old one kept;
# a changed CPU list makes the workers follow, gracefully.
. "$(dirname "$0")/lib.sh"
need_cpus 2
read -r c0 c1 <<<"$(allowed_cpus | head -n 2 | tr '\n' ' ')"

write_conf "cpus = $c0"
start_forqd
pid0=$(worker_field 0 pid)
[ "$(workers_json | jq length)" = 1 ] || fail "cpus = $c0 should give one worker"

# Broken: an unknown key.
cp "$CONF" "$T/good.conf"
write_conf "cpus = $c0" "cpu_count = 2"
line=$(grep -n '^cpu_count' "$CONF" | cut -d: -f1)
mark_log
kill -HUP "$FORQD_PID"
wait_log "reload failed; keeping the current configuration" 10
grep -qF "$CONF:$line: unknown key \"cpu_count\" in [workers]" "$LOG" ||
	fail "the error is not logged as file:line: message"
fq ping >/dev/null || fail "forqd stopped answering after a bad reload"
[ "$(worker_field 0 pid)" = "$pid0" ] || fail "a bad reload touched the workers"
[ "$(workers_json | jq length)" = 1 ] || fail "a bad reload changed the workers"
ok "HUP with a broken conf: kept running on the old one, error at $CONF:$line"

# Widen to two CPUs: the old worker stays, a new one starts.
write_conf "cpus = $c0,$c1"
mark_log
kill -HUP "$FORQD_PID"
wait_log "configuration reloaded; workers on cpus" 10
wait_log "\(pid [0-9]+, cpu $c1\) ready" 10
[ "$(workers_json | jq length)" = 2 ] || fail "want 2 workers: $(workers_json)"
[ "$(worker_field 0 pid)" = "$pid0" ] || fail "the worker on cpu $c0 was replaced"
pid1=$(workers_json | jq -r ".[] | select(.cpu == $c1) | .pid")
[ "$(cpus_allowed_of "$pid1")" = "$c1" ] || fail "new worker not pinned to $c1"
ok "HUP with cpus = $c0,$c1: worker $pid0 kept, $pid1 started on cpu $c1"

# Narrow to the second CPU: the first worker retires and exits 0.
write_conf "cpus = $c1"
mark_log
kill -HUP "$FORQD_PID"
wait_log "worker 0 \(pid $pid0, cpu $c0\): cpu no longer in the plan, retiring" 10
wait_log "worker 0 \(pid $pid0, cpu $c0\) exited with status 0" 10
"$FORQ_PIDWAIT" "$pid0" 5000 || fail "retired worker still running"
[ "$(workers_json | jq -r '.[].cpu')" = "$c1" ] || fail "workers: $(workers_json)"
[ "$(workers_json | jq -r '.[].pid')" = "$pid1" ] || fail "cpu $c1 worker replaced"
ok "HUP with cpus = $c1: the worker on cpu $c0 retired"

# Keys bound to start-up resources are kept, with a warning.
sed -i "s|^socket = .*|socket = $T/other.sock|" "$CONF"
mark_log
kill -HUP "$FORQD_PID"
wait_log "changing socket needs a restart; keeping the current value" 10
fq ping >/dev/null || fail "the socket moved"
ok "a changed socket is refused until restart"
