# Dependencies: --after waits for success, a failure or cancel cancels
# what depends on it (down the chain, with the reason), --after-any
# waits for any end, --after-fail for ends none of which succeeded; unknown and foreign ids are refused; waiting jobs
# survive a restart and can be cancelled.
. "$(dirname "$0")/lib.sh"

field() { # ID FIELD
	fq status --json "$1" | jq -cr ".job.$2"
}
before() { # A B: time A is before (or at) time B
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

write_conf "slots = 4"
start_forqd

# A chain: c after b after a; each starts once the one before it ended.
a=$(fq submit -- sleep 0.3)
b=$(fq submit --after "$a" -- true)
c=$(fq submit --after "$b" -- true)
[ "$(field "$b" state)" = waiting ] || fail "b: $(field "$b" state)"
fq wait "$c" || fail "the chain failed"
before "$(field "$a" ended_at)" "$(field "$b" started_at)" || fail "b started before a ended"
before "$(field "$b" ended_at)" "$(field "$c" started_at)" || fail "c started before b ended"
[ "$(field "$c" after)" = "[{\"id\":$b,\"state\":\"succeeded\"}]" ] || fail "status after: $(field "$c" after)"
ok "--after: a chain of three runs in order, each once the one before succeeded"

# A failure cancels the chain below it, each with its reason.
a=$(fq submit -- sh -c 'sleep 0.2; exit 1')
b=$(fq submit --after "$a" -- true)
c=$(fq submit --after "$b" -- true)
any=$(fq submit --after-any "$a" -- true)
rc=0; fq wait "$c" || rc=$?
[ "$(field "$b" state)/$(field "$b" error)" = "cancelled/dependency $a failed" ] ||
	fail "b: $(field "$b" state)/$(field "$b" error)"
[ "$(field "$c" state)/$(field "$c" error)" = "cancelled/dependency $b cancelled" ] ||
	fail "c: $(field "$c" state)/$(field "$c" error)"
fq wait "$any" || fail "--after-any did not run after a failure"
ok "a failed job cancels what waits for it, down the chain: $(field "$c" error); --after-any runs"

# --after-fail: runs once all have ended and none succeeded; a success
# cancels it, with the reason.
f1=$(fq submit -- sh -c 'sleep 0.2; exit 2')
f2=$(fq submit -- sh -c 'sleep 10')
s1=$(fq submit -- sh -c 'sleep 0.2')
onfail=$(fq submit --after-fail "$f1,$f2" -- true)
notrun=$(fq submit --after-fail "$f1,$s1" -- true)
[ "$(field "$onfail" state)" = waiting ] || fail "onfail: $(field "$onfail" state)"
[ "$(fq status --json "$onfail" | jq .job.after_fail)" = true ] || fail "status does not say after_fail"
fq wait "$f1" >/dev/null || true
[ "$(field "$onfail" state)" = waiting ] || fail "onfail ran with $f2 still running: $(field "$onfail" state)"
fq cancel "$f2" >/dev/null
fq wait "$onfail" || fail "--after-fail did not run once both had failed: $(fq status "$onfail")"
before "$(field "$f2" ended_at)" "$(field "$onfail" started_at)" || fail "onfail did not wait for $f2"
rc=0; fq wait "$notrun" || rc=$?
[ "$(field "$notrun" state)/$(field "$notrun" error)" = "cancelled/dependency $s1 succeeded" ] ||
	fail "notrun: $(field "$notrun" state)/$(field "$notrun" error)"
rc=0; out=$(fq submit --after-any "$f1" --after-fail "$f1" -- true 2>&1) || rc=$?
[ $rc -eq 64 ] && [[ $out == *"do not go together"* ]] || fail "--after-any with --after-fail: $rc $out"
ok "--after-fail runs once its dependencies failed (exit 2, cancelled); one that succeeded cancels it: $(field "$notrun" error)"

# Several dependencies, one already ended; and one cancelled.
x=$(fq submit -- true)
fq wait "$x"
y=$(fq submit -- sleep 0.2)
z=$(fq submit --after "$x,$y" -- true)
fq wait "$z" || fail "--after x,y"
before "$(field "$y" ended_at)" "$(field "$z" started_at)" || fail "z did not wait for y"
s=$(fq submit -- sleep 10)
t=$(fq submit --after "$s" -- true)
fq cancel "$s" >/dev/null
rc=0; fq wait "$t" || rc=$?
[ "$(field "$t" error)" = "dependency $s cancelled" ] || fail "t: $(field "$t" error)"
ok "--after x,y waits for both (one already done); a cancel propagates: $(field "$t" error)"

# Unknown ids and malformed lists are refused; nothing is queued.
rc=0; unknown=$(fq submit --after 999999 -- true 2>&1) || rc=$?
[ $rc -eq 66 ] && [[ $unknown == *"--after 999999: no such job"* ]] || fail "unknown: $rc $unknown"
# A job can name only jobs that exist, so never one submitted after
# it: no cycle can form. The next id is refused like any unknown one.
next=$(($(fq list --limit 1 --json | jq '.jobs[0].id') + 1))
rc=0; out=$(fq submit --after "$next" -- true 2>&1) || rc=$?
[ $rc -eq 66 ] || fail "--after the next id ($next): $rc $out"
rc=0; out=$(fq submit --after "$x" --after-any "$y" -- true 2>&1) || rc=$?
[ $rc -eq 64 ] || fail "--after with --after-any: $rc $out"
rc=0; out=$(fq submit --after 3,x -- true 2>&1) || rc=$?
[ $rc -eq 64 ] || fail "--after 3,x: $rc $out"
ok "an unknown dependency is refused: $unknown"

# Waiting across a restart; a waiting job can be cancelled.
p=$(fq submit -- sleep 1)
q=$(fq submit --after "$p" -- true)
w=$(fq submit --after "$p" -- true)
fq cancel "$w" >/dev/null
[ "$(field "$w" state)" = cancelled ] || fail "cancel of a waiting job: $(field "$w" state)"
stop_forqd
start_forqd
# p was running when forqd stopped: it was queued again (crash_requeue_max).
fq wait "$q" || fail "q after restart: $(field "$q" state)"
[ "$(field "$q" state)" = succeeded ] || fail "q: $(field "$q" state)"
ok "a waiting job survives a restart and runs once its dependency is done; a cancel while waiting sticks"
