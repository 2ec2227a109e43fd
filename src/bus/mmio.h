/* MMIO ranges outside guest RAM that user space emulates (ECAM, device
 * BARs).  Sorted copy-on-write array, binary searches; ranges may change
 * while vCPUs run, also from inside a handler (locking: rangetab.h). */
#ifndef BHYVE_MMIO_H
#define BHYVE_MMIO_H

#include <stdbool.h>
#include <stdint.h>

/* Access of 1..8 bytes at gpa inside the range. */
typedef int (*mmio_handler_t)(void *arg, uint64_t gpa, int size, bool write,
    uint64_t *val);

int mmio_register(uint64_t base, uint64_t len, mmio_handler_t fn, void *arg,
    const char *name);
int mmio_unregister(uint64_t base);
void mmio_reset(void);
enum mmio_result { MMIO_OK = 0, MMIO_UNHANDLED = 1, MMIO_ERROR = -1 };
enum mmio_result mmio_dispatch(uint64_t gpa, int size, bool write,
    uint64_t *val);

#endif
