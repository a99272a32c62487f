# Output where the user wants it: --stdout and --stderr patterns (%j,
# %a, %x, %u, %%) relative to where forq ran, mode 0600 unless --umask,
# --append; --stdin feeds a file; forq logs still shows such output and
# logs --tail N the last lines. The files are opened as the job's user:
# a path that user may not write is the job's failure, saying which
# file, and forq logs never shows through such a path what the user may
# not read.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "this test creates a user and must run as root"
U=forqtesto$$
useradd -M -s /bin/sh "$U"
remove_user() {
	stop_forqd_now
	userdel "$U" 2>/dev/null || true
}
CLEANUP_HOOK=remove_user
chmod 755 "$T"

field() { # ID FIELD
	fq status --json "$1" | jq -cr ".job.$2"
}

write_conf "slots = 2"
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$CONF"
start_forqd

mkdir "$T/w"
cd "$T/w"
j=$(fq submit -n build --stdout 'o-%j.out' --stderr 'e-%x-%u.err' -- sh -c 'seq 1 5; echo oops >&2')
fq wait "$j" || fail "job $j: $(fq status "$j")"
[ "$(cat "o-$j.out" | tr '\n' ' ')" = "1 2 3 4 5 " ] || fail "stdout: $(ls)"
[ "$(cat e-build-root.err)" = oops ] || fail "stderr: $(ls)"
[ "$(stat -c %a "o-$j.out")" = 600 ] && [ "$(stat -c %a e-build-root.err)" = 600 ] ||
	fail "modes: $(stat -c '%n %a' ./*)"
[ "$(fq logs --stdout "$j" | tr '\n' ' ')" = "1 2 3 4 5 " ] || fail "logs of a --stdout job: $(fq logs "$j" 2>&1)"
[ "$(fq logs --tail 2 --stdout "$j" | tr '\n' ' ')" = "4 5 " ] || fail "logs --tail 2: $(fq logs --tail 2 "$j" 2>&1)"
[ "$(fq logs --json --tail 1 "$j" | jq -c '[.stdout, .stderr]')" = '["5\n","oops\n"]' ] ||
	fail "logs --json --tail 1: $(fq logs --json --tail 1 "$j")"
ok "--stdout o-%j.out and --stderr e-%x-%u.err, relative to where forq ran, 0600; forq logs (--tail 2) shows them"

k=$(fq submit --stdout same.out --append --umask 022 -- echo one)
fq wait "$k"
k=$(fq submit --stdout same.out --append --umask 022 -- echo two)
fq wait "$k"
[ "$(tr '\n' ' ' <same.out)" = "one two " ] && [ "$(stat -c %a same.out)" = 644 ] ||
	fail "--append --umask 022: $(cat same.out) $(stat -c %a same.out)"
k=$(fq submit --stdout same.out -- echo three)
fq wait "$k"
[ "$(cat same.out)" = three ] || fail "without --append: $(cat same.out)"
a=$(fq submit --array 1-3 --stdout 'a-%a-%%.out' -- sh -c 'echo $FORQ_ARRAY_INDEX')
fq wait "$a"
[ "$(cat a-1-%.out a-2-%.out a-3-%.out | tr '\n' ' ')" = "1 2 3 " ] || fail "array files: $(ls)"
printf 'fed\n' >in.txt
s=$(fq submit --stdin in.txt --stdout s.out -- cat)
fq wait "$s"
[ "$(cat s.out)" = fed ] || fail "--stdin: $(cat s.out)"
m=$(fq submit --stdin missing.txt -- cat)
rc=0; fq wait "$m" || rc=$?
[ "$(field "$m" state)" = failed ] && [[ "$(field "$m" error)" == *"cannot open its --stdin file $T/w/missing.txt: No such file"* ]] ||
	fail "a missing --stdin file: $(field "$m" state) $(field "$m" error)"
ok "--append (with --umask 022: 0644) adds, without it a file is made anew; %a and %% in an array; --stdin feeds a file, a missing one fails the job saying which"

# As a user: a path that user may not write fails the job, and nothing
# is made there; forq logs opens the files as that user.
as_u() { runuser -u "$U" -- env -u FORQ_SOCKET "$FORQ" -s "$SOCK" "$@"; }
mkdir -m 700 "$T/rootonly"
mkdir -m 777 "$T/u"
u=$(cd "$T/u" && as_u submit --stdout "$T/rootonly/out" -- echo hi)
rc=0; as_u wait "$u" || rc=$?
[[ "$(field "$u" error)" == *"cannot open its --stdout file $T/rootonly/out: Permission denied"* ]] ||
	fail "a user's job wrote where the user may not: $(field "$u" state) $(field "$u" error)"
[ ! -e "$T/rootonly/out" ] || fail "a file was made in a directory the user may not write"
v=$(cd "$T/u" && as_u submit --stdout mine.out -- echo mine)
as_u wait "$v"
[ "$(stat -c %U "$T/u/mine.out")" = "$U" ] || fail "owner: $(stat -c %U "$T/u/mine.out")"
[ "$(as_u logs "$v")" = mine ] || fail "logs as the user: $(as_u logs "$v" 2>&1)"
echo secret >"$T/rootonly/secret"
rm "$T/u/mine.out"
runuser -u "$U" -- ln -s "$T/rootonly/secret" "$T/u/mine.out"
out=$(as_u logs "$v" 2>&1) || true
[[ $out != *secret* ]] || fail "forq logs showed a root-only file through the user's link"
ok "a user's job cannot write where the user may not (it fails, saying so), its file is the user's, and forq logs does not follow the user's link to a root-only file"

rc=0; out=$(fq submit --stdout 'x-%q' -- true 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *"%q is not one of"* ]] || fail "--stdout x-%q: $rc $out"
rc=0; out=$(fq submit --append -- true 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *"give one"* ]] || fail "--append alone: $rc $out"
rc=0; out=$(fq submit --umask 999 --stdout x -- true 2>&1) || rc=$?
[ $rc -eq 64 ] || fail "--umask 999: $rc $out"
rc=0; out=$(fq submit --stdin 'in-%j' -- true 2>&1) || rc=$?
[ $rc -eq 65 ] || fail "--stdin with %j: $rc $out"
ok "bad patterns, --append without a file and a bad --umask are refused, saying why"

d=$(fq submit -- seq 1 100)
fq wait "$d"
[ "$(fq logs --tail 3 "$d" | tr '\n' ' ')" = "98 99 100 " ] || fail "logs --tail 3: $(fq logs --tail 3 "$d" | tr '\n' ' ')"
[ -z "$(fq logs --tail 0 "$d")" ] || fail "logs --tail 0: $(fq logs --tail 0 "$d")"
ok "forq logs --tail N: the last N lines"
