# GPUs and other countable resources: [resources] declares them, --gpus
# N and --res NAME=N ask for them; a job starts only once they are free,
# gets its indexes in CUDA_VISIBLE_DEVICES and FORQ_RES_<NAME>, and no
# index is ever given to two running jobs, under concurrency and across
# a crash of forqd whose jobs run on. A job that asks for more than
# there is, or for what is not declared, is refused at submit; a job
# needing none is never held behind those waiting.
. "$(dirname "$0")/lib.sh"

field() { # ID FIELD
	fq status --json "$1" | jq -cr ".job.$2"
}
crash() {
	kill -9 "$FORQD_PID"
	wait "$FORQD_PID" 2>/dev/null || true
	FORQD_PID=
}

write_conf "slots = 4" "[resources]" "gpu = 0-2" "lic = 1" \
	"[queue gq]" "res = gpu=1"
start_forqd

# Each job takes its GPUs' lock directories: a mkdir that fails is an
# index given to two running jobs at once.
mkdir "$T/gpu" "$T/lic"
gpu_job="for i in \$(echo \$CUDA_VISIBLE_DEVICES | tr , ' '); do mkdir '$T/gpu/'\$i || echo \"twice \$i\" >>'$T/bad'; done; [ \"\$FORQ_RES_GPU\" = \"\$CUDA_VISIBLE_DEVICES\" ] || echo env >>'$T/bad'; ls '$T/gpu' | wc -l >>'$T/seen'; sleep 0.2; for i in \$(echo \$CUDA_VISIBLE_DEVICES | tr , ' '); do rmdir '$T/gpu/'\$i; done"
ids=
for n in 1 2 1 1 2 1 3 1 1 2 1 1; do
	ids="$ids $(fq submit --gpus "$n" -- sh -c "$gpu_job")"
done
lic_job="mkdir '$T/lic/x' || echo lic >>'$T/bad'; [ \"\$FORQ_RES_LIC\" = 1 ] || echo licenv >>'$T/bad'; sleep 0.1; rmdir '$T/lic/x'"
for i in 1 2 3; do
	ids="$ids $(fq submit --res lic=1 -- sh -c "$lic_job")"
done
plain=$(fq submit -- true)
fq wait "$plain" || fail "a job needing no resource: $(fq status "$plain")"
fq wait $ids || fail "the resource jobs: $(fq list --limit 30)"
[ ! -e "$T/bad" ] || fail "an index went to two jobs, or the environment was wrong: $(sort "$T/bad" | uniq -c | tr '\n' ' ')"
[ "$(sort -n "$T/seen" | tail -n 1)" -ge 2 ] || fail "GPU jobs never ran together: $(sort -n "$T/seen" | uniq -c | tr '\n' ' ')"
ok "15 jobs asking for 1-3 of 3 GPUs or 1 of 1 license, 8 slots: no index to two running jobs, CUDA_VISIBLE_DEVICES = FORQ_RES_GPU, FORQ_RES_LIC=1; a plain job went on"

q=$(fq submit -q gq -- sh -c 'echo $CUDA_VISIBLE_DEVICES')
fq wait "$q"
[[ "$(fq logs "$q")" =~ ^[0-2]$ ]] && [ "$(field "$q" res)" = gpu=1 ] || fail "queue gq's res: $(fq logs "$q") $(field "$q" res)"
ok "a queue's res = gpu=1 applies to its jobs"

rc=0; out=$(fq submit --gpus 4 -- true 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *"res gpu=4: there are 3"* ]] || fail "--gpus 4: $rc $out"
rc=0; out=$(fq submit --res tpu=1 -- true 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *'no resource named "tpu" in [resources]'* ]] || fail "--res tpu=1: $rc $out"
rc=0; out=$(fq submit --res gpu -- true 2>&1) || rc=$?
[ $rc -eq 65 ] || fail "--res gpu: $rc $out"
ok "more GPUs than there are, an unknown resource and a bad ask are refused at submit"

# Across a crash of forqd: a job keeps its GPUs while it runs on; the
# next forqd gives none of them to another job until it ends.
mkfifo "$T/up"
hold=$(fq submit --gpus 2 -- sh -c "echo \$CUDA_VISIBLE_DEVICES >'$T/held'; echo up >'$T/up'; while [ ! -e '$T/go' ]; do sleep 0.05; done")
timeout 20 cat "$T/up" >/dev/null || fail "the GPU job did not start"
crash
start_forqd
[ "$(field "$hold" state)" = running ] || fail "the GPU job after the crash: $(field "$hold" state)"
big=$(fq submit --gpus 2 -- sh -c 'echo $CUDA_VISIBLE_DEVICES')
one=$(fq submit --gpus 1 -- sh -c 'echo $CUDA_VISIBLE_DEVICES')
fq wait "$(fq submit -- true)"
[ "$(field "$big" state)" = queued ] || fail "2 GPUs were given while the job taken on held 2 of 3: $(field "$big" state)"
[ "$(field "$hold" res_given)" = "gpu=$(cat "$T/held")" ] || fail "res_given of the job taken on: $(field "$hold" res_given)"
[ "$(fq queues --json | jq '.queues[] | select(.name == "default") | .queued')" = 2 ] ||
	fail "forq queues does not count the jobs waiting for GPUs: $(fq queues --json | jq -c .queues)"
touch "$T/go"
fq wait "$hold" "$big" "$one" || fail "after the GPU job ended: $(fq list)"
held=$(cat "$T/held")
awk -v a="$(field "$hold" ended_at)" -v b="$(field "$big" started_at)" 'BEGIN { exit !(a <= b) }' ||
	fail "the 2-GPU job started before the job taken on ended"
ok "a job holding GPUs $held runs on through a crash of forqd (status says so); the next forqd gives them to no other job until it ends; forq queues counts those waiting"

# A job opens only its own GPUs where its cgroup holds devices (v1's
# devices controller, v2's device program; forqd says so at start): the
# device nodes of the others (NVIDIA's, character 195:N; made here, no
# driver behind them) are refused it by its cgroup, "Operation not
# permitted", and its own open as far as the driver, "No such device or
# address"; a job with no GPU opens none. Where forqd says every job may
# open every GPU, every job gets to the driver.
for i in 0 1 2; do mknod "$T/nvidia$i" c 195 "$i"; done
probe="for i in 0 1 2; do cat '$T/nvidia'\$i 2>&1 | sed 's/.*: //'; done; echo \$CUDA_VISIBLE_DEVICES"
g=$(fq submit --gpus 1 -- sh -c "$probe")
n=$(fq submit -- sh -c "$probe")
fq wait "$g" "$n" || fail "the probes: $(fq status "$g"; fq status "$n")"
mine=$(fq logs "$g" | tail -n 1)
[[ $mine =~ ^[0-2]$ ]] || fail "the GPU probe's index: $(fq logs "$g")"
if grep -q 'a job opens only its own GPUs (' "$LOG"; then
	want_g= want_n=
	for i in 0 1 2; do
		if [ "$i" = "$mine" ]; then want_g+="No such device or address "; else want_g+="Operation not permitted "; fi
		want_n+="Operation not permitted "
	done
	how="only its own, none without a GPU"
else
	want_g="No such device or address No such device or address No such device or address "
	want_n=$want_g
	how="every job reaches every device (as forqd said)"
fi
[ "$(fq logs "$g" | head -n 3 | tr '\n' ' ')" = "$want_g" ] || fail "the GPU $mine job opened: $(fq logs "$g" | tr '\n' ' ')"
[ "$(fq logs "$n" | head -n 3 | tr '\n' ' ')" = "$want_n" ] || fail "the job without a GPU opened: $(fq logs "$n" | tr '\n' ' ')"
ok "GPU devices ($how): the job given GPU $mine and a job with none"
