# --cpus N: a job gets the CPUs of N whole workers, in its cpuset and
# its affinity, and nothing else starts on them while it runs; it waits
# for them without being starved by one-CPU jobs that come after it.
# Against the machine's real cgroup hierarchy, as root.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || fail "run as root: forqd makes job cgroups only as root or under systemd"
need_cpus 2
ncpu=$(allowed_cpus | wc -l)

write_conf "slots = 2" "[queue wide]" "cpus = $ncpu"
start_forqd
grep -q 'job cgroups: cgroup v' "$LOG" || fail "no job cgroups: $(grep 'job cgroups' "$LOG")"

# What the job sees: N CPUs by nproc, its affinity and its cpuset, and
# FORQ_JOB_CPUS.
out=$(fq submit -w -o --cpus "$ncpu" -- sh -c 'nproc; echo "$FORQ_JOB_CPUS"; grep cpuset /proc/self/cgroup || echo "cpuset: none"')
[ "$(sed -n 1p <<<"$out")" = "$ncpu" ] || fail "--cpus $ncpu: nproc says $(sed -n 1p <<<"$out")"
[ "$(sed -n 2p <<<"$out")" = "$ncpu" ] || fail "--cpus $ncpu: FORQ_JOB_CPUS=$(sed -n 2p <<<"$out")"
[[ $(sed -n 3p <<<"$out") =~ /forq-[0-9a-f]+/w[0-9]+s[0-9]+$ ]] || fail "--cpus $ncpu: not in a slot's cpuset: $(sed -n 3p <<<"$out")"
ok "forq submit -w -o --cpus $ncpu -- nproc prints $ncpu; FORQ_JOB_CPUS=$ncpu; $(sed -n 3p <<<"$out")"

# A job without --cpus has its worker's one CPU, as before.
out=$(fq submit -w -o -- sh -c 'nproc; echo "$FORQ_JOB_CPUS"')
[ "$out" = "1
1" ] || fail "a job without --cpus: $out"
out=$(fq submit -w -o -q wide -- nproc)
[ "$out" = "$ncpu" ] || fail "queue wide (cpus = $ncpu): nproc says $out"
ok "a job without --cpus has 1 CPU; queue wide gives its jobs $ncpu"

# More than there are workers: refused at submit, naming the limit.
rc=0
out=$(fq submit --cpus $((ncpu + 1)) -- true 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *"--cpus $((ncpu + 1)) is over workers ($ncpu)"* ]] || fail "--cpus $((ncpu + 1)): $rc $out"
reply=$(printf '%s\n' '{"op":"hello","id":1,"version":1}' \
	"{\"op\":\"submit\",\"id\":2,\"jobs\":[{\"argv\":[\"true\"],\"cwd\":\"/\",\"cpus\":$((ncpu + 1))}]}" |
	socat -t 5 - "UNIX-CONNECT:$SOCK" | tail -n 1)
[ "$(jq -c '.error | [.code, .limit, .max]' <<<"$reply")" = "[\"limit_exceeded\",\"workers\",$ncpu]" ] ||
	fail "--cpus $((ncpu + 1)): $reply"
ok "--cpus $((ncpu + 1)) is refused: $out"

# started FIFO: what the job wrote into FIFO once it ran.
started() {
	timeout 20 cat "$1" || fail "the job did not start within 20 s: $(fq list --limit 5)"
}
# release FIFO: the job waiting on FIFO goes on.
release() {
	timeout 20 sh -c "echo go >'$1'" || fail "nothing waits on $1"
}
ended_after() { # A B: job B started once job A had ended
	local a b
	a=$(fq status --json "$1" | jq .job.ended_at)
	b=$(fq status --json "$2" | jq .job.started_at)
	jq -en "$b >= $a" >/dev/null || fail "job $2 started at $b, before job $1 ended at $a"
}
state() {
	fq status --json "$1" | jq -r .job.state
}
mkfifo "$T/up" "$T/go"

# Two gangs of every CPU never run at once: the second waits for the
# first to end.
a=$(fq submit --cpus "$ncpu" -- sh -c "echo up >'$T/up'; read _ <'$T/go'")
started "$T/up" >/dev/null
b=$(fq submit --cpus "$ncpu" -- true)
# Answered after a dispatch that had b to start: it did not.
[ "$(state "$b")" = queued ] || fail "job $b: $(state "$b") while job $a holds every CPU"
release "$T/go"
fq wait "$a" "$b" >/dev/null || fail "jobs $a and $b"
ended_after "$a" "$b"
ok "two --cpus $ncpu jobs run one after the other"

# A gang is not starved: one-CPU jobs submitted after it wait, though a
# worker is free, until it has run.
x=$(fq submit -- sh -c "echo up >'$T/up'; read _ <'$T/go'")
started "$T/up" >/dev/null
g=$(fq submit --cpus "$ncpu" -- true)
small=()
for _ in 1 2 3 4 5 6; do small+=("$(fq submit -- true)"); done
for s in "${small[@]}"; do
	[ "$(state "$s")" = queued ] || fail "job $s ($(state "$s")) started before the gang $g (queued behind job $x)"
done
release "$T/go"
fq wait "$x" "$g" "${small[@]}" >/dev/null || fail "jobs $x $g ${small[*]}"
ended_after "$x" "$g"
for s in "${small[@]}"; do ended_after "$g" "$s"; done
ok "a --cpus $ncpu job behind a running one is not starved by 6 one-CPU jobs after it"

# A held gang that is cancelled gives its workers back at once.
x=$(fq submit -- sh -c "echo up >'$T/up'; read _ <'$T/go'")
started "$T/up" >/dev/null
g=$(fq submit --cpus "$ncpu" -- true)
s=$(fq submit -- true)
[ "$(state "$s")" = queued ] || fail "job $s ran past the held gang $g"
fq cancel "$g" >/dev/null
fq wait "$s" >/dev/null || fail "job $s after the gang's cancel"
[ "$(state "$g")" = cancelled ] || fail "gang $g: $(state "$g")"
[ "$(state "$x")" = running ] || fail "job $x: $(state "$x")"
ok "a held gang, cancelled, is cancelled and its workers run job $s while job $x still runs"

# Re-prioritised while held: queued again with its new priority, and run.
g=$(fq submit --cpus "$ncpu" -- true)
[ "$(state "$g")" = queued ] || fail "gang $g: $(state "$g")"
fq set "$g" --priority 5 >/dev/null
[ "$(fq status --json "$g" | jq .job.priority)" = 5 ] || fail "gang $g: priority not changed"
release "$T/go"
fq wait "$x" "$g" >/dev/null || fail "jobs $x $g"
ended_after "$x" "$g"
ok "a held gang's priority changes, and it runs once its workers are free"

stop_forqd

# The workers counted are those the conf's cpus plans, not the CPUs the
# machine has: on one CPU, --cpus 2 is refused (it would wait for ever
# for a second worker).
write_conf "cpus = 0"
start_forqd
rc=0
out=$(fq submit --cpus 2 -- true 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *"--cpus 2 is over workers (1): this forqd runs jobs on 1 CPU,"* ]] || fail "cpus = 0, --cpus 2: $rc $out"
ok "with cpus = 0, --cpus 2 is refused: $out"
stop_forqd
