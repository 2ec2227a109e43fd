/* Port I/O dispatch through a copy-on-write range table (rangetab.h):
 * ranges may be added, removed and moved while vCPUs run. */
#include "bus/pio.h"
#include "bus/rangetab.h"
#include "util.h"

static struct rangetab ports = RANGETAB_INIT(1024, "I/O port");

void pio_reset(void)
{
	rangetab_clear(&ports);
}

int pio_register(uint16_t base, uint16_t count, pio_handler_t fn, void *arg,
    const char *name)
{
	if (count == 0 || (uint32_t)base + count > 65536)
		return fail("%s: bad I/O port range 0x%x+%u", name, base, count);
	return rangetab_add(&ports, base, count, (void *)fn, arg, name);
}

int pio_unregister(uint16_t base)
{
	return rangetab_del(&ports, base);
}

const char *pio_owner(uint16_t port)
{
	const struct range *r;
	const char *name;

	bus_rcu_read_lock();
	r = rangetab_lookup(&ports, port);
	name = r ? r->name : NULL;
	bus_rcu_read_unlock();
	return name;
}

enum pio_result pio_dispatch(uint16_t port, int size, bool in, uint32_t *val)
{
	const struct range *r;
	enum pio_result res = PIO_UNHANDLED;

	bus_rcu_read_lock();
	r = rangetab_lookup(&ports, port);
	if (r != NULL)
		res = ((pio_handler_t)r->fn)(r->arg, port, size, in, val) == 0 ?
		    PIO_OK : PIO_ERROR;
	bus_rcu_read_unlock();
	if (res == PIO_UNHANDLED && in)
		*val = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
	return res;
}
