# forq clean: ended jobs go with their output, by state and age; jobs
# not ended stay; more than one batch of the daemon's goes in one call.
. "$(dirname "$0")/lib.sh"

write_conf "slots = 4"
start_forqd

ok1=$(fq submit -- echo one)
bad=$(fq submit -- sh -c 'echo oops >&2; exit 1')
live=$(fq submit -- sleep 600)
fq wait "$ok1" || fail "ok1"
fq wait "$bad" || true
[ -f "$T/state/logs/$bad.err" ] || fail "no output file for $bad"
[ "$(fq clean --older-than 1h)" = "removed 0 jobs" ] || fail "--older-than 1h removed recent jobs"
[ "$(fq clean --state failed)" = "removed 1 jobs" ] || fail "--state failed"
rc=0; fq status "$bad" >/dev/null 2>&1 || rc=$?
[ $rc -eq 66 ] || fail "the cleaned job is still there: $rc"
[ ! -e "$T/state/logs/$bad.err" ] && [ ! -e "$T/state/logs/$bad.out" ] || fail "its output stayed"
[ "$(fq status --json "$ok1" | jq -r .job.state)" = succeeded ] || fail "--state failed took a success"
rc=0; out=$(fq clean --state running 2>&1) || rc=$?
[ $rc -eq 65 ] || fail "clean --state running: $rc $out"
ok "clean --state failed removes the failed job and its output; --older-than keeps recent ones"

# Past one batch (10,000 a request): the CLI asks again until done.
seq 10500 | sed "s/.*/true/" >"$T/batch"
fq submit --batch "$T/batch" -w >/dev/null
[ "$(fq clean --json | jq .removed)" = 10501 ] || fail "clean of 10,501 ended jobs"
[ "$(fq status --json "$live" | jq -r .job.state)" = running ] || fail "the running job was touched"
[ "$(fq list --limit 100 --json | jq '.jobs | length')" = 1 ] || fail "jobs left: $(fq list)"
ok "clean removes 10,501 ended jobs in batches and leaves the running one"
fq cancel "$live" >/dev/null
