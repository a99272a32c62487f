# The examples of docs/PROTOCOL.md work as written, and every limit of
# a request is refused with an error naming it.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed"
command -v socat >/dev/null || fail "socat is not installed"

write_conf "[limits]" "argv_max = 3" "argv_bytes_max = 256" \
	"env_bytes_max = 1K" "batch_max = 5" "name_max = 4"
start_forqd

out=$(printf '%s\n' \
	'{"op":"hello","id":1,"version":1}' \
	'{"op":"submit","id":2,"jobs":[{"argv":["uname","-a"],"cwd":"/"}]}' |
	socat -t 5 - "UNIX-CONNECT:$SOCK")
id=$(tail -n 1 <<<"$out" | jq -er '.ids[0]') || fail "socat example: $out"
fq wait "$id" || fail "the socat example's job failed"
ok "socat example: job $id submitted and succeeded"

rc=0
out=$(env -i PATH=/usr/bin:/bin python3 "$FORQ_SOURCE_DIR/docs/examples/submit_and_wait.py" \
	"$SOCK" sh -c 'exit 3' 2>"$T/py.err") || rc=$?
[ $rc -eq 1 ] || fail "python example exit $rc: $(cat "$T/py.err")"
[ "$(jq -r '"\(.state) \(.exit_code)"' <<<"$out")" = "failed 3" ] || fail "python example: $out"
grep -qE '^failed on cpu [0-9]+$' "$T/py.err" || fail "python example stderr: $(cat "$T/py.err")"
ok "python example: $out"

limit_of() { # forq args...: prints "limit max" of the refusal
	local rc=0 err
	err=$(fq "$@" 2>&1 >/dev/null) || rc=$?
	[ $rc -eq 65 ] || fail "$* exited $rc, want 65 (invalid request): $err"
	echo "$err"
}
err=$(limit_of submit --clean-env -- a b c d)
[[ $err == *"argument count over argv_max (3)"* ]] || fail "argv_max: $err"
err=$(limit_of submit --clean-env -- "$(head -c 300 /dev/zero | tr '\0' x)")
[[ $err == *"argv over argv_bytes_max (256)"* ]] || fail "argv_bytes_max: $err"
err=$(limit_of submit --clean-env --env "BIG=$(head -c 2000 /dev/zero | tr '\0' x)" -- true)
[[ $err == *"env over env_bytes_max (1024)"* ]] || fail "env_bytes_max: $err"
err=$(printf 'true\n%.0s' 1 2 3 4 5 6 | limit_of submit --batch -)
[[ $err == *"6 jobs in one request, over batch_max (5)"* ]] || fail "batch_max: $err"
err=$(limit_of submit --clean-env -n toolong -- true)
[[ $err == *"job name over name_max (4)"* ]] || fail "name_max: $err"
reply=$(printf '%s\n' '{"op":"hello","id":1,"version":1}' \
	'{"op":"submit","id":2,"jobs":[{"argv":["a","b","c","d"],"cwd":"/"}]}' |
	socat -t 5 - "UNIX-CONNECT:$SOCK" | tail -n 1)
[ "$(jq -c '.error | [.code, .limit, .max]' <<<"$reply")" = '["limit_exceeded","argv_max",3]' ] ||
	fail "limit error shape: $reply"
ok "each limit refused with its name: argv_max, argv_bytes_max, env_bytes_max, batch_max, name_max"

rc=0; fq status 999999 2>"$T/err" || rc=$?
[ $rc -eq 66 ] && grep -q "no such job: 999999" "$T/err" || fail "no such job: $rc $(cat "$T/err")"
rc=0; fq cancel 999999 2>/dev/null || rc=$?
[ $rc -eq 66 ] || fail "cancel of no such job: $rc"
ok "no such job: exit 66"

id=$(fq submit --clean-env --env PATH=/usr/bin:/bin -- sh -c 'printf "a\377b"; echo err >&2')
fq wait "$id"
fq logs --json "$id" | jq -e '.stdout == "a\ufffdb" and .stderr == "err\n" and .job.state == "succeeded"' >/dev/null ||
	fail "logs --json: $(fq logs --json "$id")"
for cmd in "status $id" "list" "wait $id" "logs $id" "cancel $id" "workers" "ping"; do
	fq $cmd --json | jq -e . >/dev/null || fail "$cmd --json is not JSON"
done
fq submit --clean-env --json -- /bin/true | jq -e '.ids[0]' >/dev/null || fail "submit --json"
ok "every command prints JSON with --json"
