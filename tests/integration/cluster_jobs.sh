#!/usr/bin/env bash
# What a job asks of the node that runs it, across a cluster: files of
# its own (--stdout, --stderr with %j and %u, --stdin, --append) made
# there as its user, and forq logs on that node and on the other.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pglib.sh"
. "$(dirname "$0")/clusterlib.sh"
[ "$(id -u)" = 0 ] || fail "this test creates a user and must run as root"
chmod 755 "$T"

pg_start
pg_make_db
write_conf
store_section a >>"$CONF"
sed -i 's/^\[daemon\]$/[daemon]\nsocket_mode = 0666/' "$CONF"
start_forqd
write_b_conf
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
