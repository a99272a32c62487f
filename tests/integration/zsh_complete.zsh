# zsh -f zsh_complete.zsh DIR WORDS PATTERN: what an interactive zsh, on
# a pty, with DIR in its fpath, prints on TAB after WORDS; read until
# PATTERN shows (the caller bounds the wait).
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PS1='%% '; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D; unsetopt beep; LISTMAX=0; print RE''ADY"
zpty -r z out '*READY*' || exit 1
zpty -w -n z "$2"$'\t'
zpty -r z out "$3" || exit 1
print -r -- "$out"
zpty -d z
