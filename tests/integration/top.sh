# forq top in a real terminal (tmux): it shows a running job by name,
# its workers and queues; j/k move, c cancels the selected job once y
# confirms it (n does not); it redraws when the terminal is resized; q
# and ^C quit, leaving the terminal as it found it; and without a
# terminal it prints one plain snapshot.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || fail "tmux is not installed"

TM=(tmux -S "$T/tmux.sock")
tmux_cleanup() { "${TM[@]}" kill-server 2>/dev/null || true; }
CLEANUP_HOOK=tmux_cleanup

# The pane's output goes to a file as it comes. A wait looks at the
# screen (capture-pane) until it shows REGEX (Python's, over the whole
# screen), once at first and again each time more output has come
# (10 s at most): ncurses draws with cursor moves and rarely ends a
# line, so the output itself is not what is matched.
OUT=$T/pane.out
wait_out() { # REGEX
	python3 - "$1" "$OUT" "$T/tmux.sock" <<-'PY' ||
		import os, re, select, subprocess, sys, time
		pat, path, sock = re.compile(sys.argv[1], re.M), sys.argv[2], sys.argv[3]
		deadline = time.monotonic() + 10
		tail = subprocess.Popen(["tail", "-c", "0", "-F", path],
		                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
		try:
		    while True:
		        screen = subprocess.run(["tmux", "-S", sock, "capture-pane", "-p"],
		                                capture_output=True, text=True).stdout
		        if pat.search(screen):
		            sys.exit(0)
		        left = deadline - time.monotonic()
		        if left <= 0 or not select.select([tail.stdout], [], [], left)[0]:
		            sys.exit(1)
		        os.read(tail.stdout.fileno(), 1 << 16)
		finally:
		    tail.kill()
	PY
		fail "the screen never showed /$1/: $(screen)"
}
screen() { "${TM[@]}" capture-pane -p; }

# top_session NAME: forq top in a terminal of its own, 120x30; the
# terminal's settings before and after, and forq's exit status, are
# written down, and tmux told (wait-for NAME) when it is over. The
# server outlives a killed session (exit-empty off): a new session must
# not race the exit of the server whose last session was just killed.
top_session() {
	: >"$OUT"
	"${TM[@]}" new-session -d -s "$1" -x 120 -y 30 \
		"tmux -S '$T/tmux.sock' wait-for start-$1; stty -g >'$T/stty.before'; '$FORQ' -s '$SOCK' top; echo \$? >'$T/rc'; stty -g >'$T/stty.after'; tmux -S '$T/tmux.sock' wait-for -S $1; sleep 60" \; \
		set-option -s exit-empty off
	# Its output followed from the first byte on.
	"${TM[@]}" pipe-pane -o -t "$1" "cat >>'$OUT'"
	"${TM[@]}" wait-for -S "start-$1"
}
top_over() { # NAME: forq top quit with 0 and left the terminal sane
	timeout 10 "${TM[@]}" wait-for "$1" || fail "forq top did not quit: $(screen)"
	[ "$(cat "$T/rc")" = 0 ] || fail "forq top exited $(cat "$T/rc")"
	cmp -s "$T/stty.before" "$T/stty.after" ||
		fail "the terminal was left changed: $(cat "$T/stty.before") -> $(cat "$T/stty.after")"
	"${TM[@]}" kill-session -t "$1"
}

write_conf "slots = 2" "[queue batch]"
mkfifo "$T/up" "$T/go"
start_forqd
a=$(fq submit -n top-probe -q batch -- sh -c "echo up >'$T/up'; cat '$T/go' >/dev/null")
timeout 20 cat "$T/up" >/dev/null || fail "job $a did not start"
b=$(fq submit -n second-probe -- sh -c "echo up >'$T/up'; exec sleep 300")
timeout 20 cat "$T/up" >/dev/null || fail "job $b did not start"

# Without a terminal: one plain snapshot.
snap=$(fq top | cat)
grep -q "top-probe" <<<"$snap" || fail "the snapshot has no top-probe: $snap"
grep -qE '^batch +0 +1 ' <<<"$snap" || fail "the snapshot has no queue batch with one running: $snap"
grep -q $'\e' <<<"$snap" && fail "escape codes in the plain snapshot"
[ "$(fq top --json | jq -c '.jobs | map(.name) | sort')" = '["second-probe","top-probe"]' ] ||
	fail "top --json: $(fq top --json)"
ok "without a terminal: one plain snapshot"

top_session one
wait_out 'top-probe'
s=$(screen)
grep -qE "^$a +top-probe +root +batch " <<<"$s" || fail "no row for job $a: $s"
grep -qE '^WORKER +CPU +STATE' <<<"$s" && grep -qE '^0 +[0-9]+ +ready' <<<"$s" || fail "no workers: $s"
grep -qE '^batch +0 +1 ' <<<"$s" || fail "no queue batch: $s"
ok "forq top shows the running jobs by name, the workers and queues"

# The first row is selected; j moves to the second (job b), k back.
"${TM[@]}" send-keys -t one j
"${TM[@]}" send-keys -t one c
wait_out "cancel job $b\\? \\[y/N\\]"
"${TM[@]}" send-keys -t one n
wait_out 'not cancelled'
[ "$(fq status --json "$b" | jq -r .job.state)" = running ] || fail "n cancelled job $b"
"${TM[@]}" send-keys -t one k
"${TM[@]}" send-keys -t one c
wait_out "cancel job $a\\? \\[y/N\\]"
"${TM[@]}" send-keys -t one y
wait_out "job $a: cancelled"
fq wait "$a" >/dev/null 2>&1 || true
[ "$(fq status --json "$a" | jq -r .job.state)" = cancelled ] || fail "job $a: $(fq status "$a")"
ok "c cancels the selected job after y, not after n"

"${TM[@]}" resize-window -t one -x 80 -y 20
# The footer on the last of the 20 rows: drawn anew.
wait_out '^ q quit.*\n\Z'
[ "$("${TM[@]}" display -p -t one '#{window_width}')" = 80 ] || fail "the window was not resized"
[ "$(screen | wc -l)" = 20 ] && screen | tail -1 | grep -q 'q quit' || fail "not redrawn at 80x20: $(screen)"
ok "redrawn when the terminal is resized"

"${TM[@]}" send-keys -t one q
top_over one
ok "q quits and leaves the terminal as it was"

top_session two
wait_out 'second-probe'
"${TM[@]}" send-keys -t two C-c
top_over two
ok "^C quits and leaves the terminal as it was"

fq cancel "$b" >/dev/null
