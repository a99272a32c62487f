/* Batch lines that need no shell: split here, exec'd directly. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "client/cmdline.h"

/* Words the shell would take itself rather than exec. */
static const char *const cmdline_shell_words[] = {
    "!",       "{",        "}",       ".",       ":",        "[[",
    "]]",      "alias",    "bg",      "break",   "case",     "cd",
    "command", "continue", "declare", "do",      "done",     "elif",
    "else",    "esac",     "eval",    "exec",    "exit",     "export",
    "fc",      "fg",       "fi",      "for",     "function", "getopts",
    "hash",    "if",       "in",      "jobs",    "let",      "local",
    "read",    "readonly", "return",  "select",  "set",      "shift",
    "source",  "then",     "time",    "times",   "trap",     "type",
    "typeset", "ulimit",   "umask",   "unalias", "unset",    "until",
    "wait",    "while",
};

/* Characters that mean nothing to the shell outside a command word's
 * first position: letters, digits and these. */
static bool
cmdline_plain(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("/._-+,:@%=", c) != NULL;
}

char **
cmdline_simple_split(const char *line, size_t *n)
{
	size_t len = strlen(line), words = 0, i, first;
	char **argv, *copy, *p;
	bool in_word = false;

	for (i = 0; i < len; i++) {
		if (line[i] == ' ' || line[i] == '\t') {
			in_word = false;
			continue;
		}
		if (!cmdline_plain(line[i]))
			return NULL;
		if (!in_word)
			words++;
		in_word = true;
	}
	if (words == 0)
		return NULL;
	first = strspn(line, " \t");
	len = strcspn(line + first, " \t");
	/* An assignment, or a builtin or keyword, needs the shell. */
	if (memchr(line + first, '=', len) != NULL)
		return NULL;
	for (i = 0;
	     i < sizeof cmdline_shell_words / sizeof cmdline_shell_words[0];
	     i++) {
		if (strlen(cmdline_shell_words[i]) == len &&
		    memcmp(cmdline_shell_words[i], line + first, len) == 0)
			return NULL;
	}
	argv = malloc((words + 1) * sizeof *argv + strlen(line) + 1);
	if (argv == NULL)
		return NULL;
	copy = (char *)(argv + words + 1);
	strcpy(copy, line);
	words = 0;
	for (p = strtok(copy, " \t"); p != NULL; p = strtok(NULL, " \t"))
		argv[words++] = p;
	argv[words] = NULL;
	*n = words;
	return argv;
}
