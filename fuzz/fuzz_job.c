/* libFuzzer: the job validator, on a job object (or an array of them,
 * the first being the submit's defaults) as a client would send it. */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct job_limits limits = {.argv_max = 64,
						 .argv_bytes_max = 4096,
						 .env_bytes_max = 4096,
						 .batch_max = 16,
						 .name_max = 64};
	const json_t *defaults = NULL;
	struct job_spec spec;
	struct job_error err;
	json_error_t jerr;
	json_t *root;
	size_t i;

	root = json_loadb((const char *)data, size,
			  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL)
		return 0;
	if (json_is_array(root) && json_array_size(root) > 1) {
		defaults = json_array_get(root, 0);
		for (i = 1; i < json_array_size(root) && i <= 16; i++) {
			if (job_spec_from_json(json_array_get(root, i),
					       defaults, &limits, &spec,
					       &err) == 0)
				job_spec_free(&spec);
		}
	} else if (job_spec_from_json(root, NULL, &limits, &spec, &err) == 0) {
		job_spec_free(&spec);
	}
	json_decref(root);
	return 0;
}
