# What forqd makes is its own and leads nowhere else: the state
# directory 0700 and the store 0600 (it holds every job's environment);
# an output file planted as a symlink or a hard link is never written
# through, nor chowned. And a job starts with a login's limits and
# umask, not forqd's raised ones.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "this test creates a user and must run as root"
U=forqtestl$$
useradd -M -s /bin/sh "$U"
remove_user() {
	stop_forqd_now
	userdel "$U" 2>/dev/null || true
}
CLEANUP_HOOK=remove_user
chmod 755 "$T"
as() { local u=$1; shift; runuser -u "$u" -- env -u FORQ_SOCKET "$FORQ" -s "$SOCK" "$@"; }

write_conf
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$CONF"
# An older forqd's store, readable by all: closed at start.
mkdir -m 0755 "$T/state"
# forqd raised (or was given) high limits; its jobs must not get them.
FORQD_WRAP="prlimit --stack=unlimited --nofile=$(ulimit -Hn) --" start_forqd
[ "$(stat -c %a "$T/state")" = 700 ] || fail "state_dir is mode $(stat -c %a "$T/state")"
[ "$(stat -c %a "$T/state/jobs.db")" = 600 ] || fail "jobs.db is mode $(stat -c %a "$T/state/jobs.db")"
ok "state_dir 0700, jobs.db 0600"

# A job's output files, planted in advance as a symlink to a root file
# and as a hard link to another: neither is followed, written or
# chowned; the job fails saying why.
echo "root's own" >"$T/victim"
echo "root's other" >"$T/victim2"
fq pause >/dev/null
a=$(cd / && as "$U" submit -- sh -c 'echo overwritten')
b=$(cd / && as "$U" submit -- sh -c 'echo overwritten')
ln -s "$T/victim" "$T/state/logs/$a.out"
ln "$T/victim2" "$T/state/logs/$b.out"
fq resume >/dev/null
fq wait "$a" "$b" >/dev/null 2>&1 || true
[ "$(cat "$T/victim")" = "root's own" ] && [ "$(stat -c %U "$T/victim")" = root ] ||
	fail "the symlinked file was written or chowned: $(stat -c %U "$T/victim") $(cat "$T/victim")"
[ "$(cat "$T/victim2")" = "root's other" ] && [ "$(stat -c %U "$T/victim2")" = root ] ||
	fail "the hard-linked file was written or chowned: $(stat -c %U "$T/victim2") $(cat "$T/victim2")"
for id in $a $b; do
	st=$(fq status --json "$id")
	[ "$(jq -r .job.state <<<"$st")" = failed ] || fail "job $id: $(jq -c .job <<<"$st")"
done
[[ "$(fq status --json "$a" | jq -r .job.error)" == *"$a.out"* ]] || fail "job $a's error: $(fq status --json "$a" | jq -r .job.error)"
[[ "$(fq status --json "$b" | jq -r .job.error)" == *"not a plain file"* ]] || fail "job $b's error: $(fq status --json "$b" | jq -r .job.error)"
ok "planted output files are not followed: $(fq status --json "$b" | jq -r .job.error)"

# A retried job writes its own output file again.
c=$(cd / && as "$U" submit -- sh -c 'echo run $FORQ_JOB_ATTEMPT')
as "$U" wait "$c"
as "$U" retry "$c" >/dev/null
as "$U" wait "$c"
[ "$(cat "$T/state/logs/$c.out")" = "run 2" ] || fail "the second attempt's output: $(cat "$T/state/logs/$c.out")"
ok "a second attempt writes its output file afresh"

# Limits and umask of a login, whatever forqd's own are; a hard limit
# forqd may not raise (no CAP_SYS_RESOURCE) stays where it is.
min() { if [ "$2" = unlimited ] || { [ "$1" != unlimited ] && [ "$1" -le "$2" ]; }; then echo "$1"; else echo "$2"; fi; }
out=$(cd / && as "$U" submit -w -o -- sh -c 'ulimit -c; ulimit -Hc; ulimit -s; ulimit -n; ulimit -Hn; umask')
want=$(printf '0\n%s\n8192\n1024\n%s\n0022' "$(min unlimited "$(ulimit -Hc)")" "$(min 524288 "$(ulimit -Hn)")")
[ "$out" = "$want" ] || fail "a job's limits (core, hard core, stack, nofile, hard nofile, umask): $(tr '\n' ' ' <<<"$out"), want $(tr '\n' ' ' <<<"$want")"
ok "a job starts with a login's limits and umask, not forqd's: $(tr '\n' ' ' <<<"$out")"
stop_forqd

# The conf sets them; a bad value is refused, naming the key.
write_conf "[jobs]" "limit_nofile = 2048:4096" "limit_core = 1M" "umask = 0077"
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$CONF"
start_forqd
out=$(cd / && as "$U" submit -w -o -- sh -c 'ulimit -n; ulimit -Hn; ulimit -c; umask')
[ "$out" = "$(printf '2048\n%s\n%s\n0077' "$(min 4096 "$(ulimit -Hn)")" "$(min 1024 "$(ulimit -Hc)")")" ] || fail "limits from the conf: $(tr '\n' ' ' <<<"$out")"
stop_forqd
write_conf "[jobs]" "limit_nofile = 4096:2048"
rc=0; err=$("$FORQD" -c "$CONF" -t 2>&1) || rc=$?
[ $rc != 0 ] && [[ $err == *"limit_nofile"*"soft limit is above the hard one"* ]] || fail "a bad limit: $rc $err"
ok "[jobs] limits and umask apply; a bad one is refused: $err"
