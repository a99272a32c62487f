# The state directory on a small tmpfs that fills up: submissions get a
# clear no_space error, nothing acknowledged is lost, the running job
# ends recorded, queued jobs wait, and forqd takes work again by itself
# once there is room.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "this test mounts a tmpfs and must run as root"
mkdir "$T/state"
mount -t tmpfs -o size=24m,mode=0700 forq-test "$T/state" || fail "cannot mount a tmpfs"
unmount_state() { umount "$T/state"; }
CLEANUP_HOOK=unmount_state

write_conf "[daemon]" "state_reserve = 4M"
start_forqd
[ "$(stat -c %s "$T/state/reserve")" = $((4 << 20)) ] || fail "no 4M reserve file"

# A running job that ends only when told, and one job queued behind
# each worker's slot.
running=$(fq submit -- sh -c "echo started; while [ ! -e '$T/go' ]; do sleep 0.05; done; echo done")
fq submit -- true >"$T/acked"

# Fill the disk, then submit until forqd says it is full. (Marked
# before the filling: the true job's end may be the first commit that
# finds the disk full.)
mark_log
dd if=/dev/zero of="$T/state/filler" bs=64k 2>/dev/null || true
refused=
for i in $(seq 200); do
	rc=0
	out=$(fq submit -- sh -c "echo $i >>'$T/ran'" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		echo "$out" >>"$T/acked"
		continue
	fi
	[ $rc -eq 75 ] || fail "submit on a full disk: exit $rc, want 75 (try later): $out"
	refused=$out
	refused_i=$i
	break
done
[ -n "$refused" ] || fail "200 submits on a full disk were all accepted"
[[ $refused == *"full"* ]] || fail "the refusal does not say the disk is full: $refused"
wait_log 'is full: freed its 4M reserve' 10
rc=0; out=$(fq submit -- true 2>&1) || rc=$?
[ $rc -eq 75 ] && [[ $out == *"no job was queued"* ]] || fail "second submit: $rc $out"
ok "a full state directory: submits refused with exit 75: $refused"

# The running job goes on and its end is recorded.
touch "$T/go"
fq wait "$running" >/dev/null || fail "the running job did not succeed: $(fq status "$running")"
ok "the job running when the disk filled ended recorded: $(fq status --json "$running" | jq -r .job.state)"

# Room again: forqd takes its reserve back and work again, by itself.
mark_log
rm "$T/state/filler"
wait_log 'has room again' 10
[ -f "$T/state/reserve" ] || fail "the reserve was not made again"
fq submit -w -- true >/dev/null || fail "no submit after room came back"
fq wait $(cat "$T/acked") >/dev/null || fail "an acknowledged job did not succeed"
n=$(wc -l <"$T/acked")
bad=$(fq list --limit 100000 --json | jq --slurpfile ids <(cat "$T/acked") \
	'[.jobs[] | select(.id as $i | $ids | index($i)) | select(.state != "succeeded")] | length')
[ "$bad" = 0 ] || fail "$bad acknowledged jobs did not succeed"
! grep -qx "$refused_i" "$T/ran" || fail "the refused job $refused_i ran"
ok "room again: forqd took work by itself; every job acknowledged around the full disk ($n) succeeded"
