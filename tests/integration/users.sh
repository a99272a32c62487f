# Many users, one root forqd: a job runs as the user who submitted it,
# with that user's groups and HOME; its output is that user's alone;
# another user can neither see nor touch it; root sees all. And a forqd
# run by a user serves that user alone.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "this test creates users and must run as root"
A=forqtesta$$
B=forqtestb$$
G=forqtestg$$
groupadd "$G"
useradd -m -G "$G" -s /bin/sh "$A"
useradd -m -s /bin/sh "$B"
remove_users() {
	if [ -n "$FORQD_PID" ]; then
		kill -TERM "$FORQD_PID" 2>/dev/null || true
		"$FORQ_PIDWAIT" "$FORQD_PID" 10000 || kill -KILL "$FORQD_PID" 2>/dev/null || true
		FORQD_PID=
	fi
	userdel -r "$A" 2>/dev/null || true
	userdel -r "$B" 2>/dev/null || true
	groupdel "$G" 2>/dev/null || true
}
trap 'st=$?; remove_users; (exit $st); cleanup' EXIT
chmod 755 "$T"

write_conf
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$CONF"
start_forqd
as() { local u=$1; shift; runuser -u "$u" -- env -u FORQ_SOCKET "$FORQ" -s "$SOCK" "$@"; }

out=$(cd / && as "$A" submit -w -o -- sh -c 'id -u; id -G; echo "$HOME $USER $LOGNAME"' 2>/dev/null) ||
	fail "A's job failed: $out"
[ "$(sed -n 1p <<<"$out")" = "$(id -u "$A")" ] || fail "uid: $out"
[ "$(sed -n 2p <<<"$out" | tr ' ' '\n' | sort | tr '\n' ' ')" = "$(id -G "$A" | tr ' ' '\n' | sort | tr '\n' ' ')" ] ||
	fail "groups: $(sed -n 2p <<<"$out") want $(id -G "$A")"
[ "$(sed -n 3p <<<"$out")" = "$(getent passwd "$A" | cut -d: -f6) $A $A" ] || fail "HOME/USER/LOGNAME: $out"
ok "A's job ran as A: uid, groups (incl. $G), HOME, USER, LOGNAME"

id=$(cd / && as "$A" submit -- sh -c 'echo secret')
as "$A" wait "$id"
[ "$(stat -c '%U %a' "$T/state/logs/$id.out")" = "$A 600" ] || fail "log file: $(stat -c '%U %a' "$T/state/logs/$id.out")"
ok "A's output files belong to A, mode 600"

for cmd in "status $id" "wait $id" "logs $id" "cancel $id"; do
	rc=0; err=$(as "$B" $cmd 2>&1 >/dev/null) || rc=$?
	[ $rc -eq 77 ] || fail "B: forq $cmd exited $rc, want 77: $err"
	[[ $err == *"belongs to another user"* ]] || fail "B: forq $cmd said: $err"
done
[ "$(as "$B" list --json | jq '.jobs | length')" = 0 ] || fail "B sees jobs in list"
[ "$(as "$A" list --json | jq '.jobs | length')" = 2 ] || fail "A does not see its 2 jobs"
[ "$(fq list --json | jq '.jobs | length')" = 2 ] || fail "root does not see A's jobs"
fq status "$id" >/dev/null || fail "root cannot see A's job"
ok "B cannot see, wait for, read or cancel A's job (exit 77, not permitted); root sees all"
stop_forqd

# A forqd run by A serves A alone, even on a socket anyone may open.
mkdir -m 0777 "$T/usr"
cat >"$T/usr/forqd.conf" <<CONF
[daemon]
socket = $T/usr/forqd.sock
socket_mode = 0666
pidfile = $T/usr/forqd.pid
state_dir = $T/usr/state
CONF
chown -R "$A" "$T/usr"
mark_log
runuser -u "$A" -- "$FORQD" -c "$T/usr/forqd.conf" >>"$LOG" 2>&1 &
FORQD_PID=$!
wait_log 'ready: ' 20
as "$A" -s "$T/usr/forqd.sock" ping >/dev/null || fail "A cannot use A's forqd"
rc=0; err=$(as "$B" -s "$T/usr/forqd.sock" ping 2>&1) || rc=$?
[ $rc -ne 0 ] && [[ $err == *"serves its own user only"* ]] || fail "B got in: $rc $err"
grep -q "refused uid $(id -u "$B")" "$LOG" || fail "the refusal is not logged"
ok "a user's forqd refuses other users even with socket_mode 0666"
