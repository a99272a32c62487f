# slots_adapt, the default: jobs that wait fill a worker's slots up to slots, one
# more each reading of its CPU, and never more; once they are gone the
# slots fade back to one, and CPU-bound jobs then run one at a time on
# it, where a fixed slots = 4 would start them together.
. "$(dirname "$0")/lib.sh"
cpu=$(allowed_cpus | head -n1)
# The default conf's slots: 4 at most, slots_adapt = yes.
DEFAULT_SLOTS=1 write_conf "cpus = $cpu" "[daemon]" "log_level = debug"
start_forqd
[ "$(worker_field 0 slots_open)" = 1 ] || fail "a worker starts at slots_open $(worker_field 0 slots_open)"

mark_log
ids=()
for i in $(seq 6); do
	ids+=("$(fq submit -- sh -c "while [ ! -e '$T/go' ]; do sleep 0.05; done")")
done
wait_log "worker 0 \(cpu $cpu\): slots 4 of 4" 20
# The turn that opened the fourth slot filled it; this request comes
# after that turn's commit.
[ "$(worker_field 0 slots_open)" = 4 ] || fail "slots_open $(worker_field 0 slots_open)"
running=$(fq list --state running --json | jq '.jobs | length')
queued=$(fq list --state queued --json | jq '.jobs | length')
[ "$running $queued" = "4 2" ] || fail "with 4 slots open: $running running, $queued queued"
ok "jobs that wait open the worker's slots one by one, up to slots = 4: 4 run, 2 wait"

mark_log
touch "$T/go"
fq wait "${ids[@]}" >/dev/null || fail "the waiting jobs failed"
wait_log "worker 0 \(cpu $cpu\): slots 1 of 4" 20
ok "with its slots free, the worker falls back to one"

# Idle, with every slot at one, there is nothing to read /proc/stat for:
# forqd's loop sleeps (each reading would be a wake-up, 4 a second). The
# window is the measurement itself, not a wait for an event.
switches() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$FORQD_PID/status"; }
before=$(switches)
sleep 2
woke=$(($(switches) - before))
[ "$woke" -le 2 ] || fail "idle forqd woke $woke times in 2 s"
ok "an idle forqd stops reading the CPUs' load ($woke wake-ups in 2 s)"

cpujobs=()
for i in 1 2 3; do
	cpujobs+=("$(fq submit -- sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i + 1)); done')")
done
fq wait "${cpujobs[@]}" >/dev/null || fail "the CPU-bound jobs failed"
# Each started after the one before ended.
spans=$(for id in "${cpujobs[@]}"; do fq status --json "$id" | jq -r '"\(.job.started_at) \(.job.ended_at)"'; done)
awk 'NR > 1 && $1 < end { bad = 1 } { end = $2 } END { exit bad }' <<<"$spans" ||
	fail "CPU-bound jobs overlapped on one CPU: $spans"
ok "CPU-bound jobs on a saturated CPU run one at a time"
