/* libFuzzer: the conf parser on any text; an error must name a line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONF_ERROR_MAX];
	struct conf c;

	conf_defaults(&c, 0, NULL, NULL, NULL);
	err[0] = '\0';
	if (conf_load_string(&c, "f.conf", (const char *)data, size, err,
			     sizeof err) == -1 &&
	    strncmp(err, "f.conf:", 7) != 0)
		abort(); /* every error says where */
	return 0;
}
