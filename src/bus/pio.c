#include "bus/pio.h"
#include "util.h"

#include <string.h>

#define MAX_PIO_HANDLERS 255

struct pio_entry {
	pio_handler_t fn;
	void *arg;
	const char *name;
};

static struct pio_entry handlers[MAX_PIO_HANDLERS + 1];	/* 0 = none */
static unsigned nhandlers;
static uint8_t table[65536];

void pio_reset(void)
{
	memset(table, 0, sizeof(table));
	memset(handlers, 0, sizeof(handlers));
	nhandlers = 0;
}

int pio_register(uint16_t base, uint16_t count, pio_handler_t fn, void *arg,
    const char *name)
{
	if (count == 0 || (uint32_t)base + count > 65536)
		return fail("%s: bad I/O port range 0x%x+%u", name, base, count);
	for (uint32_t p = base; p < (uint32_t)base + count; p++)
		if (table[p] != 0)
			return fail("%s: I/O port 0x%x already used by %s", name,
			    p, handlers[table[p]].name);
	if (nhandlers == MAX_PIO_HANDLERS)
		return fail("too many I/O port handlers");
	nhandlers++;
	handlers[nhandlers] = (struct pio_entry){ fn, arg, name };
	memset(&table[base], (int)nhandlers, count);
	return 0;
}

const char *pio_owner(uint16_t port)
{
	return table[port] ? handlers[table[port]].name : NULL;
}

enum pio_result pio_dispatch(uint16_t port, int size, bool in, uint32_t *val)
{
	const struct pio_entry *h = &handlers[table[port]];

	if (table[port] == 0) {
		if (in)
			*val = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
		return PIO_UNHANDLED;
	}
	if (h->fn(h->arg, port, size, in, val) != 0)
		return PIO_ERROR;
	return PIO_OK;
}
