/* Quiescent-state based reclamation for the bus tables (rangetab.h).
 *
 * A global epoch `gp` counts publications.  A reader entering its
 * section stores the epoch it saw in its own slot (0 = not reading) and
 * then reads the table pointer; a writer publishes the new pointer, bumps
 * the epoch to e and retires the old pointer tagged e.  A reader whose slot
 * holds s >= e entered after the publication and cannot hold the old
 * pointer; one whose slot is 0 holds nothing.  So an object tagged e is
 * freed once every slot is 0 or >= e.  All slot and epoch accesses are
 * sequentially consistent, which orders "store slot, load pointer" on the
 * reader against "store pointer, load slots" on the writer.
 * Lock: `retire_lock` guards the retired list; readers take no lock. */
#include "bus/rangetab.h"

#include <stdlib.h>

#define RCU_SLOTS 64

static _Atomic uint64_t gp = 1;
static _Atomic uint64_t slots[RCU_SLOTS];
static atomic_uint nslots;
static atomic_uint overflow_readers;	/* threads beyond RCU_SLOTS */
static __thread int myslot = -1;
static __thread unsigned depth;

struct retired {
	struct retired *next;
	void *p;
	uint64_t epoch;
};
static struct retired *retired_list;
static unsigned nretired;
static pthread_mutex_t retire_lock = PTHREAD_MUTEX_INITIALIZER;

void bus_rcu_read_lock(void)
{
	if (depth++ != 0)
		return;
	if (myslot < 0) {
		unsigned i = atomic_fetch_add(&nslots, 1);
		myslot = i < RCU_SLOTS ? (int)i : RCU_SLOTS;
	}
	if (myslot == RCU_SLOTS)
		atomic_fetch_add(&overflow_readers, 1);
	else
		atomic_store(&slots[myslot], atomic_load(&gp));
}

void bus_rcu_read_unlock(void)
{
	if (depth == 0 || --depth != 0)
		return;
	if (myslot == RCU_SLOTS)
		atomic_fetch_sub(&overflow_readers, 1);
	else
		atomic_store(&slots[myslot], 0);
}

static bool can_free(uint64_t epoch)
{
	unsigned n = atomic_load(&nslots);

	if (atomic_load(&overflow_readers) != 0)
		return false;
	if (n > RCU_SLOTS)
		n = RCU_SLOTS;
	for (unsigned i = 0; i < n; i++) {
		uint64_t s = atomic_load(&slots[i]);
		if (s != 0 && s < epoch)
			return false;
	}
	return true;
}

void bus_rcu_reclaim(void)
{
	struct retired **pp, *r;

	pthread_mutex_lock(&retire_lock);
	for (pp = &retired_list; (r = *pp) != NULL;) {
		if (can_free(r->epoch)) {
			*pp = r->next;
			free(r->p);
			free(r);
			nretired--;
		} else {
			pp = &r->next;
		}
	}
	pthread_mutex_unlock(&retire_lock);
}

void bus_rcu_retire(void *p)
{
	struct retired *r;
	uint64_t e;

	if (p == NULL)
		return;
	e = atomic_fetch_add(&gp, 1) + 1;
	r = malloc(sizeof(*r));
	if (r == NULL) {
		/* Cannot track it: leaking one small table beats a
		 * use-after-free. */
		return;
	}
	r->p = p;
	r->epoch = e;
	pthread_mutex_lock(&retire_lock);
	r->next = retired_list;
	retired_list = r;
	nretired++;
	pthread_mutex_unlock(&retire_lock);
	bus_rcu_reclaim();
}

unsigned bus_rcu_pending(void)
{
	unsigned n;

	pthread_mutex_lock(&retire_lock);
	n = nretired;
	pthread_mutex_unlock(&retire_lock);
	return n;
}
