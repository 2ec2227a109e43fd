/* Address-range tables that can change while vCPUs dispatch through them
 * (the port-I/O and MMIO buses).
 *
 * Locking (read-copy-update with quiescent-state reclamation):
 * - Readers (vCPU threads, the event loop replaying coalesced writes, unit
 *   tests) call rangetab_lookup() inside bus_rcu_read_lock()/unlock() and
 *   may call the handler they found before unlocking.  They take no lock
 *   and never wait.
 * - Writers (register/unregister; from any thread, also from inside a
 *   handler that is itself being dispatched) serialise on the table's
 *   `wlock`, build a new sorted array, publish it with one atomic store and
 *   retire the old array.  A retired array is freed only when every reader
 *   that could have seen it has left its read-side section (see rcu.c); a
 *   writer never waits for readers, so a handler may move its own ranges.
 * - A handler can still run once after its range was unregistered (a vCPU
 *   that looked it up just before); handler arguments must stay valid
 *   until the vCPUs are stopped (device instances live until pci_fini). */
#ifndef BHYVE_RANGETAB_H
#define BHYVE_RANGETAB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct range {
	uint64_t base, len;
	void *fn;		/* pio_handler_t or mmio_handler_t */
	void *arg;
	const char *name;
};

struct range_array {
	unsigned n;
	struct range r[];
};

struct rangetab {
	_Atomic(struct range_array *) cur;
	pthread_mutex_t wlock;
	unsigned max;		/* entries allowed */
	const char *what;	/* "I/O port" or "MMIO" for messages */
};

#define RANGETAB_INIT(maxn, whatstr) \
	{ NULL, PTHREAD_MUTEX_INITIALIZER, (maxn), (whatstr) }

/* Add [base, base+len); fails (message) on overlap or a full table. */
int rangetab_add(struct rangetab *t, uint64_t base, uint64_t len, void *fn,
    void *arg, const char *name);
/* Remove the range starting at base; -1 when there is none. */
int rangetab_del(struct rangetab *t, uint64_t base);
/* Empty the table (no readers may be running: tests, teardown). */
void rangetab_clear(struct rangetab *t);
/* Inside a read-side section: the range holding addr, or NULL. */
const struct range *rangetab_lookup(struct rangetab *t, uint64_t addr);

/* Read-side section (nests).  Cheap: two atomic stores. */
void bus_rcu_read_lock(void);
void bus_rcu_read_unlock(void);
/* Free `p` once every reader that could see it has finished. */
void bus_rcu_retire(void *p);
/* Free what can be freed now (also done by every retire). */
void bus_rcu_reclaim(void);
/* Objects still waiting (tests). */
unsigned bus_rcu_pending(void);

#endif
