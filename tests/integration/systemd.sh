# forq under a real systemd: a minimal Debian 12 booted in
# systemd-nspawn, the .deb installed in it, and the service driven with
# systemctl, the system's and a user's. The root filesystem comes from
# debootstrap (the mirror read from this machine's apt sources) and is
# cached as a tarball outside the repository, so later runs take
# seconds. If nspawn cannot run here, this test fails and says why.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "this test boots a container and must run as root"
for tool in systemd-nspawn debootstrap unshare nsenter python3 dpkg-deb; do
	command -v $tool >/dev/null || fail "$tool is not installed (systemd-container, debootstrap)"
done

CACHE=${FORQ_TEST_CACHE:-/var/cache/forq-test}
SUITE=bookworm
INCLUDE=systemd,libpam-systemd,dbus,procps,man-db,libbsd0,libinih1,libjansson4,libsqlite3-0,libpq5,libssl3,libmicrohttpd12,libncursesw6
TARBALL=$CACHE/rootfs-$SUITE-$(echo "$INCLUDE" | md5sum | cut -c1-8).tar

# The first Debian mirror of this machine's apt sources (deb822 or
# one-line style); never written into the repository.
apt_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && awk '/^URIs:/ { print $2 }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && awk '$1 == "deb" { for (i = 2; i <= NF; i++)
			if ($i ~ /^https?:/) { print $i; break } }' "$f"
	done
	return 0
}

if [ ! -s "$TARBALL" ]; then
	mirror=$(apt_mirror | grep -v security | head -n 1 || true)
	[ -n "$mirror" ] || fail "no Debian mirror in this machine's apt sources"
	mkdir -p "$CACHE"
	echo "building the $SUITE root filesystem from $mirror (once)"
	debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$T/build-rootfs" "$mirror" \
		>"$T/debootstrap.log" 2>&1 || fail "debootstrap failed: $(tail -5 "$T/debootstrap.log")"
	tar -C "$T/build-rootfs" -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
	rm -rf "$T/build-rootfs"
fi
ROOT=$T/rootfs
mkdir "$ROOT"
tar -C "$ROOT" -xf "$TARBALL"
deb=$("$FORQ_SOURCE_DIR/scripts/package" "$T/pkg" | tail -n 1)
cp "$deb" "$ROOT/root/forq.deb"

# Boot. nspawn needs, on a host whose PID 1 is not systemd: no machine
# registration, a private mount namespace with a tmpfs on /run/systemd,
# and cgroup directories of its own.
CG=forq-test-$$
cat >"$T/boot.sh" <<BOOT
set -e
mkdir -p /run/systemd
mount -t tmpfs tmpfs /run/systemd
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	mkdir -p /sys/fs/cgroup/$CG && echo \$\$ >/sys/fs/cgroup/$CG/cgroup.procs
else
	for c in systemd unified; do
		[ -d /sys/fs/cgroup/\$c ] || continue
		mkdir -p /sys/fs/cgroup/\$c/$CG && echo \$\$ >/sys/fs/cgroup/\$c/$CG/cgroup.procs
	done
fi
exec systemd-nspawn --register=no --keep-unit --notify-ready=yes -q \
	-D "$ROOT" -M forqtest --console=pipe -b
BOOT
: >"$T/nspawn.notes"
python3 "$FORQ_SOURCE_DIR/tests/integration/notify_listen.py" "$T/nspawn.sock" "$T/nspawn.notes" &
listener=$!
LOG_SAVE=$LOG
LOG=$T/nspawn.notes
wait_log '^LISTENING$' 10
LOG=$LOG_SAVE
booter=
container_down() {
	kill "$listener" 2>/dev/null || true
	if [ -n "$booter" ]; then
		kill "$booter" 2>/dev/null || true
		"$FORQ_PIDWAIT" "$booter" 20000 || kill -9 "$booter" 2>/dev/null || true
	fi
	local base
	for base in /sys/fs/cgroup /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
		[ -d "$base/$CG" ] && find "$base/$CG" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}
CLEANUP_HOOK=container_down
ct() { nsenter -t "$pid1" -a -- "$@"; }
# Boots the container (again: the root filesystem keeps what the last
# boot wrote) and waits until its systemd is running.
boot_container() {
	LOG=$T/nspawn.notes
	mark_log
	NOTIFY_SOCKET=$T/nspawn.sock unshare -m --propagation private bash "$T/boot.sh" >>"$T/console.log" 2>&1 &
	booter=$!
	wait_log '^READY=1' 120
	LOG=$LOG_SAVE
	nspawn=$(pgrep -P "$booter" -x systemd-nspawn || echo "$booter")
	pid1=$(pgrep -P "$nspawn" | head -n 1)
	[ -n "$pid1" ] || fail "the container did not boot: $(tail -20 "$T/console.log")"
	local state
	state=$(ct systemctl is-system-running --wait) || true
	[ "$state" = running ] || fail "the container's systemd is $state: $(ct systemctl --failed --no-legend)"
}
boot_container
ok "Debian $SUITE booted in systemd-nspawn: systemd is running"

ct dpkg -i /root/forq.deb >"$T/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$T/dpkg.log")"
ct getent group forq >/dev/null || fail "the package did not create the forq group"
[ "$(ct systemctl is-enabled forqd.service 2>&1)" = disabled ] || fail "forqd enabled by the package"
ct man -P cat forq >"$T/man" 2>/dev/null || true
grep -q "submit and follow jobs" "$T/man" || fail "man forq does not work"
ok "the .deb installs: forq group created, man forq works, forqd ready to enable"

# The journal as the event source, from a cursor taken before the
# action, so nothing logged while journalctl starts is missed:
# wait_journal REGEX SECONDS COMMAND...
wait_journal() {
	local rc=0 fd jpid cursor
	cursor=$(ct journalctl -q -n 1 --show-cursor -o cat | sed -n 's/^-- cursor: //p')
	[ -n "$cursor" ] || fail "no journal cursor"
	"${@:3}"
	exec {fd}< <(exec nsenter -t "$pid1" -a -- journalctl -f -o cat \
		--after-cursor="$cursor" -u forqd.service -u forqd.socket)
	jpid=$!
	timeout "$2" grep -m1 -qE -- "$1" <&"$fd" || rc=$?
	exec {fd}<&-
	kill "$jpid" 2>/dev/null || true
	[ $rc -eq 0 ] || fail "journal: no /$1/: $(ct journalctl -b -u forqd --no-pager | tail -15)"
}

ct systemctl enable --now forqd.socket >/dev/null 2>&1 || fail "enable forqd.socket"
[ "$(ct systemctl is-active forqd.service)" = inactive ] || fail "forqd started before any client"
ct forq ping >/dev/null || fail "forq ping through the socket"
[ "$(ct systemctl is-active forqd.service)" = active ] || fail "the first ping did not start forqd"
status=$(ct systemctl show -P StatusText forqd.service)
[[ $status == *"workers ready"* ]] || fail "StatusText: $status"
ok "socket activation: the first forq ping started forqd; StatusText \"$status\""
# forq top as installed: /usr/bin/forq runs /usr/libexec/forq/forq-top.
ct forq top --once | grep -qE '^WORKER +CPU' || fail "forq top --once as installed: $(ct forq top --once 2>&1)"
ok "forq top runs its installed helper"
scope=$(ct systemctl list-units --type=scope --state=active --no-legend --plain 'forq-*' | awk '{ print $1 }')
[[ $scope == forq-*.scope ]] || fail "no scope of forqd's: $(ct systemctl list-units --type=scope --no-legend)"
[[ " $(ct systemctl show -P Before "$scope") " == *" forqd.service "* ]] ||
	fail "$scope is not ordered before forqd.service: $(ct systemctl show -P Before "$scope")"
[ "$(ct systemctl show -P Delegate "$scope")" = yes ] || fail "$scope is not delegated"
[ "$(ct systemctl show -P ControlGroup forqd.service)" != "$(ct systemctl show -P ControlGroup "$scope")" ] || fail "scope and service share a cgroup"
ok "the workers live in $scope, delegated, ordered before forqd.service"

# A user of the forq group (the socket's group) submits; the job runs
# as that user. Root's jobs are refused by the shipped conf.
ct useradd -m -G forq forqalice || fail "useradd in the container"
cu() { ct runuser -u forqalice -- "$@"; }
out=$(cu forq submit -w -o -- sh -c 'echo hello $(id -un) $HOME' 2>/dev/null) || fail "job failed"
[ "$out" = "hello forqalice /home/forqalice" ] || fail "job output: $out"
rc=0; err=$(ct forq submit -- true 2>&1) || rc=$?
[ $rc = 77 ] && [[ $err == *"allow_root_jobs = no"* ]] || fail "root's job was not refused ($rc): $err"
ok "a member of the forq group submitted a job; it ran as that user and its output came back; root's was refused"
# Who is not in the socket's group cannot even connect.
ct useradd -m forqbob || fail "useradd in the container"
rc=0; err=$(ct runuser -u forqbob -- forq ping 2>&1) || rc=$?
[ $rc = 69 ] && [[ $err == *"Permission denied (only members of the socket's group may use it)"* ]] || fail "a user outside the forq group got in: $rc $err"
ok "a user outside the forq group cannot connect (exit 69): $err"
[ "$(ct stat -c %a /var/lib/forq)" = 700 ] || fail "/var/lib/forq is mode $(ct stat -c %a /var/lib/forq)"

main=$(ct systemctl show -P MainPID forqd.service)
ct sh -c 'printf "[workers]\ncpus = 0\n" >/etc/forq/forqd.conf'
ct systemctl reload forqd.service || fail "reload"
[ "$(ct systemctl show -P MainPID forqd.service)" = "$main" ] || fail "reload changed the MainPID"
[ "$(ct forq workers | wc -l)" = 2 ] || fail "the reloaded conf (cpus = 0) is not in effect: $(ct forq workers)"
ok "systemctl reload: MainPID $main kept, the changed conf applied"

# kill -9 of forqd: systemd starts it again (Restart=on-failure), the
# running job lives on in its worker (KillMode=process) and is taken on,
# queued jobs run.
blocker=$(cu forq submit -- sleep 300)
ids=$(cu sh -c 'for i in 1 2 3; do forq submit -- true; done')
wait_journal 'Main process exited, code=killed, status=9/KILL' 30 \
	ct systemctl kill -s KILL --kill-whom=main forqd.service
# forqd.socket holds the socket: this ping waits for the new forqd.
ct forq ping >/dev/null || fail "forqd did not come back"
new=$(ct systemctl show -P MainPID forqd.service)
[ "$new" != "$main" ] && [ "$new" != 0 ] || fail "forqd not restarted (MainPID $new)"
st=$(ct forq status --json "$blocker")
[ "$(jq -r .job.state <<<"$st")" = running ] && [ "$(jq .job.attempt <<<"$st")" = 1 ] &&
	[ "$(jq .job.adopted <<<"$st")" = true ] || fail "the running job was not taken on: $(jq -c .job <<<"$st")"
ct forq cancel "$blocker" >/dev/null
ct forq wait $ids || fail "the queued jobs did not survive: $(ct forq list)"
ok "kill -9 of forqd: systemd restarted it (MainPID $main -> $new); the running job was taken on (attempt 1), queued jobs $(echo $ids) ran"

# systemctl restart during a running job: the job runs on, is taken on
# by the new forqd, and ends once, as attempt 1.
ct mkfifo -m 666 /var/tmp/up /var/tmp/go
job=$(cu forq submit -- sh -c 'echo run >>/var/tmp/runs; echo up >/var/tmp/up; read _ </var/tmp/go')
ct timeout 20 cat /var/tmp/up >/dev/null || fail "job $job did not start"
jobpid=$(ct forq status --json "$job" | jq .job.pid)
ct grep -qE '^[0-9]+:(name=systemd)?:/system.slice/forq-[0-9a-f]+\.scope/' "/proc/$jobpid/cgroup" ||
	fail "job $job (pid $jobpid) is not in forqd's scope: $(ct cat "/proc/$jobpid/cgroup")"
main=$(ct systemctl show -P MainPID forqd.service)
ct systemctl restart forqd.service || fail "systemctl restart: $(ct journalctl -b -u forqd --no-pager | tail -15)"
new=$(ct systemctl show -P MainPID forqd.service)
[ "$new" != "$main" ] || fail "systemctl restart kept MainPID $main"
st=$(ct forq status --json "$job")
[ "$(jq -r .job.state <<<"$st")" = running ] && [ "$(jq .job.adopted <<<"$st")" = true ] ||
	fail "after systemctl restart: $(jq -c .job <<<"$st")"
ct timeout 20 sh -c 'echo go >/var/tmp/go' || fail "job $job no longer waits"
ct forq wait "$job" >/dev/null || fail "job $job: $(ct forq status "$job")"
[ "$(ct forq status --json "$job" | jq .job.attempt)" = 1 ] || fail "job $job: attempt $(ct forq status --json "$job" | jq .job.attempt)"
[ "$(ct cat /var/tmp/runs)" = run ] || fail "job $job ran: $(ct cat /var/tmp/runs | tr '\n' ' ')"
ok "systemctl restart during job $job (MainPID $main -> $new): it ran on in forqd's scope, was taken on, ended once, succeeded as attempt 1"

# A supervisor that stops answering is killed by the watchdog.
ct mkdir -p /etc/systemd/system/forqd.service.d
ct sh -c 'printf "[Service]\nWatchdogSec=2s\n" >/etc/systemd/system/forqd.service.d/watchdog.conf'
ct systemctl daemon-reload
ct systemctl restart forqd.service
main=$(ct systemctl show -P MainPID forqd.service)
wait_journal 'Watchdog timeout' 30 ct kill -STOP "$main"
ct forq ping >/dev/null || fail "forqd not back after the watchdog"
[ "$(ct systemctl show -P MainPID forqd.service)" != "$main" ] || fail "same MainPID after the watchdog"
ok "SIGSTOP of the supervisor: the watchdog killed it and systemd restarted it"

ct systemctl stop forqd.service forqd.socket
[ "$(ct systemctl show -P Result forqd.service)" = success ] || fail "stop result: $(ct systemctl show -P Result forqd.service)"
[ "$(ct systemctl show -P ExecMainStatus forqd.service)" = 0 ] || fail "stop status"
ok "systemctl stop: a clean exit"

ct systemctl enable --now forqd.service >/dev/null 2>&1 || fail "enable --now forqd"
[ "$(ct systemctl is-active forqd.service)" = active ] || fail "forqd not active after enable --now"
ct forq ping >/dev/null || fail "no answer after enable --now forqd"
ct systemctl stop forqd.service forqd.socket
ok "systemctl enable --now forqd starts it"

# The workers' lines are their scope's.
# Read whole, then searched: grep -q in the pipe would cut journalctl
# short, and pipefail take its SIGPIPE for a failure.
ct journalctl -b -u forqd.service -u 'forq-*.scope' -p warning..warning --no-pager -o cat >"$T/warnings"
grep -q "supervisor went away; keeping 1 jobs for the next forqd" "$T/warnings" ||
	fail "no warning-priority line from forqd in the journal"
ct journalctl -b -u forqd.service -p info..info --no-pager -o cat >"$T/infos"
grep -q "ready: " "$T/infos" ||
	fail "no info-priority line from forqd in the journal"
ok "the journal has forqd's lines at their priorities (warning: a worker kept its job for the next forqd, info: ready)"

# A shutdown of the machine is told apart from a restart: forqd stops
# its running job (it would not outlive the machine) and queues it
# again; after the next boot it runs, as attempt 2.
ct systemctl start forqd.socket
job=$(cu forq submit -- sh -c 'echo "$FORQ_JOB_ATTEMPT" >>/var/tmp/attempts; [ "$FORQ_JOB_ATTEMPT" = 1 ] || exit 0; echo up >/var/tmp/up; exec sleep 300')
ct timeout 20 cat /var/tmp/up >/dev/null || fail "job $job did not start"
ct systemctl poweroff || fail "systemctl poweroff"
"$FORQ_PIDWAIT" "$booter" 120000 || fail "the container did not power off: $(tail -20 "$T/console.log")"
wait "$booter" || true
booter=
boot_container
ct forq wait "$job" >/dev/null ||
	fail "job $job after the reboot: $(ct forq status "$job"); the shutdown: $(ct journalctl -b -1 --no-pager -o short -u forqd.service -u 'forq-*.scope' | tail -25)"
[ "$(ct cat /var/tmp/attempts | tr '\n' ' ')" = "1 2 " ] || fail "job $job ran as attempts: $(ct cat /var/tmp/attempts | tr '\n' ' ')"
ct journalctl -b -1 -u forqd.service --no-pager -o cat >"$T/lastboot"
grep -q "SIGTERM received as the system shuts down: stopping (running jobs are stopped and queued again; 1 running" "$T/lastboot" ||
	fail "forqd did not tell the shutdown from a restart: $(tail -8 "$T/lastboot")"
grep -q "job $job: stopped by forqd's stop; queued again (attempt 2)" "$T/lastboot" ||
	fail "job $job was not queued again at the shutdown"
ok "systemctl poweroff during job $job: forqd saw the shutdown, stopped and queued the job again; after the reboot it ran as attempt 2"

# A user's own forqd under the user's systemd (systemctl --user): the
# socket in $XDG_RUNTIME_DIR/forq, started by the first forq call, its
# workers in a scope of the user's manager, apart from forqd's own unit.
uid=$(ct id -u forqalice)
ct loginctl enable-linger forqalice
ct systemctl start "user@$uid.service" || fail "user@$uid.service: $(ct journalctl -b --no-pager -n 15)"
uu() { ct runuser -u forqalice -- env XDG_RUNTIME_DIR="/run/user/$uid" "$@"; }
uu systemctl --user enable --now forqd.socket >/dev/null 2>&1 ||
	fail "systemctl --user enable --now forqd.socket: $(uu systemctl --user status forqd.socket --no-pager 2>&1 | tail -5)"
[ "$(uu systemctl --user is-active forqd.service)" = inactive ] || fail "the user's forqd started before any client"
out=$(uu forq submit -w -o -- sh -c 'echo mine $(id -un)') || fail "a job through the user's forqd: $(uu systemctl --user status forqd.service --no-pager 2>&1 | tail -8)"
[ "$out" = "mine forqalice" ] || fail "the user's job printed: $out"
[ "$(uu forq status --json 1 | jq -r .job.uid)" = "$uid" ] || fail "the user's forqd did not run job 1"
[ "$(uu systemctl --user is-active forqd.service)" = active ] || fail "the user's forqd is not active"
uscope=$(uu systemctl --user list-units --type=scope --state=active --no-legend --plain 'forq-*' | awk '{ print $1 }')
[[ $uscope == forq-*.scope ]] || fail "no scope of the user's forqd: $(uu systemctl --user list-units --type=scope --no-legend)"
[ "$(uu systemctl --user show -P ControlGroup forqd.service)" != "$(uu systemctl --user show -P ControlGroup "$uscope")" ] ||
	fail "the user's scope and service share a cgroup"
[[ $(uu systemctl --user show -P ControlGroup "$uscope") == /user.slice/user-$uid.slice/user@$uid.service/* ]] ||
	fail "the user's scope is not under its manager: $(uu systemctl --user show -P ControlGroup "$uscope")"
uu systemctl --user stop forqd.service forqd.socket
[ "$(uu systemctl --user show -P Result forqd.service)" = success ] || fail "the user's forqd stop: $(uu systemctl --user show -P Result forqd.service)"
ok "systemctl --user: the first forq call started the user's forqd from its socket, the job ran as the user, its workers in $uscope under user@$uid.service; stopped cleanly"
