# The metrics endpoint, scraped over HTTP: off unless the conf says
# where; the series there, counting known jobs right (and forq metrics
# printing the same page); only /metrics, only GET and HEAD; scrapers
# that connect and never read cost forqd nothing (submissions go on),
# the example Grafana dashboard asks for nothing the page lacks,
# are held to metrics_clients_max and cut after metrics_timeout; a
# reload moves the endpoint; a bad address is refused by name.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is not installed"

# The value of one sample (its exact name and labels) in a page.
sample() { # PAGE SERIES
	awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }' <<<"$1" ||
		fail "no sample $2 in the page:
$1"
}
port() { # URL
	local p=${1##*:}
	echo "${p%/metrics}"
}
# url: where forqd's log says the endpoint is, since the last mark.
url() {
	tail -c +"$((LOG_MARK + 1))" "$LOG" | grep -o 'metrics at http://[^ ]*' | tail -1 | cut -d' ' -f3
}

# Off by default: forqd opens no TCP socket.
write_conf "slots = 2"
start_forqd
! grep -q 'metrics at' "$LOG" || fail "an endpoint without metrics_listen"
ss -ltnp 2>/dev/null | grep -q "pid=$FORQD_PID," && fail "forqd listens on TCP: $(ss -ltnp | grep "pid=$FORQD_PID,")"
stop_forqd
ok "no endpoint unless metrics_listen says where"

# A bad address is refused by name, with its line.
write_conf "slots = 2"
sed -i "/^\[daemon\]/a metrics_listen = localhost:9464" "$CONF"
out=$("$FORQD" -t -c "$CONF" 2>&1) && fail "forqd -t took metrics_listen = localhost:9464"
grep -q "metrics_listen: \"localhost:9464\" is not ADDRESS:PORT" <<<"$out" || fail "error: $out"
sed -i "s/^metrics_listen = .*/metrics_listen = 127.0.0.1:99999/" "$CONF"
out=$("$FORQD" -t -c "$CONF" 2>&1) && fail "forqd -t took port 99999"
grep -q "the port must be 0 to 65535" <<<"$out" || fail "error: $out"
ok "a bad metrics_listen is refused: $(head -1 <<<"$out")"

write_conf "slots = 2" "[queue m]" "[limits]" "metrics_clients_max = 3" "metrics_timeout = 1s"
sed -i "/^\[daemon\]/a metrics_listen = 127.0.0.1:0" "$CONF"
mkfifo "$T/go" "$T/up"
start_forqd
U=$(url)
[ -n "$U" ] || fail "no 'metrics at' line in the log"

# Known jobs: 3 succeed, 1 fails, 1 runs (until told), 1 waits for it,
# 1 is scheduled in an hour, 2 are held; a queue of their own.
for i in 1 2 3; do fq submit -q m -w -- true >/dev/null 2>&1; done
fq submit -q m -w -- false >/dev/null 2>&1 && fail "false succeeded"
run=$(fq submit -q m -- sh -c "echo up >'$T/up'; cat '$T/go' >/dev/null")
timeout 20 cat "$T/up" >/dev/null || fail "job $run did not start"
fq submit -q m --after "$run" -- true >/dev/null
fq submit -q m --in 1h -- true >/dev/null
fq submit -q m --hold -- true >/dev/null
fq submit -q m --hold -- true >/dev/null
# The first scrape: the page is made now (later ones within a second
# get the same page).
page=$(curl -sf "$U") || fail "scrape of $U failed"
[ "$(sample "$page" 'forq_jobs{queue="m",state="running"}')" = 1 ] || fail "running"
hdr=$(curl -sf -D - -o /dev/null "$U")
grep -qi '^content-type: application/openmetrics-text; version=1.0.0' <<<"$hdr" || fail "headers: $hdr"
[ "$(tail -1 <<<"$page")" = "# EOF" ] || fail "the page does not end with # EOF"
[ "$(sample "$page" 'forq_jobs{queue="m",state="waiting"}')" = 1 ] || fail "waiting"
[ "$(sample "$page" 'forq_jobs{queue="m",state="scheduled"}')" = 1 ] || fail "scheduled"
[ "$(sample "$page" 'forq_jobs{queue="m",state="held"}')" = 2 ] || fail "held"
[ "$(sample "$page" 'forq_jobs{queue="m",state="queued"}')" = 0 ] || fail "queued"
[ "$(sample "$page" 'forq_jobs_submitted_total')" = 9 ] || fail "submitted"
[ "$(sample "$page" 'forq_jobs_ended_total{state="succeeded"}')" = 3 ] || fail "succeeded"
[ "$(sample "$page" 'forq_jobs_ended_total{state="failed"}')" = 1 ] || fail "failed"
[ "$(sample "$page" 'forq_job_wait_seconds_count{queue="m"}')" = 5 ] || fail "waits: 4 ended and 1 running"
[ "$(sample "$page" 'forq_job_wait_seconds_bucket{queue="m",le="+Inf"}')" = 5 ] || fail "+Inf bucket"
[ "$(sample "$page" 'forq_job_run_seconds_count{queue="m"}')" = 4 ] || fail "runs"
[ "$(sample "$page" 'forq_worker_up{worker="0",cpu="0"}')" = 1 ] || fail "worker 0 up"
[ "$(sample "$page" 'forq_worker_crash_loop_holds_total')" = 0 ] || fail "crash loops"
for s in forq_build_info process_cpu_seconds_total process_resident_memory_bytes \
	forq_store_commit_seconds_count 'forq_worker_busy_seconds_total{worker="0",cpu="0"}' \
	'forq_worker_restarts_total{worker="1",cpu="1"}' 'forq_queue_paused{queue="m"}'; do
	grep -q "^$s" <<<"$page" || fail "no $s"
done
[ "$(sample "$page" 'forq_store_commit_seconds_count')" -gt 0 ] || fail "no commit observed"
# The same page from forq metrics (made afresh, not the one kept).
mp=$(fq metrics)
[ "$(sample "$mp" 'forq_jobs{queue="m",state="held"}')" = 2 ] || fail "forq metrics: held"
[ "$(tail -1 <<<"$mp")" = "# EOF" ] || fail "forq metrics: no # EOF"
[ "$(grep -c '^# TYPE' <<<"$mp")" = "$(grep -c '^# TYPE' <<<"$page")" ] || fail "forq metrics and the endpoint differ in families"
ok "the series are there and count known jobs right"

# The example dashboard asks only for series the page has.
dash=$FORQ_SOURCE_DIR/docs/examples/grafana-forq.json
names=$(jq -r '.panels[].targets[].expr' "$dash" | grep -oE '(forq|process)_[a-z_]+' | sort -u)
[ -n "$names" ] || fail "no series in $dash"
for n in $names; do
	grep -qE "^$n(\{| )" <<<"$page" || fail "$dash asks for $n, which the page does not have"
done
ok "the example dashboard's $(wc -w <<<"$names") series are all served"

code=$(curl -s -o /dev/null -w '%{http_code}' "${U%/metrics}/other")
[ "$code" = 404 ] || fail "/other: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$U")
[ "$code" = 405 ] || fail "POST: $code"
[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$U")" = 200 ] || fail "HEAD"
ok "only GET and HEAD of /metrics"

# Scrapers that never read: their pages wait in the kernel's buffers,
# not in forqd, which goes on serving (submissions, waits, replies)
# and scraping.
P=$(port "$U")
coproc NOREAD { exec python3 "$(dirname "$0")/metrics_stuck.py" 127.0.0.1 "$P" 5 noread 60 2>&1; }
# Kept: bash unsets NOREAD_PID once the scrapers are gone, which
# metrics_timeout (1s) may do before the submissions below are through
# on a busy machine.
noread_pid=$NOREAD_PID
read -r -t 20 line <&"${NOREAD[0]}" && [ "$line" = stuck ] || fail "the scrapers that never read: $line"
for i in $(seq 20); do fq submit -w -- true >/dev/null 2>&1 || fail "submission $i failed"; done
fq ping >/dev/null || fail "ping"
curl -sf -o /dev/null "$U" || fail "no scrape beside scrapers that never read"
kill "$noread_pid" 2>/dev/null || true
wait "$noread_pid" 2>/dev/null || true
ok "scrapers that never read slow nothing"

# Scrapers that send half a request: forqd takes metrics_clients_max
# of them, the rest wait in the listening socket's backlog (not in
# forqd), forqd goes on, and after metrics_timeout they are cut, those
# in the backlog next.
coproc SLOW { exec python3 "$(dirname "$0")/metrics_stuck.py" 127.0.0.1 "$P" 5 slow 20 2>&1; }
read -r -t 20 line <&"${SLOW[0]}" && [ "$line" = stuck ] || fail "the slow scrapers: $line"
# A turn of forqd's loop after they connected: MHD has accepted.
fq ping >/dev/null || fail "ping"
backlog=$(ss -Hltn "sport = :$P" | awk '{ print $2 }')
[ "$backlog" = 2 ] || fail "$backlog connections in the backlog, not 2: $(ss -ltn "sport = :$P")"
for i in $(seq 5); do fq submit -w -- true >/dev/null 2>&1 || fail "submission $i failed"; done
read -r -t 30 line <&"${SLOW[0]}" || fail "no word from the slow scrapers"
[ "$line" = "closed 5" ] || fail "after metrics_timeout: $line"
wait "$SLOW_PID" || true
curl -sf -o /dev/null "$U" || fail "no scrape once the slow ones were cut"
ok "slow scrapers are held to metrics_clients_max and cut after metrics_timeout"

# A reload moves the endpoint; the old address stops answering.
old=$U
sed -i "s/^metrics_listen = .*/metrics_listen = 127.0.0.2:0/" "$CONF"
mark_log
kill -HUP "$FORQD_PID"
wait_log 'configuration reloaded'
U=$(url)
[ -n "$U" ] && [ "$U" != "$old" ] || fail "no new endpoint after the reload: $U"
curl -sf -o /dev/null "$U" || fail "the new endpoint does not answer"
curl -s -m 5 -o /dev/null "$old" && fail "the old endpoint still answers"
ok "a reload moves the endpoint to $U"

echo go >"$T/go"
fq wait "$run" >/dev/null || fail "job $run"
