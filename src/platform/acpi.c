/* The ACPI tables (see acpi.h).  Everything is built into one buffer laid
 * out as: RSDP, FACS (64-byte aligned), DSDT, FADT, MADT, HPET, MCFG,
 * SPCR, [SRAT, SLIT], RSDT, XSDT; each table 16-byte aligned, with its
 * checksum.  The DSDT's AML comes from platform/aml.c. */
#include "platform/acpi.h"
#include "platform/hpet.h"
#include "bus/pci.h"
#include "bus/pci_bar.h"
#include "config.h"
#include "platform/aml.h"
#include "platform/layout.h"
#include "util.h"
#include "vmm/mem.h"
#include "vmm/vm.h"

#include <stdbool.h>
#include <string.h>

#define LAPIC_BASE	0xfee00000u
#define IOAPIC_BASE	0xfec00000u
#define RESET_PORT	0xcf9
#define RESET_VALUE	0x06

/* FADT flags */
#define FADT_WBINVD		(1u << 0)
#define FADT_PROC_C1		(1u << 2)
#define FADT_SLP_BUTTON		(1u << 5)	/* no fixed sleep button */
#define FADT_TMR_VAL_EXT	(1u << 8)
#define FADT_RESET_REG_SUP	(1u << 10)
#define FADT_APIC_PHYSICAL	(1u << 19)
/* IA-PC boot architecture flags */
#define BOOT_LEGACY_DEVICES	(1u << 0)
#define BOOT_NO_VGA		(1u << 2)
#define BOOT_NO_ASPM		(1u << 4)

struct out {
	uint8_t *buf;
	size_t cap, len;
	uint32_t gpa;
	bool err;
};

static void w8(uint8_t *p, uint8_t v) { p[0] = v; }
static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, (uint16_t)v); w16(p + 2, (uint16_t)(v >> 16)); }
static void w64(uint8_t *p, uint64_t v) { w32(p, (uint32_t)v); w32(p + 4, (uint32_t)(v >> 32)); }

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Reserve n zeroed bytes aligned to `align`; returns the offset. */
static size_t reserve(struct out *o, size_t n, size_t align)
{
	size_t at = (o->len + align - 1) & ~(align - 1);

	if (o->err || at > o->cap || n > o->cap - at) {
		o->err = true;
		return 0;
	}
	memset(o->buf + o->len, 0, at + n - o->len);
	o->len = at + n;
	return at;
}

static void header(uint8_t *p, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(p, sig, 4);
	w32(p + 4, len);
	w8(p + 8, rev);
	memcpy(p + 10, "BHYVE ", 6);
	memcpy(p + 16, "BV", 2);
	memcpy(p + 18, sig, 4);
	memcpy(p + 22, "  ", 2);
	w32(p + 24, 1);			/* OEM revision */
	memcpy(p + 28, "BHYV", 4);	/* creator */
	w32(p + 32, 1);
}

/* Append a table of `len` bytes; returns its offset (0 on overflow). */
static size_t table(struct out *o, const char *sig, uint32_t len, uint8_t rev)
{
	size_t at = reserve(o, len, 16);

	if (!o->err)
		header(o->buf + at, sig, len, rev);
	return at;
}

static void finish(struct out *o, size_t at)
{
	uint8_t *p;
	uint32_t len;

	if (o->err)
		return;
	p = o->buf + at;
	len = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
	    (uint32_t)p[7] << 24;
	p[9] = 0;
	p[9] = (uint8_t)-sum8(p, len);
}

static uint32_t addr_of(const struct out *o, size_t at)
{
	return o->gpa + (uint32_t)at;
}

/* Generic Address Structure */
static void gas(uint8_t *p, uint8_t space, uint8_t width, uint8_t access,
    uint64_t addr)
{
	w8(p, space);
	w8(p + 1, width);
	w8(p + 2, 0);
	w8(p + 3, access);
	w64(p + 4, addr);
}
#define GAS_MEM		0
#define GAS_IO		1
#define ACC_BYTE	1
#define ACC_WORD	2
#define ACC_DWORD	3

static size_t build_fadt(struct out *o, uint32_t facs, uint32_t dsdt)
{
	size_t at = table(o, "FACP", ACPI_FADT_LEN, 6);
	uint8_t *p;

	if (o->err)
		return 0;
	p = o->buf + at;
	w32(p + 36, 0);		/* FIRMWARE_CTRL: X_FIRMWARE_CTRL is used */
	w32(p + 40, dsdt);
	w8(p + 45, 0);		/* PM profile: unspecified */
	w16(p + 46, SCI_IRQ_LINE);
	w32(p + 48, SMI_CMD_PORT);
	w8(p + 52, ACPI_ENABLE_CMD);
	w8(p + 53, ACPI_DISABLE_CMD);
	w32(p + 56, PM1A_EVT_PORT);
	w32(p + 64, PM1A_CNT_PORT);
	w32(p + 76, PM_TMR_PORT);
	w32(p + 80, GPE0_PORT);
	w8(p + 88, 4);		/* PM1_EVT_LEN */
	w8(p + 89, 2);		/* PM1_CNT_LEN */
	w8(p + 91, 4);		/* PM_TMR_LEN */
	w8(p + 92, 2);		/* GPE0_BLK_LEN: 1 status + 1 enable byte (pm.c) */
	w16(p + 96, 101);	/* P_LVL2_LAT > 100: C2 not supported */
	w16(p + 98, 1001);	/* P_LVL3_LAT > 1000: C3 not supported */
	w8(p + 108, 0x32);	/* RTC century register */
	w16(p + 109, BOOT_LEGACY_DEVICES | BOOT_NO_VGA | BOOT_NO_ASPM);
	w32(p + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON |
	    FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP | FADT_APIC_PHYSICAL);
	gas(p + 116, GAS_IO, 8, ACC_BYTE, RESET_PORT);
	w8(p + 128, RESET_VALUE);
	w8(p + 131, 0);		/* FADT minor version */
	w64(p + 132, facs);
	w64(p + 140, dsdt);
	gas(p + 148, GAS_IO, 32, ACC_WORD, PM1A_EVT_PORT);
	gas(p + 172, GAS_IO, 16, ACC_WORD, PM1A_CNT_PORT);
	gas(p + 208, GAS_IO, 32, ACC_DWORD, PM_TMR_PORT);
	gas(p + 220, GAS_IO, 16, ACC_BYTE, GPE0_PORT);
	memcpy(p + 268, "BHYVE   ", 8);	/* hypervisor vendor identity */
	finish(o, at);
	return at;
}

static size_t build_facs(struct out *o)
{
	size_t at = reserve(o, ACPI_FACS_LEN, 64);
	uint8_t *p;

	if (o->err)
		return 0;
	p = o->buf + at;
	memcpy(p, "FACS", 4);
	w32(p + 4, ACPI_FACS_LEN);
	w8(p + 32, 2);		/* version */
	return at;
}

static unsigned ioapic_id(const struct acpi_info *ai)
{
	unsigned id = ai->ncpu;

	for (unsigned i = 0; i < ai->ncpu; i++)
		if (ai->apic_id[i] < 255 && ai->apic_id[i] >= id)
			id = ai->apic_id[i] + 1;
	return id & 0xff;
}

static size_t build_madt(struct out *o, const struct acpi_info *ai)
{
	uint32_t len = 44;
	bool x2 = false;
	size_t at;
	uint8_t *p;

	for (unsigned i = 0; i < ai->ncpu; i++) {
		bool big = ai->apic_id[i] >= 255;
		len += big ? 16 : 8;
		x2 |= big;
	}
	len += 12 + 10 + 10 + 6 + (x2 ? 12 : 0);
	at = table(o, "APIC", len, 5);
	if (o->err)
		return 0;
	p = o->buf + at;
	w32(p + 36, LAPIC_BASE);
	w32(p + 40, 1);			/* PCAT_COMPAT: dual 8259s present */
	p += 44;
	for (unsigned i = 0; i < ai->ncpu; i++) {
		if (ai->apic_id[i] < 255) {
			p[0] = 0;	/* processor local APIC */
			p[1] = 8;
			p[2] = (uint8_t)i;
			p[3] = (uint8_t)ai->apic_id[i];
			w32(p + 4, 1);	/* enabled */
			p += 8;
		} else {
			p[0] = 9;	/* processor local x2APIC */
			p[1] = 16;
			w32(p + 4, ai->apic_id[i]);
			w32(p + 8, 1);
			w32(p + 12, i);
			p += 16;
		}
	}
	p[0] = 1;			/* I/O APIC */
	p[1] = 12;
	p[2] = (uint8_t)ioapic_id(ai);
	w32(p + 4, IOAPIC_BASE);
	w32(p + 8, 0);			/* GSI base */
	p += 12;
	p[0] = 2;			/* interrupt source override */
	p[1] = 10;
	p[2] = 0;			/* ISA */
	p[3] = 0;			/* IRQ 0 */
	w32(p + 4, 2);			/* -> GSI 2 */
	w16(p + 8, 0);			/* conforms to the bus */
	p += 10;
	p[0] = 2;
	p[1] = 10;
	p[3] = SCI_IRQ_LINE;
	w32(p + 4, SCI_IRQ_LINE);
	w16(p + 8, 0x000f);		/* level, active low */
	p += 10;
	p[0] = 4;			/* local APIC NMI */
	p[1] = 6;
	p[2] = 0xff;			/* all processors */
	w16(p + 3, 0);
	p[5] = 1;			/* LINT1 */
	p += 6;
	if (x2) {
		p[0] = 0x0a;		/* local x2APIC NMI */
		p[1] = 12;
		w16(p + 2, 0);
		w32(p + 4, 0xffffffffu);
		p[8] = 1;
	}
	finish(o, at);
	return at;
}

static size_t build_hpet(struct out *o)
{
	size_t at = table(o, "HPET", 56, 1);
	uint8_t *p;

	if (o->err)
		return 0;
	p = o->buf + at;
	w32(p + 36, hpet_block_id());	/* as the device's capabilities */
	gas(p + 40, GAS_MEM, 64, 0, HPET_BASE);
	w8(p + 52, 0);			/* HPET number */
	w16(p + 53, 0x80);		/* minimum clock tick */
	w8(p + 55, 0);			/* no page protection */
	finish(o, at);
	return at;
}

/* The highest bus with a device (0 when only bus 0 has one): the root
 * bridges decode, and MCFG covers, the buses up to it and no further.  A
 * wider MCFG costs the guest: Linux then probes every bus up to its end
 * bus for peer host bridges, 32 configuration reads through the 0xCF8
 * ports (each a VM exit) for each of 255 empty buses. */
static unsigned last_bus(void)
{
	unsigned last = 0;

	for (unsigned b = 1; b < PCI_MAXBUS; b++)
		if (pci_bus_used(b))
			last = b;
	return last;
}

static size_t build_mcfg(struct out *o)
{
	size_t at = table(o, "MCFG", 60, 1);
	uint8_t *p;

	if (o->err)
		return 0;
	p = o->buf + at;
	w64(p + 44, PCI_ECAM_BASE);
	w16(p + 52, 0);			/* segment */
	w8(p + 54, 0);			/* buses 0 .. */
	w8(p + 55, (uint8_t)last_bus());	/* .. the last in use */
	finish(o, at);
	return at;
}

static size_t build_spcr(struct out *o)
{
	size_t at = table(o, "SPCR", 80, 2);
	uint8_t *p;

	if (o->err)
		return 0;
	p = o->buf + at;
	w8(p + 36, 0);			/* 16550 compatible */
	gas(p + 40, GAS_IO, 8, ACC_BYTE, 0x3f8);
	w8(p + 52, 0x01);		/* PC-AT 8259 IRQ */
	w8(p + 53, 4);			/* IRQ 4 */
	w32(p + 54, 4);			/* GSI 4 */
	w8(p + 58, 7);			/* 115200 baud */
	w8(p + 59, 0);			/* no parity */
	w8(p + 60, 1);			/* 1 stop bit */
	w8(p + 61, 0);			/* no flow control */
	w8(p + 62, 0);			/* VT100 */
	w16(p + 64, 0xffff);		/* not a PCI device */
	w16(p + 66, 0xffff);
	finish(o, at);
	return at;
}

static size_t build_srat(struct out *o, const struct acpi_info *ai)
{
	const struct numa_config *nc = ai->numa;
	struct numa_range r[NUMA_MAX_RANGES];
	int nr = numa_ranges(nc, ai->lowmem, ai->highmem, r, NUMA_MAX_RANGES);
	uint32_t len = 48 + 40 * (uint32_t)nr;
	size_t at;
	uint8_t *p;

	for (unsigned i = 0; i < ai->ncpu; i++)
		len += ai->apic_id[i] >= 255 ? 24 : 16;
	at = table(o, "SRAT", len, 3);
	if (o->err)
		return 0;
	p = o->buf + at;
	w32(p + 36, 1);			/* reserved, 1 for compatibility */
	p += 48;
	for (unsigned i = 0; i < ai->ncpu; i++) {
		unsigned dom = 0;
		for (unsigned d = 0; d < nc->n; d++)
			if (numa_has_cpu(&nc->d[d], i))
				dom = d;
		if (ai->apic_id[i] < 255) {
			p[0] = 0;	/* processor local APIC affinity */
			p[1] = 16;
			p[2] = (uint8_t)dom;
			p[3] = (uint8_t)ai->apic_id[i];
			w32(p + 4, 1);	/* enabled */
			/* proximity domain bits 31:8 stay 0 */
			p += 16;
		} else {
			p[0] = 2;	/* processor x2APIC affinity */
			p[1] = 24;
			w32(p + 4, dom);
			w32(p + 8, ai->apic_id[i]);
			w32(p + 12, 1);
			p += 24;
		}
	}
	for (int i = 0; i < nr; i++) {
		p[0] = 1;		/* memory affinity */
		p[1] = 40;
		w32(p + 2, r[i].domain);
		w64(p + 8, r[i].base);
		w64(p + 16, r[i].size);
		w32(p + 28, 1);		/* enabled */
		p += 40;
	}
	finish(o, at);
	return at;
}

static size_t build_slit(struct out *o, const struct numa_config *nc)
{
	uint32_t n = nc->n;
	size_t at = table(o, "SLIT", 44 + n * n, 1);
	uint8_t *p;

	if (o->err)
		return 0;
	p = o->buf + at;
	w64(p + 36, n);
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++)
			p[44 + i * n + j] = i == j ? 10 : 20;
	finish(o, at);
	return at;
}

static size_t build_dsdt(struct out *o, const struct acpi_info *ai)
{
	struct aml a;
	size_t at = 0;

	aml_init(&a);
	if (acpi_build_dsdt_body(&a, ai) != 0) {
		aml_free(&a);
		o->err = true;
		return 0;
	}
	if (a.len > UINT32_MAX - ACPI_HDR_LEN) {
		o->err = true;
	} else {
		at = table(o, "DSDT", (uint32_t)(ACPI_HDR_LEN + a.len), 2);
		if (!o->err) {
			memcpy(o->buf + at + ACPI_HDR_LEN, a.buf, a.len);
			finish(o, at);
		}
	}
	aml_free(&a);
	return at;
}

int acpi_build(uint8_t *buf, size_t cap, uint32_t gpa,
    const struct acpi_info *ai)
{
	struct out o = { buf, cap, 0, gpa, false };
	size_t rsdp, facs, dsdt, rsdt, xsdt, t[16];
	unsigned nt = 0;
	bool numa = ai->numa != NULL && ai->numa->n > 0;

	if (ai->ncpu == 0 || ai->ncpu > ACPI_MAX_CPUS)
		return fail("ACPI: bad vCPU count %u", ai->ncpu);
	rsdp = reserve(&o, ACPI_RSDP_LEN, 16);
	facs = build_facs(&o);
	dsdt = build_dsdt(&o, ai);
	if (o.err && o.len == 0)
		return -1;
	t[nt++] = build_fadt(&o, addr_of(&o, facs), addr_of(&o, dsdt));
	t[nt++] = build_madt(&o, ai);
	t[nt++] = build_hpet(&o);
	t[nt++] = build_mcfg(&o);
	if (config_get("lpc.com1.path") != NULL)
		t[nt++] = build_spcr(&o);
	if (numa) {
		t[nt++] = build_srat(&o, ai);
		t[nt++] = build_slit(&o, ai->numa);
	}
	rsdt = table(&o, "RSDT", ACPI_HDR_LEN + 4 * nt, 1);
	xsdt = table(&o, "XSDT", ACPI_HDR_LEN + 8 * nt, 1);
	if (o.err)
		return fail("ACPI tables do not fit in %zu bytes", cap);
	for (unsigned i = 0; i < nt; i++) {
		w32(buf + rsdt + ACPI_HDR_LEN + 4 * i, addr_of(&o, t[i]));
		w64(buf + xsdt + ACPI_HDR_LEN + 8 * i, addr_of(&o, t[i]));
	}
	finish(&o, rsdt);
	finish(&o, xsdt);
	memcpy(buf + rsdp, "RSD PTR ", 8);
	memcpy(buf + rsdp + 9, "BHYVE ", 6);
	w8(buf + rsdp + 15, 2);		/* revision: ACPI 2.0+ */
	w32(buf + rsdp + 16, addr_of(&o, rsdt));
	w32(buf + rsdp + 20, ACPI_RSDP_LEN);
	w64(buf + rsdp + 24, addr_of(&o, xsdt));
	buf[rsdp + 8] = (uint8_t)-sum8(buf + rsdp, 20);
	buf[rsdp + 32] = (uint8_t)-sum8(buf + rsdp, ACPI_RSDP_LEN);
	return (int)o.len;
}

/* ---- DSDT ---- */

/* Windows of the buses other than 0 (acpi_add_bus_window), kept sorted
 * by type and start.  Written before the VM runs, by the main thread. */
#define MAX_BUS_WINDOWS 64
static struct bus_window {
	unsigned bus;
	enum acpi_window type;
	uint64_t lo, hi;
} windows[MAX_BUS_WINDOWS];
static unsigned nwindows;

/* The whole I/O, 32-bit or 64-bit BAR window (I/O from 0x0d00: below
 * 0xcf8 bus 0 decodes the legacy ports anyway). */
static void whole(enum acpi_window t, const struct acpi_info *ai,
    uint64_t *lo, uint64_t *hi)
{
	switch (t) {
	case ACPI_WIN_IO:
		*lo = 0x0d00;
		*hi = 0xffff;
		break;
	case ACPI_WIN_MEM32:
		*lo = PCI_MEM32_BASE;
		*hi = PCI_MEM32_LIMIT - 1;
		break;
	default:
		*lo = pci_mem64_base(ai ? ai->highmem : 0);
		*hi = *lo + PCI_MEM64_SIZE - 1;
		break;
	}
}

void acpi_reset_bus_windows(void)
{
	nwindows = 0;
}

int acpi_add_bus_window(unsigned bus, enum acpi_window type, uint64_t lo,
    uint64_t hi)
{
	uint64_t wlo, whi;
	unsigned i;

	whole(type, NULL, &wlo, &whi);
	if (type == ACPI_WIN_MEM64) {
		/* the 64-bit window moves with highmem: check the size only */
		whi = UINT64_MAX;
		wlo = 4ULL << 30;
	}
	if (bus == 0 || bus >= PCI_MAXBUS || lo > hi || lo < wlo || hi > whi)
		return fail("ACPI: bad window 0x%llx-0x%llx for PCI bus %u",
		    (unsigned long long)lo, (unsigned long long)hi, bus);
	for (i = 0; i < nwindows; i++)
		if (windows[i].type == type && lo <= windows[i].hi &&
		    windows[i].lo <= hi)
			return fail("ACPI: window 0x%llx-0x%llx of PCI bus %u "
			    "overlaps one of bus %u", (unsigned long long)lo,
			    (unsigned long long)hi, bus, windows[i].bus);
	if (nwindows == MAX_BUS_WINDOWS)
		return fail("ACPI: too many PCI bus windows");
	for (i = nwindows; i > 0 && (windows[i - 1].type > type ||
	    (windows[i - 1].type == type && windows[i - 1].lo > lo)); i--)
		windows[i] = windows[i - 1];
	windows[i] = (struct bus_window){ bus, type, lo, hi };
	nwindows++;
	return 0;
}

static void res_window(struct aml_res *r, enum acpi_window t, uint64_t lo,
    uint64_t hi)
{
	if (t == ACPI_WIN_IO)
		aml_res_word_io(r, (uint16_t)lo, (uint16_t)hi);
	else if (t == ACPI_WIN_MEM32)
		aml_res_dword_mem(r, (uint32_t)lo, (uint32_t)hi);
	else
		aml_res_qword_mem(r, lo, hi);
}

/* Bus 0: each whole window minus the other buses' windows. */
static void res_bus0_windows(struct aml_res *r, const struct acpi_info *ai)
{
	for (int t = ACPI_WIN_IO; t <= ACPI_WIN_MEM64; t++) {
		uint64_t lo, hi, at;
		whole((enum acpi_window)t, ai, &lo, &hi);
		at = lo;
		for (unsigned i = 0; i < nwindows; i++) {
			const struct bus_window *w = &windows[i];
			if ((int)w->type != t || w->hi < at || w->lo > hi)
				continue;
			if (w->lo > at)
				res_window(r, (enum acpi_window)t, at, w->lo - 1);
			at = w->hi + 1;
			if (w->hi >= hi)
				break;
		}
		if (at != 0 && at <= hi)
			res_window(r, (enum acpi_window)t, at, hi);
	}
}

static void res_bus_windows(struct aml_res *r, unsigned bus)
{
	for (unsigned i = 0; i < nwindows; i++)
		if (windows[i].bus == bus)
			res_window(r, windows[i].type, windows[i].lo,
			    windows[i].hi);
}

static void root_bridge(struct aml *a, const struct acpi_info *ai,
    unsigned bus, unsigned last)
{
	struct aml_res r;
	char name[8];

	snprintf(name, sizeof(name), "PC%02X", bus & 0xffu);	/* bus < 256 */
	aml_device(a, name);
	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_int(a, "_SEG", 0);
	aml_name_int(a, "_UID", bus);
	if (ai->numa != NULL && ai->numa->n > 0)
		aml_name_int(a, "_PXM", 0);	/* host bridges: domain 0 */
	aml_method(a, "_BBN", 0, 0);
	aml_return(a);
	aml_integer(a, bus);
	aml_end(a);

	aml_name(a, "_CRS");
	aml_res_init(&r);
	aml_res_word_bus(&r, (uint16_t)bus, (uint16_t)last);
	if (bus == 0) {
		/* Bus 0 decodes the legacy ports, the configuration ports
		 * and the windows no other bus declared. */
		aml_res_io(&r, 0xcf8, 0xcf8, 1, 8);
		aml_res_word_io(&r, 0x0000, 0x0cf7);
		res_bus0_windows(&r, ai);
	} else {
		res_bus_windows(&r, bus);
	}
	aml_res_end(&r, a);

	/* Static INTx routing: every slot and pin to its IOAPIC pin. */
	aml_name(a, "_PRT");
	aml_package(a, PCI_MAXSLOT * 4);
	for (unsigned s = 0; s < PCI_MAXSLOT; s++)
		for (unsigned pin = 0; pin < 4; pin++) {
			aml_package(a, 4);
			aml_integer(a, (uint64_t)s << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, pci_intx_gsi(bus, s, pin + 1));
			aml_end(a);
		}
	aml_end(a);

	for (unsigned s = 0; s < PCI_MAXSLOT; s++)
		for (unsigned f = 0; f < PCI_MAXFUNC; f++) {
			struct pci_devinst *pi = pci_find(bus, s, f);
			if (pi != NULL && pi->emu->write_dsdt != NULL)
				pi->emu->write_dsdt(pi, a);
		}
	aml_end(a);
}

int acpi_build_dsdt_body(struct aml *a, const struct acpi_info *ai)
{
	struct aml_res r;
	unsigned bus = 0, last = last_bus();

	aml_scope(a, "\\_SB");
	/* One root bridge per bus in use (bus 0 always), each decoding the
	 * bus numbers up to the next one, the last only its own. */
	while (bus <= last) {
		unsigned next = bus + 1;
		while (next <= last && !pci_bus_used(next))
			next++;
		root_bridge(a, ai, bus, next - 1);
		bus = next;
	}

	aml_device(a, "HPET");
	aml_name_eisaid(a, "_HID", "PNP0103");
	aml_name_int(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_res_init(&r);
	aml_res_mem32_fixed(&r, 0, (uint32_t)HPET_BASE, HPET_SIZE);
	aml_res_end(&r, a);
	aml_end(a);

	/* Motherboard resources: the ECAM window MCFG describes. */
	aml_device(a, "MRES");
	aml_name_eisaid(a, "_HID", "PNP0C02");
	aml_name_int(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_res_init(&r);
	aml_res_mem32_fixed(&r, 0, (uint32_t)PCI_ECAM_BASE,
	    (uint32_t)PCI_ECAM_SIZE);
	aml_res_end(&r, a);
	aml_end(a);
	aml_end(a);	/* \_SB */

	/* S5 (soft off): SLP_TYP 5 for PM1a and PM1b. */
	aml_name(a, "\\_S5");
	aml_package(a, 4);
	aml_integer(a, 5);
	aml_integer(a, 5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);
	return aml_finish(a);
}

int acpi_init(struct vm *vm, const struct numa_config *numa)
{
	static struct acpi_info ai;
	size_t cap = ACPI_TABLES_END - ACPI_RSDP_ADDR;
	uint8_t *p = guest_ptr(&vm->mem, ACPI_RSDP_ADDR, cap);

	if (p == NULL)
		return fail("guest memory too small for the ACPI tables");
	memset(&ai, 0, sizeof(ai));
	ai.ncpu = vm->topo.cpus;
	for (unsigned i = 0; i < ai.ncpu && i < ACPI_MAX_CPUS; i++)
		ai.apic_id[i] = vm->vcpus[i].apic_id;
	ai.lowmem = vm->mem.lowmem;
	ai.highmem = vm->mem.highmem;
	ai.numa = numa;
	/* Buses other than 0 claim the ranges their BARs were placed in. */
	acpi_reset_bus_windows();
	for (unsigned b = 1; b < PCI_MAXBUS; b++) {
		static const struct {
			enum pci_bar_type bar;
			enum acpi_window win;
		} kinds[] = {
			{ PCIBAR_IO, ACPI_WIN_IO },
			{ PCIBAR_MEM32, ACPI_WIN_MEM32 },
			{ PCIBAR_MEM64, ACPI_WIN_MEM64 },
		};
		uint64_t lo, hi;

		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
			if (pci_bus_window(b, kinds[k].bar, &lo, &hi) &&
			    acpi_add_bus_window(b, kinds[k].win, lo, hi) != 0)
				return fail_prefix("ACPI tables");
	}
	if (acpi_build(p, cap, ACPI_RSDP_ADDR, &ai) < 0)
		return fail_prefix("ACPI tables");
	return 0;
}
