/* What every backend hands out: a stored job, and how it is freed. */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

void
store_job_free(struct store_job *j)
{
	free(j->spec.argv);
	free(j->spec.env);
	free(j->spec.cwd);
	free(j->spec.queue);
	free(j->spec.unique);
	free(j->spec.on_finish);
	free(j->spec.stdout_path);
	free(j->spec.stderr_path);
	free(j->spec.stdin_path);
	free(j->spec.res);
	free(j->res_given);
	free(j->name);
	memset(j, 0, sizeof *j);
}
