/* The forq CLI's rendering helpers: pure functions of a reply. */
#ifndef FORQ_CLI_H
#define FORQ_CLI_H

#include <stdio.h>

#include <jansson.h>

/* The table `forq workers` prints, from the reply's "workers" array. */
void cli_print_workers(FILE *out, const json_t *workers);
/* A duration given in milliseconds, or "-" for null. */
void cli_format_ms(const json_t *ms, char *buf, size_t len);

#endif
