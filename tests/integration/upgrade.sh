# An upgrade across a change of the channel or shared-memory layout:
# the next forqd cannot take the old workers on, and drains them. Their
# jobs run on to their end, once each, recorded with their real status
# as attempt 1; a cancel reaches them; no worker of the new forqd starts
# on their CPUs until they are gone, and then one does. The old binary
# is played by a build of the same sources with another layout.
. "$(dirname "$0")/lib.sh"
: "${FORQD_LAYOUT_NEXT:?path to forqd built with another layout}"

state() {
	fq status --json "$1" | jq -r .job.state
}

write_conf "slots = 2"
NEW_FORQD=$FORQD
FORQD=$FORQD_LAYOUT_NEXT
start_forqd
mkfifo "$T/up" "$T/go" "$T/go2"
a=$(start_held a "read _ <'$T/go'")
b=$(start_held b "read _ <'$T/go2'; exit 3")
c=$(start_held c "exec sleep 300")
busy=$(workers_json | jq -r '[.[] | select((.jobs | length) > 0) | .pid] | join(" ")')
[ -n "$busy" ] || fail "no busy worker: $(workers_json)"
stop_forqd || fail "the old forqd exited $? on TERM"

FORQD=$NEW_FORQD
start_forqd
n=$(grep -c "speaks another layout .*: it cannot be taken on, and drains" "$LOG")
[ "$n" = "$(wc -w <<<"$busy")" ] || fail "$n workers drained, not those of pids $busy: $(grep -i layout "$LOG")"
for id in $a $b $c; do
	[ "$(state "$id")" = running ] || fail "job $id after the upgrade: $(fq status "$id")"
done
for pid in $busy; do
	kill -0 "$pid" || fail "old worker $pid did not live on"
	fq workers | grep -qE "^[0-9]+ +$pid +[0-9]+ +draining " || fail "forq workers does not show pid $pid draining: $(fq workers)"
done
ok "the upgraded forqd drains the old workers (pids $busy); jobs $a $b $c run on"

# A forqd restarted while the old workers drain leaves them draining
# (TERM), and the next one asks them again.
stop_forqd || fail "forqd exited $? on TERM while workers drained"
for pid in $busy; do
	kill -0 "$pid" || fail "old worker $pid did not outlive the restart"
done
mark_log
start_forqd
[ "$(grep -c "speaks another layout .*: it cannot be taken on, and drains" "$LOG")" = $((2 * n)) ] ||
	fail "the restarted forqd did not drain the old workers again: $(grep -i layout "$LOG")"
for id in $a $b; do
	[ "$(state "$id")" = running ] || fail "job $id after a restart during the drain: $(fq status "$id")"
done
ok "a restart during the drain leaves the old workers draining; the next forqd drains them again"

# A cancel reaches a job on a draining worker.
fq cancel "$c" >/dev/null || fail "cancel $c"
rc=0
fq wait "$c" >/dev/null || rc=$?
[ "$(state "$c")" = cancelled ] || fail "job $c: $(fq status "$c")"
ok "a job on a draining worker is cancelled (exit $rc)"

mark_log
let_go_two "$a" "$b" "a b c"
for pid in $busy; do
	"$FORQ_PIDWAIT" "$pid" 10000 || fail "old worker $pid did not exit once drained"
done
[ -z "$(ls "$T/state/ends")" ] || fail "end files left: $(ls "$T/state/ends")"
ok "the drained jobs ended once each, as attempt 1: $a succeeded, $b failed (exit 3); the old workers exited"

# Their CPUs have workers of this forqd again, which run new jobs.
for i in 1 2; do
	[ "$(workers_json | jq '[.[] | select(.state == "ready")] | length')" = 2 ] && break
	wait_log "worker [0-9]+ \(pid [0-9]+, cpu [0-9]+\) ready" 10
done
[ "$(workers_json | jq '[.[] | select(.state == "ready")] | length')" = 2 ] || fail "workers: $(fq workers)"
out=$(fq submit -w -o -- echo fresh) || fail "a new job after the drain"
[ "$out" = fresh ] || fail "new job printed $out"
ok "once drained, the CPUs have workers of the new forqd, which run new jobs"
stop_forqd
