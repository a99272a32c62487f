# A user cannot freeze a worker: their jobs' children are stopped
# (SIGSTOP to every process of theirs, over and over) while they search
# a long PATH before exec. The worker must go on: its heartbeat stays
# fresh, other jobs on it run, it is never killed as hung; the stopped
# jobs end, once continued, failed with the reason their exec failed.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "this test creates a user and must run as root"
U=forqtestf$$
useradd -M -s /bin/sh "$U"
remove_user() {
	touch "$T/stop-stopping" 2>/dev/null || true
	pkill -CONT -u "$U" 2>/dev/null || true
	stop_forqd_now
	pkill -KILL -u "$U" 2>/dev/null || true
	userdel "$U" 2>/dev/null || true
}
CLEANUP_HOOK=remove_user
chmod 755 "$T"

HEARTBEAT_TIMEOUT=500ms write_conf "slots = 4"
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$CONF"
start_forqd
as() { local u=$1; shift; runuser -u "$u" -- env -u FORQ_SOCKET "$@"; }

# A PATH of 4,000 directories that do not exist: each job spends
# milliseconds searching it, as its user, before its exec fails.
path=$(seq -f '/nonexistent/%g' 4000 | paste -sd:)
fq pause >/dev/null
ids=$(cd / && for i in 1 2 3 4 5 6; do
	as "$U" env PATH="$path" "$FORQ" -s "$SOCK" submit -- no-such-command-forq
done)
[ "$(wc -w <<<"$ids")" = 6 ] || fail "submits as $U: $ids"

# The user stops all their processes, again and again (kill(-1) spares
# the caller).
mkfifo "$T/stopping"
chmod 666 "$T/stopping"
as "$U" python3 -c '
import os, signal, sys, time
end = time.monotonic() + 30
open(sys.argv[2], "w").write("go\n")
while time.monotonic() < end and not os.path.exists(sys.argv[1]):
    try:
        os.kill(-1, signal.SIGSTOP)
    except ProcessLookupError:
        pass
' "$T/stop-stopping" "$T/stopping" &
stopper=$!
read -r _ <"$T/stopping"
mark_log
fq resume >/dev/null

# Wait until a child is caught stopped before its exec: it is still
# forqd's image, not the command's.
forqd_exe=$(readlink -f "$FORQD")
caught=
for _ in $(seq 1000); do
	for pid in $(pgrep -u "$U" 2>/dev/null); do
		[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = T ] &&
			[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$forqd_exe" ] && caught=$pid && break
	done
	[ -n "$caught" ] && break
	sleep 0.01 # /proc offers no event for "stopped"
done
[ -n "$caught" ] || fail "no job of $U was caught stopped before its exec: $(ps -o pid,stat,user,args -u "$U" | cut -c1-80; fq list)"

# The workers go on: root's jobs run on them, and none is killed as
# hung for longer than heartbeat_timeout (500 ms) four times over.
for i in 1 2 3 4; do
	fq submit -w -- true >/dev/null 2>&1 || fail "root's job $i did not run beside the stopped child"
done
if (wait_log 'heartbeat for' 2) 2>/dev/null; then
	fail "a worker was killed as hung while a child of $U was stopped"
fi
[ "$(fq workers --json | jq '[.workers[].restarts] | add')" = 0 ] || fail "workers restarted: $(fq workers)"
ok "a user stopping their job before its exec (pid $caught) freezes no worker: root's jobs ran, no worker hung or restarted"

touch "$T/stop-stopping"
wait "$stopper" || true
pkill -CONT -u "$U" || true
fq wait $ids >/dev/null 2>&1 || true
for id in $ids; do
	st=$(fq status --json "$id")
	[ "$(jq -r .job.state <<<"$st")" = failed ] && [[ "$(jq -r .job.error <<<"$st")" == *"cannot execute no-such-command-forq: No such file or directory"* ]] ||
		fail "job $id: $(jq -c .job <<<"$st")"
done
ok "once continued, each of $U's jobs failed, saying why its exec failed"
