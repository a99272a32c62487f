# The main scenario with forqd under valgrind (memcheck): jobs in a
# batch, outputs, a timeout, a cancel, a worker killed and replaced, a
# reload, a clean stop. The supervisor and every worker that exits on
# its own must end with no memory error and no definite leak.
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || fail "valgrind is not installed"
FORQD_WRAP="valgrind -q --leak-check=full --errors-for-leak-kinds=definite
--show-leak-kinds=definite --track-fds=no --log-file=$T/vg.%p"
READY_SECS=120
HEARTBEAT_TIMEOUT=10s
write_conf "slots = 4" "[jobs]" "kill_grace = 1s"
start_forqd

for i in $(seq 200); do echo "echo job $i"; done >"$T/batch"
fq submit --batch "$T/batch" >"$T/ids"
fq wait $(cat "$T/ids") >/dev/null || fail "batch jobs failed"
[ "$(fq logs "$(tail -n 1 "$T/ids")")" = "job 200" ] || fail "output of the last job"
rc=0; fq submit -w --timeout 300ms -- sleep 30 >/dev/null || rc=$?
[ "$(fq list --json | jq -r '.jobs[0].state')" = timed_out ] || fail "timeout: $(fq list | head -3)"
id=$(fq submit -- sleep 30)
fq status "$id" --json >/dev/null
fq cancel "$id" >/dev/null
fq wait "$id" >/dev/null || true
[ "$(fq status --json "$id" | jq -r .job.state)" = cancelled ] || fail "cancel"
ok "200 jobs, logs, a timeout and a cancel under valgrind"

victim=$(worker_field 0 pid)
mark_log
kill -9 "$victim"
wait_log 'worker 0 \(pid [0-9]+, cpu [0-9]+\) ready, restarts 1' 120
mark_log
kill -HUP "$FORQD_PID"
wait_log 'configuration reloaded' 60
fq submit -w -- true >/dev/null || fail "job after the restart and reload"
ok "a worker killed and replaced, a reload, a job after them"

stop_forqd || fail "forqd did not stop cleanly"
rm -f "$T/vg.$victim" # killed by SIGKILL: it never got to check
n=$(find "$T" -name 'vg.*' | wc -l)
[ "$n" -ge 2 ] || fail "only $n valgrind logs"
# Errors and leaks are the "==pid==" lines; "--pid--" lines are
# valgrind's own notes (it does not know pidfd_open, so forqd watches its
# children by SIGCHLD here).
if grep -q '^==[0-9]*==' "$T"/vg.*; then
	grep -h '^==[0-9]*==' "$T"/vg.* >&2
	fail "valgrind found errors or definite leaks"
fi
ok "valgrind: no errors and no definite leaks in the supervisor, its workers and their $((n - 1)) other processes that exited"
