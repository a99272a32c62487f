# Job arrays: forq submit --array makes one job a task, each with
# FORQ_ARRAY_ID and FORQ_ARRAY_INDEX, in Slurm's forms (1-5, 1,3,5-9,
# 0-10:5); submit prints the array's id (its first task's); a task is
# named ARRAY_INDEX (41_7) by status, logs, wait, cancel, hold, release,
# set and retry; the array's id stands for all its tasks in wait,
# cancel, hold, release and retry, and list --array lists them. Bad
# forms and too many tasks are refused, saying why.
. "$(dirname "$0")/lib.sh"

field() { # REF FIELD
	fq status --json "$1" | jq -cr ".job.$2"
}

write_conf "slots = 4" "[limits]" "batch_max = 50"
start_forqd

a=$(fq submit --array 1-5 -- sh -c "echo \$FORQ_ARRAY_ID \$FORQ_ARRAY_INDEX \$FORQ_JOB_ID >>'$T/idx'; echo task \$FORQ_ARRAY_INDEX")
[[ $a =~ ^[0-9]+$ ]] || fail "submit --array printed: $a"
fq wait "$a" || fail "the array: $(fq list --array "$a")"
[ "$(sort -n -k2 "$T/idx" | awk '{print $1 "_" $2 "=" $3}' | tr '\n' ' ')" = \
	"${a}_1=$a ${a}_2=$((a + 1)) ${a}_3=$((a + 2)) ${a}_4=$((a + 3)) ${a}_5=$((a + 4)) " ] ||
	fail "what the tasks saw: $(cat "$T/idx")"
ok "--array 1-5: one id printed ($a), five tasks with FORQ_ARRAY_ID and FORQ_ARRAY_INDEX, ids in a row"

[ "$(fq list --array "$a" | awk 'NR > 1 {print $1}' | sort | tr '\n' ' ')" = "${a}_1 ${a}_2 ${a}_3 ${a}_4 ${a}_5 " ] ||
	fail "list --array: $(fq list --array "$a")"
[ "$(field "${a}_3" task)/$(field "${a}_3" id)/$(field "${a}_3" array_index)" = "${a}_3/$((a + 2))/3" ] ||
	fail "status ${a}_3: $(fq status --json "${a}_3")"
[ "$(field "$a" array)" = '{"succeeded":5,"tasks":5}' ] || fail "status of the array: $(field "$a" array)"
[ "$(fq logs "${a}_4")" = "task 4" ] || fail "logs ${a}_4: $(fq logs "${a}_4")"
fq wait "${a}_2" || fail "wait of a task"
rc=0; out=$(fq status "${a}_9" 2>&1) || rc=$?
[ $rc -eq 66 ] && [[ $out == *"no task 9 of array $a"* ]] || fail "status of no such task: $rc $out"
ok "a task is ${a}_3 to status, logs and wait; the array's status counts its tasks by state; list --array lists them"

b=$(fq submit --array 1,3,5-9 -- true)
c=$(fq submit --array 0-10:5 -- true)
fq wait "$b" "$c"
[ "$(fq list --array "$b" --json | jq -c '[.jobs[].array_index] | sort')" = "[1,3,5,6,7,8,9]" ] ||
	fail "1,3,5-9: $(fq list --array "$b" --json | jq -c '[.jobs[].array_index]')"
[ "$(fq list --array "$c" --json | jq -c '[.jobs[].array_index] | sort')" = "[0,5,10]" ] ||
	fail "0-10:5: $(fq list --array "$c" --json | jq -c '[.jobs[].array_index]')"
ok "--array 1,3,5-9 and 0-10:5 make the tasks they name"

# The array's id stands for all its tasks.
fq pause
d=$(fq submit --array 1-4 -- true)
[ "$(fq hold "$d" | awk '{print $2}' | sort -u)" = held ] || fail "hold of the array"
[ "$(fq release "${d}_2")" = "${d}_2 queued" ] || fail "release of one task: $(fq release "${d}_2" 2>&1)"
[ "$(fq cancel "$d" | awk '{print $2}' | sort | uniq -c | awk '{print $1 $2}' | tr '\n' ' ')" = "4cancelled " ] ||
	fail "cancel of the array: $(fq list --array "$d")"
fq resume
out=$(fq retry "$d") || fail "retry of the array: $out"
[ "$out" = "$d: 4 tasks run again" ] || fail "retry said: $out"
fq wait "$d" || fail "the retried array: $(fq list --array "$d")"
[ "$(fq list --array "$d" --json | jq -c '[.jobs[] | [.state, .attempt]] | unique')" = '[["succeeded",2]]' ] ||
	fail "after retry: $(fq list --array "$d" --json | jq -c '[.jobs[] | [.state, .attempt]]')"
ok "hold, release (of ${d}_2), cancel and retry of the array's id act on all its tasks"

# %N: at most N tasks at once, under concurrency (8 slots here); the
# queue's other jobs go on meanwhile. Each task counts the tasks running
# as it starts (a directory each, gone before it ends): never above 3,
# and 3 at some time.
mkdir "$T/run"
task="mkdir '$T/run/'\$FORQ_ARRAY_INDEX; ls '$T/run' | wc -l >>'$T/seen'; sleep 0.3; rmdir '$T/run/'\$FORQ_ARRAY_INDEX"
e=$(fq submit --array 1-12%3 -- sh -c "$task")
[ "$(field "${e}_1" array_max)" = 3 ] || fail "array_max: $(field "${e}_1" array_max)"
p=$(fq submit -- true)
fq wait "$p" || fail "a plain job waited for the array"
[ "$(fq list --array "$e" --state succeeded --json | jq '.jobs | length')" -lt 12 ] ||
	fail "the plain job waited for all the array's tasks"
fq wait "$e" || fail "the throttled array: $(fq list --array "$e")"
[ "$(sort -n "$T/seen" | tail -n 1)" = 3 ] && [ "$(wc -l <"$T/seen")" = 12 ] ||
	fail "tasks at once: $(sort -n "$T/seen" | uniq -c | tr '\n' ' ')"
ok "--array 1-12%3: at most 3 tasks at once, and 3 at a time (of 8 slots); a plain job ran meanwhile"

# The limit holds across a restart, and a reload keeps it.
: >"$T/seen"
fq pause
g=$(fq submit --array 1-6%2 -- sh -c "$task")
stop_forqd
start_forqd
mark_log
kill -HUP "$FORQD_PID"
wait_log 'configuration reloaded' 10
fq resume
fq wait "$g" || fail "the array after a restart: $(fq list --array "$g")"
[ "$(sort -n "$T/seen" | tail -n 1)" = 2 ] && [ "$(wc -l <"$T/seen")" = 6 ] ||
	fail "tasks at once after a restart: $(sort -n "$T/seen" | uniq -c | tr '\n' ' ')"
ok "--array 1-6%2 queued across a restart and a reload: at most 2 at once"

# Refusals.
rc=0; out=$(fq submit --array 5-1 -- true 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *"an array is indexes"* ]] || fail "--array 5-1: $rc $out"
rc=0; out=$(fq submit --array 1-100 -- true 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *"batch_max (50)"* ]] || fail "--array over batch_max: $rc $out"
rc=0; out=$(fq submit --array 1-3 --unique k -- true 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *"exclude each other"* ]] || fail "--array with --unique: $rc $out"
printf 'true\n' >"$T/batch"
rc=0; out=$(fq submit --array 1-3 --batch "$T/batch" 2>&1) || rc=$?
[ $rc -eq 64 ] || fail "--array with --batch: $rc $out"
rc=0; out=$(fq cancel 999999_1 2>&1) || rc=$?
[ $rc -eq 66 ] || fail "cancel of no such task: $rc $out"
rc=0; out=$(fq cancel 12x 2>&1) || rc=$?
[ $rc -eq 64 ] || fail "cancel 12x: $rc $out"
[ "$(fq list --json --limit 1000 | jq '.jobs | length')" = $((5 + 7 + 3 + 4 + 12 + 1 + 6)) ] || fail "a refused array left jobs behind"
ok "bad forms, more tasks than batch_max, --unique, --batch and unknown tasks are refused, saying why"

# Across a restart, tasks keep their array.
stop_forqd
start_forqd
[ "$(field "${a}_5" task)" = "${a}_5" ] || fail "after a restart: $(fq status --json "${a}_5")"
ok "tasks keep their array across a restart"
