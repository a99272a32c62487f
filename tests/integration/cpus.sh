# One worker per allowed CPU, each pinned to a different one; under
# taskset -c 1 exactly one worker, on CPU 1.
. "$(dirname "$0")/lib.sh"
need_cpus 2

write_conf
start_forqd
expected=$(allowed_cpus | sort -n | tr '\n' ' ')
got=$(workers_json | jq -r '.[].cpu' | sort -n | tr '\n' ' ')
[ "$got" = "$expected" ] || fail "workers on cpus '$got', allowed '$expected'"
for row in $(workers_json | jq -r '.[] | "\(.pid):\(.cpu):\(.state)"'); do
	IFS=: read -r pid cpu state <<<"$row"
	[ "$state" = ready ] || fail "worker pid $pid is $state"
	[ "$(cpus_allowed_of "$pid")" = "$cpu" ] ||
		fail "worker pid $pid: Cpus_allowed_list $(cpus_allowed_of "$pid"), want $cpu"
	grep -qa "worker [0-9]* cpu $cpu" "/proc/$pid/cmdline" ||
		fail "worker pid $pid has no title naming cpu $cpu"
done
ok "one pinned worker per allowed CPU: $got"

# A job runs on its worker's CPU alone; with pin_jobs = no (a reload
# takes it) on any worker's, so that the kernel can move it off a CPU
# another process takes.
job_cpus() { fq submit -w -o -- awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status; }
pinned=$(job_cpus)
[[ " $expected" == *" $pinned "* ]] || fail "a job's CPUs: $pinned, want one of $expected"
write_conf "pin_jobs = no"
mark_log
kill -HUP "$FORQD_PID"
wait_log "configuration reloaded" 10
out=$(job_cpus)
[ "$out" = "$(cpus_allowed_of "$FORQD_PID")" ] ||
	fail "pin_jobs = no: a job's CPUs: $out, want forqd's $(cpus_allowed_of "$FORQD_PID")"
ok "a job is pinned to its worker's CPU ($pinned); with pin_jobs = no it may use every worker's ($out)"
stop_forqd

write_conf
mark_log
taskset -c 1 "$FORQD" -c "$CONF" >>"$LOG" 2>&1 &
FORQD_PID=$!
wait_log 'ready: 1 of 1 workers' 20
[ "$(workers_json | jq length)" = 1 ] || fail "under taskset -c 1: $(workers_json)"
pid=$(worker_field 0 pid)
[ "$(worker_field 0 cpu)" = 1 ] || fail "the worker is not on cpu 1"
[ "$(cpus_allowed_of "$pid")" = 1 ] || fail "worker not pinned to cpu 1"
ok "under taskset -c 1: one worker, on cpu 1"

# A conf list naming a CPU outside the allowed set is a conf error.
stop_forqd
write_conf "cpus = 0"
rc=0
err=$(taskset -c 1 "$FORQD" -t -c "$CONF" 2>&1) || rc=$?
[ $rc -eq 78 ] || fail "forqd -t exit $rc for a cpu outside the allowed set"
line=$(grep -n '^cpus = 0' "$CONF" | cut -d: -f1)
[[ $err == *"$CONF:$line: cpus: CPU 0 not in the allowed set (1)"* ]] || fail "message: $err"
ok "a listed CPU outside the allowed set is refused: $err"
