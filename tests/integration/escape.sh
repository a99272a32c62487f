# A job's processes end with it, also those that left its process
# group (setsid, a double fork): when it ends, when it is cancelled,
# when it times out. And output_max holds for what the job's files take
# on disk, however they grow (fallocate keeping the size, a background
# writer).
. "$(dirname "$0")/lib.sh"

write_conf "slots = 2" "[jobs]" "output_max = 1M" "kill_grace = 500ms"
start_forqd

# gone PIDFILE WHAT: the process whose pid is in PIDFILE ends soon.
gone() {
	local pid
	pid=$(cat "$1")
	[ -n "$pid" ] || fail "$2: no pid written"
	"$FORQ_PIDWAIT" "$pid" 5000 || fail "$2 (pid $pid) outlived its job: $(ps -o pid,stat,sid,args -p "$pid" | tail -n +2)"
}

# Left behind at the end: a background child, and one in a session of
# its own whose parent has exited.
mkfifo "$T/p1" "$T/p2"
id=$(fq submit -- sh -c "sleep 300 & echo \$! >'$T/p1'; (setsid sleep 300 & echo \$! >'$T/p2'); exit 0")
cat "$T/p1" >"$T/bg"
cat "$T/p2" >"$T/escaped"
fq wait "$id" >/dev/null || fail "job $id did not succeed"
gone "$T/bg" "a background child"
gone "$T/escaped" "a setsid'd grandchild"
ok "what a job leaves behind, in its group or out of it, ends with it"

# Cancelled while an escaped process runs.
rm -f "$T/p2"
mkfifo "$T/p2"
id=$(fq submit -- sh -c "(setsid sh -c 'trap \"\" TERM; exec sleep 300' & echo \$! >'$T/p2'); exec sleep 300")
cat "$T/p2" >"$T/escaped"
fq cancel "$id" >/dev/null
fq wait "$id" >/dev/null 2>&1 || true
[ "$(fq status --json "$id" | jq -r .job.state)" = cancelled ] || fail "job $id: $(fq status "$id")"
gone "$T/escaped" "an escaped process of a cancelled job"
ok "cancel ends the processes that escaped the job's group too (TERM ignored: KILL after kill_grace)"

# Timed out the same way.
rm -f "$T/p2"
mkfifo "$T/p2"
id=$(fq submit --timeout 1s -- sh -c "(setsid sleep 300 & echo \$! >'$T/p2'); exec sleep 300")
cat "$T/p2" >"$T/escaped"
fq wait "$id" >/dev/null 2>&1 || true
[ "$(fq status --json "$id" | jq -r .job.state)" = timed_out ] || fail "job $id: $(fq status "$id")"
gone "$T/escaped" "an escaped process of a timed-out job"
ok "a timeout ends the escaped processes too"

# output_max counts the blocks a file holds, not only its size.
id=$(fq submit -- sh -c 'fallocate -n -l 64M /proc/self/fd/1 && exec sleep 300')
fq wait "$id" >/dev/null 2>&1 || true
st=$(fq status --json "$id")
[ "$(jq -r .job.state <<<"$st")" = failed ] && [[ "$(jq -r .job.error <<<"$st")" == *output_max* ]] ||
	fail "fallocate past output_max: $(jq -c .job <<<"$st")"
# Its blocks given back (and a file left with none goes: no output).
used=0
[ -e "$T/state/logs/$id.out" ] && used=$(($(stat -c '%b * %B' "$T/state/logs/$id.out")))
[ "$used" -le $((2 << 20)) ] || fail "the output file still holds $used bytes"
ok "fallocate (keeping the size) past output_max: job failed ($(jq -r .job.error <<<"$st")), the blocks given back"

# A writer in the background cannot go on after its job ended.
id=$(fq submit -- sh -c '(sleep 0.5; head -c 8M /dev/zero) & exit 0')
fq wait "$id" >/dev/null || true
used=0 size=0
if [ -e "$T/state/logs/$id.out" ]; then
	used=$(($(stat -c '%b * %B' "$T/state/logs/$id.out")))
	size=$(stat -c %s "$T/state/logs/$id.out")
fi
[ "$size" = 0 ] && [ "$used" = 0 ] || fail "a background writer wrote $size bytes after its job ended"
[ "$(fq logs "$id" | wc -c)" = 0 ] || fail "forq logs $id shows output"
ok "a background writer ends with its job: nothing written past the end"
