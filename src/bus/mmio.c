/* MMIO dispatch through a copy-on-write range table (rangetab.h): a
 * handler may register, unregister or move ranges, its own included. */
#include "bus/mmio.h"
#include "bus/rangetab.h"
#include "util.h"

static struct rangetab ranges = RANGETAB_INIT(1024, "MMIO");

void mmio_reset(void)
{
	rangetab_clear(&ranges);
}

int mmio_register(uint64_t base, uint64_t len, mmio_handler_t fn, void *arg,
    const char *name)
{
	return rangetab_add(&ranges, base, len, (void *)fn, arg, name);
}

int mmio_unregister(uint64_t base)
{
	return rangetab_del(&ranges, base);
}

enum mmio_result mmio_dispatch(uint64_t gpa, int size, bool write,
    uint64_t *val)
{
	const struct range *r;
	enum mmio_result res = MMIO_UNHANDLED;

	bus_rcu_read_lock();
	r = rangetab_lookup(&ranges, gpa);
	/* An access straddling the end of a range is unhandled. */
	if (r != NULL && gpa - r->base + (uint64_t)size <= r->len)
		res = ((mmio_handler_t)r->fn)(r->arg, gpa, size, write, val)
		    == 0 ? MMIO_OK : MMIO_ERROR;
	bus_rcu_read_unlock();
	if (res == MMIO_UNHANDLED && !write)
		*val = ~0ULL;
	return res;
}
