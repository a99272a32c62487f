# Running jobs live through a crash of forqd: its workers keep them,
# and the next forqd takes the workers on, jobs and all. Each job runs
# once, ends with its real status, as attempt 1; an end that came while
# no forqd ran is recorded as it was; a worker left alone past
# adopt_timeout ends its jobs, which are queued again.
. "$(dirname "$0")/lib.sh"

# crash FORQD: kill -9 of forqd alone; its workers live on.
crash() {
	kill -9 "$FORQD_PID"
	wait "$FORQD_PID" 2>/dev/null || true
	FORQD_PID=
}
state() {
	fq status --json "$1" | jq -r .job.state
}
# The pid of the worker running job ID.
worker_of() {
	worker_field "$(fq status --json "$1" | jq .job.worker)" pid
}

write_conf "slots = 2"
start_forqd
mkfifo "$T/up" "$T/go" "$T/go2"
a=$(start_held a "read _ <'$T/go'")
b=$(start_held b "read _ <'$T/go2'; exit 3")
wa=$(worker_of "$a")
wb=$(worker_of "$b")
crash
kill -0 "$wa" && kill -0 "$wb" || fail "the workers died with forqd"
start_forqd
grep -qE "worker [0-9]+ \(pid $wa, cpu [0-9]+\) of the previous forqd taken on, with 1 jobs" "$LOG" ||
	fail "worker pid $wa was not taken on"
[ "$(state "$a")" = running ] && [ "$(state "$b")" = running ] || fail "after the restart: job $a $(state "$a"), job $b $(state "$b")"
fq status "$a" | grep -qE '^adopted +true$' || fail "forq status $a does not say it was adopted: $(fq status "$a")"
fq workers | grep -qE "^[0-9]+ +$wa +[0-9]+ +adopted " || fail "forq workers does not show pid $wa as adopted: $(fq workers)"
[ "$(workers_json | jq "[.[] | select(.pid == $wa) | .adopted_at | numbers] | length")" = 1 ] ||
	fail "no adopted_at for pid $wa: $(workers_json)"
let_go_two "$a" "$b" "a b"
for id in $a $b; do
	st=$(fq status --json "$id")
	[ "$(jq .job.adopted <<<"$st")" = true ] && jq -en "$(jq .job.adopted_at <<<"$st") > 0" >/dev/null ||
		fail "job $id, ended, does not say it was taken on: $(jq -c .job <<<"$st")"
done
ok "two jobs live through kill -9 of forqd: taken on with worker pids $wa and $wb, each ran once, attempt 1, succeeded and failed (exit 3)"

# The workers taken on take new jobs as any worker.
id=$(fq submit -w -o -- echo fresh) || fail "a new job after the restart"
[ "$id" = fresh ] || fail "new job printed $id"
ok "the workers taken on run new jobs"

# An end that comes while no forqd runs is written to state/ends by the
# worker before anything else; the next forqd records it as it was,
# even when the worker is gone too (killed here once the file is in).
: >"$T/runs"
c=$(start_held c "read _ <'$T/go'; exit 5")
w=$(worker_of "$c")
crash
inotifywait -t 20 -e moved_to --include "/$c\.0\$" "$T/state/ends" >/dev/null 2>"$T/inotify" &
watcher=$!
timeout 20 grep -m1 -q 'Watches established' <(tail -F "$T/inotify" 2>/dev/null) || fail "inotifywait: $(cat "$T/inotify")"
timeout 20 sh -c "echo go >'$T/go'" || fail "job $c no longer waits"
wait "$watcher" || fail "no end file for job $c: $(ls -la "$T/state/ends")"
kill -9 "$w"
"$FORQ_PIDWAIT" "$w" 5000 || fail "worker $w did not die"
before=$(date +%s.%N)
start_forqd
st=$(fq status --json "$c")
[ "$(jq -r .job.state <<<"$st")" = failed ] && [ "$(jq .job.exit_code <<<"$st")" = 5 ] && [ "$(jq .job.attempt <<<"$st")" = 1 ] ||
	fail "job $c: $(jq -c .job <<<"$st")"
jq -en "$(jq .job.ended_at <<<"$st") <= $before" >/dev/null ||
	fail "job $c ended at $(jq .job.ended_at <<<"$st"), after forqd came back ($before)"
[ "$(cat "$T/runs")" = c ] || fail "job $c ran: $(cat "$T/runs")"
[ -z "$(ls "$T/state/ends")" ] || fail "end files left: $(ls "$T/state/ends")"
ok "an end while no forqd ran, its worker killed after: recorded as it was, exit 5 at $(jq .job.ended_at <<<"$st"), attempt 1"
stop_forqd

# Alone past adopt_timeout, a worker ends its jobs and exits; the next
# forqd queues them again.
write_conf "slots = 2" "adopt_timeout = 1s" "[jobs]" "crash_requeue_max = 3"
start_forqd
: >"$T/runs"
d=$(fq submit -- sh -c "echo d >>'$T/runs'; [ \$FORQ_JOB_ATTEMPT = 1 ] || exit 0; echo up >'$T/up'; exec sleep 300")
timeout 20 cat "$T/up" >/dev/null || fail "job $d did not start"
job=$(fq status --json "$d" | jq .job.pid)
w=$(worker_of "$d")
crash
"$FORQ_PIDWAIT" "$job" 10000 || fail "job $d (pid $job) outlived adopt_timeout"
"$FORQ_PIDWAIT" "$w" 10000 || fail "worker pid $w outlived adopt_timeout"
[ ! -e "$T/state/workers/0.sock" ] && [ ! -e "$T/state/workers/1.sock" ] || fail "sockets left: $(ls "$T/state/workers")"
start_forqd
fq wait "$d" >/dev/null || fail "job $d after adopt_timeout: $(fq status "$d")"
[ "$(fq status --json "$d" | jq .job.attempt)" = 2 ] || fail "job $d: attempt $(fq status --json "$d" | jq .job.attempt)"
ok "past adopt_timeout (1s) the worker ended job $d and exited; the next forqd ran it again as attempt 2"
stop_forqd

# SIGTERM (systemctl stop or restart) leaves running jobs for the next
# forqd, as a crash does, but says so, and idle workers exit.
write_conf "slots = 2"
start_forqd
: >"$T/runs"
a=$(start_held a "read _ <'$T/go'")
b=$(start_held b "read _ <'$T/go2'")
wa=$(worker_of "$a")
wb=$(worker_of "$b")
idle=$(workers_json | jq -r "[.[] | select(.pid != $wa and .pid != $wb) | .pid] | join(\" \")")
mark_log
stop_forqd || fail "forqd exited $? on TERM"
grep -qE "SIGTERM received: stopping \(running jobs stay for the next forqd; 2 running" "$LOG" ||
	fail "the stop did not say it leaves the jobs: $(tail -5 "$LOG")"
kill -0 "$wa" && kill -0 "$wb" || fail "workers with jobs died with forqd"
for pid in $idle; do
	"$FORQ_PIDWAIT" "$pid" 5000 || fail "idle worker $pid outlived forqd"
done
start_forqd
[ "$(state "$a")" = running ] && [ "$(state "$b")" = running ] || fail "after TERM and a new forqd: job $a $(state "$a"), job $b $(state "$b")"
timeout 20 sh -c "echo go >'$T/go'; echo go >'$T/go2'" || fail "the jobs no longer wait"
fq wait "$a" "$b" >/dev/null || fail "jobs $a $b: $(fq status "$a") $(fq status "$b")"
[ "$(fq status --json "$a" | jq .job.attempt)" = 1 ] && [ "$(fq status --json "$b" | jq .job.attempt)" = 1 ] ||
	fail "attempts after TERM: $(fq status --json "$a" | jq .job.attempt), $(fq status --json "$b" | jq .job.attempt)"
[ "$(sort "$T/runs" | tr '\n' ' ')" = "a b " ] || fail "the jobs ran: $(sort "$T/runs" | tr '\n' ' ')"
ok "SIGTERM and a new forqd: jobs $a and $b kept running on workers $wa and $wb, each ran once, succeeded as attempt 1; idle workers exited"

# forq shutdown --kill-jobs: the jobs are stopped (TERM) and queued
# again; the next forqd runs them as attempt 2.
: >"$T/runs"
c=$(fq submit -- sh -c "echo c\$FORQ_JOB_ATTEMPT >>'$T/runs'; [ \$FORQ_JOB_ATTEMPT = 1 ] || exit 0; trap 'echo term >>\"$T/runs\"; exit 1' TERM; echo up >'$T/up'; sleep 300 & wait")
timeout 20 cat "$T/up" >/dev/null || fail "job $c did not start"
w=$(worker_of "$c")
out=$(fq shutdown --kill-jobs) || fail "forq shutdown --kill-jobs"
[ "$out" = "forqd is stopping; its 1 running jobs are stopped and queued again" ] || fail "forq shutdown said: $out"
"$FORQ_PIDWAIT" "$FORQD_PID" 10000 || fail "forqd did not stop"
wait "$FORQD_PID" || fail "forqd exited $? after forq shutdown --kill-jobs"
FORQD_PID=
"$FORQ_PIDWAIT" "$w" 5000 || fail "worker $w outlived forq shutdown --kill-jobs"
grep -q "job $c: stopped by forqd's stop; queued again (attempt 2)" "$LOG" || fail "job $c not queued again: $(tail -5 "$LOG")"
start_forqd
fq wait "$c" >/dev/null || fail "job $c: $(fq status "$c")"
[ "$(fq status --json "$c" | jq .job.attempt)" = 2 ] || fail "job $c: attempt $(fq status --json "$c" | jq .job.attempt)"
[ "$(tr '\n' ' ' <"$T/runs")" = "c1 term c2 " ] || fail "job $c ran: $(tr '\n' ' ' <"$T/runs")"
ok "forq shutdown --kill-jobs: job $c got TERM, was queued again, and the next forqd ran it as attempt 2"

# forq shutdown --drain: forqd takes nothing new, and stops once what
# runs has ended.
d=$(fq submit -- sh -c "echo up >'$T/up'; read _ <'$T/go'")
timeout 20 cat "$T/up" >/dev/null || fail "job $d did not start"
out=$(fq shutdown --drain) || fail "forq shutdown --drain"
[[ $out == "forqd is stopping once its 1 running jobs have ended"* ]] || fail "forq shutdown said: $out"
rc=0
err=$(fq submit -- true 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "a job was taken while draining"
kill -0 "$FORQD_PID" || fail "forqd stopped before its job ended"
timeout 20 sh -c "echo go >'$T/go'" || fail "job $d no longer waits"
"$FORQ_PIDWAIT" "$FORQD_PID" 10000 || fail "forqd did not stop once job $d ended"
FORQD_PID=
start_forqd
[ "$(state "$d")" = succeeded ] && [ "$(fq status --json "$d" | jq .job.attempt)" = 1 ] || fail "job $d: $(fq status "$d")"
rc=0
err=$(fq shutdown --drain --kill-jobs 2>&1) || rc=$?
[ $rc = 64 ] || fail "--drain --kill-jobs: exit $rc: $err"
ok "forq shutdown --drain: forqd stopped once job $d ended (succeeded, attempt 1); --drain with --kill-jobs refused"
stop_forqd
