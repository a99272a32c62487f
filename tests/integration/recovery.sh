# What crash recovery records stays: jobs it marks lost are kept for
# the retention age, counted from their recovery; and ids only grow,
# across forq clean and restarts.
. "$(dirname "$0")/lib.sh"

# Two running jobs, forqd killed with its workers (a worker alone would
# keep them for the next forqd), no requeue: both end lost, and the
# first retention pass after the restart keeps them.
write_conf "slots = 2" "[daemon]" "log_level = debug" "[jobs]" "crash_requeue_max = 0" "retention_age = 1h"
start_forqd
mkfifo "$T/a" "$T/b"
a=$(fq submit -- sh -c "echo up >'$T/a'; exec sleep 60")
b=$(fq submit -- sh -c "echo up >'$T/b'; exec sleep 60")
timeout 10 cat "$T/a" "$T/b" >/dev/null || fail "the two jobs did not start"
# shellcheck disable=SC2046
kill -9 "$FORQD_PID" $(pgrep -P "$FORQD_PID")
wait "$FORQD_PID" 2>/dev/null || true
FORQD_PID=
before=$(date +%s)
start_forqd
wait_log 'retention: removed [0-9]+ finished jobs' 10
for id in $a $b; do
	st=$(fq status --json "$id" 2>&1) || fail "job $id is gone after the first retention pass: $st"
	[ "$(jq -r .job.state <<<"$st")" = lost ] || fail "job $id: $(jq -c .job <<<"$st")"
	end=$(jq -r '.job.end_ns // .job.ended_ns // empty' <<<"$st")
	if [ -n "$end" ]; then
		[ $((end / 1000000000)) -ge "$before" ] || fail "job $id ended at $end, before its recovery"
	fi
done
ok "jobs a crash left lost outlive the first retention pass (retention_age 1h)"
stop_forqd

# Ids only grow: after forq clean removes the newest job, and after a
# restart.
write_conf
start_forqd
x=$(fq submit -- true)
fq wait "$x" >/dev/null
fq clean >/dev/null
[ "$(fq list --json | jq '.jobs | length')" = 0 ] || fail "clean left jobs"
y=$(fq submit -- true)
[ "$y" -gt "$x" ] || fail "job $y after a clean of job $x: the id was given again"
fq wait "$y" >/dev/null
fq clean >/dev/null
stop_forqd
start_forqd
z=$(fq submit -- true)
[ "$z" -gt "$y" ] || fail "job $z after a clean of job $y and a restart: the id was given again"
ok "ids only grow: $x, cleaned, $y, cleaned, restarted, $z"
stop_forqd

# A store that takes no writes (another process holds its write lock,
# as an I/O error would): a cancel is refused and changes nothing; a
# job is not started while its running mark cannot be stored; the end
# of the job before it is kept, and all of it is stored once the store
# takes writes again.
lock_store() {
	mkfifo "$T/locked" "$T/unlock"
	python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
open(sys.argv[2]).read()
c.execute("ROLLBACK")
' "$T/state/jobs.db" "$T/unlock" >"$T/locked" &
	LOCKER=$!
	CLEANUP_HOOK=kill_locker
	read -r _ <"$T/locked"
}
kill_locker() { kill "$LOCKER" 2>/dev/null || true; }
unlock_store() {
	echo >"$T/unlock"
	wait "$LOCKER"
	rm -f "$T/locked" "$T/unlock"
}
write_conf "cpus = 0" "slots = 1"
start_forqd
: >"$T/hist"
rm -f "$T/k"
mkfifo "$T/k"
k=$(fq submit -- sh -c "echo up >'$T/k'; exec sleep 60")
j=$(fq submit -- sh -c "echo \"\$FORQ_JOB_ID \$FORQ_JOB_ATTEMPT\" >>'$T/hist'")
q=$(fq submit -- sh -c "echo \"\$FORQ_JOB_ID \$FORQ_JOB_ATTEMPT\" >>'$T/hist'")
timeout 10 cat "$T/k" >/dev/null || fail "job $k did not start"
lock_store
rc=0; out=$(fq cancel "$q" 2>&1) || rc=$?
[ $rc != 0 ] || fail "forq cancel $q said it was done while the store took no writes: $out"
ok "a cancel that cannot be stored is refused (exit $rc): $out"
mark_log
fq cancel "$k" >/dev/null || fail "cancel of the running job $k"
wait_log "job $j: cannot mark it running" 10
[ ! -s "$T/hist" ] || fail "a job ran while its running mark could not be stored: $(cat "$T/hist")"
ok "job $j is not started while its running mark cannot be stored"
unlock_store
fq wait "$j" "$q" >/dev/null || fail "jobs $j and $q did not succeed: $(fq list)"
[ "$(sort "$T/hist")" = "$(printf '%s 1\n%s 1\n' "$j" "$q")" ] || fail "runs: $(cat "$T/hist")"
[ "$(fq status --json "$k" | jq -r .job.state)" = cancelled ] || fail "job $k: $(fq status "$k")"
ok "once the store takes writes: $k recorded cancelled, $j and $q ran once each"
