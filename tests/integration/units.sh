# forqd under systemd's protocols, without systemd running: the unit
# files pass systemd-analyze; the socket is taken from socket activation
# (systemd-socket-activate); READY, STATUS, RELOADING, STOPPING and
# WATCHDOG reach a NOTIFY_SOCKET at the right moments.
. "$(dirname "$0")/lib.sh"
for tool in systemd-analyze systemd-socket-activate python3; do
	command -v $tool >/dev/null || fail "$tool is not installed"
done
src=$FORQ_SOURCE_DIR/systemd
SECURITY_THRESHOLD=6.0

# The units name /usr/sbin/forqd; point them at this build to check them.
mkdir -p "$T/units/user"
for f in forqd.service forqd.socket user/forqd.service user/forqd.socket; do
	sed "s|/usr/sbin/forqd|$FORQD|g" "$src/$f" >"$T/units/$f"
done
out=$(systemd-analyze verify --man=no "$T/units/forqd.service" "$T/units/forqd.socket" 2>&1) ||
	fail "systemd-analyze verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed: $out"
mkdir -p -m 0700 "$T/run-user"
out=$(cd "$T/units/user" && XDG_RUNTIME_DIR=$T/run-user systemd-analyze --user verify --man=no forqd.service forqd.socket 2>&1) ||
	fail "user units: $out"
[ -z "$out" ] || fail "systemd-analyze verify (user units) printed: $out"
ok "systemd-analyze verify: the system and user units are clean"

score=$(systemd-analyze security --offline=yes "$T/units/forqd.service" 2>&1 |
	sed -n 's/.*Overall exposure level for forqd.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "no security score"
awk -v s="$score" -v t="$SECURITY_THRESHOLD" 'BEGIN { exit !(s <= t) }' ||
	fail "systemd-analyze security: $score, over the threshold $SECURITY_THRESHOLD"
ok "systemd-analyze security: exposure $score (threshold $SECURITY_THRESHOLD)"

# Socket activation: the first client starts forqd on the passed socket.
write_conf
mark_log
systemd-socket-activate -l "$T/activated.sock" -- "$FORQD" -c "$CONF" >>"$LOG" 2>&1 &
FORQD_PID=$!
wait_log "Listening on $T/activated.sock" 10
"$FORQ" -s "$T/activated.sock" ping >/dev/null || fail "no answer on the activated socket"
grep -q "listening on $T/activated.sock, passed by systemd" "$LOG" || fail "not the passed socket"
[ ! -e "$SOCK" ] || fail "forqd made its own socket too"
stop_forqd
[ -S "$T/activated.sock" ] || fail "forqd removed the socket systemd owns"
ok "socket activation: forqd takes the passed socket and leaves it to systemd"

# sd_notify, at the right moments.
NOTES=$T/notify.log
: >"$NOTES"
python3 "$FORQ_SOURCE_DIR/tests/integration/notify_listen.py" "$T/notify" "$NOTES" &
listener=$!
wait_notes() { # REGEX: a message after the mark
	local rc=0 fd tail_pid
	exec {fd}< <(exec tail -c +"$((NOTES_MARK + 1))" -F "$NOTES" 2>/dev/null)
	tail_pid=$!
	timeout 10 grep -m1 -qE -- "$1" <&"$fd" || rc=$?
	exec {fd}<&-
	kill "$tail_pid" 2>/dev/null || true
	[ $rc -eq 0 ] || { kill "$listener"; fail "no notification /$1/: $(cat "$NOTES")"; }
}
NOTES_MARK=0
wait_notes '^LISTENING$'
NOTIFY_SOCKET=$T/notify WATCHDOG_USEC=400000 start_forqd
NOTES_MARK=0
wait_notes '^READY=1$'
grep -qE '^STATUS=2 of 2 workers ready, 0 jobs queued, 0 running$|^STATUS=1 of 1 workers ready' "$NOTES" ||
	fail "no STATUS with the workers: $(cat "$NOTES")"
NOTES_MARK=$(stat -c %s "$NOTES")
wait_notes '^WATCHDOG=1$'
NOTES_MARK=$(stat -c %s "$NOTES")
wait_notes '^WATCHDOG=1$'
ok "READY=1 once the workers are up, STATUS with counts, WATCHDOG=1 every 200 ms"
NOTES_MARK=$(stat -c %s "$NOTES")
kill -HUP "$FORQD_PID"
wait_notes '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$'
wait_notes '^READY=1$'
NOTES_MARK=$(stat -c %s "$NOTES")
stop_forqd
wait_notes '^STOPPING=1$'
kill "$listener"
ok "RELOADING=1 (with MONOTONIC_USEC) then READY=1 on HUP, STOPPING=1 on TERM"
