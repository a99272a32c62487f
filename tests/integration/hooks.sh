# On-finish commands: a job's own (--on-finish) and forqd.conf's, run
# once the job has ended, with its id, state and exit status in the
# environment, in its directory; a failing one is logged and changes
# nothing; neither runs between the attempts of a retried job.
. "$(dirname "$0")/lib.sh"

mkfifo "$T/own" "$T/conf"
write_conf "slots = 2" "[jobs]" \
	"on_finish = echo \"conf \$FORQ_JOB_ID \$FORQ_JOB_STATE\" >'$T/conf'" \
	"on_finish_timeout = 2s"
start_forqd

mkdir "$T/here"
id=$(cd "$T/here" && fq submit -n named --on-finish 'echo "$FORQ_JOB_ID $FORQ_JOB_STATE $FORQ_JOB_EXIT_CODE/$FORQ_JOB_SIGNAL $FORQ_JOB_NAME $FORQ_JOB_QUEUE $(pwd)" >'"'$T/own'" -- sh -c 'exit 3')
own=$(timeout 10 cat "$T/own") || fail "the job's on-finish command did not run"
conf=$(timeout 10 cat "$T/conf") || fail "forqd.conf's on_finish did not run"
[ "$own" = "$id failed 3/ named default $T/here" ] || fail "own: $own"
[ "$conf" = "conf $id failed" ] || fail "conf: $conf"
[ "$(fq status --json "$id" | jq -r .job.on_finish)" != null ] || fail "status on_finish"
ok "--on-finish and on_finish ran once the job ended: $own"

# Killed by a signal: the signal, no exit code.
id=$(fq submit --on-finish "echo \$FORQ_JOB_STATE \$FORQ_JOB_EXIT_CODE/\$FORQ_JOB_SIGNAL >'$T/own'" -- sh -c 'kill -9 $$')
[ "$(timeout 10 cat "$T/own")" = "failed /9" ] || fail "signal"
timeout 10 cat "$T/conf" >/dev/null

# Retried: the command runs after the last attempt only.
id=$(fq submit --retries 2 --retry-delay 0 --on-finish "echo \$FORQ_JOB_ID >>'$T/retried'; echo x >'$T/own'" -- sh -c 'exit 1')
timeout 10 cat "$T/own" >/dev/null || fail "no on-finish after the retries"
timeout 10 cat "$T/conf" >/dev/null
[ "$(wc -l <"$T/retried")" = 1 ] || fail "ran $(wc -l <"$T/retried") times for one job"
[ "$(fq status --json "$id" | jq .job.attempt)" = 3 ] || fail "attempts"
ok "a retried job's command runs once, after its last attempt"

# A failing one, and one past on_finish_timeout: logged, job untouched.
mark_log
id=$(fq submit --on-finish 'echo failing; exit 5' -- true)
timeout 10 cat "$T/conf" >/dev/null
wait_log "job $id: on-finish command exited 5; its output is in .*/$id.hook" 10
[ "$(cat "$T/state/logs/$id.hook")" = failing ] || fail "hook output: $(cat "$T/state/logs/$id.hook")"
[ "$(fq status --json "$id" | jq -r .job.state)" = succeeded ] || fail "the job's state changed"
mark_log
id=$(fq submit --on-finish 'sleep 30' -- true)
timeout 10 cat "$T/conf" >/dev/null
wait_log "job $id: on-finish command (timed out|killed by signal 15)" 10
fq submit -w -- true >/dev/null || fail "forqd is not well after the hooks"
timeout 10 cat "$T/conf" >/dev/null
ok "a failing or hung on-finish command is logged; the job and forqd go on"

# Cancelled while queued: the commands run too.
fq pause
id=$(fq submit --on-finish "echo \$FORQ_JOB_STATE >'$T/own'" -- true)
fq cancel "$id" >/dev/null
fq resume
[ "$(timeout 10 cat "$T/own")" = cancelled ] || fail "no on-finish for a cancel"
timeout 10 cat "$T/conf" >/dev/null
ok "a job cancelled before it ran gets its on-finish command too"
