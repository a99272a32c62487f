# Holds: a job submitted with --hold, or held later while queued,
# scheduled or waiting, is in state held and never starts (a job behind
# it does) until released; its release puts it where it would be had
# it never been held (queued, scheduled, waiting: a dependency that
# failed meanwhile cancels it then). A held job keeps its unique key,
# can be cancelled and reprioritised, and stays held across a restart.
# A running job cannot be held, a job not held cannot be released.
. "$(dirname "$0")/lib.sh"

field() { # ID FIELD
	fq status --json "$1" | jq -cr ".job.$2"
}
# behind: a job submitted now, run to its end. With free slots, what
# was queued before it has been handed out by then.
behind() {
	local id
	id=$(fq submit "$@" -- true)
	fq wait "$id" >/dev/null || fail "job $id: $(fq status "$id")"
}

write_conf "slots = 2"
mkfifo "$T/up"
start_forqd

# --hold: held at submit, and still held after a later job ran.
h=$(fq submit --hold -- sh -c "echo ran >>'$T/h'")
[ "$(field "$h" state)" = held ] || fail "--hold: $(field "$h" state)"
behind
[ "$(field "$h" state)" = held ] && [ ! -e "$T/h" ] || fail "a held job started: $(field "$h" state)"
[ "$(fq list --state held --json | jq -c '[.jobs[].id]')" = "[$h]" ] ||
	fail "list --state held: $(fq list --state held --json | jq -c '[.jobs[].id]')"
[ "$(fq hold "$h")" = "$h held" ] || fail "a second hold is not a no-op"
[ "$(fq release "$h")" = "$h queued" ] || fail "release"
fq wait "$h" >/dev/null || fail "released: $(fq status "$h")"
[ "$(cat "$T/h")" = ran ] || fail "ran: $(cat "$T/h")"
ok "--hold: held, passed by a later job, listed by --state held; released, it runs once"

# Held while queued (its queue paused), then the queue resumed.
fq pause
q=$(fq submit -- sh -c "echo ran >>'$T/q'")
[ "$(field "$q" state)" = queued ] || fail "q: $(field "$q" state)"
queued() { fq queues --json | jq '.queues[] | select(.name == "default") | .queued'; }
[ "$(queued)" = 1 ] || fail "queues: $(queued) queued before the hold"
[ "$(fq hold "$q")" = "$q held" ] || fail "hold of a queued job"
[ "$(queued)" = 0 ] || fail "queues counts a held job queued: $(queued)"
fq release "$q" >/dev/null
[ "$(queued)" = 1 ] || fail "queues: $(queued) queued after its release"
fq hold "$q" >/dev/null
fq resume
behind
[ "$(field "$q" state)" = held ] && [ ! -e "$T/q" ] || fail "a held queued job started"
fq set "$q" --priority 7 || fail "set of a held job"
[ "$(field "$q" priority)" = 7 ] || fail "priority: $(field "$q" priority)"
fq release "$q" >/dev/null
fq wait "$q" >/dev/null || fail "released q: $(fq status "$q")"
[ "$(cat "$T/q")" = ran ] || fail "q ran: $(cat "$T/q")"
ok "a queued job held is passed by later jobs (forq queues counts it queued only while it is), takes a new priority, and runs once released"

# Held while scheduled: its time passes while held; released, it is
# queued at once. Another, released before its time, is scheduled.
s=$(fq submit --in 1s -- true)
late=$(fq submit --in 1h -- true)
fq hold "$s" "$late" >/dev/null
marker=$(fq submit --in 1s -- true)
fq wait "$marker" >/dev/null || fail "marker"
[ "$(field "$s" state)" = held ] || fail "a held scheduled job started: $(field "$s" state)"
[ "$(fq release "$s" "$late" | tr '\n' ' ')" = "$s queued $late scheduled " ] ||
	fail "release of scheduled jobs: $(fq status "$late")"
fq wait "$s" >/dev/null || fail "released s: $(fq status "$s")"
fq cancel "$late" >/dev/null
ok "a scheduled job held past its time runs once released; one released early is scheduled again"

# Held while waiting: its dependency ends meanwhile, it stays held;
# released, it goes on (or is cancelled, if the dependency failed).
# The dependencies end only once both are held (a file, not a time:
# under the sanitizers the submits and the hold took longer than 0.3s).
a=$(fq submit -- sh -c "while [ ! -e '$T/deps.go' ]; do sleep 0.05; done")
b=$(fq submit --after "$a" -- true)
f=$(fq submit -- sh -c "while [ ! -e '$T/deps.go' ]; do sleep 0.05; done; exit 3")
c=$(fq submit --after "$f" -- true)
fq hold "$b" "$c" >/dev/null
touch "$T/deps.go"
fq wait "$a" >/dev/null
fq wait "$f" >/dev/null || true
behind
[ "$(field "$b" state)/$(field "$c" state)" = held/held ] ||
	fail "held waiting jobs moved: $(field "$b" state)/$(field "$c" state)"
[ "$(fq release "$b" | tr '\n' ' ')" = "$b waiting " ] || fail "release of b"
fq wait "$b" >/dev/null || fail "b: $(fq status "$b")"
fq release "$c" >/dev/null
rc=0; fq wait "$c" >/dev/null || rc=$?
[ "$(field "$c" state)/$(field "$c" error)" = "cancelled/dependency $f failed" ] ||
	fail "c: $(field "$c" state)/$(field "$c" error)"
ok "a waiting job held waits on held; released, it runs (or is cancelled: $(field "$c" error))"

# What cannot be held or released, and a cancel of a held job.
r=$(start_held r 'sleep 30')
rc=0; err=$(fq hold "$r" 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $err == *"is running: only a job not started is held"* ]] ||
	fail "hold of a running job: $rc $err"
fq cancel "$r" >/dev/null
done_id=$(fq submit -- true)
fq wait "$done_id" >/dev/null
rc=0; err=$(fq release "$done_id" 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $err == *"is succeeded, not held"* ]] || fail "release of an ended job: $rc $err"
rc=0; err=$(fq hold 999999 2>&1) || rc=$?
[ $rc -eq 66 ] || fail "hold of no job: $rc $err"
x=$(fq submit --hold -- true)
[ "$(fq cancel "$x")" = "$x cancelled" ] || fail "cancel of a held job"
fq release "$x" >/dev/null 2>&1 && fail "a cancelled job was released"
ok "hold of a running job and release of an ended one are refused (exit 65), of no job exit 66; a held job cancels"

# A held job keeps its unique key; it stays held across a restart.
k=$(fq submit --hold --unique nightly -- sh -c "echo ran >>'$T/k'")
[ "$(fq submit --unique nightly -- true)" = "$k" ] || fail "a held job's key was taken"
stop_forqd
start_forqd
[ "$(field "$k" state)" = held ] || fail "after a restart: $(field "$k" state)"
behind
[ ! -e "$T/k" ] || fail "the held job ran after the restart"
fq release "$k" >/dev/null
fq wait "$k" >/dev/null || fail "k: $(fq status "$k")"
[ "$(cat "$T/k")" = ran ] || fail "k ran: $(cat "$T/k")"
ok "a held job keeps its unique key and stays held across a restart; released, it runs once"
