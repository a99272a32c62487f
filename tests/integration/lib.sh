# Shared by the integration tests: a private forqd on a temporary socket
# and state directory, driven by the real forq. Waits are for events
# (log lines through tail -F, process exits through pidfds), each with a
# deadline, never fixed sleeps.
set -euo pipefail

: "${FORQD:?path to forqd}" "${FORQ:?path to forq}" "${FORQ_PIDWAIT:?path to pidwait}"
command -v jq >/dev/null || { echo "FAIL: jq is not installed" >&2; exit 1; }

T=$(mktemp -d /tmp/forq-test.XXXXXX)
SOCK=$T/forqd.sock
PIDFILE=$T/forqd.pid
CONF=$T/forqd.conf
LOG=$T/forqd.log
LOG_MARK=0
FORQD_PID=
: >"$LOG"
ulimit -c 0

log_has_sanitizer_report() {
	grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$LOG"
}

# The job cgroups of the test's forqds go with the test: a forqd killed,
# or one that left its workers to a next, leaves its tree behind, and
# each test's state directory names another tree. Only empty groups go.
cgroups_cleanup() {
	local inst t
	grep -rhoa --include='*.log' 'job cgroups: .* under .*forq-[0-9a-f]\{16\}' "$T" 2>/dev/null |
		grep -o 'forq-[0-9a-f]\{16\}' | sort -u | while read -r inst; do
		find /sys/fs/cgroup -maxdepth 2 -type d -name "$inst" 2>/dev/null | while read -r t; do
			find "$t" -depth -type d -exec rmdir {} + 2>/dev/null || true
		done
	done || true
}

cleanup() {
	local rc=$?
	stop_forqd_now
	cgroups_cleanup
	# A test's own undoing (users it made), after forqd is gone.
	if [ -n "${CLEANUP_HOOK:-}" ]; then
		"$CLEANUP_HOOK" || true
	fi
	if [ $rc -eq 0 ] && log_has_sanitizer_report; then
		echo "FAIL: sanitizer report in the forqd log" >&2
		rc=1
	fi
	if [ $rc -ne 0 ]; then
		echo "--- forqd log ($LOG):" >&2
		cat "$LOG" >&2
	fi
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	echo "ok - $*"
}

# write_conf [KEY=VALUE lines for [workers]...]
write_conf() {
	local line slots=${DEFAULT_SLOTS:-} adapt=${DEFAULT_SLOTS:-}
	for line in "$@"; do
		case $line in
		"slots = "*) slots=1 ;;
		"slots_adapt = "*) adapt=1 ;;
		esac
	done
	{
		echo "[daemon]"
		echo "socket = $SOCK"
		echo "pidfile = $PIDFILE"
		echo "state_dir = $T/state"
		echo "stop_grace = ${STOP_GRACE:-5s}"
		echo "[access]"
		echo "allow_root_jobs = ${ROOT_JOBS:-yes}"
		echo "[workers]"
		echo "heartbeat_interval = 100ms"
		echo "heartbeat_timeout = ${HEARTBEAT_TIMEOUT:-2s}"
		# A test counts on the slots it names (one unless it says),
		# all open; the default (4, opened by the CPU's load) is
		# adapt.sh's, which sets DEFAULT_SLOTS=1.
		[ -n "$slots" ] || echo "slots = 1"
		[ -n "$adapt" ] || echo "slots_adapt = no"
		for line in "$@"; do echo "$line"; done
	} >"$CONF"
}

mark_log() {
	LOG_MARK=$(stat -c %s "$LOG")
}

# wait_log REGEX [SECONDS]: a log line matching REGEX written after the
# last mark_log. tail -F follows the file by inotify.
wait_log() {
	local pattern=$1 secs=${2:-10} rc=0 fd tail_pid
	exec {fd}< <(exec tail -c +"$((LOG_MARK + 1))" -F "$LOG" 2>/dev/null)
	tail_pid=$!
	timeout "$secs" grep -m1 -qE -- "$pattern" <&"$fd" || rc=$?
	exec {fd}<&-
	kill "$tail_pid" 2>/dev/null || true
	[ $rc -eq 0 ] || fail "no log line matching /$pattern/ within ${secs}s"
}

# start_forqd [forqd options]: starts it in the foreground (in the
# background of this shell) and waits until it says it is ready.
start_forqd() {
	mark_log
	# FORQD_WRAP: a command forqd runs under (valgrind), exec'ing it so
	# that FORQD_PID is forqd's.
	${FORQD_WRAP:-} "$FORQD" -c "$CONF" "$@" >>"$LOG" 2>&1 &
	FORQD_PID=$!
	wait_log 'ready: [0-9]+ of [0-9]+ workers' "${READY_SECS:-20}"
}

# For a cleanup hook that must undo things (users) only once forqd and
# its jobs are gone: forq shutdown --kill-jobs (TERM alone would leave
# running jobs for a next forqd), then KILL after 10 s.
stop_forqd_now() {
	if [ -n "$FORQD_PID" ]; then
		timeout 5 "$FORQ" -s "$SOCK" shutdown --kill-jobs >/dev/null 2>&1 ||
			kill -TERM "$FORQD_PID" 2>/dev/null || true
		"$FORQ_PIDWAIT" "$FORQD_PID" 10000 || kill -KILL "$FORQD_PID" 2>/dev/null || true
		FORQD_PID=
	fi
}

stop_forqd() {
	kill -TERM "$FORQD_PID"
	local rc=0
	wait "$FORQD_PID" || rc=$?
	FORQD_PID=
	return $rc
}

fq() {
	"$FORQ" -s "$SOCK" "$@"
}

workers_json() {
	fq workers --json | jq -c '.workers'
}

# worker_field INDEX FIELD
worker_field() {
	fq workers --json | jq -r ".workers[] | select(.worker == $1) | .$2"
}

cpus_allowed_of() {
	awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$1/status"
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

allowed_cpus() {
	# The CPUs this shell may use, one per line.
	local list=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)
	local part
	IFS=, read -ra parts <<<"$list"
	for part in "${parts[@]}"; do
		if [[ $part == *-* ]]; then seq "${part%-*}" "${part#*-}"; else echo "$part"; fi
	done
}

need_cpus() {
	local n=$(allowed_cpus | wc -l)
	[ "$n" -ge "$1" ] || fail "this test needs $1 allowed CPUs, the machine gives $n"
}

# start_held NAME SCRIPT: a job that appends NAME to $T/runs, says so
# on the fifo $T/up, then runs SCRIPT (sh); its id, once it has started.
start_held() {
	local id
	id=$(fq submit -- sh -c "echo $1 >>'$T/runs'; echo up >'$T/up'; $2")
	timeout 20 cat "$T/up" >/dev/null || fail "job $id ($1) did not start"
	echo "$id"
}

# let_go_two A B RUNS: jobs A and B of the adoption tests wait on
# $T/go and $T/go2, B then exits 3. Both are let go; A must succeed and
# B fail with exit 3, both as attempt 1, and $T/runs hold RUNS (its
# lines sorted, joined by spaces): each job ran once.
let_go_two() {
	local a=$1 b=$2 runs=$3 st
	timeout 20 sh -c "echo go >'$T/go'; echo go >'$T/go2'" || fail "the jobs no longer wait"
	fq wait "$a" >/dev/null || fail "job $a: $(fq status "$a")"
	fq wait "$b" >/dev/null || true
	st=$(fq status --json "$b")
	[ "$(jq -r .job.state <<<"$st")" = failed ] && [ "$(jq .job.exit_code <<<"$st")" = 3 ] ||
		fail "job $b: $(jq -c .job <<<"$st")"
	[ "$(fq status --json "$a" | jq .job.attempt)" = 1 ] && [ "$(jq .job.attempt <<<"$st")" = 1 ] ||
		fail "attempts: $(fq status --json "$a" | jq .job.attempt), $(jq .job.attempt <<<"$st")"
	[ "$(sort "$T/runs" | tr '\n' ' ')" = "$runs " ] || fail "the jobs ran: $(sort "$T/runs" | tr '\n' ' ')"
}
