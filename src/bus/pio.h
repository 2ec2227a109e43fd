/* Port I/O dispatch: a sorted table of port ranges that may change while
 * vCPUs run (copy-on-write, see rangetab.h for the locking). */
#ifndef BHYVE_PIO_H
#define BHYVE_PIO_H

#include <stdbool.h>
#include <stdint.h>

/* Handle one access of 1, 2 or 4 bytes.  For reads, fill *val.  Return 0,
 * or -1 for a fatal VM error (message set with fail()). */
typedef int (*pio_handler_t)(void *arg, uint16_t port, int size, bool in,
    uint32_t *val);

int pio_register(uint16_t base, uint16_t count, pio_handler_t fn, void *arg,
    const char *name);
int pio_unregister(uint16_t base);
void pio_reset(void);

enum pio_result { PIO_OK = 0, PIO_UNHANDLED = 1, PIO_ERROR = -1 };
/* Unhandled reads return all ones. */
enum pio_result pio_dispatch(uint16_t port, int size, bool in, uint32_t *val);
const char *pio_owner(uint16_t port);

#endif
