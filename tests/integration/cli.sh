# The forq CLI and the raw protocol: socket lookup, exit codes, --json,
# and requests that are wrong in every way a client can get them wrong.
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || fail "socat is not installed"

write_conf "[limits]" "request_line_max = 64K"
start_forqd

fq ping | grep -qE "^forqd pid $FORQD_PID is up .*, [0-9]+ workers ready$" || fail "ping: $(fq ping)"
[ "$(fq ping --json | jq -r .pid)" = "$FORQD_PID" ] || fail "ping --json"
[ "$(FORQ_SOCKET=$SOCK "$FORQ" ping --json | jq -r .pid)" = "$FORQD_PID" ] || fail "FORQ_SOCKET"
mkdir -p "$T/xdg/forq"
ln -s "$SOCK" "$T/xdg/forq/forqd.sock"
[ "$(env -u FORQ_SOCKET XDG_RUNTIME_DIR=$T/xdg "$FORQ" ping --json | jq -r .pid)" = "$FORQD_PID" ] ||
	fail "XDG_RUNTIME_DIR lookup"
ok "ping by -s, FORQ_SOCKET and XDG_RUNTIME_DIR"

fq workers | head -n 1 | grep -q "^WORKER PID      CPU  STATE       RESTARTS UPTIME    HEARTBEAT JOBS         LAST EXIT$" ||
	fail "workers table header: $(fq workers)"
[ "$(fq workers | wc -l)" = $(($(allowed_cpus | wc -l) + 1)) ] || fail "workers table rows"
fq workers --json | jq -e '.workers[0] | has("pid") and has("cpu") and has("state") and has("restarts")
	and has("uptime_ms") and has("heartbeat_age_ms") and has("last_exit")' >/dev/null ||
	fail "workers --json fields"
ok "workers as a table and as JSON"

rc=0
"$FORQ" -s "$T/nothing.sock" ping 2>"$T/err" || rc=$?
[ $rc -eq 69 ] || fail "no daemon: exit $rc"
grep -q "cannot connect to forqd at $T/nothing.sock" "$T/err" || fail "no daemon message: $(cat "$T/err")"
rc=0
fq frobnicate 2>/dev/null || rc=$?
[ $rc -eq 64 ] || fail "unknown command: exit $rc"
ok "exit codes: 69 when no daemon, 64 for usage"

raw() { # send lines, print replies
	printf '%s' "$1" | socat -t 5 - "UNIX-CONNECT:$SOCK"
}
reply=$(raw $'{"op":"ping","id":1}\n')
[ "$(jq -r .error.code <<<"$reply")" = hello_required ] || fail "no hello: $reply"
reply=$(raw $'{"op":"hello","id":1,"version":2}\n')
[ "$(jq -r .error.code <<<"$reply")" = unsupported_version ] || fail "version: $reply"
reply=$(raw $'{"op":"hello","id":1,"version":1}\n{"op":"nope","id":"x"}\n' | tail -n 1)
[ "$(jq -r '.id + ":" + .error.code' <<<"$reply")" = "x:unknown_op" ] || fail "unknown op: $reply"
reply=$(raw $'\x01\x02\xff garbage\n')
[ "$(jq -r .error.code <<<"$reply")" = bad_request ] || fail "garbage: $reply"
reply=$(raw $'{"op":"hello","id":1,"version":1}\n{"op":"ping","id":2}\n{"op":"workers","id":3}\n')
[ "$(jq -r .id <<<"$reply" | tr '\n' ' ')" = "1 2 3 " ] || fail "pipelined: $reply"
ok "protocol errors: hello_required, unsupported_version, unknown_op, bad_request; pipelining"

# A line over request_line_max is refused, naming it; the connection
# goes on with the next line.
reply=$({ head -c 100000 /dev/zero | tr '\0' 'a'; printf '\n{"op":"hello","id":7,"version":1}\n'; } |
	socat -t 5 - "UNIX-CONNECT:$SOCK")
[ "$(head -n 1 <<<"$reply" | jq -r .error.limit)" = request_line_max ] || fail "long line: $reply"
[ "$(head -n 1 <<<"$reply" | jq -r .error.max)" = 65536 ] || fail "long line max: $reply"
[ "$(tail -n 1 <<<"$reply" | jq -r '.id')" = 7 ] || fail "no answer after the long line: $reply"
fq ping >/dev/null || fail "forqd hurt by a long line"
ok "an overlong request is refused naming request_line_max"
