# Shell completion (completion/, installed with the package) for bash,
# zsh and fish: commands, options, states, and queues and job ids asked
# of forqd.
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
[ "$(complete_words forq re)" = "release resume retry " ] || fail "forq re: $(complete_words forq re)"
[ "$(complete_words forq ho)" = "hold " ] || fail "forq ho: $(complete_words forq ho)"
[ "$(complete_words forq list --state he)" = "held " ] || fail "--state he"
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

# fish: its own completer, asked with complete -C.
command -v fish >/dev/null || fail "fish is not installed"
fish_words() {
	PATH="$(dirname "$FORQ"):$PATH" fish --no-config -c \
		"source '$FORQ_SOURCE_DIR/completion/forq.fish'; complete -C '$1'" |
		cut -f1 | sort | tr '\n' ' '
}
[ "$(fish_words "forq su")" = "submit " ] || fail "fish: forq su: $(fish_words "forq su")"
[ "$(fish_words "forq shutdown --")" = "--drain --json --kill-jobs " ] || fail "fish: shutdown: $(fish_words "forq shutdown --")"
[ "$(fish_words "forq list --state f")" = "failed " ] || fail "fish: --state f: $(fish_words "forq list --state f")"
[ "$(fish_words "forq -s $SOCK pause ")" = "default nightly " ] || fail "fish: queues: $(fish_words "forq -s $SOCK pause ")"
[ "$(fish_words "forq -s $SOCK status ")" = "$id " ] || fail "fish: ids: $(fish_words "forq -s $SOCK status ")"
ok "fish: commands, options, states, queues and ids"

# zsh: an interactive zsh on a pty, TAB pressed; what it lists.
command -v zsh >/dev/null || fail "zsh is not installed"
zsh_lists() { # WORDS PATTERN
	PATH="$(dirname "$FORQ"):$PATH" timeout 20 zsh -f "$FORQ_SOURCE_DIR/tests/integration/zsh_complete.zsh" \
		"$FORQ_SOURCE_DIR/completion" "$1" "$2" | tr -d '\r'
}
out=$(zsh_lists "forq s" "*submit*") || fail "zsh: forq s: nothing"
for w in set shutdown status submit; do
	grep -qE "(^|[^a-z])$w( |$)" <<<"$out" || fail "zsh: forq s lacks $w: $out"
done
out=$(zsh_lists "forq shutdown --" "*kill-jobs*") || fail "zsh: shutdown: nothing"
[[ $out == *--drain* && $out == *--json* ]] || fail "zsh: shutdown options: $out"
out=$(zsh_lists "forq list --state " "*timed_out*") || fail "zsh: --state: nothing"
[[ $out == *cancelled* && $out == *scheduled* ]] || fail "zsh: states: $out"
out=$(zsh_lists "forq -s $SOCK pause " "*nightly*") || fail "zsh: queues: nothing"
[[ $out == *default* ]] || fail "zsh: queues: $out"
zsh_lists "forq -s $SOCK status " "*status $id*" >/dev/null || fail "zsh: job ids: nothing"
ok "zsh: commands, options, states, queues and ids"
