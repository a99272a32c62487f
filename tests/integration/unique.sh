# Deduplication: a submit whose --unique key a job not ended yet holds
# gets that job's id; once it has ended the key is free again; keys are
# per user; forq retry will not run a job beside another with its key.
. "$(dirname "$0")/lib.sh"

field() { # ID FIELD
	fq status --json "$1" | jq -cr ".job.$2"
}

write_conf "slots = 2"
start_forqd

mkfifo "$T/go"
first=$(fq submit --unique nightly -- sh -c "cat '$T/go' >/dev/null")
second=$(fq submit --unique nightly -- sh -c "cat '$T/go' >/dev/null" 2>"$T/err")
[ "$second" = "$first" ] || fail "a held key gave a new job: $first, $second"
grep -q "job $first, not ended, holds the key \"nightly\"" "$T/err" || fail "no note: $(cat "$T/err")"
[ "$(fq submit --unique nightly --json -- true | jq -c .existing)" = "[$first]" ] || fail "--json existing"
other=$(fq submit --unique weekly -- true)
[ "$other" != "$first" ] || fail "another key gave the same job"
[ "$(fq list --limit 100 --json | jq '[.jobs[] | select(.id == '"$first"')] | length')" = 1 ] ||
	fail "the held job is listed more than once"
[ "$(field "$first" unique)" = nightly ] || fail "status unique: $(field "$first" unique)"
ok "--unique nightly while job $first runs: the same id back, and a note"

# In one batch, the second job with a key stands for the first.
printf 'true\ntrue\n' >"$T/b"
ids=$(fq submit --unique batchkey --batch "$T/b" 2>/dev/null | tr '\n' ' ')
set -- $ids
[ "$1" = "$2" ] || fail "a batch with one key gave two jobs: $ids"
ok "two jobs of one batch with one key are one job: $ids"

echo go >"$T/go"
fq wait "$first"
third=$(fq submit --unique nightly -- true)
[ "$third" != "$first" ] || fail "an ended job still holds its key"
fq wait "$third"
ok "once job $first ended the key is free: job $third"

# forq retry: not beside another job that holds the key now.
fourth=$(fq submit --unique nightly -- sleep 10)
rc=0; out=$(fq retry "$first" 2>&1) || rc=$?
[ $rc -eq 65 ] && [[ $out == *"job $fourth holds the unique key"* ]] || fail "retry beside a holder: $rc $out"
fq cancel "$fourth" >/dev/null
fq wait "$fourth" || true
fq retry "$first" >/dev/null || fail "retry once the key is free"
echo go >"$T/go" # the job reads it again
fq wait "$first" || fail "job $first did not run again"
ok "forq retry refuses to run a job beside the holder of its key: $out"
