#!/usr/bin/env bash
# What a job asks of the node that runs it, across a cluster: files of
# its own (--stdout, --stderr with %j and %u, --stdin, --append) made
# there as its user, and forq logs on that node and on the other;
# [resources], each node's own (a: GPUs 0-1; b: GPUs 2-3 and two
# licenses): a job runs only on a node that has what it asks, gets
# indexes there no running job has, and is not passed by smaller asks;
# --cpus and --mem checked at submit against the node with the most.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pglib.sh"
. "$(dirname "$0")/clusterlib.sh"
[ "$(id -u)" = 0 ] || fail "this test creates a user and must run as root"
chmod 755 "$T"

pg_start
pg_make_db
# One slot each: whatever runs at once beyond one runs on both nodes.
write_conf "slots = 1" "cpus = 0"
store_section a >>"$CONF"
printf '[jobs]\nmem_max = 128M\n[resources]\ngpu = 0-1\n' >>"$CONF"
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$CONF"
start_forqd
write_b_conf
sed -i 's/^slots = 2$/slots = 1\ncpus = 0/' "$B/conf"
printf '[jobs]\nmem_max = 64M\n[resources]\ngpu = 2-3\nlic = 2\n' >>"$B/conf"
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$B/conf"
start_b
useradd -M -s /bin/sh "$U"
mkdir "$T/u"
chown "$U:" "$T/u"
as_u() { (cd "$T/u" && runuser -u "$U" -- env -u FORQ_SOCKET "$FORQ" "$@"); }
other() { if [ "$1" = a ]; then echo "$B/sock"; else echo "$SOCK"; fi; }
there() { if [ "$1" = a ]; then echo "$SOCK"; else echo "$B/sock"; fi; }

# Files of its own: made where it ran, as its user, 0600, named by the
# pattern expanded there; --stdin read as that user.
runuser -u "$U" -- sh -c "seq 1 3 >'$T/u/in.txt'"
j=$(as_u -s "$SOCK" submit --stdout 'o-%j-%u.txt' --stderr 'e-%j.txt' --stdin in.txt -- sh -c 'cat; echo oops >&2')
as_u -s "$SOCK" wait "$j" >/dev/null || fail "job $j: $(fq status "$j")"
node=$(st "$SOCK" "$j" .job.node)
[ "$node" = a ] || [ "$node" = b ] || fail "job $j ran on '$node'"
[ "$(tr '\n' ' ' <"$T/u/o-$j-$U.txt")" = "1 2 3 " ] || fail "stdout: $(ls -l "$T/u")"
[ "$(cat "$T/u/e-$j.txt")" = oops ] || fail "stderr: $(ls -l "$T/u")"
[ "$(stat -c '%U %a' "$T/u/o-$j-$U.txt" "$T/u/e-$j.txt" | sort -u)" = "$U 600" ] ||
	fail "owners and modes: $(stat -c '%n %U %a' "$T/u"/*)"
[ "$(st "$SOCK" "$j" .job.stdout)" = "$T/u/o-%j-$U.txt" ] || fail "status: $(fq status --json "$j")"
ok "--stdout o-%j-%u.txt, --stderr and --stdin through a cluster: made on node $node as the user, 0600"

# forq logs: the whole files on the node that ran it; on the other, the
# last bytes the database kept, and where the files are.
[ "$(as_u -s "$(there "$node")" logs --stdout "$j" | tr '\n' ' ')" = "1 2 3 " ] ||
	fail "logs on $node: $(as_u -s "$(there "$node")" logs "$j" 2>&1)"
as_u -s "$(other "$node")" logs "$j" >"$T/out.other" 2>"$T/err.other" ||
	fail "logs on the other node: $(cat "$T/err.other")"
[ "$(tr '\n' ' ' <"$T/out.other")" = "1 2 3 " ] && grep -qx oops "$T/err.other" ||
	fail "logs there: $(cat "$T/out.other"); err: $(cat "$T/err.other")"
grep -q "ran on node $node: its whole output is there, in $T/u/o-$j-$U.txt and $T/u/e-$j.txt (here: the last 64 KiB of each)" "$T/err.other" ||
	fail "not said where: $(cat "$T/err.other")"
ok "forq logs shows those files on node $node, and on the other node the kept tail and where the files are"

# --append: two jobs, one file, both outputs in order.
a1=$(as_u -s "$SOCK" submit --stdout both.txt --append -- echo first)
as_u -s "$SOCK" wait "$a1" >/dev/null || fail "job $a1: $(fq status "$a1")"
a2=$(as_u -s "$B/sock" submit --stdout both.txt --append -- echo second)
as_u -s "$B/sock" wait "$a2" >/dev/null || fail "job $a2: $(fq status "$a2")"
[ "$(tr '\n' ' ' <"$T/u/both.txt")" = "first second " ] || fail "both.txt: $(cat "$T/u/both.txt")"
ok "--append through both nodes: one file, both outputs"

# A wait reads of its jobs only their owners and results: another
# user's job is refused by its number, ended or not, on either node.
r=$(fq submit -- sleep 30)
for s in "$SOCK" "$B/sock"; do
	rc=0
	out=$(as_u -s "$s" wait "$a1" "$r" 2>&1) || rc=$?
	[ $rc -eq 77 ] && [[ $out == *"job $r belongs to another user"* ]] ||
		fail "a wait for root's job through $s: $rc $out"
done
fq cancel "$r" >/dev/null
ok "forq wait refuses another user's job on both nodes (exit 77)"

# The tail a node keeps is read as the job's user: a job that leaves a
# link to a file only root may read in place of its output does not
# get that file into the database, where forq logs would show it.
mkdir -m 700 "$T/rootonly"
echo "root's secret" >"$T/rootonly/secret"
l=$(as_u -s "$SOCK" submit --stdout mine.txt -- sh -c "echo mine; rm mine.txt; ln -s '$T/rootonly/secret' mine.txt")
as_u -s "$SOCK" wait "$l" >/dev/null || fail "job $l: $(fq status "$l")"
[ -L "$T/u/mine.txt" ] || fail "the job did not leave its link: $(ls -l "$T/u")"
kept=$(pg_sql "SELECT convert_from(out_tail, 'UTF8') FROM forq_history WHERE id = $l")
! grep -q secret <<<"$kept" || fail "root's file went into the database: $kept"
for s in "$SOCK" "$B/sock"; do
	! as_u -s "$s" logs "$l" 2>&1 | grep -q secret || fail "forq logs on $s showed root's file"
done
ok "a link left in place of a job's --stdout file: its tail is read as the user, and root's file is in neither the database nor forq logs"

# [resources]: what each node has, as forq nodes shows it; a job may ask
# for as many as the node with the most has, of a kind some node has,
# whatever the node it is submitted through has.
nodes=$(fq nodes --json)
[ "$(jq -r '[.nodes[] | .node + ":" + .res] | join(" ")' <<<"$nodes")" = "a:gpu=2 b:gpu=2,lic=2" ] ||
	fail "nodes: $nodes"
rc=0
out=$(fq submit --gpus 3 -- true 2>&1) || rc=$?
[ $rc -ne 0 ] && [[ $out == *"res gpu=3: there are 2 (on the node of the cluster with the most)"* ]] ||
	fail "--gpus 3: rc $rc: $out"
rc=0
out=$(fq submit --res tpu=1 -- true 2>&1) || rc=$?
[ $rc -ne 0 ] && [[ $out == *'no resource named "tpu" in [resources] of any node of the cluster'* ]] ||
	fail "--res tpu=1: rc $rc: $out"
ok "forq nodes shows each node's resources; --gpus 3 (2 at most on a node) and --res tpu=1 (on no node) are refused at submit"

# Each job takes its GPUs' lock directories (the indexes of a and b
# differ): a mkdir that fails is an index given to two running jobs.
mkdir "$T/gpu"
gpu_job="for i in \$(echo \$CUDA_VISIBLE_DEVICES | tr , ' '); do mkdir '$T/gpu/'\$i || echo \"twice \$i\" >>'$T/bad'; done; echo \$CUDA_VISIBLE_DEVICES >'$T/gpu.'\$FORQ_JOB_ID; sleep 0.4; for i in \$(echo \$CUDA_VISIBLE_DEVICES | tr , ' '); do rmdir '$T/gpu/'\$i; done"
ids=
for n in 1 2 1 1 2 1 1 2 1 1 1 1; do
	ids="$ids $(fq submit --gpus "$n" -- sh -c "$gpu_job")"
done
lics=
for i in 1 2 3; do
	lics="$lics $(fq submit --res lic=1 -- sh -c '[ "$FORQ_RES_LIC" = 1 ] || exit 9; sleep 0.2')"
done
plain=$(fq submit -- true)
fq wait "$plain" >/dev/null || fail "a job needing no resource: $(fq status "$plain")"
fq wait $ids $lics >/dev/null || fail "the resource jobs: $(fq list --limit 20)"
[ ! -e "$T/bad" ] || fail "an index went to two jobs: $(sort "$T/bad" | uniq -c | tr '\n' ' ')"
on_a=0 on_b=0
for id in $ids; do
	node=$(st "$SOCK" "$id" .job.node)
	cvd=$(cat "$T/gpu.$id")
	case $node:$cvd in
	a:0 | a:1 | a:0,1) on_a=$((on_a + 1)) ;;
	b:2 | b:3 | b:2,3) on_b=$((on_b + 1)) ;;
	*) fail "job $id ran on $node with CUDA_VISIBLE_DEVICES=$cvd" ;;
	esac
done
[ $on_a -gt 0 ] && [ $on_b -gt 0 ] || fail "GPU jobs ran on a: $on_a, on b: $on_b"
for id in $lics; do
	[ "$(st "$SOCK" "$id" .job.node)" = b ] || fail "license job $id ran on $(st "$SOCK" "$id" .job.node)"
done
ok "12 jobs of 1 or 2 GPUs through a ran on both nodes ($on_a on a, $on_b on b), each with indexes of its node, none given twice; the license jobs ran on b, the only node with licenses; a plain job went on meanwhile"

# A large ask is not passed by smaller ones behind it: with one of b's
# two licenses held, a job asking both waits, and so does a job asking
# one submitted after it, until the first is let go.
mkfifo "$T/lic.up" "$T/lic.go"
l1=$(fq submit --res lic=1 -- sh -c "echo up >'$T/lic.up'; cat '$T/lic.go' >/dev/null")
timeout 20 cat "$T/lic.up" >/dev/null || fail "job $l1 did not start: $(fq status "$l1")"
l2=$(fq submit --res lic=2 -- sh -c "echo two >>'$T/lic.order'")
l3=$(fq submit --res lic=1 -- sh -c "echo one >>'$T/lic.order'")
p2=$(fq submit -- true)
fq wait "$p2" >/dev/null || fail "a plain job waited: $(fq status "$p2")"
[ "$(st "$SOCK" "$l3" .job.state)" = queued ] || fail "job $l3 passed $l2: $(fq status "$l3")"
echo go >"$T/lic.go"
fq wait "$l1" "$l2" "$l3" >/dev/null || fail "jobs: $(fq list --limit 3)"
[ "$(tr '\n' ' ' <"$T/lic.order")" = "two one " ] || fail "order: $(cat "$T/lic.order")"
ok "with one license held, a job asking two was not passed by a later job asking one; a plain job went on"

# --cpus and --mem are checked against what the nodes say one job may
# have there (with their leases' renewals), not against the node a job
# comes through: b's mem_max is 64M, a's 128M.
timeout 10 bash -c "until [ \"\$(\"$PG_BIN/psql\" -X -h '$PG_DIR' -U postgres -d forq -At -c 'SELECT count(*) FROM forq_nodes WHERE job_mem IS NOT NULL AND job_cpus IS NOT NULL')\" = 2 ]; do sleep 0.1; done" ||
	fail "the nodes did not say what a job may have: $(pg_sql 'SELECT name, job_cpus, job_mem FROM forq_nodes')"
[ "$(pg_sql "SELECT job_mem FROM forq_nodes WHERE name = 'b'")" = $((64 << 20)) ] || fail "b's job_mem: $(pg_sql 'SELECT name, job_mem FROM forq_nodes')"
m=$("$FORQ" -s "$B/sock" submit --mem 100M -- true) || fail "--mem 100M through b was refused"
"$FORQ" -s "$B/sock" wait "$m" >/dev/null || fail "job $m: $(fq status "$m")"
[ "$(st "$SOCK" "$m" .job.node)" = a ] || fail "job $m ran on $(st "$SOCK" "$m" .job.node)"
rc=0
out=$("$FORQ" -s "$B/sock" submit --mem 256M -- true 2>&1) || rc=$?
[ $rc -ne 0 ] && [[ $out == *"--mem 256M is over the mem_max of every node of the cluster (the most: 128M)"* ]] ||
	fail "--mem 256M: rc $rc: $out"
rc=0
out=$(fq submit --cpus 999 -- true 2>&1) || rc=$?
[ $rc -ne 0 ] && [[ $out == *"--cpus 999"*"of the cluster"* ]] || fail "--cpus 999: rc $rc: $out"
ok "--mem 100M through b (mem_max 64M) ran on a (128M); --mem 256M and --cpus 999 are refused at submit, naming the most a node takes"

# Job arrays across the nodes: one id; each task with FORQ_ARRAY_ID and
# FORQ_ARRAY_INDEX wherever it runs; %1 holds across the nodes, which
# have a slot each (each task counts the tasks running as it starts: a
# directory each, gone before it ends); the array's id and a task's
# name (ID_INDEX) on either node.
mkdir "$T/run"
task="mkdir '$T/run/'\$FORQ_ARRAY_INDEX; ls '$T/run' | wc -l >>'$T/seen'; echo \$FORQ_ARRAY_ID \$FORQ_ARRAY_INDEX >>'$T/idx'; echo task \$FORQ_ARRAY_INDEX; sleep 0.3; rmdir '$T/run/'\$FORQ_ARRAY_INDEX"
a=$(fq submit --array 1-9%1 -- sh -c "$task")
[[ $a =~ ^[0-9]+$ ]] || fail "submit --array printed: $a"
"$FORQ" -s "$B/sock" wait "$a" >/dev/null || fail "the array: $(fq list --array "$a")"
[ "$(sort -n "$T/seen" | tail -n 1)" = 1 ] && [ "$(wc -l <"$T/seen")" = 9 ] ||
	fail "tasks at once: $(sort -n "$T/seen" | uniq -c | tr '\n' ' ')"
[ "$(sort -n -k2 "$T/idx" | tr '\n' ' ')" = "$a 1 $a 2 $a 3 $a 4 $a 5 $a 6 $a 7 $a 8 $a 9 " ] ||
	fail "what the tasks saw: $(cat "$T/idx")"
nodes=$(fq list --array "$a" --json | jq -r '[.jobs[].node] | group_by(.) | map(.[0] + ":" + (length | tostring)) | join(" ")')
ok "--array 1-9%1 through a: one id ($a), the tasks (on $nodes) with FORQ_ARRAY_ID and FORQ_ARRAY_INDEX, one at a time across the nodes"

[ "$("$FORQ" -s "$B/sock" list --array "$a" --json | jq -c '[.jobs[].array_index] | sort')" = "[1,2,3,4,5,6,7,8,9]" ] ||
	fail "list --array on b: $("$FORQ" -s "$B/sock" list --array "$a")"
[ "$(st "$B/sock" "${a}_3" .job.task)/$(st "$B/sock" "${a}_3" .job.array_index)" = "${a}_3/3" ] ||
	fail "status ${a}_3 on b: $("$FORQ" -s "$B/sock" status --json "${a}_3")"
[ "$("$FORQ" -s "$B/sock" status --json "$a" | jq -c .job.array)" = '{"succeeded":9,"tasks":9}' ] ||
	fail "status of the array on b: $("$FORQ" -s "$B/sock" status --json "$a")"
[ "$("$FORQ" -s "$B/sock" logs "${a}_4" 2>/dev/null)" = "task 4" ] || fail "logs ${a}_4 on b: $("$FORQ" -s "$B/sock" logs "${a}_4" 2>&1)"
rc=0
out=$("$FORQ" -s "$B/sock" status "${a}_99" 2>&1) || rc=$?
[ $rc -eq 66 ] && [[ $out == *"no task 99 of array $a"* ]] || fail "status of no such task: $rc $out"
"$FORQ" -s "$B/sock" wait "${a}_7" "$a" "$plain" "${a}_2" >/dev/null || fail "wait of tasks, the array and a job at once"
rc=0
out=$("$FORQ" -s "$B/sock" wait "${a}_2" "${a}_10" 2>&1) || rc=$?
[ $rc -eq 66 ] && [[ $out == *"no task 10 of array $a"* ]] || fail "wait of no such task: $rc $out"
ok "on b, list --array lists the tasks, status of ${a}_3 names it, status of the array counts its tasks, logs ${a}_4 shows its output; no such task is refused"

# The array's id stands for all its tasks: hold, release of one task,
# cancel, retry.
d=$(fq submit --array 1-4 --hold -- true)
out=$("$FORQ" -s "$B/sock" release "${d}_2") || fail "release of ${d}_2: $out"
[ "$out" = "${d}_2 queued" ] || fail "release of ${d}_2 said: $out"
fq wait "${d}_2" >/dev/null || fail "task ${d}_2: $(fq status "${d}_2")"
"$FORQ" -s "$B/sock" cancel "$d" >"$T/cancel.out" 2>&1 || true
[ "$(sort "$T/cancel.out" | tr '\n' ' ')" = "${d}_1 queued ${d}_2 ended ${d}_3 queued ${d}_4 queued " ] ||
	fail "cancel of the array said: $(cat "$T/cancel.out")"
[ "$(fq list --array "$d" --json | jq -c '[.jobs[].state] | sort')" = '["cancelled","cancelled","cancelled","succeeded"]' ] ||
	fail "the array after cancel: $(fq list --array "$d")"
out=$("$FORQ" -s "$B/sock" retry "$d") || fail "retry of the array: $out"
[ "$out" = "$d: 4 tasks run again" ] || fail "retry said: $out"
fq wait "$d" >/dev/null || fail "the retried array: $(fq list --array "$d")"
[ "$(fq list --array "$d" --json | jq -c '[.jobs[] | [.state, .attempt]] | unique')" = '[["succeeded",2]]' ] ||
	fail "after retry: $(fq list --array "$d" --json | jq -c '[.jobs[] | [.state, .attempt]]')"
ok "held as an array, one task released on b ran alone; cancel of the array on b cancelled the other three, each named as a task; retry on b ran all four again"

# A task named by its own id is itself, named as a task in the reply as
# on one host: cancel names it; retry runs it alone, not its array.
t3=$(st "$B/sock" "${d}_3" .job.id)
[ "$t3" != "$d" ] || fail "task 3 has the array's id"
out=$("$FORQ" -s "$B/sock" cancel "$t3" 2>&1) || true
[ "$out" = "${d}_3 ended" ] || fail "cancel $t3 (${d}_3) said: $out"
out=$("$FORQ" -s "$B/sock" retry "$t3") || fail "retry of $t3: $out"
[ "$out" = "$t3 attempt 3" ] || fail "retry $t3 (${d}_3) said: $out"
fq wait "$t3" >/dev/null || fail "task $t3: $(fq status "$t3")"
[ "$(fq list --array "$d" --json | jq -c '[.jobs[] | .attempt] | sort')" = '[2,2,2,3]' ] ||
	fail "after retry of $t3: $(fq list --array "$d" --json | jq -c '[.jobs[] | [.array_index, .attempt]]')"
ok "a task named by its own id ($t3): cancel names it ${d}_3, retry runs it alone"

# Two nodes that claim a limited array's tasks at the same moment take
# no more between them than the limit. To make the moment the same, the
# test holds the row both claims write last (the user's turn in
# forq_served), so that neither commits before the other has claimed or
# waits for a lock of the claims' (here the lock of queue one, whose
# parallel limit makes every claim take it), and lets both go once both
# wait.
fq wait "$(fq submit -- true)" >/dev/null || fail "a job to make the user's turn"
mkfifo "$T/psql.in"
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -U postgres -d forq <"$T/psql.in" >"$T/psql.out" 2>&1 &
psql_pid=$!
exec 7>"$T/psql.in"
echo "BEGIN; SELECT uid FROM forq_served WHERE uid = 0 FOR UPDATE; \\echo HELD" >&7
LOG_SAVE=$LOG LOG=$T/psql.out
wait_log '^HELD$' 10
LOG=$LOG_SAVE
rm -rf "$T/run" "$T/seen"
mkdir "$T/run"
task="mkdir '$T/run/'\$FORQ_ARRAY_INDEX; ls '$T/run' | wc -l >>'$T/seen'; sleep 0.5; rmdir '$T/run/'\$FORQ_ARRAY_INDEX"
e=$(fq submit --array 1-4%1 -- sh -c "$task")
waiting() {
	pg_sql "SELECT count(*) FROM pg_stat_activity WHERE datname = 'forq' AND usename = 'forq' AND wait_event_type = 'Lock'"
}
for i in $(seq 200); do
	[ "$(waiting)" -ge 2 ] && break
	[ "$i" -lt 200 ] || fail "the two claims never both waited: $(pg_sql "SELECT wait_event_type, wait_event, left(query, 60) FROM pg_stat_activity WHERE usename = 'forq'")"
	"$FORQ_PIDWAIT" "$psql_pid" 50 && fail "psql ended: $(cat "$T/psql.out")"
done
echo "ROLLBACK;" >&7
exec 7>&-
wait "$psql_pid" || fail "psql: $(cat "$T/psql.out")"
fq wait "$e" >/dev/null || fail "the array: $(fq list --array "$e")"
[ "$(sort -n "$T/seen" | tail -n 1)" = 1 ] && [ "$(wc -l <"$T/seen")" = 4 ] ||
	fail "tasks of --array 1-4%1 at once: $(sort -n "$T/seen" | uniq -c | tr '\n' ' ')"
ok "--array 1-4%1: the two nodes' claims, held to the same moment, took one task between them"
