/* The shared memory region: header and scoreboard. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/compat.h"
#include "ipc/shm.h"

int
shm_create(struct shm *shm, uint32_t workers_max, uint32_t slots_per_worker,
	   size_t slot_data)
{
	size_t board = sizeof(struct sb_worker) * (workers_max + 1);
	size_t slot_size = (sizeof(struct slot) + slot_data + 63) & ~(size_t)63;
	size_t size = board + slot_size * workers_max * slots_per_worker;
	void *base;
	int fd;

	/* A memfd, shared: inherited by every worker forked after, and
	 * handed to a worker of a previous forqd that this one adopts.
	 * Pages are only backed once a slot is used. */
	if ((fd = memfd_create("forq-shm", MFD_CLOEXEC)) == -1)
		return -1;
	if (ftruncate(fd, (off_t)size) == -1 ||
	    (base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_NORESERVE, fd, 0)) == MAP_FAILED) {
		close(fd);
		return -1;
	}
	shm->fd = fd;
	shm->base = base;
	shm->size = size;
	shm->header = base;
	shm->header->magic = SHM_MAGIC;
	shm->header->version = SHM_VERSION;
	shm->header->workers_max = workers_max;
	shm->header->slots_per_worker = slots_per_worker;
	shm->header->slot_size = slot_size;
	/* The header fills the first cache line; entries follow aligned. */
	shm->workers = (struct sb_worker *)base + 1;
	shm->slots = (char *)base + board;
	shm->slots_per_worker = slots_per_worker;
	shm->slot_size = slot_size;
	return 0;
}

int
shm_attach(struct shm *shm, int fd)
{
	struct shm_header *h;
	struct stat st;
	void *base;

	if (fstat(fd, &st) == -1)
		return -1;
	if ((size_t)st.st_size < sizeof *h) {
		errno = EINVAL;
		return -1;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (base == MAP_FAILED)
		return -1;
	h = base;
	if (h->magic != SHM_MAGIC || h->version != SHM_VERSION) {
		munmap(base, (size_t)st.st_size);
		errno = EPROTO;
		return -1;
	}
	shm->fd = -1;
	shm->base = base;
	shm->size = (size_t)st.st_size;
	shm->header = h;
	shm->workers = (struct sb_worker *)base + 1;
	shm->slots =
	    (char *)base + sizeof(struct sb_worker) * (h->workers_max + 1);
	shm->slots_per_worker = h->slots_per_worker;
	shm->slot_size = h->slot_size;
	return 0;
}

struct slot *
shm_slot(const struct shm *shm, uint32_t worker, uint32_t slot)
{
	return (struct slot *)(shm->slots +
			       ((size_t)worker * shm->slots_per_worker + slot) *
				   shm->slot_size);
}

void
shm_destroy(struct shm *shm)
{
	if (shm->base != NULL)
		munmap(shm->base, shm->size);
	if (shm->fd > 0)
		close(shm->fd);
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
	    [SB_DRAINING] = "draining",
	};

	return state < nitems(names) ? names[state] : "unknown";
}
