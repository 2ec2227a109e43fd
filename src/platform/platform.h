/* Platform devices: the fixed chipset and LPC devices (RTC, reset
 * control, ACPI PM, HPET, the UARTs).  Each registers itself with
 * PLATFORM_DEV_SET, as PCI models do with PCI_EMUL_SET; main() brings them
 * all up, starts, dumps and tears them down through the functions below,
 * in `order` (teardown in reverse), without a hand-kept list.
 *
 * A guest reset (0xCF9, the keyboard controller, port 0x92) ends the VM
 * with status 0 as in bhyve (-M starts a new VM process), so platform
 * devices have no reset hook; PCI functions do (pci_dev_reset, FLR). */
#ifndef BHYVE_PLATFORM_H
#define BHYVE_PLATFORM_H

#include <stddef.h>

struct vm;

struct platform_dev {
	const char *name;
	unsigned order;		/* bring-up order, lowest first */
	/* Before the PCI devices: registers ports and MMIO ranges. */
	int (*init)(struct vm *vm);
	/* Once the event loop exists, before the vCPUs: timers, backends. */
	int (*start)(struct vm *vm);
	/* SIGUSR2 state dump, on the event-loop thread. */
	void (*dump)(void);
	/* After the vCPUs stopped: event-loop entries, backends, threads.
	 * Called on every exit path, so it must also work when init or
	 * start did not run or failed half-way. */
	void (*teardown)(void);
	/* Placeholder for snapshots; not called yet. */
	int (*snapshot)(void *meta);
};

#define PLATFORM_DEV_SET(sym) \
	static const struct platform_dev *const __platform_set_##sym \
	__attribute__((section("set_platform_dev"), used)) = &(sym)

/* The registered devices in bring-up order; NULL past the end. */
const struct platform_dev *platform_dev_at(unsigned i);
int platform_init(struct vm *vm);
int platform_start(struct vm *vm);
void platform_dump(void);
/* Every device's teardown, in reverse order. */
void platform_fini(void);

#endif
