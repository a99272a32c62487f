# A worker that dies at every start is held as crash-looping while forqd
# keeps serving; one that exits with the fatal configuration code is not
# restarted at all.
. "$(dirname "$0")/lib.sh"

cpu=$(allowed_cpus | tail -n 1)
write_conf "restart_delay = 10ms" "crash_loop_limit = 3" \
	"crash_loop_window = 1m" "crash_loop_hold = 1m"
mark_log
FORQD_TEST_WORKER_FAULT=abort:$cpu "$FORQD" -c "$CONF" >>"$LOG" 2>&1 &
FORQD_PID=$!
wait_log "cpu $cpu\) is in a crash loop: 3 deaths within 1m0s; holding it for 1m0s" 20
wait_log 'ready: [0-9]+ of [0-9]+ workers' 20
row=$(workers_json | jq -c ".[] | select(.cpu == $cpu)")
[ "$(jq -r .state <<<"$row")" = crash-loop ] || fail "not held: $row"
[ "$(jq -r .restarts <<<"$row")" = 2 ] || fail "restarts: $row"
[ "$(jq -r .pid <<<"$row")" = 0 ] || fail "a held worker has a process: $row"
[[ "$(jq -r .last_exit <<<"$row")" == "killed by signal 6 (SIGABRT)"* ]] || fail "last exit: $row"
[ "$(jq -r .retry_in_ms <<<"$row")" -gt 50000 ] || fail "not held for the hold time: $row"
fq ping >/dev/null || fail "forqd does not answer ping"
others=$(workers_json | jq "[.[] | select(.cpu != $cpu and .state == \"ready\")] | length")
[ "$others" = $(($(allowed_cpus | wc -l) - 1)) ] || fail "other workers not ready: $(workers_json)"
ok "crash-looping worker on cpu $cpu held, $others other workers serving"
stop_forqd

write_conf
mark_log
FORQD_TEST_WORKER_FAULT=config:$cpu "$FORQD" -c "$CONF" >>"$LOG" 2>&1 &
FORQD_PID=$!
wait_log "cpu $cpu\) exited with the fatal configuration code 78; not restarting it" 20
wait_log 'ready: [0-9]+ of [0-9]+ workers' 20
row=$(workers_json | jq -c ".[] | select(.cpu == $cpu)")
[ "$(jq -r .state <<<"$row")" = failed ] || fail "state: $row"
[ "$(jq -r .restarts <<<"$row")" = 0 ] || fail "restarted: $row"
fq ping >/dev/null || fail "forqd does not answer ping"
ok "a worker exiting with code 78 is not respawned"
