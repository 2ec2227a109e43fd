/* PCI devices with BARs and interrupts: BAR placement, sizing, decode and
 * moves (src/bus/pci_bar.c), the copy-on-write bus tables
 * (src/bus/rangetab.c, rcu.c), MSI / MSI-X / INTx (src/bus/pci_msi.c),
 * the GSI routing table (src/vmm/irq.c), PCI entries of the MP table, and
 * the virtio transport's registers (src/virtio/pci.c) on virtio-rnd. */
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/mmio.h"
#include "bus/pci.h"
#include "bus/pci_bar.h"
#include "bus/pci_msi.h"
#include "bus/pio.h"
#include "bus/rangetab.h"
#include "config.h"
#include "platform/mptable.h"
#include "virtio/virtio.h"
#include "virtio/pci_priv.h"
#include "vmm/irq.h"
#include "vmm/vm.h"

#define RAM (1u << 20)
#define M64 (32ULL << 30)	/* pci_mem64_base(0) */

static struct vm fakevm;
static uint8_t *ram;

static int setup(void **state)
{
	(void)state;
	unit_reset_globals();
	ram = calloc(1, RAM);
	memset(&fakevm, 0, sizeof(fakevm));
	fakevm.vm_fd = fakevm.kvm_fd = -1;
	fakevm.mem.r[0] = (struct mem_region){ 0, RAM, ram };
	fakevm.mem.nr = 1;
	fakevm.mem.lowmem = RAM;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unit_reset_globals();
	free(ram);
	return 0;
}

static void build(const char *const *slots, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pci_parse_slot(slots[i]) != 0)
			fail_msg("-s %s: %s", slots[i], last_error());
	assert_int_equal(config_freeze(), 0);
	if (pci_init(&fakevm) != 0)
		fail_msg("pci_init: %s", last_error());
}

#define BUILD(...) do { \
	static const char *const _s[] = { __VA_ARGS__ }; \
	build(_s, ARRAY_SIZE(_s)); } while (0)

static uint32_t cfgr(unsigned slot, unsigned off, unsigned size)
{
	return pci_cfg_read(0, slot, 0, off, size);
}

static void cfgw(unsigned slot, unsigned off, unsigned size, uint32_t v)
{
	pci_cfg_write(0, slot, 0, off, size, v);
}

static uint64_t mrd(uint64_t gpa, int size)
{
	uint64_t v = 0;
	assert_int_equal(mmio_dispatch(gpa, size, false, &v), MMIO_OK);
	return v;
}

static void mwr(uint64_t gpa, int size, uint64_t v)
{
	assert_int_equal(mmio_dispatch(gpa, size, true, &v), MMIO_OK);
}

static unsigned find_cap(unsigned slot, uint8_t id)
{
	unsigned p = cfgr(slot, PCIR_CAP_PTR, 1), n = 0;

	while (p != 0 && n++ < 48) {
		if (cfgr(slot, p, 1) == id)
			return p;
		p = cfgr(slot, p + 1, 1);
	}
	return 0;
}

/* ---- placement ---- */

static void test_place_largest_first(void **state)
{
	const uint64_t sizes[] = { 0x1000, 0x4000, 0x2000, 0x4000 };
	uint64_t a[4];

	(void)state;
	assert_int_equal(pci_bar_place(sizes, a, 4, 0x10000, 0x20000, "t"), 0);
	assert_int_equal(a[1], 0x10000);
	assert_int_equal(a[3], 0x14000);
	assert_int_equal(a[2], 0x18000);
	assert_int_equal(a[0], 0x1a000);
	/* an unaligned window start is rounded up per BAR */
	assert_int_equal(pci_bar_place(sizes, a, 1, 0x10800, 0x20000, "t"), 0);
	assert_int_equal(a[0], 0x11000);
}

static void test_place_overflow(void **state)
{
	const uint64_t sizes[] = { 0x10000, 0x10000 }, bad[] = { 0x3000 };
	uint64_t a[2];

	(void)state;
	assert_int_equal(pci_bar_place(sizes, a, 2, 0x100000, 0x118000,
	    "32-bit memory"), -1);
	assert_non_null(strstr(last_error(), "32-bit memory window"));
	assert_non_null(strstr(last_error(), "0x10000 bytes"));
	assert_int_equal(pci_bar_place(bad, a, 1, 0, 0x100000, "t"), -1);
	assert_non_null(strstr(last_error(), "power of two"));
	/* a window at the very top of the address space does not wrap */
	assert_int_equal(pci_bar_place(sizes, a, 1, 0xffffffffffff0000ULL,
	    0xffffffffffffffffULL, "t"), -1);
}

static void test_virtio_bars_placed(void **state)
{
	uint64_t b4, b4b;

	(void)state;
	BUILD("0,hostbridge", "4,virtio-rnd", "5,virtio-rnd");
	/* I/O: 32 bytes each from 0x2000 */
	assert_int_equal(cfgr(4, PCIR_BAR(0), 4), 0x2001);
	assert_int_equal(cfgr(5, PCIR_BAR(0), 4), 0x2021);
	/* MSI-X BARs: 8 KiB each from 0xc0000000 */
	assert_int_equal(cfgr(4, PCIR_BAR(1), 4), 0xc0000000);
	assert_int_equal(cfgr(5, PCIR_BAR(1), 4), 0xc0002000);
	/* 64-bit BARs above RAM, in the 32 GiB window */
	b4 = (cfgr(4, PCIR_BAR(4), 4) & ~0xfULL) |
	    (uint64_t)cfgr(4, PCIR_BAR(5), 4) << 32;
	b4b = (cfgr(5, PCIR_BAR(4), 4) & ~0xfULL) |
	    (uint64_t)cfgr(5, PCIR_BAR(5), 4) << 32;
	assert_int_equal(cfgr(4, PCIR_BAR(4), 4) & 0x6, 0x4);
	assert_int_equal(b4, M64);
	assert_int_equal(b4b, M64 + 0x4000);
	assert_int_equal(cfgr(4, PCIR_BAR(2), 4), 0);	/* unused */
	/* nothing decoded before the command register says so */
	assert_null(pio_owner(0x2000));
	assert_int_equal(pci_bar_mapped(pci_find(0, 4, 0), 4), 0);
}

static void test_bar_sizing(void **state)
{
	(void)state;
	BUILD("4,virtio-rnd");
	for (unsigned i = 0; i < 6; i++)
		cfgw(4, PCIR_BAR(i), 4, 0xffffffff);
	assert_int_equal(cfgr(4, PCIR_BAR(0), 4), 0xffffffe1);
	assert_int_equal(cfgr(4, PCIR_BAR(1), 4), 0xffffe000);
	assert_int_equal(cfgr(4, PCIR_BAR(2), 4), 0);
	assert_int_equal(cfgr(4, PCIR_BAR(4), 4), 0xffffc004);
	assert_int_equal(cfgr(4, PCIR_BAR(5), 4), 0xffffffff);
	/* byte writes merge into the register */
	cfgw(4, PCIR_BAR(1), 4, 0xc0000000);
	cfgw(4, PCIR_BAR(1) + 3, 1, 0xd0);
	assert_int_equal(cfgr(4, PCIR_BAR(1), 4), 0xd0000000);
}

static void test_decode_enable_and_move(void **state)
{
	uint64_t v;
	uint32_t pv;

	(void)state;
	BUILD("4,virtio-rnd");
	v = 0;
	assert_int_equal(mmio_dispatch(M64 + 0x12, 2, false, &v), MMIO_UNHANDLED);
	cfgw(4, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	assert_int_equal(mrd(M64 + 0x12, 2), 1);	/* num_queues */
	assert_null(pio_owner(0x2000));			/* I/O still off */
	cfgw(4, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_PORTEN);
	assert_non_null(pio_owner(0x2000));
	assert_int_equal(pio_dispatch(0x2000 + 0x0c, 2, true, &pv), PIO_OK);
	assert_int_equal(pv, 64);			/* legacy queue size */
	/* move the 64-bit BAR while decoded */
	cfgw(4, PCIR_BAR(4), 4, 0x00100000);
	cfgw(4, PCIR_BAR(5), 4, 9);
	assert_int_equal(mmio_dispatch(M64 + 0x12, 2, false, &v), MMIO_UNHANDLED);
	assert_int_equal(mrd((9ULL << 32) + 0x100000 + 0x12, 2), 1);
	assert_int_equal(pci_bar_mapped(pci_find(0, 4, 0), 4),
	    (9ULL << 32) + 0x100000);
	/* and the I/O BAR */
	cfgw(4, PCIR_BAR(0), 4, 0x3000);
	assert_null(pio_owner(0x2000));
	assert_non_null(pio_owner(0x3000));
	/* decoding off: gone */
	cfgw(4, PCIR_COMMAND, 2, 0);
	assert_null(pio_owner(0x3000));
	assert_int_equal(mmio_dispatch((9ULL << 32) + 0x100012, 2, false, &v),
	    MMIO_UNHANDLED);
	/* a BAR put over another range is simply not decoded */
	cfgw(4, PCIR_BAR(0), 4, 0xcf8);
	cfgw(4, PCIR_COMMAND, 2, PCIM_CMD_PORTEN);
	assert_string_equal(pio_owner(0xcf8), "pci-cf8");
	assert_int_equal(pci_bar_mapped(pci_find(0, 4, 0), 0), 0);
}

/* ---- bus tables: changes from inside a handler, concurrency ---- */

static uint64_t where = 0x100000;
static int moving_handler(void *arg, uint64_t gpa, int size, bool write,
    uint64_t *val)
{
	(void)size;
	if (!write) {
		*val = gpa - where;
		return 0;
	}
	/* Move myself: would deadlock with a bus-wide lock. */
	assert_int_equal(mmio_unregister(where), 0);
	where = *val;
	return mmio_register(where, 0x1000, moving_handler, arg, "mover");
}

static void test_move_from_handler(void **state)
{
	uint64_t v = 0;

	(void)state;
	where = 0x100000;
	assert_int_equal(mmio_register(where, 0x1000, moving_handler, NULL,
	    "mover"), 0);
	mwr(0x100000, 4, 0x200000);
	assert_int_equal(mmio_dispatch(0x100010, 4, false, &v), MMIO_UNHANDLED);
	assert_int_equal(mrd(0x200010, 4), 0x10);
	/* the old tables were reclaimed: no reader is inside */
	bus_rcu_reclaim();
	assert_int_equal(bus_rcu_pending(), 0);
	/* a reader inside its section keeps a retired table alive */
	bus_rcu_read_lock();
	assert_int_equal(mmio_register(0x300000, 0x1000, moving_handler, NULL,
	    "x"), 0);
	assert_true(bus_rcu_pending() > 0);
	bus_rcu_read_unlock();
	bus_rcu_reclaim();
	assert_int_equal(bus_rcu_pending(), 0);
}

static int const_handler(void *arg, uint64_t gpa, int size, bool write,
    uint64_t *val)
{
	(void)gpa;
	(void)size;
	if (!write)
		*val = (uintptr_t)arg;
	return 0;
}

static atomic_bool stop_reader;
static atomic_ulong reads_ok, reads_bad;
static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_reader)) {
		uint64_t v = 0;
		enum mmio_result r = mmio_dispatch(0x500000, 4, false, &v);
		if (r == MMIO_OK && v == 0x55)
			atomic_fetch_add(&reads_ok, 1);
		else if (r != MMIO_UNHANDLED)
			atomic_fetch_add(&reads_bad, 1);
	}
	return NULL;
}

static void test_concurrent_dispatch(void **state)
{
	pthread_t t[2];

	(void)state;
	atomic_store(&stop_reader, false);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, reader, NULL);
	for (int i = 0; i < 20000; i++) {
		assert_int_equal(mmio_register(0x500000, 0x1000, const_handler,
		    (void *)0x55, "c"), 0);
		assert_int_equal(mmio_register(0x600000 + 0x1000 * (i & 7),
		    0x1000, const_handler, (void *)0x66, "d"), 0);
		assert_int_equal(mmio_unregister(0x600000 + 0x1000 * (i & 7)), 0);
		assert_int_equal(mmio_unregister(0x500000), 0);
	}
	assert_int_equal(mmio_register(0x500000, 0x1000, const_handler,
	    (void *)0x55, "c"), 0);
	while (atomic_load(&reads_ok) < 1000)
		;
	atomic_store(&stop_reader, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&reads_bad), 0);
	bus_rcu_reclaim();
	assert_int_equal(bus_rcu_pending(), 0);
}

/* ---- MSI-X, MSI, INTx, routes ---- */

static struct irq_msi *route_for(uint64_t addr, uint32_t data)
{
	struct irq_route rt[64];
	unsigned n = irq_routes(rt, 64);

	for (unsigned i = 0; i < n; i++)
		if (rt[i].kind == IRQ_ROUTE_MSI && rt[i].addr == addr &&
		    rt[i].data == data)
			return irq_msi_find(rt[i].gsi);
	return NULL;
}

static void test_msix(void **state)
{
	struct pci_devinst *pi;
	unsigned cap;
	uint64_t tab = 0xc0000000, v = 0;
	struct irq_msi *m;

	(void)state;
	BUILD("4,virtio-rnd");
	pi = pci_find(0, 4, 0);
	cap = find_cap(4, PCIY_MSIX);
	assert_int_not_equal(cap, 0);
	assert_int_equal(cfgr(4, cap + 2, 2), 1);	/* 2 vectors */
	assert_int_equal(cfgr(4, cap + 4, 4), 1);	/* table: BAR 1, 0 */
	assert_int_equal(cfgr(4, cap + 8, 4), 0x1001);	/* PBA: BAR 1, 4K */
	cfgw(4, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	/* every vector starts masked */
	assert_int_equal(mrd(tab + 12, 4), 1);
	assert_int_equal(mrd(tab + 16 + 12, 4), 1);
	/* read-only size bits, enable */
	cfgw(4, cap + 2, 2, 0x8000 | 0x7ff);
	assert_int_equal(cfgr(4, cap + 2, 2), 0x8001);
	assert_true(pci_msix_enabled(pi));
	mwr(tab + 16, 4, 0xfee00000);
	mwr(tab + 16 + 4, 4, 0);
	mwr(tab + 16 + 8, 4, 0x41);
	/* masked: pending bit, no message */
	assert_true(pci_msi_notify(pi, 1));
	assert_int_equal(mrd(tab + 0x1000, 8), 2);
	assert_null(route_for(0xfee00000, 0x41));
	/* PBA is read-only */
	mwr(tab + 0x1000, 8, 0);
	assert_int_equal(mrd(tab + 0x1000, 8), 2);
	/* unmask: delivered, pending cleared, routed */
	mwr(tab + 16 + 12, 4, 0);
	assert_int_equal(mrd(tab + 0x1000, 4), 0);
	m = route_for(0xfee00000, 0x41);
	assert_non_null(m);
	assert_int_equal(atomic_load(&m->fires), 1);
	assert_true(pci_msi_notify(pi, 1));
	assert_int_equal(atomic_load(&m->fires), 2);
	/* function mask */
	cfgw(4, cap + 3, 1, 0xc0);
	assert_true(pci_msi_notify(pi, 1));
	assert_int_equal(atomic_load(&m->fires), 2);
	assert_int_equal(mrd(tab + 0x1000, 4), 2);
	cfgw(4, cap + 3, 1, 0x80);
	assert_int_equal(atomic_load(&m->fires), 3);
	/* reprogramming the entry moves the route */
	mwr(tab + 16 + 12, 4, 1);
	mwr(tab + 16 + 8, 4, 0x42);
	mwr(tab + 16 + 12, 4, 0);
	assert_non_null(route_for(0xfee00000, 0x42));
	assert_null(route_for(0xfee00000, 0x41));
	/* out of range vector, odd accesses */
	assert_false(pci_msi_notify(pi, 2));
	assert_int_equal(mmio_dispatch(tab + 1, 2, false, &v), MMIO_OK);
	assert_int_equal(v, 0);
	/* disabled: not delivered by MSI-X */
	cfgw(4, cap + 3, 1, 0x00);
	assert_false(pci_msi_notify(pi, 1));
}

static void test_msi_and_intx(void **state)
{
	struct pci_devinst *pi;
	unsigned cap;
	struct irq_msi *m;

	(void)state;
	assert_int_equal(config_set("virtio_msix", "false"), 0);
	BUILD("4,virtio-rnd");
	pi = pci_find(0, 4, 0);
	assert_int_equal(find_cap(4, PCIY_MSIX), 0);
	cap = find_cap(4, PCIY_MSI);
	assert_int_not_equal(cap, 0);
	/* 64-bit, per-vector masking, one vector */
	assert_int_equal(cfgr(4, cap + 2, 2), 0x0180);
	/* INTx: pin A, through the swizzle */
	assert_int_equal(cfgr(4, PCIR_INTPIN, 1), 1);
	assert_int_equal(cfgr(4, PCIR_INTLINE, 1), pci_intx_gsi(0, 4, 1));
	assert_int_equal(pci_intx_gsi(0, 4, 1), 20);
	pci_intx_set(pi, true);
	assert_true(cfgr(4, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE);
	pci_intx_set(pi, false);
	assert_false(cfgr(4, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE);
	/* MSI not enabled yet */
	assert_false(pci_msi_notify(pi, 0));
	cfgw(4, cap + 4, 4, 0xfee01003);	/* low bits are reserved */
	assert_int_equal(cfgr(4, cap + 4, 4), 0xfee01000);
	cfgw(4, cap + 8, 4, 0);
	cfgw(4, cap + 0xc, 2, 0x51);
	cfgw(4, cap + 2, 2, 0x0071);	/* enable, asks for 8 vectors */
	assert_int_equal(cfgr(4, cap + 2, 2), 0x0181);	/* MME clamped */
	assert_true(pci_msi_enabled(pi));
	m = route_for(0xfee01000, 0x51);
	assert_non_null(m);
	assert_true(pci_msi_notify(pi, 0));
	assert_int_equal(atomic_load(&m->fires), 1);
	/* masked: pending in config space, delivered on unmask */
	cfgw(4, cap + 0x10, 4, 0xffffffff);
	assert_int_equal(cfgr(4, cap + 0x10, 4), 1);
	assert_true(pci_msi_notify(pi, 0));
	assert_int_equal(atomic_load(&m->fires), 1);
	assert_int_equal(cfgr(4, cap + 0x14, 4), 1);
	cfgw(4, cap + 0x10, 4, 0);
	assert_int_equal(atomic_load(&m->fires), 2);
	assert_int_equal(cfgr(4, cap + 0x14, 4), 0);
	/* function reset */
	pci_dev_reset(pi);
	assert_false(pci_msi_enabled(pi));
	assert_int_equal(cfgr(4, PCIR_COMMAND, 2), 0);
}

static void test_gsi_routes(void **state)
{
	struct irq_route rt[64];
	unsigned n;

	(void)state;
	BUILD("4,virtio-rnd");
	n = irq_routes(rt, 64);
	assert_int_equal(n, 38);	/* no MSI routes before programming */
	/* ISA IRQs on the PIC pair, but not GSI 2 (the cascade pin) */
	for (unsigned g = 0, i = 0; g < 16; g++) {
		if (g == 2)
			continue;
		assert_int_equal(rt[i].gsi, g);
		assert_int_equal(rt[i].kind, g < 8 ? IRQ_ROUTE_PIC_MASTER :
		    IRQ_ROUTE_PIC_SLAVE);
		assert_int_equal(rt[i].pin, g & 7);
		i++;
	}
	/* the IOAPIC: IRQ 0 on pin 2 (the MADT's override), no GSI 2 */
	for (unsigned g = 0, i = 15; g < 24; g++) {
		if (g == 2)
			continue;
		assert_int_equal(rt[i].gsi, g);
		assert_int_equal(rt[i].kind, IRQ_ROUTE_IOAPIC);
		assert_int_equal(rt[i].pin, g == 0 ? 2 : g);
		i++;
	}
	/* two MSI-X vectors programmed: two more routes, GSIs 24.. unique */
	cfgw(4, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	cfgw(4, find_cap(4, PCIY_MSIX) + 3, 1, 0x80);
	for (unsigned i = 0; i < 2; i++) {
		mwr(0xc0000000 + 16 * i, 4, 0xfee00000);
		mwr(0xc0000000 + 16 * i + 8, 4, 0x30 + i);
		mwr(0xc0000000 + 16 * i + 12, 4, 0);
	}
	n = irq_routes(rt, 64);
	assert_int_equal(n, 40);
	assert_true(rt[38].gsi >= IRQ_MSI_GSI_BASE);
	assert_true(rt[39].gsi >= IRQ_MSI_GSI_BASE);
	assert_int_not_equal(rt[38].gsi, rt[39].gsi);
	assert_int_equal(rt[38].kind, IRQ_ROUTE_MSI);
}

/* Two sources on one pin (PCI INTx and an HPET timer on GSI 20): the pin
 * stays high until both let go; a stray release does not underflow. */
static void test_shared_line(void **state)
{
	(void)state;
	assert_false(irq_line_high(20));
	assert_int_equal(irq_set_level(20, true), 0);
	assert_int_equal(irq_set_level(20, true), 0);
	assert_true(irq_line_high(20));
	assert_int_equal(irq_set_level(20, false), 0);
	assert_true(irq_line_high(20));
	assert_int_equal(irq_set_level(20, false), 0);
	assert_false(irq_line_high(20));
	assert_int_equal(irq_set_level(20, false), 0);
	assert_false(irq_line_high(20));
	assert_int_equal(irq_set_level(20, true), 0);
	assert_true(irq_line_high(20));
	assert_int_equal(irq_set_level(20, false), 0);
	assert_int_equal(irq_set_level(24, true), -1);
}

/* The MP table of one vCPU for the devices built; its length. */
static int mp_build(uint8_t *buf, size_t size)
{
	uint32_t ids[1] = { 0 };
	int n = mptable_build(buf, size, 0xf0000, 1, ids, 0, 0);

	assert_true(n > 0);
	return n;
}

/* The table's entries after the floating pointer (16) and the header (44):
 * a processor entry is 20 bytes, every other kind 8. */
#define MP_FOREACH(off, buf, n) \
	for ((off) = 16 + 44; (off) < (unsigned)(n); \
	    (off) += (buf)[off] == 0 ? 20 : 8)

static void test_mptable_pci_intx(void **state)
{
	uint8_t buf[4096];
	int n, found = 0;
	unsigned off;

	(void)state;
	BUILD("0,hostbridge", "4,virtio-rnd", "13,virtio-rnd");
	n = mp_build(buf, sizeof(buf));
	MP_FOREACH(off, buf, n) {
		/* I/O interrupt entry from bus 0 (PCI) */
		if (buf[off] == 3 && buf[off + 4] == 0) {
			unsigned slot = buf[off + 5] >> 2, pin = buf[off + 5] & 3;
			assert_int_equal(pin, 0);
			assert_int_equal(buf[off + 2] & 0xf, 0xf);	/* level, low */
			assert_int_equal(buf[off + 7], pci_intx_gsi(0, slot, 1));
			found |= slot == 4 ? 1 : slot == 13 ? 2 : 4;
		}
	}
	assert_int_equal(found, 3);
}

/* A device on bus 1: the MP table lists PCI buses 0 and 1 (ids = bus
 * numbers), ISA as bus 2, and the device's INTx with source bus 1. */
static void test_mptable_pci_bus1(void **state)
{
	uint8_t buf[4096];
	int n, pci_buses = 0, isa_id = -1, found = 0, isa_ints = 0;
	unsigned off;

	(void)state;
	BUILD("0,hostbridge", "4,virtio-rnd", "1:5:0,virtio-rnd");
	n = mp_build(buf, sizeof(buf));
	MP_FOREACH(off, buf, n) {
		if (buf[off] == 1 && memcmp(buf + off + 2, "PCI   ", 6) == 0) {
			assert_int_equal(buf[off + 1], pci_buses);
			pci_buses++;
		}
		if (buf[off] == 1 && memcmp(buf + off + 2, "ISA   ", 6) == 0)
			isa_id = buf[off + 1];
		if (buf[off] == 3 && buf[off + 4] == 1) {
			assert_int_equal(buf[off + 5] >> 2, 5);
			assert_int_equal(buf[off + 7], pci_intx_gsi(1, 5, 1));
			found++;
		}
		if (buf[off] == 3 && (int)buf[off + 4] == isa_id)
			isa_ints++;
	}
	assert_int_equal(pci_buses, 2);
	assert_int_equal(isa_id, 2);
	assert_int_equal(found, 1);
	assert_int_equal(isa_ints, 16);	/* ExtINT, IRQ 0, 1 and 3-15 */
}

/* ---- virtio transport registers ---- */

#define COMMON(o) (M64 + (o))

static void test_virtio_features_and_status(void **state)
{
	uint32_t lo, hi, pv;

	(void)state;
	BUILD("4,virtio-rnd");
	assert_int_equal(cfgr(4, PCIR_VENDOR, 4), 0x10051af4);
	assert_int_equal(cfgr(4, PCIR_SUBDEV, 2), VIRTIO_ID_RNG);
	assert_int_equal(cfgr(4, PCIR_SUBVEND, 2), 0x1af4);
	assert_int_equal(cfgr(4, PCIR_REVID, 1), 0);
	cfgw(4, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_PORTEN);
	mwr(COMMON(0x00), 4, 0);
	lo = (uint32_t)mrd(COMMON(0x04), 4);
	mwr(COMMON(0x00), 4, 1);
	hi = (uint32_t)mrd(COMMON(0x04), 4);
	assert_true(lo & (1u << VIRTIO_RING_F_EVENT_IDX));
	assert_true(lo & (1u << VIRTIO_RING_F_INDIRECT_DESC));
	assert_int_equal(hi, 1);		/* VERSION_1 */
	/* without VERSION_1, FEATURES_OK does not stick */
	mwr(COMMON(0x14), 1, 1 | 2);
	mwr(COMMON(0x08), 4, 0);
	mwr(COMMON(0x0c), 4, 1u << VIRTIO_RING_F_EVENT_IDX);
	mwr(COMMON(0x14), 1, 1 | 2 | 8);
	assert_int_equal(mrd(COMMON(0x14), 1), 3);
	/* a feature not offered: refused too */
	mwr(COMMON(0x08), 4, 1);
	mwr(COMMON(0x0c), 4, 1 | 2);
	mwr(COMMON(0x14), 1, 1 | 2 | 8);
	assert_int_equal(mrd(COMMON(0x14), 1), 3);
	mwr(COMMON(0x0c), 4, 1);
	mwr(COMMON(0x14), 1, 1 | 2 | 8);
	assert_int_equal(mrd(COMMON(0x14), 1), 0xb);
	/* legacy view: low 32 bits only */
	assert_int_equal(pio_dispatch(0x2000, 4, true, &pv), PIO_OK);
	assert_int_equal(pv, lo);
	/* reset */
	mwr(COMMON(0x14), 1, 0);
	assert_int_equal(mrd(COMMON(0x14), 1), 0);
	mwr(COMMON(0x08), 4, 1);
	assert_int_equal(mrd(COMMON(0x0c), 4), 0);
}

/* The Advanced Features capability: found in the list, FLR advertised;
 * Initiate FLR resets the function (command register, the virtio status,
 * the negotiated features); the capability itself stays read-only. */
static void test_af_flr(void **state)
{
	unsigned p, af = 0, n = 0;

	(void)state;
	BUILD("0,hostbridge", "4,virtio-rnd");
	for (p = cfgr(4, PCIR_CAP_PTR, 1); p != 0 && n < 48;
	    p = cfgr(4, p + 1, 1), n++)
		if (cfgr(4, p, 1) == PCIY_AF)
			af = p;
	assert_int_not_equal(af, 0);
	assert_int_equal(cfgr(4, af + PCIR_AF_LEN, 1), 6);
	assert_int_equal(cfgr(4, af + PCIR_AF_CAP, 1), 3);	/* TP, FLR */
	/* the host bridge has no reset hook: no capability */
	for (p = cfgr(0, PCIR_CAP_PTR, 1), n = 0; p != 0 && n < 48;
	    p = cfgr(0, p + 1, 1), n++)
		assert_int_not_equal(cfgr(0, p, 1), PCIY_AF);

	cfgw(4, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_PORTEN);
	mwr(COMMON(0x14), 1, 1 | 2);
	mwr(COMMON(0x08), 4, 1);
	mwr(COMMON(0x0c), 4, 1);
	assert_int_equal(mrd(COMMON(0x14), 1), 3);
	/* writes elsewhere in the capability change nothing */
	cfgw(4, af + PCIR_AF_CAP, 1, 0);
	cfgw(4, af + PCIR_AF_STATUS, 1, 0xff);
	assert_int_equal(cfgr(4, af + PCIR_AF_CAP, 1), 3);
	assert_int_equal(cfgr(4, af + PCIR_AF_STATUS, 1), 0);
	assert_int_equal(cfgr(4, PCIR_COMMAND, 2),
	    PCIM_CMD_MEMEN | PCIM_CMD_PORTEN);
	/* a control write without the FLR bit: no reset */
	cfgw(4, af + PCIR_AF_CTRL, 1, 0);
	assert_int_equal(pci_find(0, 4, 0)->flrs, 0);
	/* Initiate FLR (as a word write, as Linux's config accessors may) */
	cfgw(4, af + PCIR_AF_CTRL, 2, PCIM_AF_CTRL_FLR);
	assert_int_equal(pci_find(0, 4, 0)->flrs, 1);
	assert_int_equal(cfgr(4, PCIR_COMMAND, 2), 0);
	assert_int_equal(cfgr(4, af + PCIR_AF_CTRL, 1), 0);
	assert_int_equal(pci_bar_mapped(pci_find(0, 4, 0), 4), 0);
	cfgw(4, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_PORTEN);
	assert_int_equal(mrd(COMMON(0x14), 1), 0);	/* status reset */
	mwr(COMMON(0x08), 4, 1);
	assert_int_equal(mrd(COMMON(0x0c), 4), 0);	/* features reset */
}

static void test_virtio_queue_setup(void **state)
{
	uint8_t gen;

	(void)state;
	BUILD("4,virtio-rnd");
	cfgw(4, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	mwr(COMMON(0x14), 1, 1 | 2);
	mwr(COMMON(0x08), 4, 1);
	mwr(COMMON(0x0c), 4, 1);
	mwr(COMMON(0x14), 1, 1 | 2 | 8);
	mwr(COMMON(0x16), 2, 0);
	assert_int_equal(mrd(COMMON(0x18), 2), 64);
	assert_int_equal(mrd(COMMON(0x1e), 2), 0);	/* notify offset */
	/* queue_size: 0 and beyond the maximum are ignored */
	mwr(COMMON(0x18), 2, 128);
	assert_int_equal(mrd(COMMON(0x18), 2), 64);
	mwr(COMMON(0x18), 2, 24);			/* not a power of 2 */
	assert_int_equal(mrd(COMMON(0x18), 2), 64);
	mwr(COMMON(0x18), 2, 16);
	assert_int_equal(mrd(COMMON(0x18), 2), 16);
	/* vector beyond the MSI-X table reads back as NO_VECTOR */
	mwr(COMMON(0x1a), 2, 7);
	assert_int_equal(mrd(COMMON(0x1a), 2), 0xffff);
	mwr(COMMON(0x1a), 2, 1);
	assert_int_equal(mrd(COMMON(0x1a), 2), 1);
	/* a missing queue reads 0 */
	mwr(COMMON(0x16), 2, 5);
	assert_int_equal(mrd(COMMON(0x18), 2), 0);
	mwr(COMMON(0x16), 2, 0);
	/* rings in RAM: enabled; addresses as two halves */
	mwr(COMMON(0x20), 4, 0x1000);
	mwr(COMMON(0x24), 4, 0);
	mwr(COMMON(0x28), 8, 0x2000);
	mwr(COMMON(0x30), 8, 0x3000);
	assert_int_equal(mrd(COMMON(0x28), 4), 0x2000);
	mwr(COMMON(0x1c), 2, 1);
	assert_int_equal(mrd(COMMON(0x1c), 2), 1);
	/* an enabled queue's registers are read-only */
	mwr(COMMON(0x18), 2, 8);
	assert_int_equal(mrd(COMMON(0x18), 2), 16);
	/* a second queue set up outside RAM: NEEDS_RESET, config change */
	mwr(COMMON(0x14), 1, 0);
	mwr(COMMON(0x14), 1, 1 | 2);
	mwr(COMMON(0x08), 4, 1);
	mwr(COMMON(0x0c), 4, 1);
	mwr(COMMON(0x14), 1, 1 | 2 | 8);
	gen = (uint8_t)mrd(COMMON(0x15), 1);
	mwr(COMMON(0x20), 8, 0x7ff00000);
	mwr(COMMON(0x28), 8, 0x2000);
	mwr(COMMON(0x30), 8, 0x3000);
	mwr(COMMON(0x1c), 2, 1);
	assert_int_equal(mrd(COMMON(0x1c), 2), 0);
	assert_true(mrd(COMMON(0x14), 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_not_equal((uint8_t)mrd(COMMON(0x15), 1), gen);
	/* no MSI-X: the ISR says "configuration change", read clears */
	assert_int_equal(mrd(M64 + 0x1000, 1), 2);
	assert_int_equal(mrd(M64 + 0x1000, 1), 0);
	/* the driver cannot clear NEEDS_RESET except by a reset */
	mwr(COMMON(0x14), 1, 0xf);
	assert_true(mrd(COMMON(0x14), 1) & VIRTIO_STATUS_NEEDS_RESET);
	mwr(COMMON(0x14), 1, 0);
	assert_int_equal(mrd(COMMON(0x14), 1), 0);
}

static void test_virtio_legacy_queue(void **state)
{
	uint32_t v;
	uint32_t pfn = 0x10;	/* rings at 64 KiB */

	(void)state;
	BUILD("4,virtio-rnd");
	cfgw(4, PCIR_COMMAND, 2, PCIM_CMD_PORTEN);
	v = 0;
	assert_int_equal(pio_dispatch(0x2000 + 0x0e, 2, false, &v), PIO_OK);
	v = pfn;
	assert_int_equal(pio_dispatch(0x2000 + 0x08, 4, false, &v), PIO_OK);
	assert_int_equal(pio_dispatch(0x2000 + 0x08, 4, true, &v), PIO_OK);
	assert_int_equal(v, pfn);
	/* ISR and status through the legacy header */
	v = 7;
	assert_int_equal(pio_dispatch(0x2000 + 0x12, 1, false, &v), PIO_OK);
	assert_int_equal(pio_dispatch(0x2000 + 0x12, 1, true, &v), PIO_OK);
	assert_int_equal(v, 7);
	assert_int_equal(pio_dispatch(0x2000 + 0x13, 1, true, &v), PIO_OK);
	assert_int_equal(v, 0);
}

/* The virtio capabilities of a cfg_type in slot 4, in list order (at
 * most max of them; their offsets in c); returns how many. */
static unsigned vcaps(uint8_t type, unsigned *c, unsigned max)
{
	unsigned n = 0, p, hops = 0;

	for (p = cfgr(4, PCIR_CAP_PTR, 1); p != 0 && hops++ < 48;
	    p = cfgr(4, p + 1, 1))
		if (cfgr(4, p, 1) == 0x09 && cfgr(4, p + 3, 1) == type) {
			assert_true(n < max);
			c[n++] = p;
		}
	return n;
}

/* The PCI configuration access capability reaches the BARs. */
static void test_virtio_pci_cfg_cap(void **state)
{
	unsigned c;

	(void)state;
	BUILD("4,virtio-rnd");
	assert_int_equal(vcaps(5, &c, 1), 1);
	assert_int_equal(cfgr(4, c + 2, 1), 20);
	/* num_queues in the common configuration of BAR 4, 2 bytes;
	 * works without memory decoding */
	cfgw(4, c + 4, 1, 4);
	cfgw(4, c + 8, 4, 0x12);
	cfgw(4, c + 12, 4, 2);
	assert_int_equal(cfgr(4, c + 4, 1), 4);
	assert_int_equal(cfgr(4, c + 8, 4), 0x12);
	assert_int_equal(cfgr(4, c + 16, 4), 1);
	/* device status written through the window */
	cfgw(4, c + 8, 4, 0x14);
	cfgw(4, c + 12, 4, 1);
	cfgw(4, c + 16, 4, 1);
	assert_int_equal(cfgr(4, c + 16, 4), 1);
	/* legacy BAR 0: queue size */
	cfgw(4, c + 4, 1, 0);
	cfgw(4, c + 8, 4, 0x0c);
	cfgw(4, c + 12, 4, 2);
	assert_int_equal(cfgr(4, c + 16, 4), 64);
	/* a BAR without registers, a bad length, an offset beyond the BAR */
	cfgw(4, c + 4, 1, 2);
	assert_int_equal(cfgr(4, c + 16, 4), 0);
	cfgw(4, c + 4, 1, 4);
	cfgw(4, c + 12, 4, 3);
	assert_int_equal(cfgr(4, c + 16, 4), 0);
	cfgw(4, c + 12, 4, 4);
	cfgw(4, c + 8, 4, 0x4000);
	assert_int_equal(cfgr(4, c + 16, 4), 0);
}


/* By default one notification capability, in the memory BAR. */
static void test_virtio_mem_notify(void **state)
{
	unsigned c[2];

	(void)state;
	BUILD("4,virtio-rnd");
	assert_int_equal(vcaps(2, c, 2), 1);
	assert_int_equal(cfgr(4, c[0] + 4, 1), 4);
	assert_int_equal(cfgr(4, c[0] + 8, 4), 0x3000);
	assert_int_equal(cfgr(4, c[0] + 16, 4), 4);
}

/* virtio.pio_notify=true: two notification capabilities, the legacy
 * notify port first (multiplier 0), then the memory BAR's; a modern
 * driver's queue index written to the port kicks that queue, a bad index
 * nothing, and the port does not make the driver a legacy one
 * (FEATURES_OK still wants VERSION_1). */
static void test_virtio_pio_notify(void **state)
{
	unsigned c[2];
	struct virtio_dev *vd;
	uint64_t cnt = 0;
	uint32_t v;

	(void)state;
	assert_int_equal(config_set("virtio.pio_notify", "true"), 0);
	BUILD("4,virtio-rnd");
	assert_int_equal(vcaps(2, c, 2), 2);
	assert_int_equal(cfgr(4, c[0] + 2, 1), 20);
	assert_int_equal(cfgr(4, c[0] + 4, 1), 0);		/* BAR 0 */
	assert_int_equal(cfgr(4, c[0] + 8, 4), 0x10);
	assert_int_equal(cfgr(4, c[0] + 12, 4), 2);
	assert_int_equal(cfgr(4, c[0] + 16, 4), 0);
	assert_int_equal(cfgr(4, c[1] + 4, 1), 4);		/* BAR 4 */
	assert_int_equal(cfgr(4, c[1] + 8, 4), 0x3000);
	assert_int_equal(cfgr(4, c[1] + 16, 4), 4);

	vd = pci_find(0, 4, 0)->softc;
	cfgw(4, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_PORTEN);
	mwr(COMMON(0x14), 1, 1 | 2);
	v = 1;				/* virtio-rnd has queue 0 only */
	assert_int_equal(pio_dispatch(0x2000 + 0x10, 2, false, &v), PIO_OK);
	assert_int_equal(atomic_load(&vd->slow_kicks), 0);
	assert_int_equal(read(vd->q[0].efd, &cnt, sizeof(cnt)), -1);
	v = 0;
	assert_int_equal(pio_dispatch(0x2000 + 0x10, 2, false, &v), PIO_OK);
	assert_int_equal(atomic_load(&vd->slow_kicks), 1);
	assert_int_equal(read(vd->q[0].efd, &cnt, sizeof(cnt)), 8);
	assert_int_equal(cnt, 1);
	/* still a modern driver: no FEATURES_OK without VERSION_1 */
	mwr(COMMON(0x08), 4, 0);
	mwr(COMMON(0x0c), 4, 1u << VIRTIO_RING_F_EVENT_IDX);
	mwr(COMMON(0x14), 1, 1 | 2 | 8);
	assert_int_equal(mrd(COMMON(0x14), 1), 3);
}

int run_pcidev_tests(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_place_largest_first),
		T(test_place_overflow),
		T(test_virtio_bars_placed),
		T(test_bar_sizing),
		T(test_decode_enable_and_move),
		T(test_move_from_handler),
		T(test_concurrent_dispatch),
		T(test_msix),
		T(test_msi_and_intx),
		T(test_gsi_routes),
		T(test_shared_line),
		T(test_mptable_pci_intx),
		T(test_mptable_pci_bus1),
		T(test_virtio_features_and_status),
		T(test_af_flr),
		T(test_virtio_queue_setup),
		T(test_virtio_legacy_queue),
		T(test_virtio_pci_cfg_cap),
		T(test_virtio_mem_notify),
		T(test_virtio_pio_notify),
#undef T
	};
	return cmocka_run_group_tests_name("pci devices", tests, NULL, NULL);
}
