# The man pages render without warnings and say what the code does:
# every conf key in forqd.conf(5), every command in forq(1).
. "$(dirname "$0")/lib.sh"
command -v groff >/dev/null || fail "groff is not installed"
man=$FORQ_SOURCE_DIR/man

for page in "$man"/forq.1 "$man"/forqd.8 "$man"/forqd.conf.5; do
	out=$(LC_ALL=C.UTF-8 groff -man -ww -z "$page" 2>&1)
	[ -z "$out" ] || fail "$(basename "$page"): $out"
done
ok "forq(1), forqd(8), forqd.conf(5) render without warnings"

keys=$(sed -n 's/^#\([a-z_]*\) =.*/\1/p' "$FORQ_SOURCE_DIR/conf/forqd.conf")
[ "$(wc -l <<<"$keys")" -ge 44 ] || fail "conf/forqd.conf lists $(wc -l <<<"$keys") keys"
for key in $keys; do
	grep -q "$key" "$man/forqd.conf.5" || fail "forqd.conf(5) does not document $key"
done
ok "forqd.conf(5) documents all $(wc -l <<<"$keys") keys"

cmds=$({ "$FORQ" --help 2>&1 || true; } | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' | sort -u)
[ -n "$cmds" ] || fail "forq --help lists no commands"
for cmd in $cmds; do
	grep -qE "^\.BI? $cmd( |\$)" "$man/forq.1" ||
		fail "forq(1) does not document the $cmd command"
done
ok "forq(1) documents every command: $(echo $cmds)"
line=$(sed -n '/^Commands: /,/lists their options/p' "$FORQ_SOURCE_DIR/README.md" | tr '\n' ' ')
for cmd in $cmds; do
	[[ $line == *"\`$cmd\`"* ]] || fail "the README's list of commands misses $cmd: $line"
done
ok "the README names every command"

opts=$({ "$FORQ" --help 2>&1 || true; } | grep -o -- '--[a-z][a-z-]*' | sort -u)
for opt in $opts; do
	grep -qF -- "$(sed 's/-/\\-/g' <<<"$opt")" "$man/forq.1" ||
		fail "forq(1) does not document $opt"
done
ok "forq(1) documents every option forq --help lists ($(wc -w <<<"$opts"))"
