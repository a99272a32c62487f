# forqd -t: 0 for a good conf, 78 and file:line: message for a bad one.
. "$(dirname "$0")/lib.sh"

out=$("$FORQD" -t -c "$FORQ_SOURCE_DIR/conf/forqd.conf" 2>&1) || fail "shipped conf: $out"
ok "shipped conf is valid: $out"

check_bad() { # expected-message, conf text
	local want=$1
	printf '%s' "$2" >"$T/bad.conf"
	local rc=0 out
	out=$("$FORQD" -t -c "$T/bad.conf" 2>&1) || rc=$?
	[ $rc -eq 78 ] || fail "exit $rc for: $2"
	[ "$out" = "forqd: $T/bad.conf:$want" ] || fail "got '$out', want '$T/bad.conf:$want'"
	ok "refused with: $out"
}
check_bad '3: unknown key "slot" in [workers]' $'[workers]\nslots = 1\nslot = 2\n'
check_bad '1: unknown section [worker]' $'[worker]\n'
check_bad '2: heartbeat_timeout: unknown unit (use ms, s, m, h or d): "5 sec"' \
	$'[workers]\nheartbeat_timeout = 5 sec\n'
check_bad '2: syntax error: expected "[section]" or "key = value"' $'[daemon]\nthis is not ini\n'
check_bad '2: slots: "1000" is too large (1 to 256)' $'[workers]\nslots = 1000\n'

rc=0
out=$("$FORQD" -t -c "$T/missing.conf" 2>&1) || rc=$?
[ $rc -eq 78 ] && [[ $out == *"missing.conf: No such file or directory" ]] || fail "missing conf: $rc $out"
ok "missing conf: $out"

# Starting (not only -t) with a bad conf exits 78 too, before any worker.
rc=0
"$FORQD" -c "$T/bad.conf" 2>/dev/null || rc=$?
[ $rc -eq 78 ] || fail "start with a bad conf exited $rc"
ok "start with a bad conf exits 78"
