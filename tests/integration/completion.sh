# Bash completion (completion/forq, installed with the package):
# commands, options, states, and queues and job ids asked of forqd.
. "$(dirname "$0")/lib.sh"
bc=/usr/share/bash-completion/bash_completion
[ -f "$bc" ] || fail "bash-completion is not installed"

write_conf "[queue nightly]"
start_forqd
id=$(fq submit -- true)
fq wait "$id"

# complete WORDS...: what TAB offers after them (the last may be "").
complete_words() {
	PATH="$(dirname "$FORQ"):$PATH" bash -c '
		. "$1"; . "$2"; shift 2
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_forq
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
		_ "$bc" "$FORQ_SOURCE_DIR/completion/forq" "$@"
}

[ "$(complete_words forq su)" = "submit " ] || fail "forq su: $(complete_words forq su)"
[ "$(complete_words forq re)" = "resume retry " ] || fail "forq re: $(complete_words forq re)"
[ "$(complete_words forq list --state f)" = "failed " ] || fail "--state f"
[ "$(complete_words forq shutdown --)" = "--drain --json --kill-jobs " ] || fail "forq shutdown --: $(complete_words forq shutdown --)"
[ "$(complete_words forq submit --retry-on exit,ti)" = "exit,timeout " ] ||
	fail "--retry-on: $(complete_words forq submit --retry-on exit,ti)"
[ "$(complete_words forq -s "$SOCK" submit -q "")" = "default nightly " ] ||
	fail "queues: $(complete_words forq -s "$SOCK" submit -q "")"
[ "$(complete_words forq -s "$SOCK" status "")" = "$id " ] ||
	fail "ids: $(complete_words forq -s "$SOCK" status "")"
[[ "$(complete_words forq submit --after-)" == "--after-any --after-fail " ]] ||
	fail "--after-: $(complete_words forq submit --after-)"
ok "commands, options, states, queues ($(complete_words forq -s "$SOCK" pause "")) and ids from forqd"
