# Each job runs in its slot's cgroup, under a subtree forqd makes for
# its state directory: the whole tree of a job is signalled, killed and
# accounted through it, and its processes are limited by tasks_max.
# Against the machine's real hierarchy (v1 or v2, whichever it has);
# run as root, as forqd must be to make cgroups outside systemd.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || fail "run as root: forqd makes job cgroups only as root or under systemd"

write_conf "slots = 2" "[jobs]" "kill_grace = 500ms" "tasks_max = 24" "mem_max = 1G" \
	"[queue small]" "mem = 32M"
start_forqd
line=$(grep -m1 'job cgroups: ' "$LOG")
[[ $line == *"job cgroups: cgroup v"[12]", under "* ]] || fail "no job cgroups: $line"
base=${line##*, under }
[ -d "$base" ] || fail "$base is not there"
ok "forqd found $(sed 's/.*job cgroups: \(cgroup v[12]\).*/\1/' <<<"$line") and made $base"

# started FIFO: what the job wrote into FIFO once it ran (a job that
# never starts fails the test with forqd's log, not a hang).
started() {
	timeout 20 cat "$1" || fail "the job did not start within 20 s: $(fq list --limit 3)"
}

# gone PID WHAT: the process ends soon.
gone() {
	"$FORQ_PIDWAIT" "$1" 5000 || fail "$2 (pid $1) outlived its job: $(ps -o pid,stat,sid,args -p "$1" | tail -n +2)"
}

# The job is in a cgroup of forqd's subtree, in every hierarchy.
id=$(fq submit -- cat /proc/self/cgroup)
fq wait "$id" >/dev/null || fail "job $id failed"
name=$(basename "$base")
grep -qE ":/.*$name/w[0-9]+s[0-9]+$" "$T/state/logs/$id.out" || fail "job $id is not in a slot's cgroup: $(cat "$T/state/logs/$id.out")"
ok "a job runs in its slot's cgroup: $(grep -m1 "$name" "$T/state/logs/$id.out")"

# Cancelled: a grandchild in a session of its own, which ignores TERM,
# goes with the job (KILL to the cgroup after kill_grace).
mkfifo "$T/p1"
id=$(fq submit -- sh -c "(setsid sh -c 'trap \"\" TERM; exec sleep 300' & echo \$! >'$T/p1'); exec sleep 300")
escaped=$(started "$T/p1")
fq cancel "$id" >/dev/null
fq wait "$id" >/dev/null 2>&1 || true
[ "$(fq status --json "$id" | jq -r .job.state)" = cancelled ] || fail "job $id: $(fq status "$id")"
gone "$escaped" "a setsid'd grandchild of a cancelled job"
ok "cancel ends a setsid'd grandchild that ignores TERM"

# When the first process exits, what is left in the cgroup is killed,
# also a double-forked one whose parent is gone. (The job waits for the
# grandchild's word before it exits: its exit kills the grandchild, and
# one killed before it wrote its pid would leave nothing to check.)
rm -f "$T/p1"
mkfifo "$T/p1"
id=$(fq submit --timeout 20s -- sh -c "( (sleep 300 & echo \$! >'$T/left'; echo >'$T/p1') & ); read _ <'$T/p1'; exit 0")
fq wait "$id" >/dev/null || fail "job $id failed"
left=$(cat "$T/left")
gone "$left" "a double-forked process left behind"
ok "a job's end kills what is left in its cgroup"

# CPU time of a child the job did not wait for is the job's.
id=$(fq submit -- sh -c '( i=0; while [ $i -lt 300000 ]; do i=$((i + 1)); done & ); sleep 1.5')
fq wait "$id" >/dev/null || fail "job $id failed"
cpu=$(fq status --json "$id" | jq '.job.user_us + .job.sys_us')
[ "$cpu" -ge 100000 ] || fail "job $id: $cpu µs of CPU: the child's time is missing"
ok "CPU time of a child not waited for is counted: $((cpu / 1000)) ms"

# So is it when the job's worker dies under it and forqd, adopting the
# job, accounts for it from the cgroup. (The grandchild burns, then lets
# the job end once the worker is dead (p3): a loop that ended first
# would leave nothing to adopt; nothing waits for it.)
rm -f "$T/p1" "$T/p2" "$T/p3"
mkfifo "$T/p1" "$T/p2" "$T/p3"
id=$(fq submit --timeout 60s -- sh -c "( (i=0; while [ \$i -lt 300000 ]; do i=\$((i + 1)); done; read _ <'$T/p3'; echo >'$T/p2') & ); echo up >'$T/p1'; read _ <'$T/p2'")
started "$T/p1" >/dev/null
w=$(fq status --json "$id" | jq .job.worker)
held=$(grep -lx "$(fq status --json "$id" | jq .job.pid)" "$base"/w"$w"s*/cgroup.procs) ||
	fail "job $id is in no slot's group of worker $w"
mark_log
kill -9 "$(worker_field "$w" pid)"
wait_log "job $id \(pid [0-9]+\) outlives worker $w" 20
# Its replacement puts a standby into its other slot's group, not into
# the one forqd holds for the adopted job: forqd kills what is left
# there at that job's end, and a standby killed so would take the
# slot's next job along.
wait_log "worker $w \(pid [0-9]+, cpu [0-9]+\) ready" 20
new=$(worker_field "$w" pid)
children_of() { # PID FILE: the processes listed in FILE whose parent is PID
	local p
	for p in $(cat "$2"); do
		[ "$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)" = "$1" ] && echo "$p"
	done
	return 0
}
other=$(ls "$base"/w"$w"s*/cgroup.procs | grep -vx "$held" | head -n 1)
end=$(($(date +%s) + 10))
until [ -n "$(children_of "$new" "$other")" ]; do
	[ "$(date +%s)" -lt "$end" ] || fail "worker $w (pid $new) has no standby in $other"
	sleep 0.05
done
standbys=$(children_of "$new" "$held")
[ -z "$standbys" ] ||
	fail "worker $w (pid $new) put a standby ($standbys) into $held, the group of adopted job $id"
timeout 20 sh -c "echo go >'$T/p3'" || fail "job $id's grandchild no longer waits"
fq wait "$id" >/dev/null || fail "adopted job $id failed: $(fq status "$id")"
st=$(fq status --json "$id")
cpu=$(jq '.job.user_us + .job.sys_us' <<<"$st")
[ "$cpu" -ge 100000 ] && [ "$(jq .job.procs <<<"$st")" -ge 2 ] ||
	fail "adopted job $id: $(jq -c '.job | {user_us, sys_us, procs, maxrss_kb}' <<<"$st"): the grandchild's time is missing"
ok "a job adopted after its worker's kill -9 is accounted from its cgroup: $((cpu / 1000)) ms, $(jq .job.procs <<<"$st") processes"
ids=()
for i in 1 2 3 4; do ids+=("$(fq submit -- true)"); done
fq wait "${ids[@]}" >/dev/null || fail "jobs after the adopted job's end: $(fq list --limit 4)"
ok "its worker's replacement kept its standbys out of the adopted job's group; the slot ran jobs after"

# Peak memory and processes are the whole job's.
id=$(fq submit -- sh -c 'sleep 1 & sleep 1 & sleep 1 & head -c 50000000 /dev/zero | tail -c 1 >/dev/null; wait')
fq wait "$id" >/dev/null || fail "job $id failed"
st=$(fq status --json "$id")
procs=$(jq .job.procs <<<"$st")
[ "$procs" -ge 4 ] || fail "job $id: procs $procs, want at least 4"
ok "the most processes a job had at once: $procs; its peak memory: $(jq .job.maxrss_kb <<<"$st") KiB"

# The worker's standby for the slot's next job waits in the group while
# a job runs: it is not the job's. A job of one process had one, seen
# at a heartbeat (1 s) and at its end; and the standby is there.
rm -f "$T/p1"
mkfifo "$T/p1"
id=$(fq submit -- sh -c "echo up >'$T/p1'; exec sleep 1.5")
started "$T/p1" >/dev/null
pid=$(fq status --json "$id" | jq .job.pid)
procs=$(grep -lx "$pid" "$base"/w*/cgroup.procs) || fail "job $id (pid $pid) is in no slot's group"
n=$(wc -l <"$procs")
fq wait "$id" >/dev/null || fail "job $id failed"
[ "$(fq status --json "$id" | jq .job.procs)" = 1 ] ||
	fail "job $id of one process: procs $(fq status --json "$id" | jq .job.procs)"
[ "$n" = 2 ] || fail "the group of job $id held $n processes, not the job and its standby: $(cat "$procs")"
ok "a job of one process counts one; its slot's group also held the standby for the next"

# tasks_max: a fork bomb stops at the limit, and the machine does not
# notice.
# (The shell gives up at the first fork that fails; what it started
# ends with it.)
: >"$T/bg"
id=$(fq submit -- sh -c "for i in \$(seq 40); do sleep 5 & echo \$! >>'$T/bg'; done")
fq wait "$id" >/dev/null 2>&1 || true
started=$(wc -l <"$T/bg")
# At most 23 besides the shell; 22 once the worker's standby for the
# slot's next job waits in the group too.
[ -n "$started" ] && [ "$started" -le 23 ] && [ "$started" -ge 22 ] ||
	fail "job $id started '$started' of 40 processes under tasks_max = 24"
grep -qiE 'fork' "$T/state/logs/$id.err" || fail "job $id: no failed fork: $(cat "$T/state/logs/$id.err")"
ok "tasks_max = 24: $started of 40 background processes started; then: $(grep -m1 -i fork "$T/state/logs/$id.err")"

# --mem: past it the OOM killer ends the job, which fails saying so; a
# job's own kill -9 is a signal, not an OOM.
id=$(fq submit --mem 64M -- sh -c 'x=$(head -c 400000000 /dev/zero | tr "\0" a); echo ${#x}')
fq wait "$id" >/dev/null 2>&1 || true
st=$(fq status --json "$id")
[ "$(jq -r .job.state <<<"$st")" = failed ] && [[ "$(jq -r .job.error <<<"$st")" == "out of memory: limit 64M, peak 64M"* ]] ||
	fail "a --mem 64M job taking 400 MB: $(jq -c '.job | {state, signal, error, maxrss_kb}' <<<"$st")"
[ "$(jq -r .job.maxrss_kb <<<"$st")" -le $((64 * 1024 + 64)) ] || fail "peak over the limit: $(jq -r .job.maxrss_kb <<<"$st") KiB"
ok "--mem 64M, 400 MB taken: $(jq -r .job.error <<<"$st")"
id=$(fq submit --mem 64M -- sh -c 'kill -9 $$')
fq wait "$id" >/dev/null 2>&1 || true
st=$(fq status --json "$id")
[ "$(jq -r .job.signal <<<"$st")" = 9 ] && [ "$(jq -r .job.error <<<"$st")" = null ] ||
	fail "kill -9 of itself: $(jq -c '.job | {state, signal, error}' <<<"$st")"
ok "a job's own kill -9 is signal 9, no out-of-memory error"
rc=0; out=$(fq submit --mem 2G -- true 2>&1) || rc=$?
[ $rc -ne 0 ] && [[ $out == *mem_max* ]] || fail "--mem 2G over mem_max = 1G: $rc $out"
id=$(fq submit -q small -- true)
fq wait "$id" >/dev/null || fail "job $id in queue small failed"
[ "$(fq status --json "$id" | jq .job.mem)" = $((32 << 20)) ] || fail "queue small's mem: $(fq status --json "$id" | jq .job.mem)"
ok "--mem over mem_max is refused ($out); a queue's mem is its jobs'"

# A second forqd (its own state directory) has a subtree of its own,
# and neither touches the other's.
T2=$(mktemp -d /tmp/forq-test2.XXXXXX)
cat >"$T2/forqd.conf" <<EOF
[daemon]
socket = $T2/forqd.sock
pidfile = $T2/forqd.pid
state_dir = $T2/state
[access]
allow_root_jobs = yes
[workers]
slots = 1
EOF
"$FORQD" -c "$T2/forqd.conf" >"$T2/log" 2>&1 &
pid2=$!
timeout 20 grep -m1 -q 'ready: ' <(tail -F "$T2/log" 2>/dev/null) || { cat "$T2/log" >&2; kill "$pid2"; fail "the second forqd did not start"; }
base2=$(sed -n 's/.*job cgroups: .*, under //p' "$T2/log")
[ -n "$base2" ] && [ "$base2" != "$base" ] || { kill "$pid2"; fail "second forqd's cgroups: '$base2' (first: $base)"; }
rm -f "$T/p1"
mkfifo "$T/p1"
id=$(fq submit -- sh -c "echo up >'$T/p1'; exec sleep 300")
started "$T/p1" >/dev/null
"$FORQ" -s "$T2/forqd.sock" submit -w -- true >/dev/null || { kill "$pid2"; fail "the second forqd's job failed"; }
kill -TERM "$pid2"
"$FORQ_PIDWAIT" "$pid2" 10000 || fail "the second forqd did not stop"
[ ! -e "$base2" ] || fail "the second forqd left $base2"
[ "$(fq status --json "$id" | jq -r .job.state)" = running ] || fail "the first forqd's job: $(fq status "$id")"
rm -rf "$T2"
fq cancel "$id" >/dev/null
fq wait "$id" >/dev/null 2>&1 || true
ok "two forqds: $(basename "$base") and $(basename "$base2"); stopping one leaves the other's jobs running"

# An ordinary user's forqd outside systemd has no cgroup to write: it
# says so, runs jobs without, and refuses --mem and --cpus rather than
# ignore them.
T3=$(mktemp -d /tmp/forq-test3.XXXXXX)
chown nobody "$T3"
printf '%s\n' "[daemon]" "socket = $T3/forqd.sock" "pidfile = $T3/forqd.pid" \
	"state_dir = $T3/state" "[workers]" "slots = 1" >"$T3/forqd.conf"
runuser -u nobody -- "$FORQD" -c "$T3/forqd.conf" >"$T3/log" 2>&1 &
pid3=$!
timeout 20 grep -m1 -q 'ready: ' <(tail -F "$T3/log" 2>/dev/null) || { cat "$T3/log" >&2; kill "$pid3"; fail "nobody's forqd did not start"; }
grep -q 'job cgroups: none' "$T3/log" || { kill "$pid3"; fail "nobody's forqd: $(grep 'job cgroups' "$T3/log")"; }
rc=0; out=$(runuser -u nobody -- "$FORQ" -s "$T3/forqd.sock" submit --mem 64M -- true 2>&1) || rc=$?
rc2=0; out2=$(runuser -u nobody -- "$FORQ" -s "$T3/forqd.sock" submit --cpus 2 -- true 2>&1) || rc2=$?
runuser -u nobody -- "$FORQ" -s "$T3/forqd.sock" submit -w -- true >/dev/null || { kill "$pid3"; fail "nobody's job failed"; }
kill -TERM "$pid3"
"$FORQ_PIDWAIT" "$pid3" 10000 || fail "nobody's forqd did not stop"
rm -rf "$T3"
[ $rc -ne 0 ] && [[ $out == *"needs job cgroups"* ]] || fail "--mem without cgroups: $rc $out"
[ $rc2 -ne 0 ] && [[ $out2 == *"needs job cgroups with the cpuset controller"* ]] || fail "--cpus 2 without cgroups: $rc2 $out2"
ok "without cgroups: said at start, jobs run, --mem and --cpus 2 refused: $out; $out2"

# A forqd killed with its workers leaves its jobs in their cgroups; the
# next one, queuing them again, kills what is left so none runs twice.
write_conf "slots = 2" "[jobs]" "crash_requeue_max = 0"
rm -f "$T/p1"
mkfifo "$T/p1"
id=$(fq submit -- sh -c "echo \$\$ >'$T/p1'; exec sleep 300")
orphan=$(started "$T/p1")
# shellcheck disable=SC2046
kill -9 "$FORQD_PID" $(pgrep -P "$FORQD_PID")
wait "$FORQD_PID" 2>/dev/null || true
FORQD_PID=
kill -0 "$orphan" 2>/dev/null || fail "the job died with forqd (it should outlive a kill -9)"
start_forqd
gone "$orphan" "a job left running by a forqd killed with -9"
[ "$(fq status --json "$id" | jq -r .job.state)" = lost ] || fail "job $id: $(fq status "$id")"
ok "a job a killed forqd left in its cgroup is ended by the next, and marked lost"

stop_forqd
[ ! -e "$base" ] || fail "forqd left $base behind"
ok "a stopped forqd removes its subtree"
