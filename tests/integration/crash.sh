# Crashes lose nothing: workers killed under load, and forqd itself
# killed with -9 in the middle of a batch.
. "$(dirname "$0")/lib.sh"

# Workers die every 100 ms: the restart policy must not hold them.
write_conf "restart_delay = 1ms" "restart_delay_max = 10ms" \
	"crash_loop_limit = 1000" "[jobs]" "crash_requeue_max = 5"
start_forqd
: >"$T/runs"
for i in $(seq 2000); do echo "echo \$FORQ_JOB_ID >>$T/runs"; done >"$T/batch"
fq submit --batch "$T/batch" >"$T/ids"
# The killer says why if it stops before it is stopped.
(
	end=$(($(date +%s) + 120))
	while [ "$(date +%s)" -lt "$end" ]; do
		out=$("$FORQ" -s "$SOCK" workers --json 2>&1) ||
			{ echo "forq workers: $out" >"$T/killer"; break; }
		pids=$(jq -r '.workers[].pid | select(. > 0)' <<<"$out") ||
			{ echo "forq workers said: $out" >"$T/killer"; break; }
		[ -n "$pids" ] && kill -9 $(shuf -n 1 <<<"$pids") 2>/dev/null
		sleep 0.1
	done
) & killer=$!
rc=0; fq wait $(cat "$T/ids") >/dev/null || rc=$?
kill "$killer" 2>/dev/null || true
wait "$killer" || true
[ ! -s "$T/killer" ] || fail "the worker killer stopped early: $(cat "$T/killer")"
kills=$(grep -c 'killed by signal 9 (SIGKILL)' "$LOG" || true)
fq list --limit 100000 --json >"$T/list"
states=$(jq -r '.jobs[].state' "$T/list" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
[ "$(jq '[.jobs[] | select(.state == "succeeded")] | length' "$T/list")" = 2000 ] ||
	fail "not all 2,000 succeeded: $states $(jq -c '[.jobs[] | select(.state != "succeeded")] | .[:3]' "$T/list")"
[ "$(sort "$T/runs" | uniq -d | wc -l)" = 0 ] || fail "jobs ran twice: $(sort "$T/runs" | uniq -d | head)"
[ "$(sort -u "$T/runs" | wc -l)" = 2000 ] || fail "$(sort -u "$T/runs" | wc -l) jobs ran"
adopted=$(grep -c 'forqd watches it now' "$LOG" || true)
ok "2,000 jobs, $kills worker kills: all succeeded, none ran twice ($adopted adopted)"
stop_forqd

# kill -9 forqd mid-batch, start it again: every acknowledged job is
# there and ends; none stays running.
write_conf "slots = 8" "[jobs]" "crash_requeue_max = 3"
start_forqd
for i in $(seq 2000); do echo "sleep 0.0\$((\$FORQ_JOB_ID % 10))"; done >"$T/batch"
fq submit --batch "$T/batch" >"$T/ids2"
fq wait $(head -n 200 "$T/ids2") >/dev/null
kill -9 "$FORQD_PID"
wait "$FORQD_PID" || true
start_forqd
grep -E "recovered [0-9]+ jobs left running by a previous forqd" "$LOG" || true
fq wait $(cat "$T/ids2") >/dev/null || true
fq list --limit 100000 --json | jq "[.jobs[] | select(.id >= $(head -n 1 "$T/ids2"))]" >"$T/list2"
[ "$(jq length "$T/list2")" = 2000 ] || fail "$(jq length "$T/list2") of 2,000 acknowledged jobs present"
[ "$(jq '[.[] | select(.state == "queued" or .state == "running")] | length' "$T/list2")" = 0 ] ||
	fail "jobs left unfinished"
succeeded=$(jq '[.[] | select(.state == "succeeded")] | length' "$T/list2")
requeued=$(jq '[.[] | select(.attempt > 1)] | length' "$T/list2")
lost=$(jq '[.[] | select(.state == "lost")] | length' "$T/list2")
other=$(jq '[.[] | select(.state != "succeeded" and .state != "lost")] | length' "$T/list2")
[ "$other" = 0 ] || fail "unexpected states: $(jq -c '[.[] | .state] | group_by(.) | map({(.[0]): length}) | add' "$T/list2")"
ok "kill -9 forqd mid-batch: 2,000 present; $succeeded succeeded ($requeued of them re-queued), $lost lost"
