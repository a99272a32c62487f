#!/usr/bin/env bash
# Nodes of a cluster on one real PostgreSQL (a private server on a Unix
# socket): joining, the list of nodes, leases on the server's clock, a
# lease lost and taken up again, a database that goes away and comes
# back, and the refusals at start-up (unreachable, newer schema, a name
# a live node on another host holds).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pglib.sh"
. "$(dirname "$0")/clusterlib.sh"

# A database that cannot be reached: forqd does not start, and says why.
write_conf
store_section a >>"$CONF"
sed -i "s|^dsn = .*|dsn = host=$T/nowhere dbname=forq connect_timeout=2|" "$CONF"
rc=0
timeout 30 "$FORQD" -c "$CONF" >>"$LOG" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "forqd started, or hung, with no database (rc $rc)"
grep -q 'cannot reach the database' "$LOG" || fail "no reason given: $(tail -n 3 "$LOG")"
ok "a database that cannot be reached stops forqd at start, saying so"

pg_start
pg_make_db

# Without the cluster's key (or with one others may read): no start.
write_conf
KEY=$T/nokey store_section a >>"$CONF"
rc=0
timeout 30 "$FORQD" -c "$CONF" >>"$LOG" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "forqd started without a cluster key (rc $rc)"
grep -q "cluster_key: $T/nokey: No such file or directory (make it" "$LOG" || fail "no reason: $(tail -n 2 "$LOG")"
cp "$T/cluster.key" "$T/openkey" && chmod 0644 "$T/openkey"
write_conf
KEY=$T/openkey store_section a >>"$CONF"
rc=0
timeout 30 "$FORQD" -c "$CONF" >>"$LOG" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "forqd started with a key others may read (rc $rc)"
grep -q "readable by nobody else" "$LOG" || fail "no reason: $(tail -n 2 "$LOG")"
ok "without the cluster's key, or with one others may read, forqd does not start"

write_conf
store_section a >>"$CONF"
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$CONF"
start_forqd
grep -q 'node a: joined the cluster as epoch 1' "$LOG" || fail "node a did not join"
[ "$(pg_sql "SELECT value FROM forq_meta WHERE key = 'schema'")" -ge 1 ] || fail "no schema version"
[ "$(pg_sql "SELECT tableowner FROM pg_tables WHERE tablename = 'forq_nodes'")" = forq ] ||
	fail "the tables are not the forq role's"
ok "forqd made the schema, owned by its role, and joined"

# A one-host forqd's store moved into the cluster: its ended jobs
# keep their ends, its queued ones run on a node, each once, under the
# same ids; the store's file is renamed, so nothing runs twice.
S=$T/solo
mkdir -p "$S"
printf '[daemon]\nsocket = %s/sock\npidfile = %s/pid\nstate_dir = %s/state\n[access]\nallow_root_jobs = yes\n' "$S" "$S" "$S" >"$S/conf"
"$FORQD" -c "$S/conf" >>"$S/log" 2>&1 &
S_PID=$!
with_log "$S/log" wait_log 'ready: ' 20
done_id=$("$FORQ" -s "$S/sock" submit --wait -- sh -c 'echo solo; exit 3' | head -n 1 || true)
"$FORQ" -s "$S/sock" pause >/dev/null
q1=$("$FORQ" -s "$S/sock" submit -- sh -c "echo q1 >>$T/solo.runs")
q2=$("$FORQ" -s "$S/sock" submit -p 5 -- sh -c "echo q2 >>$T/solo.runs")
w1=$("$FORQ" -s "$S/sock" submit --after "$q1" -- sh -c "echo w1 >>$T/solo.runs")
h1=$("$FORQ" -s "$S/sock" submit --hold --after "$q2" -- sh -c "echo h1 >>$T/solo.runs")
"$FORQ" -s "$S/sock" shutdown >/dev/null
"$FORQ_PIDWAIT" "$S_PID" 10000 || fail "the one-host forqd did not stop"
"$FORQD" -c "$CONF" --import-sqlite "$S/state" >"$T/import.out" 2>&1 || fail "import: $(cat "$T/import.out")"
grep -q "imported from $S/state: 4 queued, 1 ended; its store is now $S/state/jobs.db.imported-" "$T/import.out" ||
	fail "import said: $(cat "$T/import.out")"
[ ! -e "$S/state/jobs.db" ] || fail "the one-host store is still there"
fq wait "$q1" "$q2" "$w1" >/dev/null || fail "imported jobs: $(fq status "$q1"; fq status "$q2"; fq status "$w1")"
[ "$(sort "$T/solo.runs" | tr '\n' ' ')" = "q1 q2 w1 " ] && [ "$(grep -n . "$T/solo.runs" | grep -E ':(q1|w1)$' | cut -d: -f2 | tr '\n' ' ')" = "q1 w1 " ] ||
	fail "runs: $(cat "$T/solo.runs")"
[ "$(fq release "$h1")" = "$h1 waiting" ] || fail "the imported held job: $(fq status "$h1")"
fq wait "$h1" >/dev/null || fail "the imported held job, released: $(fq status "$h1")"
st=$(fq status --json 1)
[ "$(jq -r .job.state <<<"$st")" = failed ] && [ "$(jq .job.exit_code <<<"$st")" = 3 ] ||
	fail "the ended job: $st"
rc=0
"$FORQD" -c "$CONF" --import-sqlite "$S/state" >"$T/import.out" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q 'jobs.db: No such file or directory' "$T/import.out" ||
	fail "a second import: rc $rc: $(cat "$T/import.out")"
ok "--import-sqlite moves a one-host store in: its ended job kept, its queued ones run once, same ids, the waiting one after its dependency, the held one once released"

write_b_conf
start_b

nodes=$(fq nodes --json)
[ "$(jq -r '[.nodes[].node] | join(",")' <<<"$nodes")" = a,b ] || fail "nodes: $nodes"
[ "$(jq -r '.nodes[] | select(.node == "a") | .self' <<<"$nodes")" = true ] &&
	[ "$(jq -r '.nodes[] | select(.node == "b") | .self' <<<"$nodes")" = false ] || fail "self: $nodes"
[ "$(jq '[.nodes[] | select(.alive and .state == "up")] | length' <<<"$nodes")" = 2 ] || fail "alive: $nodes"
[ "$(jq '.nodes[] | select(.node == "b") | .slots' <<<"$nodes")" = 2 ] || fail "b's slots: $nodes"
[ "$(jq '.nodes[] | select(.node == "b") | .pid' <<<"$nodes")" = "$B_PID" ] || fail "b's pid: $nodes"
"$FORQ" -s "$B/sock" nodes | grep -q '^b (this) .* up ' || fail "b's view: $("$FORQ" -s "$B/sock" nodes)"
ok "forq nodes on either node lists both, alive, with what each said of itself"

# Leases are renewed on the server's clock.
before=$(pg_sql "SELECT lease_until FROM forq_nodes WHERE name = 'a'")
timeout 10 bash -c "while [ \"\$(\"$PG_BIN/psql\" -X -h '$PG_DIR' -U postgres -d forq -At -c \"SELECT lease_until > '$before' FROM forq_nodes WHERE name = 'a'\")\" != t ]; do sleep 0.2; done" ||
	fail "node a's lease was not renewed"
ok "the lease is renewed"

# A name a live node on another host holds is refused (another host: a
# UTS namespace with another host name).
write_conf
store_section b >>"$CONF"
sed -i "s|^state_dir = .*|state_dir = $T/c|; s|^socket = .*|socket = $T/c.sock|; s|^pidfile = .*|pidfile = $T/c.pid|" "$CONF"
rc=0
timeout 30 unshare --uts sh -c 'hostname forq-elsewhere && exec "$@"' sh "$FORQD" -c "$CONF" >>"$LOG" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a second node b started (rc $rc)"
grep -q "node name \"b\" is held by the forqd on host $(hostname)" "$LOG" || fail "no reason: $(tail -n 3 "$LOG")"
ok "a node name that a live node on another host holds is refused"

# A node stopped past its lease: the others see it lost; once it runs
# again its renewal is refused, it says so and joins under a new epoch.
with_log "$B_LOG" mark_log
B_MARK=$(stat -c %s "$B_LOG")
kill -STOP "$B_PID"
timeout 10 bash -c "while [ \"\$(\"$FORQ\" -s '$SOCK' nodes --json | jq '.nodes[] | select(.node == \"b\") | .alive')\" != false ]; do sleep 0.2; done" ||
	fail "b was not seen lost: $(fq nodes --json)"
fq nodes | grep -q '^b .* lost ' || fail "the table does not say lost: $(fq nodes)"
kill -CONT "$B_PID"
save_mark=$LOG_MARK
LOG=$B_LOG LOG_MARK=$B_MARK wait_log 'node b: the lease was lost' 10
LOG=$B_LOG LOG_MARK=$B_MARK wait_log 'node b: joined again as epoch 2' 10
LOG_MARK=$save_mark
timeout 10 bash -c "while [ \"\$(\"$FORQ\" -s '$SOCK' nodes --json | jq -c '.nodes[] | select(.node == \"b\") | [.alive, .epoch]')\" != '[true,2]' ]; do sleep 0.2; done" ||
	fail "b is not back as epoch 2: $(fq nodes --json)"
ok "a node stopped past its lease is seen lost, finds its lease gone, and joins again"

# The database goes away: forqd keeps answering, says so, and comes back
# by itself when the database does.
mark_log
pg_stop fast
wait_log 'node a: database unreachable' 10
fq ping >/dev/null || fail "forqd does not answer without its database"
[ "$(fq workers --json | jq .store.connected)" = false ] || fail "workers: $(fq workers --json | jq -c .store)"
rc=0
out=$(fq nodes 2>&1) || rc=$?
[ $rc -eq 75 ] && grep -q 'database unreachable' <<<"$out" || fail "nodes without a database: rc $rc: $out"
mark_log
pg_start
wait_log 'node a: database connected' 15
[ "$(fq workers --json | jq .store.connected)" = true ] || fail "workers: $(fq workers --json | jq -c .store)"
[ "$(fq nodes --json | jq '.nodes | length')" = 2 ] || fail "nodes after: $(fq nodes --json)"
# b too, for what follows (it tries again up to 2 s apart).
timeout 10 bash -c "until [ \"\$(\"$FORQ\" -s '$B/sock' workers --json | jq .store.connected)\" = true ]; do sleep 0.1; done" ||
	fail "b did not reconnect: $("$FORQ" -s "$B/sock" workers --json | jq -c .store)"
ok "a restart of PostgreSQL: forqd answers meanwhile, says so, and reconnects by itself"

# Jobs: submitted through one node, run by whichever node claims them,
# each once; every node sees every job.
id=$(fq submit -- sh -c 'echo hello from $FORQ_JOB_ID')
fq wait "$id" >/dev/null || fail "job $id: $(fq status "$id")"
st=$("$FORQ" -s "$B/sock" status --json "$id")
[ "$(jq -r .job.state <<<"$st")" = succeeded ] && [ "$(jq -r .job.node <<<"$st")" != null ] ||
	fail "status from b: $st"
"$FORQ" -s "$B/sock" list | grep -q "^$id .*succeeded" || fail "list from b: $("$FORQ" -s "$B/sock" list)"
ok "a job submitted through a runs once, and b sees it ended, with its node"

# Output: on the node that ran it, the files; on another, the last
# 64 KiB the database kept, and where the rest is.
id=$(fq submit -- sh -c 'head -c 100000 /dev/zero | tr "\\0" x; echo; echo err >&2')
fq wait "$id" >/dev/null || fail "job $id: $(fq status "$id")"
ran=$(fq status --json "$id" | jq -r .job.node)
[ "$ran" = a ] && here=$SOCK there=$B/sock || { here=$B/sock; there=$SOCK; }
"$FORQ" -s "$here" logs --stdout "$id" >"$T/out.here" 2>"$T/err.here"
[ "$(wc -c <"$T/out.here")" = 100001 ] || fail "on $ran: $(wc -c <"$T/out.here") bytes"
"$FORQ" -s "$there" logs --stdout "$id" >"$T/out.there" 2>"$T/err.there"
[ "$(wc -c <"$T/out.there")" = 65536 ] && cmp -s "$T/out.there" <(tail -c 65536 "$T/out.here") ||
	fail "elsewhere: $(wc -c <"$T/out.there") bytes"
grep -q "job $id ran on node $ran: its whole output is there, in .*/logs/$id.out and .*/logs/$id.err (here: the last 64 KiB of each)" "$T/err.there" ||
	fail "no word of where: $(cat "$T/err.there")"
st=$("$FORQ" -s "$there" logs --stderr "$id" 2>&1) || true
[ "$(tail -n 1 <<<"$st")" = err ] || fail "stderr elsewhere: $st; here: $("$FORQ" -s "$here" logs --stderr "$id" 2>&1)"
ok "forq logs: the whole output on node $ran, the last 64 KiB on the other, saying where the rest is"

# A node that has submitted 1,000 jobs has the live table vacuumed and
# analyzed (the plans its connections keep were made while it was
# short). Held, they are not claimed: the claims' own VACUUMs (below)
# are not it, nor autovacuum's, which these counts leave out.
vacuumed() { pg_sql "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'forq_jobs'"; }
analyzed() { pg_sql "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'forq_jobs'"; }
v0=$(vacuumed) a0=$(analyzed)
held=$(seq 1000 | sed 's/.*/true/' | fq submit --hold --batch - | tr '\n' ' ')
[ "$(wc -w <<<"$held")" = 1000 ] || fail "1000 held: $held"
deadline=$(($(date +%s) + 10))
until [ "$(analyzed)" -gt "$a0" ] && [ "$(vacuumed)" -gt "$v0" ]; do
	[ "$(date +%s)" -lt $deadline ] || fail "no VACUUM ANALYZE after 1,000 submitted (vacuum_count $(vacuumed), analyze_count $(analyzed))"
	sleep 0.1
done
# shellcheck disable=SC2086
fq cancel $held >/dev/null || fail "cancel of the held jobs"
ok "a node that submitted 1,000 jobs had the live table vacuumed and analyzed"

: >"$T/runs"
seq 2000 | sed "s|.*|echo \$FORQ_JOB_ID >>$T/runs|" >"$T/batch"
ids=$(fq submit --batch "$T/batch" | tr '\n' ' ')
[ "$(wc -w <<<"$ids")" = 2000 ] || fail "2000 ids: $ids"
# Waited for through the other node: ends reach it by NOTIFY.
timeout 120 "$FORQ" -s "$B/sock" wait $ids >/dev/null || fail "the 2000 jobs did not all succeed"
[ "$(wc -l <"$T/runs")" = 2000 ] && [ -z "$(sort "$T/runs" | uniq -d)" ] ||
	fail "runs: $(wc -l <"$T/runs") lines, twice: $(sort "$T/runs" | uniq -d | head)"
by_node=$(pg_sql "SELECT node || '=' || count(*) FROM forq_history WHERE id >= $(cut -d' ' -f1 <<<"$ids") GROUP BY node ORDER BY node" | tr '\n' ' ')
[[ $by_node == "a="*" b="* ]] || fail "not run on both nodes: $by_node"
[ "$(pg_sql "SELECT count(*) FROM forq_jobs")" = 0 ] || fail "jobs left in the live table"
ok "2000 jobs through one node ran exactly once in all, on both nodes ($by_node)"

# The nodes vacuum the live table themselves, each every 1,000 jobs it
# claims (autovacuum comes once a minute at most, and until then claims
# step over every dead row): one of them has claimed that many by now.
# The count is of VACUUMs asked for, which autovacuum's do not touch;
# those that came with an ANALYZE were for submissions.
claims_vacuums() { echo $(($(vacuumed) - $(analyzed))); }
deadline=$(($(date +%s) + 10))
until [ "$(claims_vacuums)" -gt 0 ]; do
	[ "$(date +%s)" -lt $deadline ] || fail "no node vacuumed the jobs table for its claims (vacuum_count $(vacuumed), analyze_count $(analyzed))"
	sleep 0.1
done
ok "a node vacuumed the jobs table after its 1,000 claims ($(claims_vacuums) times)"

# A queue's parallel limit holds across the nodes: one of its jobs at a
# time, whichever node runs it (a second at once would find the lock
# directory taken, and fail).
ids=$(seq 8 | sed "s|.*|mkdir $T/one.lock \\|\\| exit 9; sleep 0.2; rmdir $T/one.lock|" | fq submit -q one --batch - | tr '\n' ' ')
timeout 30 "$FORQ" -s "$B/sock" wait $ids >/dev/null || fail "queue one: $(fq list --queue one)"
ok "parallel = 1 holds across both nodes: 8 jobs of the queue, one at a time, all succeeded"

# An array's limit, not the slots, bounds its tasks across the nodes:
# %5 with six slots between them (a two, b four), so that five at once
# take both nodes and a sixth would fit. Each task counts the tasks
# running as it starts (a directory each, gone before it ends).
mkdir "$T/arun"
task="mkdir '$T/arun/'\$FORQ_ARRAY_INDEX; ls '$T/arun' | wc -l >>'$T/aseen'; sleep 0.2; rmdir '$T/arun/'\$FORQ_ARRAY_INDEX"
arr=$(fq submit --array 1-40%5 -- sh -c "$task")
timeout 60 "$FORQ" -s "$B/sock" wait "$arr" >/dev/null || fail "the array %5: $(fq list --array "$arr")"
[ "$(wc -l <"$T/aseen")" = 40 ] && [ "$(sort -n "$T/aseen" | tail -n 1)" -le 5 ] ||
	fail "tasks at once under %5: $(sort -n "$T/aseen" | uniq -c | tr '\n' ' ')"
on=$(fq list --array "$arr" --limit 100 --json | jq -r '[.jobs[].node] | group_by(.) | map(.[0] + "=" + (length | tostring)) | join(" ")')
[[ $on == "a="*" b="* ]] || fail "the array ran on one node only: $on"
ok "--array 1-40%5 through a: never more than 5 tasks at once across both nodes, which have 6 slots ($on; $(sort -n "$T/aseen" | uniq -c | awk '{ printf "%s%s at once %s times", s, $2, $1; s = ", " }'))"

# A node claims only what fits it: b, started again with one worker and
# mem_max = 64M, takes no job of two CPUs or of 128M, even idle; and a
# gang on a weighs all of a's slots, so a job submitted through a
# meanwhile is b's. That job is submitted last: b's claim that took it
# passed over the other two.
need_cpus 2
stop_b
cp "$B/conf" "$B/conf.full"
sed -i 's/^slots = 2$/slots = 1\ncpus = 0/' "$B/conf"
printf '[jobs]\nmem_max = 64M\non_finish = echo $FORQ_JOB_NAME >>%s/hooks\n' "$T" >>"$B/conf"
start_b
mkfifo "$T/gang.up" "$T/gang.go"
g1=$(fq submit --cpus 2 -- sh -c "echo up >'$T/gang.up'; cat '$T/gang.go' >/dev/null")
timeout 20 cat "$T/gang.up" >/dev/null || fail "the gang did not start: $(fq status "$g1")"
g2=$(fq submit --cpus 2 -- true)
m1=$(fq submit --mem 128M -- true)
s1=$(fq submit --mem 32M -- true)
timeout 20 "$FORQ" -s "$B/sock" wait "$s1" >/dev/null || fail "job $s1: $(fq status "$s1"); b: $(tail -n 5 "$B_LOG")"
# b's one slot: the job's own on-finish command holds it, so the conf's
# waits, and the database records the end meanwhile: the conf's still
# runs once the slot is free (the node's copy of the job is kept till
# then).
mkfifo "$T/hook.go"
r1=$(fq submit -n race --on-finish "cat '$T/hook.go' >/dev/null" -- true)
timeout 20 "$FORQ" -s "$B/sock" wait "$r1" >/dev/null || fail "job $r1: $(fq status "$r1")"
[ "$(st "$SOCK" "$r1" .job.node)" = b ] || fail "job $r1 ran on $(st "$SOCK" "$r1" .job.node)"
echo go >"$T/hook.go"
timeout 20 bash -c "until grep -qx race '$T/hooks' 2>/dev/null; do sleep 0.1; done" ||
	fail "b's on_finish for job $r1 did not run: $(cat "$T/hooks" 2>&1); b: $(tail -n 5 "$B_LOG")"
echo go >"$T/gang.go"
timeout 30 "$FORQ" -s "$B/sock" wait "$g1" "$g2" "$m1" >/dev/null ||
	fail "jobs: $(fq list --limit 4)"
ran=$(for id in "$g1" "$g2" "$m1" "$s1"; do st "$SOCK" "$id" .job.node; done | tr '\n' ' ')
[ "$ran" = "a a a b " ] || fail "ran on (gang, gang, 128M, 32M): $ran"
stop_b
mv "$B/conf.full" "$B/conf"
start_b
ok "claims take what fits: two CPUs and 128M only on a, b (one worker, mem_max 64M) took the small job while a's gang filled a; an on-finish command that waited for b's slot past the end's record still ran"

# A unique key holds across the nodes while its job has not ended.
u1=$(fq submit --unique nightly -- sleep 2)
u2=$("$FORQ" -s "$B/sock" submit --unique nightly -- true)
[ "$u1" = "$u2" ] || fail "the key did not hold across nodes: $u1, $u2"
[ "$("$FORQ" -s "$B/sock" submit --json --unique nightly -- true | jq -c .existing)" = "[$u1]" ] ||
	fail "not said to be another's"
fq wait "$u1" >/dev/null || fail "job $u1: $(fq status "$u1")"
u3=$("$FORQ" -s "$B/sock" submit --unique nightly -- true)
[ "$u3" != "$u1" ] || fail "the key was not let go when its job ended"
fq wait "$u3" >/dev/null || fail "job $u3: $(fq status "$u3")"
ok "--unique holds across the nodes while its job runs, and is let go at its end"

# Dependencies hold across the nodes: a job waits, wherever it was
# submitted, for jobs that run on any node; a failure cancels its
# dependents down a chain; --after-fail and --after-any as on one host.
d1=$(fq submit -- sh -c "sleep 1; touch $T/dep1")
d2=$("$FORQ" -s "$B/sock" submit --after "$d1" -- test -e "$T/dep1")
[ "$(st "$SOCK" "$d2" .job.state)" = waiting ] || fail "job $d2: $(fq status "$d2")"
f1=$("$FORQ" -s "$B/sock" submit -- sh -c "sleep 0.5; exit 3")
f2=$(fq submit --after "$f1" -- touch "$T/f2")
f3=$("$FORQ" -s "$B/sock" submit --after "$f2" -- touch "$T/f3")
f4=$(fq submit --after-fail "$f1" -- true)
f5=$("$FORQ" -s "$B/sock" submit --after-any "$f1" -- true)
timeout 30 "$FORQ" -s "$B/sock" wait "$d2" "$f3" "$f4" "$f5" >/dev/null 2>&1 || true
[ "$(st "$B/sock" "$d2" .job.state)" = succeeded ] || fail "job $d2: $(fq status "$d2")"
[ "$(jq -n "$(st "$SOCK" "$d2" .job.started_at) >= $(st "$SOCK" "$d1" .job.ended_at)")" = true ] ||
	fail "job $d2 started before $d1 ended"
[ "$(st "$SOCK" "$f2" .job.state)" = cancelled ] &&
	[ "$(st "$SOCK" "$f2" .job.error)" = "dependency $f1 failed" ] || fail "job $f2: $(fq status "$f2")"
[ "$(st "$B/sock" "$f3" .job.state)" = cancelled ] &&
	[ "$(st "$B/sock" "$f3" .job.error)" = "dependency $f2 cancelled" ] || fail "job $f3: $(fq status "$f3")"
[ ! -e "$T/f2" ] && [ ! -e "$T/f3" ] || fail "a job whose dependency failed ran"
[ "$(st "$SOCK" "$f4" .job.state)" = succeeded ] && [ "$(st "$SOCK" "$f5" .job.state)" = succeeded ] ||
	fail "--after-fail $f4: $(fq status "$f4"); --after-any $f5: $(fq status "$f5")"
ok "--after across the nodes: $d2 ran once $d1 had; a failure cancelled $f2 and then $f3; --after-fail and --after-any ran"

# A dependency that ended before its dependent came: it goes on at once,
# not at the next look at every waiting job (5 s apart).
t0=$(now_ms)
late=$("$FORQ" -s "$B/sock" submit --after "$d1" -- true)
timeout 10 "$FORQ" -s "$SOCK" wait "$late" >/dev/null || fail "job $late: $(fq status "$late")"
t1=$(now_ms)
[ $((t1 - t0)) -lt 3000 ] || fail "job $late waited $((t1 - t0))ms for a dependency that had ended"
out=$(fq submit --after 987654321 -- true 2>&1) && fail "a dependency that does not exist was taken"
grep -q -- "--after 987654321: no such job" <<<"$out" || fail "no reason: $out"
ok "a dependency already ended lets its dependent go at once ($((t1 - t0))ms); one that does not exist is refused"

# Retries are the cluster's: a failed attempt goes back to the shared
# queue, scheduled after its delay, for any node to run; the last
# attempt's end is the job's.
rj=$(fq submit --retries 2 --retry-delay 2s -- sh -c "echo \$FORQ_JOB_ATTEMPT >>$T/rj.\$FORQ_JOB_ID; [ \$FORQ_JOB_ATTEMPT -ge 3 ]")
timeout 10 bash -c "until [ \"\$(\"$FORQ\" -s '$B/sock' status --json $rj | jq -c '[.job.state, .job.attempt]')\" = '[\"scheduled\",2]' ]; do sleep 0.1; done" ||
	fail "the retry of job $rj is not in the cluster: $("$FORQ" -s "$B/sock" status --json "$rj" | jq -c .job)"
timeout 20 "$FORQ" -s "$B/sock" wait "$rj" >/dev/null || fail "job $rj: $(fq status --json "$rj" | jq -c .job)"
[ "$(tr '\n' ' ' <"$T/rj.$rj")" = "1 2 3 " ] && [ "$(st "$SOCK" "$rj" .job.attempt)" = 3 ] ||
	fail "job $rj ran: $(cat "$T/rj.$rj"); $(fq status --json "$rj" | jq -c .job)"
atts=$("$FORQ" -s "$B/sock" status --json "$rj" | jq -c '[.job.attempts[] | [.attempt, .state, .exit_code, (.node | type), (.ended_at > .started_at)]]')
[ "$atts" = '[[1,"failed",1,"string",true],[2,"failed",1,"string",true]]' ] ||
	fail "the attempts of job $rj before its last: $atts"
ok "a failed attempt is queued again in the cluster (seen scheduled, attempt 2, from b); job $rj succeeded at attempt 3, its two failed attempts kept"

# Fairness between users, as on one host: another user's one job is
# not held back behind one user's many of the same priority (queue one
# runs a job at a time, across the nodes).
useradd -M -s /bin/sh "$U"
chmod 755 "$T"
fq pause one
install -m 666 /dev/null "$T/order"
ids=
for i in 1 2 3 4; do
	ids="$ids $("$FORQ" -s "$B/sock" submit -q one -- sh -c "echo A >>$T/order")"
done
uid_job=$(cd / && runuser -u "$U" -- env -u FORQ_SOCKET "$FORQ" -s "$SOCK" submit -q one -- sh -c "echo B >>$T/order") ||
	fail "$U could not submit"
fq resume one
timeout 30 "$FORQ" -s "$SOCK" wait $ids "$uid_job" >/dev/null || fail "queue one: $(fq list --queue one)"
order=$(tr '\n' ' ' <"$T/order")
[[ "$order" == "B A A A A " || "$order" == "A B A A A " ]] || fail "fairness across the nodes: $order"
ok "one user's four queued jobs do not hold back another's one, across the nodes: $order"

# Fairness is a queue's own, as on one host: the second user's job
# running in another queue does not count in queue one, where that user
# was served longer ago (the order above ends with A): its job there
# goes first.
mkfifo -m 666 "$T/b.up" "$T/b.go"
bj=$(cd / && runuser -u "$U" -- env -u FORQ_SOCKET "$FORQ" -s "$SOCK" submit -- sh -c "echo up >$T/b.up; cat $T/b.go >/dev/null")
timeout 20 cat "$T/b.up" >/dev/null || fail "job $bj did not start: $(fq status "$bj")"
fq pause one
: >"$T/order"
ids=
for i in 1 2; do
	ids="$ids $(fq submit -q one -- sh -c "echo A >>$T/order")"
done
uid_job=$(cd / && runuser -u "$U" -- env -u FORQ_SOCKET "$FORQ" -s "$SOCK" submit -q one -- sh -c "echo B >>$T/order")
fq resume one
timeout 30 "$FORQ" -s "$SOCK" wait $ids "$uid_job" >/dev/null || fail "queue one: $(fq list --queue one)"
echo go >"$T/b.go"
timeout 20 "$FORQ" -s "$SOCK" wait "$bj" >/dev/null || fail "job $bj: $(fq status "$bj")"
order=$(tr '\n' ' ' <"$T/order")
[ "$order" = "B A A " ] || fail "fairness within queue one, B running elsewhere: $order"
ok "fairness counts what a user runs in the job's queue: B's job in another queue did not put it behind A in queue one ($order)"

# Queues paused across the nodes: no node claims their jobs; a job's
# priority changes while it waits; resumed, it runs; drain answers once
# what the nodes claimed has ended.
"$FORQ" -s "$SOCK" pause || fail "pause"
[ "$("$FORQ" -s "$B/sock" queues --json | jq .paused)" = true ] || fail "b does not see the pause"
p1=$("$FORQ" -s "$B/sock" submit -- touch "$T/p1")
"$FORQ" -s "$B/sock" set "$p1" --priority 7 || fail "set through b"
rc=0; timeout 2 "$FORQ" -s "$SOCK" wait "$p1" >/dev/null 2>&1 || rc=$?
[ $rc = 124 ] && [ ! -e "$T/p1" ] || fail "a job of a paused cluster ran (rc $rc): $(fq status "$p1")"
[ "$(st "$SOCK" "$p1" .job.priority)" = 7 ] || fail "priority: $(fq status --json "$p1")"
"$FORQ" -s "$B/sock" resume || fail "resume"
timeout 10 "$FORQ" -s "$SOCK" wait "$p1" >/dev/null || fail "job $p1 after resume: $(fq status "$p1")"
out=$(fq set "$p1" --priority 1 2>&1) && fail "set took an ended job"
grep -q "only a job not yet claimed is changed" <<<"$out" || fail "set of an ended job: $out"
r1=$(fq submit -- sleep 1)
timeout 10 bash -c "until [ \"\$(\"$FORQ\" -s '$SOCK' status --json $r1 | jq -r .job.state)\" = running ]; do sleep 0.1; done" ||
	fail "job $r1 did not start"
"$FORQ" -s "$B/sock" drain >/dev/null || fail "drain"
[ "$(st "$SOCK" "$r1" .job.state)" = succeeded ] || fail "drain answered before job $r1 ended: $(fq status "$r1")"
[ "$("$FORQ" -s "$SOCK" queues --json | jq .paused)" = true ] || fail "drain did not pause"
"$FORQ" -s "$SOCK" resume || fail "resume after drain"
ok "pause on a holds on b too (a job stayed queued, its priority changed to 7), resume ran it; drain through b waited for $r1, running on $(st "$SOCK" "$r1" .job.node)"

# Holds across the nodes: a job submitted held through a is held on b
# too, and no node claims it (later jobs run past it); released through
# b, it runs. A waiting job held through a stays held once its
# dependency ended; released through b it goes on at once.
h1=$(fq submit --hold -- touch "$T/h1")
[ "$(st "$B/sock" "$h1" .job.state)" = held ] || fail "b: $(fq status "$h1")"
later=$("$FORQ" -s "$B/sock" submit -- true)
timeout 10 "$FORQ" -s "$SOCK" wait "$later" >/dev/null || fail "job $later: $(fq status "$later")"
[ "$(st "$SOCK" "$h1" .job.state)" = held ] && [ ! -e "$T/h1" ] || fail "a held job ran: $(fq status "$h1")"
[ "$("$FORQ" -s "$B/sock" list --state held --json | jq -c '[.jobs[].id]')" = "[$h1]" ] ||
	fail "list --state held on b: $("$FORQ" -s "$B/sock" list --state held --json | jq -c .jobs)"
[ "$(fq hold "$h1")" = "$h1 held" ] || fail "hold of a held job"
[ "$("$FORQ" -s "$B/sock" release "$h1")" = "$h1 queued" ] || fail "release through b"
timeout 10 "$FORQ" -s "$SOCK" wait "$h1" >/dev/null && [ -e "$T/h1" ] || fail "released $h1: $(fq status "$h1")"
d=$(fq submit -- sleep 0.5)
w=$("$FORQ" -s "$B/sock" submit --after "$d" -- true)
[ "$(fq hold "$w")" = "$w held" ] || fail "hold of a waiting job: $(fq status "$w")"
timeout 10 "$FORQ" -s "$SOCK" wait "$d" >/dev/null || fail "job $d"
later=$(fq submit -- true)
timeout 10 "$FORQ" -s "$SOCK" wait "$later" >/dev/null || fail "job $later"
[ "$(st "$SOCK" "$w" .job.state)" = held ] || fail "a held waiting job moved: $(fq status "$w")"
[ "$("$FORQ" -s "$B/sock" release "$w")" = "$w waiting" ] || fail "release of $w through b"
t0=$(now_ms)
timeout 10 "$FORQ" -s "$SOCK" wait "$w" >/dev/null || fail "released $w: $(fq status "$w")"
waited=$(($(now_ms) - t0))
rc=0; out=$("$FORQ" -s "$B/sock" hold "$w" 2>&1) || rc=$?
[ $rc = 65 ] && [[ $out == *"is succeeded: only a job not started is held"* ]] || fail "hold of an ended job: $rc $out"
rc=0; out=$(fq release "$d" 2>&1) || rc=$?
[ $rc = 65 ] && [[ $out == *"is succeeded, not held"* ]] || fail "release of an ended job: $rc $out"
ok "holds across the nodes: held through a, passed by later jobs, released through b it ran; a waiting job held past its dependency's end ran ${waited}ms after its release"

# forq set of a start time across the nodes; and of what the signed
# spec holds (queue, timeout, name), which the node that takes the
# change signs anew: the job then runs under it, wherever it runs.
l=$(fq submit --in 1h -- true)
"$FORQ" -s "$B/sock" set "$l" --in 0 || fail "set --in 0 through b"
timeout 10 "$FORQ" -s "$SOCK" wait "$l" >/dev/null || fail "set --in 0: $(fq status "$l")"
l=$(fq submit --hold -n before -- sleep 30)
"$FORQ" -s "$B/sock" set "$l" --timeout 1s --queue one --name after || fail "set --timeout --queue --name through b"
[ "$(st "$SOCK" "$l" '[.job.queue, .job.name, .job.state] | tostring')" = '["one","after","held"]' ] ||
	fail "set through b: $(fq status --json "$l" | jq -c .job)"
rc=0; out=$("$FORQ" -s "$B/sock" set "$l" --queue nowhere 2>&1) || rc=$?
[ $rc -ne 0 ] && [[ $out == *'no queue named "nowhere"'* ]] || fail "set --queue nowhere: $rc $out"
fq release "$l" >/dev/null
timeout 20 "$FORQ" -s "$SOCK" wait "$l" >/dev/null 2>&1 || true
[ "$(st "$SOCK" "$l" '[.job.state, .job.queue, .job.name] | tostring')" = '["timed_out","one","after"]' ] ||
	fail "the changed job ran: $(fq status --json "$l" | jq -c .job)"
rc=0; out=$("$FORQ" -s "$B/sock" set "$l" --name again 2>&1) || rc=$?
[ $rc = 65 ] || fail "set of an ended job: $rc $out"
ok "forq set --in 0 through b lets a job scheduled through a go; --timeout, --queue and --name set through b hold where it ran (timed out after 1s, in queue one, named after)"

# An ended job runs again through any node, as its next attempt, as it
# was signed; one not ended does not; clean empties the history.
rt=$(fq submit -- sh -c "test -e $T/rt || { touch $T/rt; exit 4; }")
"$FORQ" -s "$SOCK" wait "$rt" >/dev/null 2>&1 || true
[ "$(st "$SOCK" "$rt" .job.state)" = failed ] || fail "job $rt: $(fq status "$rt")"
out=$("$FORQ" -s "$B/sock" retry "$rt") || fail "retry through b"
[ "$out" = "$rt attempt 2" ] || fail "retry said: $out"
timeout 10 "$FORQ" -s "$SOCK" wait "$rt" >/dev/null || fail "job $rt retried: $(fq status "$rt")"
[ "$(st "$B/sock" "$rt" .job.attempt)" = 2 ] || fail "attempt of $rt: $(fq status --json "$rt")"
[ "$(st "$B/sock" "$rt" '[.job.attempts[] | [.attempt, .state, .exit_code]] | tostring')" = '[[1,"failed",4]]' ] ||
	fail "the attempts of $rt: $(fq status --json "$rt" | jq -c .job.attempts)"
s1=$(fq submit -- sleep 5)
out=$("$FORQ" -s "$B/sock" retry "$s1" 2>&1) && fail "retry took a job not ended"
grep -q "has not ended" <<<"$out" || fail "retry of a job not ended: $out"
fq cancel "$s1" >/dev/null
"$FORQ" -s "$SOCK" wait "$s1" >/dev/null 2>&1 || true
n=$("$FORQ" -s "$B/sock" clean --json | jq .removed)
[ "$n" -gt 0 ] || fail "clean removed $n"
out=$(fq status "$rt" 2>&1) && fail "job $rt is still there after clean: $out"
[ "$(pg_sql "SELECT count(*) FROM forq_history")" = 0 ] || fail "the history after clean: $(pg_sql "SELECT count(*) FROM forq_history")"
[ "$(pg_sql "SELECT count(*) FROM forq_attempts")" = 0 ] || fail "attempts after clean: $(pg_sql "SELECT count(*) FROM forq_attempts")"
ok "retry through b ran $rt again as attempt 2, its first kept in status; a job not ended is refused; clean removed $n ended jobs of every node, and their attempts"

# The load by queue, and a wait for all of one's jobs, from either node.
ids=$(for i in 1 2 3; do echo "sleep 1"; done | fq submit --batch - | tr '\n' ' ')
q=$("$FORQ" -s "$B/sock" queues --json)
[ "$(jq '.queues[] | select(.name == "default") | .queued + .running' <<<"$q")" = 3 ] &&
	[ "$(jq '.queues[] | select(.name == "one") | .parallel' <<<"$q")" = 1 ] || fail "queues: $q"
"$FORQ" -s "$B/sock" wait --all >/dev/null || fail "wait --all: $(fq list)"
for id in $ids; do
	[ "$(fq status --json "$id" | jq -r .job.state)" = succeeded ] || fail "job $id: $(fq status "$id")"
done
ok "forq queues shows every node's load; wait --all on b waits for jobs submitted through a"

# A later start holds across the cluster: scheduled until its time.
t0=$(now_ms)
id=$(fq submit --in 2s -- true)
[ "$("$FORQ" -s "$B/sock" status --json "$id" | jq -r .job.state)" = scheduled ] || fail "job $id: $(fq status "$id")"
timeout 10 "$FORQ" -s "$B/sock" wait "$id" >/dev/null || fail "job $id: $(fq status "$id")"
t1=$(now_ms)
[ $((t1 - t0)) -ge 1900 ] || fail "job $id ran after $((t1 - t0))ms"
ok "submit --in 2s: scheduled on every node, run $((t1 - t0))ms later"

# Whoever writes the database without the key cannot make a node run
# anything: a job put in by hand, and one changed to run as root.
pg_sql "INSERT INTO forq_jobs (state, queue, priority, uid, gid, user_name, spec, submit_node, sig) VALUES (0, 'default', 0, 0, 0, 'root', '{\"argv\":[\"touch\",\"$T/pwned\"],\"env\":[],\"cwd\":\"/\"}', 'elsewhere', 'forged')"
pg_sql "SELECT pg_notify('forq_jobs', '')" >/dev/null
timeout 10 bash -c "until [ \"\$(\"$PG_BIN/psql\" -X -h '$PG_DIR' -U postgres -d forq -At -c \"SELECT count(*) FROM forq_history WHERE submit_node = 'elsewhere' AND state = 6 AND error LIKE 'its signature does not hold%'\")\" = 1 ]; do sleep 0.2; done" ||
	fail "the forged job was not refused: $(pg_sql "SELECT id, state, node, error FROM forq_history WHERE submit_node = 'elsewhere'")"
[ ! -e "$T/pwned" ] || fail "the forged job ran"
grep -hq 'its signature does not hold' "$LOG" "$B_LOG" || fail "the refusal is not logged"
ok "a job written into the database without the key is refused, not run, and logged"

# A job signed under the key for a user no node has: the node that
# claims it fails it, saying so; twice, as a name not found is not
# kept among the users a node knows.
sign() { # USER QUEUE SPEC: the signature a node would write
	python3 -c 'import hashlib, hmac, sys
k = open(sys.argv[1], "rb").read()
m = b"".join(b"%d:%s" % (len(p), p) for p in [b"forq spec 1"] + [a.encode() for a in sys.argv[2:]])
print(hmac.new(k, m, hashlib.sha256).hexdigest())' "$T/cluster.key" "$@"
}
spec='{"argv":["touch","'"$T"'/nouser"],"env":[],"cwd":"/"}'
for i in 1 2; do
	pg_sql "INSERT INTO forq_jobs (state, queue, priority, uid, gid, user_name, spec, submit_node, sig) VALUES (0, 'default', 0, 0, 0, 'forq-nouser', '$spec', 'elsewhere$i', '$(sign forq-nouser default "$spec")')"
	pg_sql "SELECT pg_notify('forq_jobs', '')" >/dev/null
	t0=$(now_ms)
	until [ "$(pg_sql "SELECT count(*) FROM forq_history WHERE submit_node = 'elsewhere$i' AND state = 6 AND error = 'no user \"forq-nouser\" on node ' || node")" = 1 ]; do
		[ $(($(now_ms) - t0)) -lt 10000 ] ||
			fail "the job of an unknown user was not refused: $(pg_sql "SELECT id, state, node, error FROM forq_history WHERE submit_node = 'elsewhere$i'")"
		sleep 0.1
	done
done
[ ! -e "$T/nouser" ] || fail "the unknown user's job ran"
ok "a signed job of a user no node has fails on the node that claimed it, saying so"

# A node's replies tell of the database's commits: its own store is
# synced once a second, not before each reply as on one host (where
# these 20 submissions and waits would take at least 40 fsyncs); and
# SQLite's checkpoints, every thousand pages, sync the WAL and the
# database file (three fsyncs each; two at most here).
strace -q -p "$FORQD_PID" -e trace=fsync,fdatasync -o "$T/syncs" 2>"$T/strace.err" &
tracer=$!
timeout 10 bash -c "until [ \"\$(awk '/^TracerPid/ { print \$2 }' /proc/$FORQD_PID/status)\" = $tracer ]; do sleep 0.05; done" ||
	fail "strace did not attach: $(cat "$T/strace.err")"
t0=$(now_ms)
for i in $(seq 20); do fq submit -w -- true >/dev/null || fail "submit $i"; done
t1=$(now_ms)
kill -INT "$tracer"
wait "$tracer" 2>/dev/null || true
syncs=$(grep -c 'sync(' "$T/syncs" || true)
[ "$syncs" -le $(((t1 - t0) / 1000 + 1 + 6)) ] ||
	fail "$syncs fsyncs in $((t1 - t0))ms of 20 submissions: $(head -n 5 "$T/syncs")"
ok "a node syncs its own store once a second, not before each reply: $syncs fsyncs over 20 submit -w ($((t1 - t0))ms)"

# A cancel asked on one node reaches the job where it runs.
id=$(fq submit -- sleep 60)
timeout 10 bash -c "until [ \"\$(\"$FORQ\" -s '$SOCK' status --json $id | jq -r .job.state)\" = running ]; do sleep 0.1; done" ||
	fail "job $id did not start: $(fq status "$id")"
where=$(fq status --json "$id" | jq -r .job.node)
[ "$where" = a ] && other=$B/sock || other=$SOCK
t0=$(now_ms)
"$FORQ" -s "$other" cancel "$id" >/dev/null || fail "cancel through the other node"
"$FORQ" -s "$other" wait "$id" >/dev/null 2>&1 || true
t1=$(now_ms)
[ "$(fq status --json "$id" | jq -r .job.state)" = cancelled ] || fail "job $id: $(fq status "$id")"
[ $((t1 - t0)) -lt 2000 ] || fail "the cancel took $((t1 - t0))ms"
ok "a cancel through the other node stops a job running on $where in $((t1 - t0))ms"

# PostgreSQL restarts while jobs run and more are submitted: nothing
# acknowledged is lost, nothing runs twice.
: >"$T/runs"
: >"$T/acked"
seq 40 | sed "s|.*|sleep 0.05; echo \$FORQ_JOB_ID >>$T/runs|" >"$T/batch"
(
	for i in $(seq 30); do
		"$FORQ" -s "$SOCK" submit --batch "$T/batch" >>"$T/acked" 2>/dev/null || true
	done
) &
submitter=$!
sleep 0.3
mark_log
pg_stop fast
pg_start
wait "$submitter"
wait_log 'node a: database connected' 15
acked=$(wc -l <"$T/acked")
[ "$acked" -ge 40 ] || fail "only $acked jobs acknowledged"
timeout 120 "$FORQ" -s "$SOCK" wait $(cat "$T/acked") >/dev/null || fail "acknowledged jobs did not all succeed"
[ "$(sort -u "$T/runs" | wc -l)" = "$acked" ] && [ -z "$(sort "$T/runs" | uniq -d)" ] ||
	fail "acknowledged $acked, ran $(sort -u "$T/runs" | wc -l), twice: $(sort "$T/runs" | uniq -d | head)"
ok "a restart of PostgreSQL mid-batch: $acked acknowledged jobs ran, each once"

# A node that dies with its workers: its jobs are queued again by the
# other once its lease (2s) and a fifth of it have run out.
b_jobs_running() { # N: submits N long jobs; prints the ids of those on b
	local ids id
	ids=$(seq "$1" | sed "s|.*|sleep ${2:-3}; echo \$FORQ_JOB_ID >>$T/done|" | fq submit --batch - | tr '\n' ' ')
	timeout 10 bash -c "until [ \"\$(\"$FORQ\" -s '$SOCK' list --state running --json --limit 100 | jq '.jobs | length')\" = $1 ]; do sleep 0.1; done" ||
		fail "the jobs did not all start: $(pg_sql "SELECT id, state, node FROM forq_jobs" | tr '\n' ' '); nodes: $(fq nodes | tr '\n' ' ')"
	for id in $ids; do
		[ "$(fq status --json "$id" | jq -r .job.node)" = b ] && echo "$id"
	done
	echo "all $ids"
}
kill_b_hard() { # forqd, its workers, and the jobs in its cgroups
	local cg pids
	cg=$(sed -n 's/.*job cgroups: .* under \(.*\)$/\1/p' "$B_LOG" | tail -n 1)
	pids="$B_PID $(pgrep -P "$B_PID" | tr '\n' ' ')"
	kill -KILL $pids 2>/dev/null || true
	[ -n "$cg" ] && find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
	"$FORQ_PIDWAIT" "$B_PID" 5000 || true
	B_PID=
}
: >"$T/done"
out=$(b_jobs_running 6 3)
on_b=$(grep -v '^all ' <<<"$out" | tr '\n' ' ')
all=$(sed -n 's/^all //p' <<<"$out")
[ -n "$on_b" ] || fail "no job ran on b"
t0=$(now_ms)
kill_b_hard
# Queued again (b's no more) within the lease and 5 s; then run by a
# as its slots come free.
for id in $on_b; do
	timeout 10 bash -c "while [ \"\$(\"$FORQ\" -s '$SOCK' status --json $id | jq -r .job.node)\" = b ]; do sleep 0.1; done" ||
		fail "job $id of b not queued again: $(fq status --json "$id" | jq -c .job)"
done
t1=$(now_ms)
[ $((t1 - t0)) -lt $((2000 + 5000)) ] || fail "b's jobs were queued again after $((t1 - t0))ms"
timeout 20 "$FORQ" -s "$SOCK" wait $all >/dev/null || fail "jobs not finished: $(fq list)"
t2=$(now_ms)
for id in $on_b; do
	st=$(fq status --json "$id")
	[ "$(jq -r .job.node <<<"$st")" = a ] && [ "$(jq .job.attempt <<<"$st")" = 2 ] ||
		fail "job $id of b: $(jq -c .job <<<"$st")"
done
ok "kill -9 of node b and its workers: its jobs ($on_b) queued again $((t1 - t0))ms after, done on a after $((t2 - t0))ms"

# Node b back, then stopped past its lease with its jobs running: a
# runs them again; b, running again, finds its lease lost and stops
# its own, whose ends the database refuses. One success each.
start_b
: >"$T/done"
out=$(b_jobs_running 6 4)
on_b=$(grep -v '^all ' <<<"$out" | tr '\n' ' ')
all=$(sed -n 's/^all //p' <<<"$out")
[ -n "$on_b" ] || fail "no job ran on b"
B_MARK=$(stat -c %s "$B_LOG")
kill -STOP "$B_PID"
timeout 20 "$FORQ" -s "$SOCK" wait $all >/dev/null || fail "jobs not finished: $(fq list)"
kill -CONT "$B_PID"
save_mark=$LOG_MARK
LOG=$B_LOG LOG_MARK=$B_MARK wait_log 'the lease (ran out|was lost)' 10
LOG_MARK=$save_mark
for id in $on_b; do
	[ "$(pg_sql "SELECT state || ',' || node FROM forq_history WHERE id = $id")" = 5,a ] ||
		fail "job $id: $(pg_sql "SELECT * FROM forq_history WHERE id = $id")"
	[ "$(st "$SOCK" "$id" '[.job.attempts[] | [.state, .node, .error]] | tostring')" = '[["lost","b","node b stopped renewing its lease"]]' ] ||
		fail "the attempts of job $id: $(fq status --json "$id" | jq -c .job.attempts)"
done
timeout 10 bash -c "until [ \"\$(\"$FORQ\" -s '$B/sock' workers --json | jq '[.workers[].jobs[]] | length')\" = 0 ]; do sleep 0.2; done" ||
	fail "b still runs jobs: $("$FORQ" -s "$B/sock" workers)"
[ "$(pg_sql "SELECT count(*) FROM forq_jobs")" = 0 ] || fail "left: $(pg_sql "SELECT id, state, node FROM forq_jobs")"
ok "node b stopped past its lease: its jobs ($on_b) succeeded once, on a, their attempts on b kept as lost; b stopped its own"

# forqd of node b dies alone (kill -9): its workers, left without it,
# keep their jobs only until b's lease runs out (2 s), not for
# adopt_timeout (5 min), so that no job runs on b and on a at once.
ids=$(seq 6 | sed "s|.*|[ \$FORQ_JOB_ATTEMPT -gt 1 ] \&\& exit 0; echo \$\$ >$T/pid.\$FORQ_JOB_ID; exec sleep 60|" | fq submit --batch - | tr '\n' ' ')
for id in $ids; do
	timeout 10 bash -c "until [ -s '$T/pid.$id' ]; do sleep 0.1; done" || fail "job $id did not start: $(fq list)"
done
on_b=
for id in $ids; do
	[ "$(fq status --json "$id" | jq -r .job.node)" = b ] && on_b="$on_b $id"
done
[ -n "$on_b" ] || fail "no job ran on b"
B_MARK=$(stat -c %s "$B_LOG")
t0=$(now_ms)
kill -KILL "$B_PID"
"$FORQ_PIDWAIT" "$B_PID" 5000 || true
B_PID=
save_mark=$LOG_MARK
LOG=$B_LOG LOG_MARK=$B_MARK wait_log "keeping [0-9]+ jobs for the next forqd for up to [0-9.]+m?s, when the node's lease in the cluster runs out" 10
LOG_MARK=$save_mark
for id in $on_b; do
	"$FORQ_PIDWAIT" "$(cat "$T/pid.$id")" 5000 || fail "job $id of b still runs $(($(now_ms) - t0))ms after its forqd died"
done
t1=$(now_ms)
[ $((t1 - t0)) -lt 3000 ] || fail "b's workers kept their jobs for $((t1 - t0))ms, past the lease (2s)"
for id in $ids; do
	[[ " $on_b " == *" $id "* ]] || fq cancel "$id" >/dev/null
done
timeout 20 "$FORQ" -s "$SOCK" wait $on_b >/dev/null || fail "jobs not finished: $(fq list)"
for id in $on_b; do
	st=$(fq status --json "$id")
	[ "$(jq -r .job.node <<<"$st")" = a ] && [ "$(jq .job.attempt <<<"$st")" = 2 ] ||
		fail "job $id of b: $(jq -c .job <<<"$st")"
done
ok "kill -9 of b's forqd alone: its workers stopped its jobs ($on_b) $((t1 - t0))ms after, by the lease, not adopt_timeout; a ran them again"

# Node a alone (b is down), stopped past its lease with jobs running:
# once it runs again it finds the lease lost, gives its jobs back, and
# claims them again only once it has joined again, each as its second
# attempt. A claim made in between was given back a second time, its
# attempt counted lost again, and its run met the stopped copy's
# output files still in place.
: >"$T/alone"
ids=$(seq 2 | sed "s|.*|sleep 6; echo \$FORQ_JOB_ID >>$T/alone|" | fq submit --batch - | tr '\n' ' ')
timeout 10 bash -c "until [ \"\$(\"$FORQ\" -s '$SOCK' list --state running --json | jq '.jobs | length')\" = 2 ]; do sleep 0.1; done" ||
	fail "the jobs did not start: $(fq list)"
mark_log
kill -STOP "$FORQD_PID"
sleep 3
kill -CONT "$FORQD_PID"
wait_log 'node a: joined again as epoch' 10
# shellcheck disable=SC2086
timeout 20 "$FORQ" -s "$SOCK" wait $ids >/dev/null || fail "jobs not finished: $(fq list | head -n 4)"
for id in $ids; do
	[ "$(st "$SOCK" "$id" '[.job.state, .job.attempt, [.job.attempts[] | [.state, .node]]] | tostring')" = '["succeeded",2,[["lost","a"]]]' ] ||
		fail "job $id: $(fq status --json "$id" | jq -c '.job | {state, attempt, error, attempts}')"
	[ "$(grep -c "^$id$" "$T/alone")" = 1 ] || fail "job $id ran to its end $(grep -c "^$id$" "$T/alone") times"
done
ok "node a alone, stopped past its lease: it joined again and ran its jobs ($ids) again, each once, as their second attempt"

# A claim sent before the lease was lost and answered after a renewal
# that held it again is void: the statement sent at the loss has queued
# its jobs again, and running them too would run them twice. Made so
# (node a alone, a lease of 10 s, renewals each 3.3 s): a renewal fails
# (UPDATE on forq_nodes revoked), so the last that held is two renewals
# back; the next waits on a row lock; the jobs are queued, and their
# claim goes out behind that renewal; a's own clock gives the lease up
# (8 s after the last renewal that held); then the row lock goes, the
# renewal holds the lease again, and the claim is answered.
stop_forqd
write_conf
LEASE=10s store_section a >>"$CONF"
start_forqd
: >"$T/void"
ids=$(seq 2 | sed "s|.*|echo \$FORQ_JOB_ID >>$T/void|" | fq submit --hold --batch - | tr '\n' ' ')
pg_sql "REVOKE UPDATE ON forq_nodes FROM forq" >/dev/null
wait_log 'node a: cannot renew the lease: permission denied' 10
pg_hold renewal "SELECT 1 FROM forq_nodes WHERE name = 'a' FOR UPDATE;"
pg_sql "GRANT UPDATE ON forq_nodes TO forq" >/dev/null
timeout 10 bash -c "until [ \"\$(\"$PG_BIN/psql\" -X -h '$PG_DIR' -U postgres -d forq -At -c \"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'forqd a' AND wait_event_type = 'Lock'\")\" = 1 ]; do sleep 0.05; done" ||
	fail "a's renewal did not wait for the row lock"
# Queued as a release would (not through a, whose connection waits).
# shellcheck disable=SC2086
pg_sql "UPDATE forq_jobs SET state = 0 WHERE id IN ($(echo $ids | tr ' ' ,)) AND state = 4; NOTIFY forq_jobs" >/dev/null
wait_log 'cluster: the lease was lost' 10
pg_let_go renewal
t0=$(now_ms)
wait_log 'node a: lease renewed' 10
# shellcheck disable=SC2086
timeout 20 "$FORQ" -s "$SOCK" wait $ids >/dev/null || fail "jobs not finished: $(fq list | head -n 4)"
t1=$(now_ms)
for id in $ids; do
	[ "$(grep -c "^$id$" "$T/void")" = 1 ] || fail "job $id ran $(grep -c "^$id$" "$T/void") times"
	[ "$(st "$SOCK" "$id" '[.job.state, .job.attempt, [.job.attempts[] | [.state, .node]]] | tostring')" = '["succeeded",2,[["lost","a"]]]' ] ||
		fail "job $id: $(fq status --json "$id" | jq -c '.job | {state, attempt, error, attempts}')"
done
# And the claim was answered as the test made it: after the renewal.
wait_log 'cluster: a claim of [0-9]+ jobs sent before the lease was lost was answered after it: void' 10
ok "a claim sent before a's lease was lost and answered after a late renewal held it again was void: its jobs ($ids) ran once each, done $((t1 - t0))ms after the renewal"

# A partition: b, alive and running jobs, loses the database (its own
# role, forq_b, is refused by pg_hba and its sessions ended; the
# database is on a Unix socket, which no network namespace cuts). By
# its own clock it stops its jobs when its lease runs out; a runs them
# again only after that, never beside them; healed, b finds its lease
# lost, joins again, and no job succeeds twice.
pg_sql "CREATE ROLE forq_b LOGIN IN ROLE forq" >/dev/null
sed -i "s|^dsn = .*|dsn = $PG_DSN|; s|user=forq\$|user=forq_b|" "$B/conf"
grep -q "user=forq_b" "$B/conf" || fail "b's conf: $(cat "$B/conf")"
start_b
: >"$T/overlap"
job='echo $$ >'"$T"'/part.$FORQ_JOB_ID.$FORQ_JOB_ATTEMPT; if [ "$FORQ_JOB_ATTEMPT" -gt 1 ]; then kill -0 "$(cat '"$T"'/part.$FORQ_JOB_ID.1)" 2>/dev/null \&\& echo $FORQ_JOB_ID >>'"$T"'/overlap; exit 0; fi; exec sleep 60'
ids=$(seq 6 | sed "s|.*|$job|" | fq submit --batch - | tr '\n' ' ')
for id in $ids; do
	timeout 10 bash -c "until [ -s '$T/part.$id.1' ]; do sleep 0.1; done" || fail "job $id did not start: $(fq list)"
done
on_b=
for id in $ids; do
	if [ "$(fq status --json "$id" | jq -r .job.node)" = b ]; then
		on_b="$on_b $id"
	else
		fq cancel "$id" >/dev/null
	fi
done
[ -n "$on_b" ] || fail "no job ran on b"
B_MARK=$(stat -c %s "$B_LOG")
sed -i '1i local all forq_b reject' "$PG_DIR/data/pg_hba.conf"
pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" reload >/dev/null
pg_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'forq_b'" >/dev/null
t0=$(now_ms)
save_mark=$LOG_MARK
LOG=$B_LOG LOG_MARK=$B_MARK wait_log 'node b: the lease ran out' 10
LOG_MARK=$save_mark
timeout 30 "$FORQ" -s "$SOCK" wait $on_b >/dev/null || fail "b's jobs not run again: $(fq list)"
t1=$(now_ms)
[ ! -s "$T/overlap" ] || fail "jobs ran on a while their copies still ran on b: $(cat "$T/overlap")"
for id in $on_b; do
	[ -s "$T/part.$id.2" ] || fail "job $id did not run again"
	[ "$(pg_sql "SELECT state || ',' || node || ',' || attempt FROM forq_history WHERE id = $id")" = 5,a,1 ] ||
		fail "job $id: $(pg_sql "SELECT state, node, attempt, error FROM forq_history WHERE id = $id")"
done
sed -i '1d' "$PG_DIR/data/pg_hba.conf"
pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" reload >/dev/null
LOG=$B_LOG LOG_MARK=$B_MARK wait_log 'node b: (the lease was lost|joined again as epoch)' 20
LOG_MARK=$save_mark
timeout 10 bash -c "until [ \"\$(\"$FORQ\" -s '$B/sock' workers --json | jq '[.workers[].jobs[]] | length')\" = 0 ]; do sleep 0.2; done" ||
	fail "b still runs jobs: $("$FORQ" -s "$B/sock" workers)"
for id in $on_b; do
	[ "$(pg_sql "SELECT count(*) FROM forq_history WHERE id = $id AND state = 5")" = 1 ] || fail "job $id: $(pg_sql "SELECT * FROM forq_history WHERE id = $id")"
done
stop_b
sed -i "s|user=forq_b|user=forq|" "$B/conf"
ok "b cut off from the database: it stopped its jobs ($on_b) when its lease ran out, a ran them again after, never beside them ($((t1 - t0))ms); healed, b joined again and nothing succeeded twice"

# A node that stops says so (b again, which records its old workers'
# ends as ends the cluster no longer has a claim for).
start_b
stop_b
timeout 10 bash -c "while [ \"\$(\"$FORQ\" -s '$SOCK' nodes --json | jq -r '.nodes[] | select(.node == \"b\") | .state')\" != stopped ]; do sleep 0.2; done" ||
	fail "b not stopped: $(fq nodes --json); b: $(tail -n 15 "$B_LOG")"
ok "a node that stops is listed stopped"

# Retention, over the history: a's own jobs and their output files, and
# those of b, stopped for longer than retention_age. (A job that wrote
# nothing leaves no file: one that did, on a alone now.)
fq submit -w -- echo kept >/dev/null 2>&1 || fail "a job on a alone"
stop_forqd
[ -n "$(ls "$T/state/logs")" ] || fail "a kept no output files"
# The default slots from here: four a worker, opened by its CPU's load.
DEFAULT_SLOTS=1 write_conf
store_section a >>"$CONF"
printf '[jobs]\nretention_age = 1s\n' >>"$CONF"
start_forqd
timeout 15 bash -c "until [ \"\$(\"$PG_BIN/psql\" -X -h '$PG_DIR' -U postgres -d forq -At -c 'SELECT count(*) FROM forq_history')\" = 0 ]; do sleep 0.3; done" ||
	fail "history left: $(pg_sql "SELECT node, count(*) FROM forq_history GROUP BY node")"
# The node removes the files once the deletion's answer is in: after
# the rows are gone, so looked for until then.
timeout 10 bash -c "until [ -z \"\$(ls '$T/state/logs')\" ]; do sleep 0.2; done" ||
	fail "output files left: $(ls "$T/state/logs" | head -n 5); cleaned: $(pg_sql "SELECT node, id FROM forq_cleaned" | tr "\n" " ")"
ok "retention empties the history, and a's output files with its jobs"

# Idle, a has one slot open a worker: a gang weighs those of its
# workers, so a claims it (it weighed 2 x slots and waited for ever).
g=$(fq submit --cpus 2 -- true)
timeout 30 "$FORQ" -s "$SOCK" wait "$g" >/dev/null || fail "a gang under adaptive slots: $(fq status "$g")"
ok "under the default adaptive slots a node claims and runs a gang (--cpus 2)"

# A database of a newer schema is refused at start.
stop_forqd
pg_sql "UPDATE forq_meta SET value = '999' WHERE key = 'schema'"
rc=0
mark_log
timeout 30 "$FORQD" -c "$CONF" >>"$LOG" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "forqd started on a newer schema (rc $rc)"
grep -q "schema is version 999, newer than this forqd's" "$LOG" || fail "no reason: $(tail -n 3 "$LOG")"
ok "a database of a newer schema stops forqd at start, saying so"
