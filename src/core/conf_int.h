/*
 * Between the parts of forqd.conf's reading: the key tables
 * (conf_keys.c), the parser (conf.c) and the checks that tie keys
 * together or ask the system (conf_check.c). Not for other modules:
 * theirs is conf.h.
 */
#ifndef FORQ_CONF_INT_H
#define FORQ_CONF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"

#define DAY_MS (INT64_C(24) * 60 * 60 * 1000)

enum conf_type {
	CONF_STRING,
	CONF_PATH,
	CONF_MODE,
	CONF_UINT,
	CONF_DURATION,
	CONF_SIZE,
	CONF_LOG_LEVEL,
	CONF_CPUS,
	CONF_DURABILITY,
	CONF_BOOL,
	CONF_INT,
	CONF_RLIMIT, /* min: which enum job_rlimit */
	CONF_BACKEND,
};

struct conf_key {
	const char *section;
	const char *name;
	enum conf_type type;
	size_t offset;
	size_t size;
	int64_t min;
	int64_t max;
};

/* Key name of [section]: its entry, and in *index its place in
 * struct conf's lines[]; NULL if there is none. */
const struct conf_key *conf_key_find(const char *section, const char *name,
				     size_t *index);
/* Key name of a [queue NAME] section; *index: in struct conf_queue's
 * lines[]. */
const struct conf_key *conf_queue_key_find(const char *name, size_t *index);
/* The line that set key name (of the main sections); 0: none did. */
int conf_key_line(const struct conf *c, const char *name);

/* "file:line: msg", or "file: msg" for line 0. */
void conf_format_error(char *err, size_t errlen, const char *file, int line,
		       const char *msg);
/* Rules that tie two keys together, reported at the later one's line. */
int conf_check_relations(const struct conf *c, const char *file, char *err,
			 size_t errlen);

#endif
