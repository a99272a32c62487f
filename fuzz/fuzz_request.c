/* libFuzzer: one request line through the decoder and the typed field
 * readers every handler uses. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request req;
	struct req_error err;
	uint64_t id, *ids;
	size_t n;
	bool b;

	if (request_decode((const char *)data, size, &req, &err) == 0) {
		(void)request_op_name(req.op);
		(void)request_job_id(&req, "job", &id, &err);
		if (request_job_ids(&req, "jobs", &ids, &n, 1000, &err) == 0)
			free(ids);
		(void)request_bool(&req, "follow", &b, &err);
		json_decref(reply_error(req.id, "x", err.message));
	}
	request_free(&req);
	return 0;
}
