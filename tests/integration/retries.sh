# Retries: the backoff between attempts, which ends are retried, every
# attempt in forq status, a queue's defaults, forq retry, and a retry
# that outlives forqd itself.
. "$(dirname "$0")/lib.sh"

field() { # ID FIELD
	fq status --json "$1" | jq -cr ".job.$2"
}

write_conf "slots = 2" "[jobs]" "crash_requeue_max = 0" \
	"[queue flaky]" "retries = 1" "retry_delay = 0"
start_forqd

# Three attempts of a job that always fails, 200 ms, then 400 ms apart
# (give or take a fifth).
rc=0; id=$(fq submit --retries 2 --retry-delay 200ms -- sh -c 'exit 3')
fq wait "$id" || rc=$?
[ $rc -eq 3 ] || fail "wait: exit $rc, want 3"
[ "$(field "$id" state)/$(field "$id" attempt)" = "failed/3" ] ||
	fail "after 3 attempts: $(field "$id" state)/$(field "$id" attempt)"
fq status --json "$id" >"$T/st"
[ "$(jq -c '[.job.attempts[] | [.attempt, .state, .exit_code]]' "$T/st")" = '[[1,"failed",3],[2,"failed",3]]' ] ||
	fail "attempts: $(jq -c .job.attempts "$T/st")"
gap1=$(jq '.job.attempts[1].started_at - .job.attempts[0].ended_at' "$T/st")
gap2=$(jq '.job.started_at - .job.attempts[1].ended_at' "$T/st")
awk -v a="$gap1" -v b="$gap2" 'BEGIN { exit !(a >= 0.16 && a < 1 && b >= 0.32 && b < 1.5) }' ||
	fail "backoff: $gap1 s then $gap2 s, want about 0.2 then 0.4"
fq status "$id" | grep -q '^attempt 2 .*failed, exit 3' || fail "status does not show attempt 2: $(fq status "$id")"
ok "--retries 2: three attempts, $(printf '%.2f s then %.2f s' "$gap1" "$gap2") apart, each in forq status"

# A job that succeeds on its second attempt.
id=$(fq submit --retries 3 --retry-delay 0 -- sh -c "[ -e '$T/second' ] || { touch '$T/second'; exit 1; }")
fq wait "$id" || fail "the second attempt did not succeed"
[ "$(field "$id" attempt)" = 2 ] || fail "attempt $(field "$id" attempt), want 2"
ok "a job that fails once succeeds on its second attempt, and stops there"

# --retry-on: only the ends it names are retried.
rc=0; id=$(fq submit --retries 2 --retry-delay 0 --retry-on timeout -- sh -c 'exit 1')
fq wait "$id" || rc=$?
[ "$(field "$id" attempt)" = 1 ] || fail "exit retried under --retry-on timeout"
rc=0; id=$(fq submit --retries 1 --retry-delay 0 --retry-on timeout --timeout 200ms -- sleep 10)
fq wait "$id" || rc=$?
[ "$(field "$id" state)/$(field "$id" attempt)" = "timed_out/2" ] ||
	fail "timeout not retried: $(field "$id" state)/$(field "$id" attempt)"
[ "$(field "$id" retry_on)" = '["timeout"]' ] || fail "retry_on: $(field "$id" retry_on)"
rc=0; out=$(fq submit --retry-on exit,never -- true 2>&1) || rc=$?
[ $rc -eq 65 ] || fail "--retry-on never: $rc $out"
ok "--retry-on timeout: an exit is final, a timeout runs again; a bad word is refused"

# A queue's retries apply to its jobs; a job's own setting wins.
id=$(fq submit -q flaky -- sh -c 'exit 2')
fq wait "$id" || true
[ "$(field "$id" attempt)/$(field "$id" retries)" = "2/1" ] ||
	fail "queue retries: $(field "$id" attempt)/$(field "$id" retries)"
id=$(fq submit -q flaky --retries 0 -- sh -c 'exit 2')
fq wait "$id" || true
[ "$(field "$id" attempt)" = 1 ] || fail "--retries 0 in flaky: attempt $(field "$id" attempt)"
ok "[queue flaky] retries = 1 applies unless the job says otherwise"

# forq retry: an ended job runs again as its next attempt.
id=$(fq submit -- sh -c "[ -e '$T/fixed' ]")
fq wait "$id" || true
[ "$(field "$id" state)" = failed ] || fail "not failed first"
touch "$T/fixed"
[ "$(fq retry "$id")" = "$id attempt 2" ] || fail "forq retry output"
fq wait "$id" || fail "the retried job failed"
[ "$(field "$id" state)/$(field "$id" attempt)" = "succeeded/2" ] ||
	fail "after forq retry: $(field "$id" state)/$(field "$id" attempt)"
[ "$(fq status --json "$id" | jq -r '.job.attempts[0].state')" = failed ] ||
	fail "the first attempt is not kept"
sl=$(fq submit -- sleep 5)
rc=0; out=$(fq retry "$sl" 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *"has not ended"* ]] || fail "retry of a running job: $rc $out"
fq cancel "$sl" >/dev/null
ok "forq retry runs an ended job again (attempt 2); a running one is refused: $out"

# Cancelled while queued, then retried: it runs once, as attempt 2
# (the queue's entry from before the cancel is stale, and skipped).
fq pause
id=$(fq submit -- sh -c "echo \$FORQ_JOB_ATTEMPT >>'$T/attempts'")
fq cancel "$id" >/dev/null
fq retry "$id" >/dev/null
fq resume
fq wait "$id" || fail "the retried job failed"
[ "$(cat "$T/attempts")" = 2 ] || fail "ran as attempts: $(cat "$T/attempts" | tr '\n' ' ')"
[ "$(field "$id" attempt)/$(fq status --json "$id" | jq -r '.job.attempts[0].state')" = "2/cancelled" ] ||
	fail "status after cancel and retry"
ok "a job cancelled while queued and retried runs once, as attempt 2"

# A retry waiting for its time survives a restart.
id=$(fq submit --retries 1 --retry-delay 2s -- sh -c "[ -e '$T/later' ] || { touch '$T/later'; exit 1; }")
wait_log "job $id: attempt 1 of 2 exited 1; next in" 10
[ "$(field "$id" state)" = scheduled ] || fail "retry not scheduled: $(field "$id" state)"
stop_forqd
start_forqd
[ "$(field "$id" state)" = scheduled ] || fail "after restart: $(field "$id" state)"
fq wait "$id" || fail "the retry after a restart failed"
[ "$(field "$id" attempt)" = 2 ] || fail "attempt $(field "$id" attempt)"
ok "a scheduled retry survives a restart of forqd and runs"

# Lost in a crash of forqd with its workers (a worker alone would keep
# it for the next forqd): --retry-on lost runs it again, though
# crash_requeue_max = 0 would mark it lost.
mkfifo "$T/fifo"
id=$(fq submit --retries 1 --retry-on lost -- sh -c "[ -e '$T/again' ] && exit 0; touch '$T/again'; echo up >'$T/fifo'; sleep 30")
timeout 10 cat "$T/fifo" >/dev/null || fail "the job did not start"
pid=$(field "$id" pid)
# shellcheck disable=SC2046
kill -9 "$FORQD_PID" $(pgrep -P "$FORQD_PID")
wait "$FORQD_PID" 2>/dev/null || true
FORQD_PID=
kill -9 -- "-$pid" 2>/dev/null || true
start_forqd
fq wait "$id" || fail "the job lost in the crash did not succeed on its retry"
[ "$(field "$id" attempt)" = 2 ] || fail "attempt $(field "$id" attempt) after the crash"
ok "a job interrupted by a crash of forqd runs again under --retry-on lost"
