/* HPET (IA-PC High Precision Event Timer) at HPET_BASE, described to the
 * guest by the ACPI HPET table.  As FreeBSD bhyve's vhpet: vendor 0x8086,
 * 8 timers, counter at 2^24 Hz (16.777216 MHz), timers routable to IOAPIC
 * GSIs 20-23, every timer periodic-capable.  Unlike bhyve's, the main
 * counter and the comparators are 64 bits wide (each timer can be put in
 * 32-bit mode) and LegacyReplacement routing is offered: timer 0 then
 * drives ISA IRQ 0 and timer 1 IRQ 8 (Linux uses it for its boot-time
 * clock event).  FSB (MSI) delivery is not offered.
 *
 * Accesses must be 4 or 8 bytes, naturally aligned; anything else is
 * ignored (reads return 0), as are writes to read-only and reserved bits
 * and to registers that do not exist.
 *
 * Timers fire from event-loop timers (hpet_ops.arm), never by a vCPU
 * waiting.  One-shot timers fire when the counter (its low 32 bits in
 * 32-bit mode) equals the comparator, and again each time it wraps.
 * Periodic timers add their period to the comparator at each match;
 * missed periods are not replayed (one interrupt, comparator moved past
 * the counter), and the host timer is not armed closer than
 * HPET_MIN_PERIOD_NS apart, which bounds the work a guest can cause.  The
 * comparator of a periodic timer whose interrupt is disabled does not
 * advance.
 *
 * Lock: hpet.lock guards all state; MMIO handlers run on vCPU threads,
 * hpet_fire() on the event loop. */
#ifndef BHYVE_HPET_H
#define BHYVE_HPET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define HPET_TIMERS		8
#define HPET_FREQ		16777216u	/* 2^24 Hz */
#define HPET_PERIOD_FS		59604644u	/* 10^15 / HPET_FREQ */
#define HPET_MIN_PERIOD_NS	100000u
#define HPET_GSI_MASK		0x00f00000u	/* GSIs 20-23 */

/* Register offsets */
#define HPET_CAP		0x000
#define HPET_CONFIG		0x010
#define HPET_ISR		0x020
#define HPET_COUNTER		0x0f0
#define HPET_TN_CFG(n)		(0x100 + 0x20 * (n))
#define HPET_TN_CMP(n)		(0x108 + 0x20 * (n))
#define HPET_TN_FSB(n)		(0x110 + 0x20 * (n))

/* General capabilities */
#define HPET_CAP_COUNT_64	(1u << 13)
#define HPET_CAP_LEG_RT		(1u << 15)
/* General configuration */
#define HPET_CNF_ENABLE		0x1
#define HPET_CNF_LEG_RT		0x2
/* Timer configuration and capabilities */
#define HPET_TN_LEVEL		(1u << 1)
#define HPET_TN_INT_ENB		(1u << 2)
#define HPET_TN_PERIODIC	(1u << 3)
#define HPET_TN_PER_CAP		(1u << 4)
#define HPET_TN_SIZE_CAP	(1u << 5)
#define HPET_TN_VAL_SET		(1u << 6)
#define HPET_TN_32BIT		(1u << 8)
#define HPET_TN_ROUTE_SHIFT	9
#define HPET_TN_ROUTE		(0x1fu << 9)
#define HPET_TN_FSB_EN		(1u << 14)

struct hpet_ops {
	uint64_t (*now_ns)(void);		/* monotonic clock */
	/* Drive interrupt line `gsi` (KVM_IRQ_LINE number). */
	void (*set_irq)(void *ctx, unsigned gsi, bool level);
	/* Call hpet_fire(h, n) after delay_ns (0: cancel). */
	void (*arm)(void *ctx, unsigned n, uint64_t delay_ns);
};

struct hpet_timer {
	uint64_t cfg;
	uint64_t cmp;
	uint64_t period;
	uint64_t deadline_ns;	/* clock time of the next match */
	bool armed;
	int line;		/* line asserted for a level interrupt, or -1 */
};

struct hpet {
	pthread_mutex_t lock;
	uint64_t cfg, isr;
	uint64_t count_base;	/* counter value at base_ns */
	uint64_t base_ns;
	struct hpet_timer t[HPET_TIMERS];
	const struct hpet_ops *ops;
	void *ctx;
};

void hpet_setup(struct hpet *h, const struct hpet_ops *ops, void *ctx);
/* One guest access at byte offset `off` of the register block. */
void hpet_access(struct hpet *h, uint64_t off, int size, bool write,
    uint64_t *val);
/* A host timer armed through ops->arm expired. */
void hpet_fire(struct hpet *h, unsigned n);

/* The VM-wide instance at HPET_BASE; needs evloop_init() first. */
struct vm;
int hpet_init(struct vm *vm);
void hpet_fini(void);

/* The low 32 bits of the capabilities register (vendor, legacy route,
 * counter size, timers, revision): the ACPI HPET table's block ID. */
uint32_t hpet_block_id(void);

#endif
