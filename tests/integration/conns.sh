# connections_max keeps connections_reserved for root and admin_group:
# a user who fills the rest cannot lock an admin out. A flood of
# refused connections is logged once a second with a count, not once
# per connection.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "this test creates a user and must run as root"
U=forqtestc$$
useradd -M -s /bin/sh "$U"
remove_user() {
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	userdel "$U" 2>/dev/null || true
}
CLEANUP_HOOK=remove_user
chmod 755 "$T"
conns() { python3 "$FORQ_SOURCE_DIR/tests/integration/conns.py" "$SOCK" "$@"; }

write_conf "[limits]" "connections_max = 6" "connections_reserved = 2" \
	"connections_per_user_max = 100"
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$CONF"
start_forqd

# The user takes all it may, and holds them.
mkfifo "$T/held" "$T/release"
runuser -u "$U" -- python3 "$FORQ_SOURCE_DIR/tests/integration/conns.py" "$SOCK" 6 hold \
	<"$T/release" >"$T/held" &
HOLDER=$!
exec {release}>"$T/release"
out=$(head -n 6 "$T/held" | tr '\n' ' ')
[ "$out" = "ok ok ok ok connections_max connections_max " ] ||
	fail "a user's connections past connections_max - connections_reserved: $out"
ok "a user gets connections_max - connections_reserved (4 of 6): $out"

# Root still gets in, up to connections_max.
out=$(conns 3 | tr '\n' ' ')
[ "$out" = "ok ok connections_max " ] || fail "root beside the user's 4: $out"
fq ping >/dev/null || fail "root cannot connect while the user holds 4"
ok "root gets the 2 reserved connections while the user holds the rest: $out"

# A flood of refused connections: one log line a second, and a count.
mark_log
before=$(grep -c 'refused' "$LOG" || true)
runuser -u "$U" -- python3 -c '
import socket, sys
for _ in range(3000):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.close()
' "$SOCK"
wait_log 'refused [0-9]+ more connections in the last second \(the last: uid [0-9]+' 5
lines=$(($(grep -c 'refused' "$LOG") - before))
[ "$lines" -le 12 ] || fail "3,000 refused connections wrote $lines log lines"
fq ping >/dev/null || fail "root cannot connect after the flood"
ok "3,000 refused connections: $lines log lines, the rest counted: $(grep -o 'refused [0-9]* more connections.*' "$LOG" | tail -n 1)"
exec {release}>&-
wait "$HOLDER" || true
HOLDER=
