# kill -9, twenty times, in the middle of 2,000 short jobs: of forqd
# alone, then of forqd and all its workers at once. Every job writes
# "ID ATTEMPT" when it runs. Afterwards: no (id, attempt) pair ran
# twice, no job recorded succeeded ran again after it, and every
# acknowledged job is there and ended; with forqd alone killed, its
# workers are taken on by the next, so each job that killed it ran
# once, as attempt 1.
. "$(dirname "$0")/lib.sh"

KILLS=${FORQ_CHAOS_KILLS:-20}
JOBS=2000

# chaos ROUND-NAME WITH-WORKERS(0|1): every hundredth job kills forqd
# (and its workers) the moment it starts, on its first attempt: the
# most hostile timing there is, right after a start.
chaos() {
	local name=$1 with_workers=$2 i kills=0 rc victims
	: >"$T/hist"
	: >"$T/acked"
	write_conf "slots = 4" "[jobs]" "crash_requeue_max = 1000"
	start_forqd
	victims='$(cat '"$PIDFILE"')'
	# With its workers: forqd is stopped first, so that it hands out no
	# more jobs while pgrep looks for them (jobs run faster than pgrep
	# reads /proc: a hundred could start meanwhile, the next killer too).
	[ "$with_workers" = 1 ] &&
		victims="\$(p=$victims; kill -STOP \$p; pgrep -P \$p; echo \$p)"
	for i in $(seq $JOBS); do
		if [ $((i % (JOBS / KILLS))) = 0 ]; then
			echo "echo \"\$FORQ_JOB_ID \$FORQ_JOB_ATTEMPT\" >>$T/hist; [ \$FORQ_JOB_ATTEMPT != 1 ] || kill -9 $victims"
		else
			echo "echo \"\$FORQ_JOB_ID \$FORQ_JOB_ATTEMPT\" >>$T/hist"
		fi
	done >"$T/batch"
	fq submit --batch "$T/batch" >"$T/batch-ids"
	cat "$T/batch-ids" >>"$T/acked"
	# One more client submits throughout; what it was told is queued
	# must be there at the end.
	(
		while [ -d "$T" ] && [ ! -e "$T/stop-submitting" ]; do
			"$FORQ" -s "$SOCK" submit -- sh -c "echo \"\$FORQ_JOB_ID \$FORQ_JOB_ATTEMPT\" >>$T/hist" \
				>>"$T/acked" 2>/dev/null || true
			sleep 0.05 # a client's pace, not a wait for an event
		done
	) &
	local submitter=$!
	# Wait for the batch; each time forqd is killed under us, start it
	# again.
	while :; do
		rc=0
		fq wait $(cat "$T/batch-ids") >/dev/null 2>&1 || rc=$?
		# The socket closes a moment before the process is gone.
		"$FORQ_PIDWAIT" "$FORQD_PID" 1000 2>/dev/null || break
		wait "$FORQD_PID" 2>/dev/null || true
		FORQD_PID=
		kills=$((kills + 1))
		[ $kills -le $((KILLS * 3)) ] || fail "$name: forqd was killed $kills times"
		start_forqd
	done
	[ $kills -ge "$KILLS" ] || fail "$name: forqd was killed $kills times, want $KILLS"
	touch "$T/stop-submitting"
	wait "$submitter" || true
	rm -f "$T/stop-submitting"
	fq wait $(cat "$T/acked") >/dev/null || true
	fq list --limit 100000 --json >"$T/list"
	local n=$(sort -u "$T/acked" | wc -l)
	local present=$(jq --slurpfile ids <(sort -u "$T/acked") \
		'[.jobs[] | select(.id as $i | $ids | index($i))] | length' "$T/list")
	[ "$present" = "$n" ] || fail "$name: $present of $n acknowledged jobs are in the store"
	local unended=$(jq '[.jobs[] | select(.state == "queued" or .state == "running")] | length' "$T/list")
	[ "$unended" = 0 ] || fail "$name: $unended jobs did not end"
	local twice=$(sort "$T/hist" | uniq -d)
	[ -z "$twice" ] || fail "$name: these (id, attempt) pairs ran twice: $(head -n 5 <<<"$twice")"
	# The attempt recorded for a succeeded job is the last that ran.
	jq -r '.jobs[] | select(.state == "succeeded") | "\(.id) \(.attempt)"' "$T/list" |
		sort -k1,1 >"$T/final"
	local again=$(sort -k1,1 "$T/hist" | join - "$T/final" | awk '$2 > $3' | head -n 5)
	[ -z "$again" ] || fail "$name: succeeded jobs ran again (id ran-attempt recorded-attempt): $again"
	local never=$(sort -k1,1 "$T/hist" | join - "$T/final" | awk '$2 == $3 { print $1 }' | sort -u | wc -l)
	[ "$never" = "$(wc -l <"$T/final")" ] || fail "$name: $(($(wc -l <"$T/final") - never)) jobs recorded succeeded never ran as that attempt"
	# forqd alone killed: its workers keep the jobs, and the next forqd
	# takes them on; each job that killed forqd ran once, as attempt 1.
	if [ "$with_workers" = 0 ]; then
		local killers=$(awk "NR % $((JOBS / KILLS)) == 0" "$T/batch-ids" | tr '\n' ' ')
		local kept=$(jq --argjson ids "[${killers// /,}0]" \
			'[.jobs[] | select(.id as $i | $ids | index($i)) | select(.state == "succeeded" and .attempt == 1)] | length' "$T/list")
		[ "$kept" = "$KILLS" ] ||
			fail "$name: $kept of the $KILLS jobs that killed forqd lived through it (succeeded, attempt 1): $(jq -c --argjson ids "[${killers// /,}0]" '[.jobs[] | select(.id as $i | $ids | index($i)) | {id, state, attempt}]' "$T/list")"
		local taken=$(grep -c 'of the previous forqd taken on' "$LOG" || true)
		ok "$name: the $KILLS jobs that killed forqd each ran once, attempt 1 ($taken workers taken on)"
	fi
	local states=$(jq -r '[.jobs[].state] | group_by(.) | map("\(.[0]) \(length)") | join(", ")' "$T/list")
	local runs=$(wc -l <"$T/hist")
	ok "$name: $kills kill -9s, $n acknowledged jobs all present and ended ($states); $runs runs, no (id, attempt) twice"
	stop_forqd
	rm -rf "$T/state"
}

chaos "forqd alone" 0
chaos "forqd with its workers" 1
