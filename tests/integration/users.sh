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
	stop_forqd_now
	userdel -r "$A" 2>/dev/null || true
	userdel -r "$B" 2>/dev/null || true
	groupdel "$G" 2>/dev/null || true
}
CLEANUP_HOOK=remove_users
chmod 755 "$T"

write_conf "[queue one]" "parallel = 1"
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

mkfifo -m 666 "$T/hookfifo"
(cd / && as "$A" submit --on-finish "id -u >'$T/hookfifo'" -- true) >/dev/null
[ "$(timeout 10 cat "$T/hookfifo")" = "$(id -u "$A")" ] || fail "A's on-finish command did not run as A"
ok "A's on-finish command runs as A"

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
[ "$(as "$A" list --json | jq '.jobs | length')" = 3 ] || fail "A does not see its 3 jobs"
[ "$(fq list --json | jq '.jobs | length')" = 3 ] || fail "root does not see A's jobs"
fq status "$id" >/dev/null || fail "root cannot see A's job"
ok "B cannot see, wait for, read or cancel A's job (exit 77, not permitted); root sees all"
bjob=$(cd / && as "$B" submit -- true)
as "$B" wait "$bjob"
[ "$(stat -c %a "$T/state")" = 700 ] && [ "$(stat -c %a "$T/state/logs")" = 700 ] ||
	fail "state dir modes: $(stat -c %a "$T/state" "$T/state/logs")"
ok "the state directory and its logs are closed to others (700)"

# Fairness in a queue: A's many jobs do not hold B's one back. "one"
# runs a job at a time; on a tie in priority the user with fewer jobs
# running there goes first.
fq pause one
install -m 666 /dev/null "$T/order"
for i in 1 2 3 4; do
	(cd / && as "$A" submit -q one -- sh -c "echo A >>$T/order") >/dev/null
done
(cd / && as "$B" submit -q one -- sh -c "echo B >>$T/order") >/dev/null
fq resume one
as "$A" wait --queue one
as "$B" wait --queue one
[ "$(tr '\n' ' ' <"$T/order")" = "A B A A A " ] || fail "fairness: $(tr '\n' ' ' <"$T/order")"
ok "one user's four queued jobs do not hold back another's one: A B A A A"
[ "$(fq list --user "$A" --limit 100 --json | jq '.jobs | length')" = 7 ] ||
	fail "root: list --user $A: $(fq list --user "$A" --json | jq '.jobs | length')"
rc=0; err=$(as "$B" list --user "$A" 2>&1) || rc=$?
[ $rc -eq 77 ] || fail "B listed A's jobs: $rc $err"
ok "list --user: root lists A's jobs; B may not (exit 77)"
# A user only NSS knows (LDAP, sssd) is asked of getent, which here
# answers for a name /etc/passwd lacks with A's uid.
mkdir "$T/nss"
cat >"$T/nss/getent" <<EOF
#!/bin/sh
[ "\$*" = "passwd -- ghost$$" ] || exit 2
echo "ghost$$:x:$(id -u "$A"):$(id -g "$A")::/:/bin/sh"
EOF
chmod 755 "$T/nss/getent"
[ "$(PATH=$T/nss:$PATH fq list --user "ghost$$" --limit 100 --json | jq '.jobs | length')" = 7 ] ||
	fail "list --user ghost$$ (from getent) did not list A's 7 jobs"
rc=0; err=$(PATH=$T/nss:$PATH fq list --user "nobody$$" 2>&1) || rc=$?
[ $rc -eq 64 ] && [[ $err == *"--user nobody$$: no such user"* ]] || fail "unknown user: $rc $err"
ok "list --user NAME: a name /etc/passwd lacks is resolved by getent; an unknown one is a usage error"
# B's two succeeded jobs go; A's six stay.
[ "$(as "$B" clean --state succeeded)" = "removed 2 jobs" ] || fail "B's clean"
[ "$(fq list --user "$A" --limit 100 --json | jq '.jobs | length')" = 7 ] ||
	fail "B's clean touched A's jobs"
rc=0; err=$(as "$B" clean --user "$A" 2>&1) || rc=$?
[ $rc -eq 77 ] || fail "B cleaned A's jobs: $rc $err"
ok "clean: B removes only B's own jobs, and may not name A's (exit 77)"
hid=$(cd / && as "$B" submit --hold -- true)
for cmd in hold release; do
	rc=0; err=$(as "$A" $cmd "$hid" 2>&1) || rc=$?
	[ $rc -eq 77 ] && [[ $err == *"belongs to another user"* ]] || fail "A could $cmd B's job: $rc $err"
done
[ "$(as "$B" status --json "$hid" | jq -r .job.state)" = held ] || fail "B's job is no longer held"
[ "$(fq release "$hid")" = "$hid queued" ] || fail "root cannot release B's job"
as "$B" wait "$hid" || fail "B's released job: $(fq status "$hid")"
ok "A can neither hold nor release B's job (exit 77); root releases it"
bjob=$(cd / && as "$B" submit -- true)
as "$B" wait "$bjob"
stop_forqd

# The [access] keys: only A may connect, A's group is the admin group,
# root may not submit; then limits per user.
ROOT_JOBS=no write_conf "[access]" "allow_users = $A" "admin_group = $G" \
	"[limits]" "queued_max_per_user = 3" "connections_per_user_max = 4"
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$CONF"
start_forqd
rc=0; err=$(cd / && fq submit -- true 2>&1) || rc=$?
[ $rc -eq 77 ] && [[ $err == *"allow_root_jobs = no"* ]] || fail "root's job: $rc $err"
fq list >/dev/null || fail "root may no longer list"
ok "allow_root_jobs = no: root's submit is refused (exit 77) and names the key; root still lists"
rc=0; err=$(as "$B" ping 2>&1) || rc=$?
[ $rc -eq 77 ] && [[ $err == *"uid $(id -u "$B") may not use this forqd (allow_users)"* ]] ||
	fail "B not refused by allow_users: $rc $err"
ok "allow_users: B is refused at connect (exit 77), the error names allow_users"
as "$A" status "$bjob" >/dev/null || fail "A, in admin_group, cannot see B's job"
[ "$(as "$A" list --limit 100 --json | jq '.jobs | length')" = 9 ] || fail "A does not list everyone's jobs"
ok "admin_group: A sees B's job and lists everyone's"
for cmd in "retry $bjob" "set $bjob --priority 5"; do
	rc=0; err=$(as "$A" $cmd 2>&1) || rc=$?
	[ $rc -eq 77 ] && [[ $err == *"only its owner or root may"* ]] ||
		fail "A, in admin_group, forq $cmd: exit $rc: $err"
done
[ "$(fq status --json "$bjob" | jq -r .job.attempt)" = 1 ] || fail "B's job ran again"
ok "admin_group: A may not make B's job run again or change it (exit 77)"

printf 'sleep 30\nsleep 30\nsleep 30\nsleep 30\n' >"$T/four"
rc=0; err=$(cd / && as "$A" submit --batch "$T/four" 2>&1) || rc=$?
[ $rc -eq 65 ] || fail "4 jobs over queued_max_per_user 3: exit $rc, want 65"
[[ $err == *"queued_max_per_user (3)"* ]] || fail "queued_max_per_user: $err"
[ "$(fq list --state queued --json | jq '.jobs | length')" = 0 ] || fail "part of the refused batch was queued"
ok "queued_max_per_user: a batch that would pass it is refused whole: $err"

# Four connections of A's stay; the fifth is told why and closed.
out=$(runuser -u "$A" -- python3 "$FORQ_SOURCE_DIR/tests/integration/conns.py" "$SOCK" 5)
[ "$(tr '\n' ' ' <<<"$out")" = "ok ok ok ok connections_per_user_max " ] || fail "connections: $out"
as "$A" ping >/dev/null || fail "A cannot connect once the five are gone"
ok "connections_per_user_max: the fifth connection of A is refused, naming the limit"

# deny_users wins over allow_users; a reload applies it to new clients.
sed -i "s/^allow_users = .*/&\ndeny_users = @$G/" "$CONF"
mark_log
kill -HUP "$FORQD_PID"
wait_log 'configuration reloaded' 10
rc=0; err=$(as "$A" ping 2>&1) || rc=$?
[ $rc -eq 77 ] && [[ $err == *"(deny_users)"* ]] || fail "A not refused by deny_users: $rc $err"
ok "deny_users = @group wins over allow_users after a reload"

# connections_max counts everyone's connections, root's too.
sed -i 's/^connections_per_user_max = 4$/&\nconnections_max = 3/' "$CONF"
mark_log
kill -HUP "$FORQD_PID"
wait_log 'configuration reloaded' 10
out=$(python3 "$FORQ_SOURCE_DIR/tests/integration/conns.py" "$SOCK" 4)
[ "$(tr '\n' ' ' <<<"$out")" = "ok ok ok connections_max " ] || fail "connections_max: $out"
ok "connections_max: the fourth connection of any user is refused, naming the limit"
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
