/*
 * A batch line is a shell command line. Most are plain words ("convert
 * a.png a.jpg"), and for those the shell would only split them and
 * exec the first: forq does that itself and spares each job a shell,
 * as make(1) does for its recipes. Anything the shell could read
 * otherwise (quotes, $, globs, redirections, ;, &&, a builtin or a
 * keyword first, an assignment) still goes to /bin/sh -c.
 */
#ifndef FORQ_CMDLINE_H
#define FORQ_CMDLINE_H

#include <stddef.h>

/* The words of line if it needs no shell: a NULL-terminated array of
 * pointers into one allocation (free the array alone), count in *n.
 * NULL if the shell is needed, or the line is blank. */
char **cmdline_simple_split(const char *line, size_t *n);

#endif
