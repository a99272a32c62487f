# Jobs end to end through the CLI: exit statuses, cwd and env, pinning,
# the asynchronous worker, timeouts, cancels, output, a large batch.
. "$(dirname "$0")/lib.sh"

job_field() { # ID FIELD
	fq status --json "$1" | jq -r ".job.$2"
}

write_conf "[jobs]" "kill_grace = 500ms" "output_max = 64K"
start_forqd

out=$(fq submit -w -o -- echo hello 2>/dev/null)
[ "$out" = hello ] || fail "echo hello printed '$out'"
rc=0; fq submit -w -- sh -c 'exit 3' 2>/dev/null || rc=$?
[ $rc -eq 3 ] || fail "exit 3 gave $rc"
rc=0; fq submit -w -- sh -c 'kill -9 $$' 2>/dev/null || rc=$?
[ $rc -eq 137 ] || fail "kill -9 gave $rc"
ok "exit statuses: 0, 3, 137 (128+SIGKILL)"

mkdir -p "$T/work dir"
export FORQ_TEST_INHERITED=from-caller
out=$(cd "$T" && fq submit -w -o --cwd "work dir" --env FOO=bar -- \
	sh -c 'pwd; echo "$FOO"; echo "$FORQ_TEST_INHERITED"; echo "$FORQ_JOB_ID"' 2>/dev/null)
id=$(sed -n 4p <<<"$out")
[ "$(sed -n 1,3p <<<"$out")" = "$T/work dir
bar
from-caller" ] || fail "cwd/env: $out"
[ "$(job_field "$id" id)" = "$id" ] || fail "FORQ_JOB_ID $id"
out=$(fq submit -w -o --clean-env --env ONLY=1 -- /usr/bin/env 2>/dev/null | grep -v '^FORQ_JOB_' | sort)
[ "$out" = "ONLY=1" ] || fail "--clean-env: $out"
ok "a job sees its cwd and env as submitted (and FORQ_JOB_ID)"

rc=0; id=$(fq submit -- no-such-command-forq); fq wait "$id" || rc=$?
[ $rc -eq 127 ] || fail "missing command: exit $rc"
[ "$(job_field "$id" state)" = failed ] || fail "missing command state"
[ "$(job_field "$id" error)" = "cannot execute no-such-command-forq: No such file or directory" ] ||
	fail "missing command error: $(job_field "$id" error)"
printf '#!/bin/sh\n' >"$T/noexec"
rc=0; id=$(fq submit -- "$T/noexec"); fq wait "$id" || rc=$?
[ "$(job_field "$id" error)" = "cannot execute $T/noexec: Permission denied" ] ||
	fail "not executable: $(job_field "$id" error)"
ok "a command that cannot run says why: $(job_field "$id" error)"

ids=
for i in 1 2 3 4 5 6; do
	ids="$ids $(fq submit -- sh -c 'grep Cpus_allowed_list: /proc/self/status')"
done
fq wait $ids
for id in $ids; do
	cpu=$(job_field "$id" cpu)
	got=$(fq logs --stdout "$id" | awk '{print $2}')
	[ "$got" = "$cpu" ] || fail "job $id on worker cpu $cpu has Cpus_allowed_list $got"
done
ok "each job runs pinned to its worker's CPU"

# Timeouts: TERM, and KILL after kill_grace for a job that ignores it.
rc=0; fq submit -w --timeout 300ms -- sleep 30 2>/dev/null || rc=$?
[ $rc -eq 143 ] || fail "timeout: exit $rc"
rc=0; id=$(fq submit --timeout 300ms -- sh -c 'trap "" TERM; while :; do sleep 0.05; done')
fq wait "$id" || rc=$?
[ "$(job_field "$id" state)" = timed_out ] && [ "$(job_field "$id" signal)" = 9 ] ||
	fail "ignoring TERM: $(fq status --json "$id")"
ok "timeouts: TERM, then KILL after kill_grace for a job ignoring TERM"

# Cancel: running (TERM), running and ignoring TERM (KILL), queued.
# Each job says it is up through a FIFO, an event the test waits for.
mkfifo "$T/up"
id=$(fq submit -- sh -c "echo up >$T/up; exec sleep 30")
timeout 10 cat "$T/up" >/dev/null || fail "job $id never started"
fq logs -f "$id" >/dev/null & follower=$!
[ "$(fq cancel "$id")" = "$id stopping" ] || fail "cancel running"
rc=0; fq wait "$id" || rc=$?
[ $rc -eq 143 ] && [ "$(job_field "$id" state)" = cancelled ] || fail "cancelled running: $rc"
wait "$follower" || fail "logs -f did not end with the job"
id=$(fq submit -- sh -c "trap '' TERM; echo up >$T/up; while :; do sleep 0.05; done")
timeout 10 cat "$T/up" >/dev/null || fail "job $id never started"
fq cancel "$id" >/dev/null
rc=0; fq wait "$id" || rc=$?
[ $rc -eq 137 ] && [ "$(job_field "$id" state)" = cancelled ] || fail "cancel ignoring TERM: $rc"
ok "cancel of running jobs: TERM, then KILL after kill_grace"
stop_forqd

# slots = 4 on one CPU: four sleeps overlap; slots = 1: one at a time.
for slots in 4 1; do
	write_conf "cpus = $(allowed_cpus | head -n 1)" "slots = $slots"
	start_forqd
	ids=$(printf 'sleep 1\n%.0s' 1 2 3 4 | fq submit --batch -)
	fq wait $ids
	spans=$(for id in $ids; do fq status --json "$id" | jq -r '"\(.job.started_at) \(.job.ended_at)"'; done | sort -n)
	if [ $slots = 4 ]; then
		awk '{ if ($1 > maxs) maxs = $1; if (mine == "" || $2 < mine) mine = $2 }
			END { exit !(maxs < mine) }' <<<"$spans" || fail "slots=4 did not overlap: $spans"
		ok "slots = 4 on one CPU: four sleep 1 ran at the same time"
		# A queued job is cancelled at once and never starts.
		blockers=$(printf 'sleep 30\n%.0s' 1 2 3 4 | fq submit --batch -)
		id=$(fq submit -- true)
		[ "$(fq cancel "$id")" = "$id cancelled" ] || fail "cancel queued"
		[ "$(job_field "$id" started_at)" = null ] || fail "a cancelled queued job started"
		fq cancel $blockers >/dev/null
		fq wait $blockers || true
		ok "a queued job is cancelled at once"
	else
		awk 'NR > 1 && $1 < prev_end { exit 1 } { prev_end = $2 }' <<<"$spans" ||
			fail "slots=1 overlapped: $spans"
		ok "slots = 1: they ran one after another"
	fi
	stop_forqd
done

write_conf "[jobs]" "output_max = 64K"
start_forqd
id=$(fq submit -- sh -c 'echo to-out; echo to-err >&2')
fq wait "$id"
[ "$(fq logs --stdout "$id")" = to-out ] && [ "$(fq logs --stderr "$id" 2>&1)" = to-err ] ||
	fail "logs --stdout/--stderr"
id=$(fq submit -- yes)
rc=0; fq wait "$id" || rc=$?
[ "$(job_field "$id" error)" = "output over output_max (65536 bytes)" ] ||
	fail "output cap: $(fq status --json "$id")"
ok "stdout and stderr apart; a runaway job stopped at output_max"

# A client that goes away mid-wait disturbs nothing.
id=$(fq submit -- sleep 1)
fq wait "$id" & waiter=$!
kill -9 "$waiter"
fq wait "$id" || fail "the job was disturbed by its waiter's death"
fq ping >/dev/null
ok "a waiting client that disconnects does not disturb the job"

# 10,000 jobs in one batch: all succeed, each recorded once.
seq 10000 | sed "s/.*/true/" >"$T/batch"
t0=$(now_ms)
rc=0; fq submit --batch "$T/batch" -w >"$T/ids" || rc=$?
[ $rc -eq 0 ] || fail "batch failed: exit $rc"
t1=$(now_ms)
[ "$(sort -u "$T/ids" | wc -l)" = 10000 ] || fail "not 10,000 distinct ids"
fq list --state succeeded --limit 100000 --json >"$T/list"

got=$(jq -r ".jobs[].id" "$T/list" | sort | comm -12 - <(sort "$T/ids") | wc -l)
[ "$got" = 10000 ] || fail "$got of 10,000 batch jobs succeeded"
[ "$(jq '[.jobs[] | select(.attempt != 1)] | length' "$T/list")" = 0 ] || fail "some ran twice"
ok "--batch of 10,000 true: all succeeded once, in $((t1 - t0)) ms"
