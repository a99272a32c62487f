/* The shared memory region: header and scoreboard. */
#include <sys/mman.h>

#include <errno.h>
#include <string.h>

#include "common/compat.h"
#include "daemon/shm.h"

int
shm_create(struct shm *shm, uint32_t workers_max)
{
	size_t size = sizeof(struct sb_worker) * (workers_max + 1);
	void *base;

	/* Anonymous and shared: inherited by every worker forked after. */
	base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -1;
	shm->base = base;
	shm->size = size;
	shm->header = base;
	shm->header->magic = SHM_MAGIC;
	shm->header->version = SHM_VERSION;
	shm->header->workers_max = workers_max;
	/* The header fills the first cache line; entries follow aligned. */
	shm->workers = (struct sb_worker *)base + 1;
	return 0;
}

void
shm_destroy(struct shm *shm)
{
	if (shm->base != NULL)
		munmap(shm->base, shm->size);
	memset(shm, 0, sizeof *shm);
}

const char *
sb_state_name(enum sb_state state)
{
	static const char *const names[] = {
	    [SB_EMPTY] = "empty",           [SB_STARTING] = "starting",
	    [SB_READY] = "ready",           [SB_RETIRING] = "retiring",
	    [SB_RESTARTING] = "restarting", [SB_HELD] = "crash-loop",
	    [SB_FAILED] = "failed",         [SB_STOPPED] = "stopped",
	};

	return state < nitems(names) ? names[state] : "unknown";
}
