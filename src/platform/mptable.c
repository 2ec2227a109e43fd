#include "platform/mptable.h"
#include "bus/pci_msi.h"
#include "platform/layout.h"
#include "util.h"
#include "vmm/vm.h"

#include <string.h>

#define MP_ENTRY_PROC		0
#define MP_ENTRY_BUS		1
#define MP_ENTRY_IOAPIC		2
#define MP_ENTRY_IOINT		3
#define MP_ENTRY_LINT		4

#define MP_INT_INT		0
#define MP_INT_NMI		1
#define MP_INT_EXTINT		3

/* MP bus ids: a PCI bus's id is its bus number (Linux looks INTx up by
 * it); the ISA bus takes the id after the highest PCI bus listed. */
#define SCI_IRQ			9

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return (uint8_t)-s;
}

struct cursor {
	uint8_t *buf;
	size_t cap, len;
	unsigned entries;
};

static uint8_t *put(struct cursor *c, size_t n)
{
	uint8_t *p;
	if (c->len + n > c->cap)
		return NULL;
	p = c->buf + c->len;
	memset(p, 0, n);
	c->len += n;
	return p;
}

static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, (uint16_t)v); w16(p + 2, (uint16_t)(v >> 16)); }

static int ioint(struct cursor *c, uint8_t type, uint16_t flags, uint8_t bus,
    uint8_t irq, uint8_t apic, uint8_t pin)
{
	uint8_t *e = put(c, 8);
	if (e == NULL)
		return -1;
	e[0] = MP_ENTRY_IOINT;
	e[1] = type;
	w16(e + 2, flags);
	e[4] = bus;
	e[5] = irq;
	e[6] = apic;
	e[7] = pin;
	c->entries++;
	return 0;
}

struct pci_intx_ctx {
	struct cursor *c;
	uint8_t ioapic_id;
	int err;
};

/* PCI buses to list: bus 0 and every bus with an INTx device, below 255
 * (the ISA bus needs an id after them). */
static void mark_bus(void *arg, unsigned bus, unsigned slot, unsigned pin,
    unsigned gsi)
{
	uint8_t *map = arg;
	(void)slot;
	(void)pin;
	(void)gsi;

	if (bus < 255)
		map[bus / 8] |= (uint8_t)(1u << (bus % 8));
}

static void mp_pci_intx(void *arg, unsigned bus, unsigned slot, unsigned pin,
    unsigned gsi)
{
	struct pci_intx_ctx *pc = arg;

	if (bus >= 255 || pin < 1 || pin > 4 || gsi >= 24)
		return;
	if (ioint(pc->c, MP_INT_INT, 0x0f, (uint8_t)bus,
	    (uint8_t)(slot << 2 | (pin - 1)), pc->ioapic_id, (uint8_t)gsi) != 0)
		pc->err = -1;
}

int mptable_build(uint8_t *buf, size_t cap, uint32_t gpa, unsigned ncpu,
    const uint32_t *apic_ids, uint32_t cpu_signature, uint32_t cpu_features)
{
	struct cursor c = { buf, cap, 0, 0 };
	uint8_t *fp, *hdr, *e;
	uint8_t ioapic_id = (uint8_t)ncpu;
	uint8_t buses[32] = { 1 };	/* bus 0 always */
	uint8_t isa = 0;

	pci_intx_foreach(mark_bus, buses);
	for (unsigned b = 0; b < 255; b++)
		if (buses[b / 8] & (1u << (b % 8)))
			isa = (uint8_t)(b + 1);

	for (unsigned i = 0; i < ncpu; i++)
		if (apic_ids[i] >= ioapic_id)
			ioapic_id = (uint8_t)(apic_ids[i] + 1);
	/* Floating pointer structure */
	fp = put(&c, 16);
	hdr = put(&c, 44);
	if (fp == NULL || hdr == NULL)
		return -1;
	memcpy(fp, "_MP_", 4);
	w32(fp + 4, gpa + 16);		/* configuration table address */
	fp[8] = 1;			/* length in 16-byte units */
	fp[9] = 4;			/* spec revision 1.4 */
	/* Configuration table header */
	memcpy(hdr, "PCMP", 4);
	hdr[6] = 4;
	memcpy(hdr + 8, "BHYVE   ", 8);
	memcpy(hdr + 16, "LINUX-KVM   ", 12);
	w32(hdr + 36, LAPIC_ADDR);
	/* Processors */
	for (unsigned i = 0; i < ncpu; i++) {
		e = put(&c, 20);
		if (e == NULL)
			return -1;
		e[0] = MP_ENTRY_PROC;
		e[1] = (uint8_t)apic_ids[i];
		e[2] = 0x14;			/* local APIC version */
		e[3] = 0x01 | (i == 0 ? 0x02 : 0);	/* enabled, BSP */
		w32(e + 4, cpu_signature);
		w32(e + 8, cpu_features);
		c.entries++;
	}
	/* Buses: the PCI buses in use, then ISA */
	for (unsigned b = 0; b < isa; b++) {
		if (!(buses[b / 8] & (1u << (b % 8))))
			continue;
		e = put(&c, 8);
		if (e == NULL)
			return -1;
		e[0] = MP_ENTRY_BUS;
		e[1] = (uint8_t)b;
		memcpy(e + 2, "PCI   ", 6);
		c.entries++;
	}
	e = put(&c, 8);
	if (e == NULL)
		return -1;
	e[0] = MP_ENTRY_BUS;
	e[1] = isa;
	memcpy(e + 2, "ISA   ", 6);
	c.entries++;
	/* I/O APIC */
	e = put(&c, 8);
	if (e == NULL)
		return -1;
	e[0] = MP_ENTRY_IOAPIC;
	e[1] = ioapic_id;
	e[2] = 0x11;
	e[3] = 0x01;
	w32(e + 4, IOAPIC_ADDR);
	c.entries++;
	/* ISA interrupts: pin 0 is ExtINT, IRQ 0 goes to pin 2, IRQ n to
	 * pin n; the SCI is level-triggered, active low. */
	if (ioint(&c, MP_INT_EXTINT, 0, isa, 0, ioapic_id, 0) != 0 ||
	    ioint(&c, MP_INT_INT, 0, isa, 0, ioapic_id, 2) != 0)
		return -1;
	for (uint8_t irq = 1; irq < 16; irq++) {
		uint16_t flags = 0;
		if (irq == 2)
			continue;
		if (irq == SCI_IRQ)
			flags = 0x0f;	/* level, active low */
		if (ioint(&c, MP_INT_INT, flags, isa, irq, ioapic_id,
		    irq) != 0)
			return -1;
	}
	/* PCI INTx of every listed bus: source IRQ is slot << 2 | (pin - 1),
	 * level-triggered, active low. */
	{
		struct pci_intx_ctx pc = { &c, ioapic_id, 0 };
		pci_intx_foreach(mp_pci_intx, &pc);
		if (pc.err)
			return -1;
	}
	/* Local interrupts: ExtINT on LINT0, NMI on LINT1, every CPU */
	for (int l = 0; l < 2; l++) {
		e = put(&c, 8);
		if (e == NULL)
			return -1;
		e[0] = MP_ENTRY_LINT;
		e[1] = l == 0 ? MP_INT_EXTINT : MP_INT_NMI;
		e[4] = isa;
		e[6] = 0xff;
		e[7] = (uint8_t)l;
		c.entries++;
	}
	w16(hdr + 4, (uint16_t)(c.len - 16));	/* base table length */
	w16(hdr + 34, (uint16_t)c.entries);
	hdr[7] = checksum(hdr, c.len - 16);
	fp[10] = checksum(fp, 16);
	return (int)c.len;
}

int mptable_init(struct vm *vm)
{
	uint8_t buf[MPTABLE_MAX];
	uint32_t ids[VM_MAXCPU];
	int n;

	for (unsigned i = 0; i < vm->topo.cpus; i++) {
		ids[i] = vm->vcpus[i].apic_id;
		if (ids[i] > 254)
			return fail("the MP table cannot describe APIC id %u "
			    "(at most 254): disable it with -Y", ids[i]);
	}
	/* The processor entries carry the vCPUs' own CPUID signature and
	 * feature flags (leaf 1), as built for them in vmm/cpuid.c. */
	n = mptable_build(buf, sizeof(buf), MPTABLE_ADDR, vm->topo.cpus, ids,
	    vm->cpuid1_eax, vm->cpuid1_edx);
	if (n < 0)
		return fail("MP table does not fit in %u bytes (%u vCPUs): "
		    "disable it with -Y", MPTABLE_MAX, vm->topo.cpus);
	if (guest_write(&vm->mem, MPTABLE_ADDR, buf, (uint64_t)n) != 0)
		return fail("guest memory too small for the MP table");
	return 0;
}
