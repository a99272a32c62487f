# Hostile and broken clients, each tried while another client keeps a
# steady stream of jobs going: forqd answers each one as it deserves,
# keeps serving everyone else, loses none of the stream's jobs and
# holds no descriptor once they are gone.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "this test creates a user and must run as root"
command -v python3 >/dev/null || fail "python3 is not installed"
U=forqtesth$$
useradd -M -s /bin/sh "$U"
remove_user() { userdel "$U" 2>/dev/null; }
CLEANUP_HOOK=remove_user
chmod 755 "$T"

write_conf "slots = 4" "[limits]" "request_timeout = 1s"
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$CONF"
start_forqd
hostile() { python3 "$FORQ_SOURCE_DIR/tests/integration/hostile.py" "$SOCK" "$@"; }
fds() { find "/proc/$FORQD_PID/fd" -mindepth 1 | wc -l; }
fds_before=$(fds)
rss_before=$(awk '/^VmRSS/ { print $2 }' "/proc/$FORQD_PID/status")

# The steady stream: one job per submit, until told to stop.
: >"$T/stream"
(
	while [ ! -e "$T/stop" ]; do
		"$FORQ" -s "$SOCK" submit -- true >>"$T/stream" || exit 1
	done
) & stream=$!

for attack in silent slow huge garbage disconnects; do
	out=$(hostile "$attack") || fail "$attack: $out"
	kill -0 "$FORQD_PID" || fail "forqd died during $attack"
	ok "$out"
done
out=$(runuser -u "$U" -- python3 "$FORQ_SOURCE_DIR/tests/integration/hostile.py" "$SOCK" flood 128) ||
	fail "flood: $out"
ok "$out (connections_per_user_max 128)"

touch "$T/stop"
wait "$stream" || fail "the stream's submit failed"
n=$(wc -l <"$T/stream")
[ "$n" -gt 10 ] || fail "only $n jobs in the stream: submits were starved"
fq wait $(cat "$T/stream") >/dev/null || fail "a job of the stream did not succeed"
bad=$(fq list --limit 100000 --json | jq --slurpfile ids <(cat "$T/stream") \
	'[.jobs[] | select(.id as $i | $ids | index($i)) | select(.state != "succeeded")] | length')
[ "$bad" = 0 ] || fail "$bad jobs of the stream did not succeed"
ok "the steady stream went on: $n jobs submitted during the attacks, all succeeded"

# Every hostile connection is closed and freed: the descriptor count is
# back where it was (forqd closes them as it sees each hang-up, and one
# told to close that does not read why within request_timeout, 1s).
for _ in $(seq 2000); do
	[ "$(fds)" -le "$fds_before" ] && break
	fq ping >/dev/null
done
[ "$(fds)" -le "$fds_before" ] || fail "descriptors: $fds_before before, $(fds) after: $(ls -l /proc/$FORQD_PID/fd)"
rss_after=$(awk '/^VmRSS/ { print $2 }' "/proc/$FORQD_PID/status")
ok "no descriptor kept ($fds_before before, $(fds) after); RSS ${rss_before} kB before, ${rss_after} kB after"
