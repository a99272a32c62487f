# Queues, priorities, delayed starts, pause/resume/drain and the waits
# for many jobs, through the CLI; the start order comes from jobs that
# append their name to one file in a queue that runs one at a time.
. "$(dirname "$0")/lib.sh"

field() { # ID FIELD
	fq status --json "$1" | jq -r ".job.$2"
}
order() {
	tr '\n' ' ' <"$T/order" | sed 's/ $//'
}
mark() { # NAME: a job that notes that it started
	echo "sh -c 'echo $1 >>$T/order'"
}
before() { # A B: time A is before (or at) time B
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

cpu=$(allowed_cpus | head -n 1)
write_conf "cpus = $cpu" "slots = 4" \
	"[queue one]" "parallel = 1" \
	"[queue gpu]" "priority = 5" "timeout = 1s"
start_forqd

# Priorities: paused, then resumed; higher first, FIFO within one.
fq pause one
: >"$T/order"
for p in 0 5 0 -2 5; do
	eval "fq submit -q one -p $p -n p$p -- $(mark "p$p")" >>"$T/ids"
done
# A job of another queue runs to its end while "one" stays paused.
fq submit -w -- true 2>/dev/null
[ "$(fq list --state queued --queue one --json | jq '.jobs | length')" = 5 ] ||
	fail "jobs of a paused queue started"
[ ! -s "$T/order" ] || fail "a paused queue ran: $(order)"
fq resume one
fq wait --queue one
[ "$(order)" = "p5 p5 p0 p0 p-2" ] || fail "priority order: $(order)"
ids=($(cat "$T/ids"))
before "$(field "${ids[1]}" started_at)" "$(field "${ids[4]}" started_at)" ||
	fail "FIFO within a priority"
ok "higher priority first, FIFO within one: $(order)"

# set --priority on a queued job; refused once it has started.
fq pause one
: >"$T/order"
a=$(eval "fq submit -q one -- $(mark a)")
b=$(eval "fq submit -q one -- $(mark b)")
fq set "$b" --priority 9
[ "$(field "$b" priority)" = 9 ] || fail "set --priority: $(field "$b" priority)"
fq resume one
fq wait "$a" "$b"
[ "$(order)" = "b a" ] || fail "after set --priority: $(order)"
rc=0; out=$(fq set "$a" --priority 1 2>&1) || rc=$?
[ $rc -eq 65 ] && grep -q "has started already" <<<"$out" ||
	fail "set on an ended job: $rc $out"
ok "forq set --priority reorders a queued job; an ended one says why"

# set --queue moves a queued job out of a paused queue (it runs in its
# new one, counted there); --in schedules a queued job and --in 0 lets a
# scheduled one go; --timeout and --name change what it will run with.
fq pause one
m=$(fq submit -q one -n first -- sleep 5)
[ "$(fq queues --json | jq '.queues[] | select(.name == "one") | .queued')" = 1 ] || fail "one: not 1 queued"
fq set "$m" --queue default --timeout 300ms --name moved || fail "set --queue --timeout --name"
[ "$(fq queues --json | jq '.queues[] | select(.name == "one") | .queued')" = 0 ] ||
	fail "one still counts the moved job: $(fq queues --json | jq -c .queues)"
rc=0; fq wait "$m" >/dev/null || rc=$?
[ "$(field "$m" state)/$(field "$m" queue)/$(field "$m" name)" = timed_out/default/moved ] ||
	fail "the moved job: $(field "$m" state)/$(field "$m" queue)/$(field "$m" name)"
fq resume one
rc=0; out=$(fq set "$m" --queue nope 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *'no queue named "nope"'* ]] || fail "set --queue nope: $rc $out"
rc=0; out=$("$FORQ" -s "$SOCK" set 1 2>&1) || rc=$?
[ $rc -eq 64 ] || fail "set with nothing to change: $rc $out"
l=$(fq submit --in 1h -- true)
[ "$(field "$l" state)" = scheduled ] || fail "l: $(field "$l" state)"
fq set "$l" --in 0
fq wait "$l" >/dev/null || fail "set --in 0 did not let it go: $(fq status "$l")"
fq pause
n=$(fq submit -- true)
fq set "$n" --in 1h
[ "$(field "$n" state)" = scheduled ] || fail "set --in 1h of a queued job: $(field "$n" state)"
fq resume
behind=$(fq submit -- true)
fq wait "$behind" >/dev/null
[ "$(field "$n" state)" = scheduled ] || fail "a job set to start in an hour ran: $(field "$n" state)"
fq set "$n" --at "@$(date +%s)"
fq wait "$n" >/dev/null || fail "set --at @now: $(fq status "$n")"
ok "forq set --queue/--timeout/--name move and change a queued job; --in and --at schedule and unschedule it"

# A queue at its limit waits while the others run.
s1=$(fq submit -q one -- sleep 0.5)
s2=$(fq submit -q one -- sleep 0.5)
d=$(fq submit -- true)
fq wait "$s1" "$s2" "$d"
before "$(field "$s1" ended_at)" "$(field "$s2" started_at)" ||
	fail "queue one (parallel = 1) ran two at once"
before "$(field "$d" started_at)" "$(field "$s2" started_at)" ||
	fail "the default queue waited for queue one"
ok "parallel = 1: one at a time in its queue, the others go on"

# Queue defaults, and what the job says instead.
g=$(fq submit -q gpu -- true)
h=$(fq submit -q gpu -p 1 --timeout 0 -- true)
fq wait "$g" "$h"
[ "$(field "$g" priority)/$(field "$g" timeout_ms)" = "5/1000" ] ||
	fail "queue defaults: $(field "$g" priority)/$(field "$g" timeout_ms)"
[ "$(field "$h" priority)/$(field "$h" timeout_ms)" = "1/null" ] ||
	fail "job's own: $(field "$h" priority)/$(field "$h" timeout_ms)"
rc=0; unknown=$(fq submit -q nope -- true 2>&1) || rc=$?
[ $rc -eq 65 ] && grep -q 'no queue named "nope"' <<<"$unknown" ||
	fail "unknown queue: $rc $unknown"
rc=0; out=$(fq submit -p 1001 -- true 2>&1) || rc=$?
[ $rc -eq 64 ] || fail "priority 1001: $rc $out"
ok "a queue's priority and timeout apply unless the job says; $unknown"

# Lists by queue and name; waits for many: ids on stdin, --all.
[ "$(fq list --queue gpu --json | jq -r '[.jobs[].id] | join(" ")')" = "$h $g" ] ||
	fail "list --queue gpu"
[ "$(fq list --name p5 --json | jq -r '[.jobs[].id] | join(" ")')" = "${ids[4]} ${ids[1]}" ] ||
	fail "list --name p5"
printf 'sleep 0.2\nsh -c "exit 4"\ntrue\n' >"$T/batch"
rc=0; fq submit --batch "$T/batch" | fq wait - >/dev/null || rc=$?
[ $rc -eq 4 ] || fail "submit --batch | wait -: exit $rc"
# Jobs that last a second: still running when wait --all comes.
printf 'sleep 1\nsh -c "sleep 1; exit 4"\nsleep 1\n' >"$T/batch"
fq submit --batch "$T/batch" >/dev/null
rc=0; out=$(fq wait --all --json) || rc=$?
[ $rc -eq 4 ] && [ "$(jq '.jobs | length' <<<"$out")" = 3 ] ||
	fail "wait --all: $rc $out"
[ "$(fq list --state running --json | jq '.jobs | length')" = 0 ] || fail "wait --all returned early"
rc=0; out=$(fq wait --queue nope 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *'no queue named "nope"'* ]] || fail "wait --queue nope: $rc $out"
ok "list --queue, --name; forq wait - (ids from submit --batch) and --all"

# Delayed start: scheduled until then, on time.
t0=$(date +%s.%N)
j=$(fq submit --in 1s -- true)
[ "$(field "$j" state)" = scheduled ] || fail "--in: $(field "$j" state)"
fq wait "$j"
awk -v s="$(field "$j" started_at)" -v t="$t0" 'BEGIN { exit !(s >= t + 1) }' ||
	fail "--in 1s started at $(field "$j" started_at), submitted $t0"
at=$(($(date +%s) + 2))
k=$(fq submit --at "@$at" -- true)
[ "$(field "$k" start_at)" = "$at" ] || fail "--at: $(field "$k" start_at)"
rc=0; out=$(fq submit --at tomorrowish -- true 2>&1) || rc=$?
[ $rc -eq 64 ] || fail "--at garbage: $rc $out"
fq wait "$k"
awk -v s="$(field "$k" started_at)" -v t="$at" 'BEGIN { exit !(s >= t && s < t + 2) }' ||
	fail "--at @$at started at $(field "$k" started_at)"
ok "--in and --at: scheduled, then started on time"

# Across a restart: a scheduled job and a paused queue stay so.
fq pause one
start_in=$(($(date +%s) + 3))
late=$(fq submit --at "@$start_in" -- true)
held=$(fq submit -q one -- true)
stop_forqd
start_forqd
[ "$(field "$late" state)" = scheduled ] || fail "scheduled after restart: $(field "$late" state)"
[ "$(fq queues --json | jq -r '.queues[] | select(.name == "one") | .paused')" = true ] ||
	fail "pause forgotten by a restart"
fq wait "$late"
awk -v s="$(field "$late" started_at)" -v t="$start_in" 'BEGIN { exit !(s >= t && s < t + 2) }' ||
	fail "after restart, --at @$start_in started at $(field "$late" started_at)"
[ "$(field "$held" state)" = queued ] || fail "held job: $(field "$held" state)"
fq resume one
fq wait "$held"
ok "a scheduled job and a paused queue survive a restart"

# Drain: what runs ends, nothing starts, and the pause stays.
long=$(fq submit -- sleep 0.5)
fq drain
[ "$(field "$long" state)" = succeeded ] || fail "drain returned before $long ended"
after=$(fq submit -- true)
[ "$(fq queues --json | jq .paused)" = true ] || fail "not paused after drain"
stop_forqd
start_forqd
[ "$(field "$after" state)" = queued ] || fail "drained: $after is $(field "$after" state)"
fq resume
fq wait "$after"
ok "drain waits for running jobs, starts none, and stays across a restart"

# A reload that drops a queue's section: its jobs stay, without a limit
# of their own, and new ones may not go to it.
write_conf "cpus = $cpu" "slots = 4" "[queue gpu]" "priority = 5"
mark_log
kill -HUP "$FORQD_PID"
wait_log 'configuration reloaded' 10
[ "$(fq queues --json | jq -c '.queues[] | select(.name == "one") | [.declared, .parallel]')" = "[false,null]" ] ||
	fail "queue one after its section went: $(fq queues --json | jq -c .queues)"
rc=0; out=$(fq submit -q one -- true 2>&1) || rc=$?
[ $rc -eq 65 ] || fail "submit to a dropped queue: $rc $out"
ok "a reload without [queue one]: one keeps no limit and takes no new jobs"
