/* Interrupt plumbing to KVM (the only place besides vm.c/vcpu.c/ring.c
 * that calls KVM ioctls): IOAPIC lines (PCI INTx), MSI delivery through
 * KVM's GSI routing table and irqfds, and ioeventfds.
 *
 * Costs: KVM_SET_GSI_ROUTING, KVM_IRQFD and KVM_IOEVENTFD each wait for a
 * KVM grace period.  Callers change routes only when the guest programs
 * an MSI/MSI-X vector (enable, unmask with a new address/data), and
 * ioeventfds only at BAR placement/moves and DRIVER_OK, never per access.
 * Raising an interrupt (irq_msi_fire, irq_set_level) is one system call,
 * safe from any thread, and never causes a vCPU exit to user space.
 *
 * Lock: irq.c's `lock` guards the route table and the GSI allocator.
 * Without irq_init() (unit tests) nothing reaches KVM: routes are kept
 * and eventfds still written, so tests can observe them. */
#ifndef BHYVE_IRQ_H
#define BHYVE_IRQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

#define IRQ_MSI_GSI_BASE	24	/* GSIs 0..23 are the IOAPIC pins */
#define IRQ_MAX_ROUTES		1024

int irq_init(struct vm *vm);
void irq_fini(void);

/* Assert (level) or release (!level) one source's hold on an IOAPIC pin
 * (0..23): the pin is high while any source holds it, so PCI INTx and
 * HPET timers can share pins.  Each source must balance its calls. */
int irq_set_level(unsigned gsi, bool level);
/* Whether any source holds IOAPIC pin `gsi` now (tests, state dumps). */
bool irq_line_high(unsigned gsi);

/* One MSI vector: a GSI of its own and an eventfd bound to it (irqfd). */
struct irq_msi {
	unsigned gsi;
	int efd;
	uint64_t addr;
	uint32_t data;
	bool routed;		/* a route is installed in KVM */
	atomic_ulong fires;	/* how often it was raised (tests, tracing) */
};
/* Allocate a GSI and eventfd (no route yet); NULL with a message. */
struct irq_msi *irq_msi_alloc(void);
void irq_msi_free(struct irq_msi *m);
/* Point the vector at address/data (commits the table when it changed). */
int irq_msi_route(struct irq_msi *m, uint64_t addr, uint32_t data);
/* Raise the vector (any thread).  Before it has a route: dropped. */
void irq_msi_fire(struct irq_msi *m);

/* The vector owning gsi, or NULL (tests). */
struct irq_msi *irq_msi_find(unsigned gsi);

/* Routing table as handed to KVM, for tests: the 16 PIC+IOAPIC legacy
 * entries, 24 IOAPIC pins, then one MSI entry per routed vector. */
struct irq_route {
	unsigned gsi;
	enum { IRQ_ROUTE_PIC_MASTER, IRQ_ROUTE_PIC_SLAVE, IRQ_ROUTE_IOAPIC,
	    IRQ_ROUTE_MSI } kind;
	unsigned pin;
	uint64_t addr;
	uint32_t data;
};
/* Fill out[] (cap entries) with the current table; returns the count. */
unsigned irq_routes(struct irq_route *out, unsigned cap);

/* ioeventfd: a guest write of `len` bytes (1, 2, 4, 8; 0 = any length for
 * MMIO) to addr (I/O port when pio) signals efd instead of exiting; with
 * `match`, only when the value equals `data`.  assign=false removes it. */
int irq_ioeventfd(uint64_t addr, unsigned len, bool pio, bool match,
    uint64_t data, int efd, bool assign);
/* Whether ioeventfds are available (false in unit tests). */
bool irq_have_ioeventfd(void);

#endif
