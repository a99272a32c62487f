# Each connection costs forqd bounded memory, and one that does not
# keep up holds up only itself: with 16 idle clients that each sent one
# answered 12 MiB line and one that pipelines `wait --all` without
# reading, another client's submit->ack p99 stays under 50 ms and
# forqd's RSS returns within 64 MiB of where it started. Idle clients
# are closed after client_idle_timeout, those that wait are not; a long
# list comes in pages of bounded size.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed"

write_conf "slots = 4" "[limits]" "client_idle_timeout = 1s"
# Under AddressSanitizer, its allocator returns freed memory the way
# glibc's does here only without its quarantine (which holds 256 MB of
# freed blocks back by design); the checks stay on.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:allocator_release_to_os_interval_ms=50
start_forqd
# Jobs that do not end while the pipeliner waits for them all.
for i in 1 2 3 4; do fq submit -- sleep 300 >/dev/null; done
read -r p99 rss0 rss1 rss2 < <(python3 "$FORQ_SOURCE_DIR/tests/integration/memory.py" "$SOCK" "$FORQD_PID") ||
	fail "memory.py failed"
[ -n "$rss2" ] || fail "memory.py printed nothing"
awk -v p="$p99" 'BEGIN { exit !(p < 50) }' || fail "submit->ack p99 ${p99} ms beside them, want < 50 ms"
[ "$rss2" -le $((rss0 + 65536)) ] || fail "RSS ${rss0} KiB before, ${rss1} KiB with them, ${rss2} KiB after"
ok "16 clients with 12 MiB lines and a pipeliner: submit->ack p99 ${p99} ms; RSS $((rss0 / 1024)) MiB before, $((rss1 / 1024)) with them, $((rss2 / 1024)) after"
grep -q 'client_waits_max' "$LOG" || true

# client_idle_timeout: told and closed; one waiting for a job is not.
mark_log
out=$(python3 - "$SOCK" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"op":"hello","id":0,"version":1}\n')
f = s.makefile("rb"); f.readline()
print(json.loads(f.readline())["error"]["limit"])
PY
)
[ "$out" = client_idle_timeout ] || fail "an idle client was told: $out"
waiter=$(fq list --state running --json | jq ".jobs[0].id")
fq wait "$waiter" & wpid=$!
wait_log 'idle for client_idle_timeout' 10
mark_log
fq submit -w -- true >/dev/null 2>&1
if (wait_log 'idle for client_idle_timeout' 2) 2>/dev/null; then
	fail "a client waiting for job $waiter was closed as idle"
fi
kill -0 "$wpid" || fail "forq wait $waiter ended"
fq cancel "$waiter" >/dev/null
wait "$wpid" || true
ok "an idle client is closed after client_idle_timeout (1s); one waiting for a job is not"
stop_forqd

# A list longer than one reply may be comes in pages, table and JSON.
write_conf
start_forqd
fq pause >/dev/null
arg=$(head -c 2000 /dev/zero | tr '\0' a)
for i in $(seq 1500); do echo "echo $arg"; done >"$T/batch"
fq submit --batch "$T/batch" >/dev/null
[ "$(fq list --limit 1500 --json | jq '.jobs | length')" = 1500 ] || fail "list --json of 1,500 big jobs: $(fq list --limit 1500 --json | jq '.jobs | length')"
[ "$(fq list --limit 1500 | wc -l)" = 1501 ] || fail "list of 1,500 big jobs: $(fq list --limit 1500 | wc -l) lines"
[ "$(fq list --limit 1500 --json | jq '[.jobs[].id] | unique | length')" = 1500 ] || fail "pages overlap"
ok "a 3 MB list comes in pages: 1,500 jobs listed, each once"
fq resume >/dev/null
stop_forqd

# What a batch took to decode and store goes back to the system once its
# turn is over: 100,000 queued jobs cost forqd their entries (some 50
# bytes each), not the 200 MB of RSS that malloc would otherwise keep.
# (Under AddressSanitizer the shadow of the freed memory stays, an
# eighth of it: some 40 MB more.)
write_conf "[limits]" "queued_max_per_user = 1000000"
start_forqd
fq pause >/dev/null
yes /bin/true | head -n 100000 >"$T/big" || true
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$FORQD_PID/status"; }
rss0=$(rss)
fq submit --batch "$T/big" >/dev/null
rss1=$(rss)
[ "$(fq list --state queued --limit 1 --json | jq '.jobs | length')" = 1 ] || fail "the batch was not queued"
[ $((rss1 - rss0)) -le 65536 ] || fail "RSS ${rss0} KiB before a batch of 100,000 jobs, ${rss1} KiB after"
ok "a batch of 100,000 jobs queued: RSS $((rss0 / 1024)) MiB before, $((rss1 / 1024)) MiB after"
