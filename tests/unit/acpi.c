/* ACPI tables and the AML builder: src/platform/acpi.c, aml.c, numa.c.
 * Every table is parsed back; the DSDT is decompiled by iasl -d (acpica-
 * tools), the only place iasl is ever run. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus/pci.h"
#include "config.h"
#include "devices/lpc.h"
#include "options.h"
#include "platform/acpi.h"
#include "platform/hpet.h"
#include "platform/aml.h"
#include "platform/layout.h"
#include "platform/numa.h"
#include "vmm/vm.h"

#define GPA ACPI_RSDP_ADDR
static uint8_t buf[ACPI_TABLES_END - ACPI_RSDP_ADDR];

static int setup(void **state)
{
	(void)state;
	unit_reset_globals();
	acpi_reset_bus_windows();
	memset(buf, 0, sizeof(buf));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lpc_fini();
	unit_reset_globals();
	acpi_reset_bus_windows();
	return 0;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* Guest address -> table in buf, checked to lie inside it. */
static const uint8_t *at(uint64_t gpa, size_t len)
{
	assert_true(gpa >= GPA);
	assert_true(gpa - GPA + len <= sizeof(buf));
	return buf + (gpa - GPA);
}

/* A table by signature through the XSDT, with length and checksum
 * checked (and the RSDT pointing at the same table). NULL if absent. */
static const uint8_t *find(const char *sig)
{
	const uint8_t *rsdp = buf, *xsdt, *rsdt, *t, *found = NULL;
	unsigned n;

	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, ACPI_RSDP_LEN), 0);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(rd32(rsdp + 20), ACPI_RSDP_LEN);
	xsdt = at(rd64(rsdp + 24), ACPI_HDR_LEN);
	rsdt = at(rd32(rsdp + 16), ACPI_HDR_LEN);
	assert_memory_equal(xsdt, "XSDT", 4);
	assert_memory_equal(rsdt, "RSDT", 4);
	assert_int_equal(sum(xsdt, rd32(xsdt + 4)), 0);
	assert_int_equal(sum(rsdt, rd32(rsdt + 4)), 0);
	n = (rd32(xsdt + 4) - ACPI_HDR_LEN) / 8;
	assert_int_equal((rd32(rsdt + 4) - ACPI_HDR_LEN) / 4, n);
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = rd64(xsdt + ACPI_HDR_LEN + 8 * i);
		assert_int_equal(rd32(rsdt + ACPI_HDR_LEN + 4 * i), a);
		t = at(a, ACPI_HDR_LEN);
		at(a, rd32(t + 4));
		assert_int_equal(sum(t, rd32(t + 4)), 0);
		assert_int_equal(a % 16, 0);
		if (memcmp(t, sig, 4) == 0)
			found = t;
	}
	return found;
}

static struct acpi_info info(unsigned ncpu, uint64_t lowmem, uint64_t highmem)
{
	struct acpi_info ai;
	memset(&ai, 0, sizeof(ai));
	ai.ncpu = ncpu;
	for (unsigned i = 0; i < ncpu; i++)
		ai.apic_id[i] = i;
	ai.lowmem = lowmem;
	ai.highmem = highmem;
	return ai;
}

static void build(const struct acpi_info *ai)
{
	int n = acpi_build(buf, sizeof(buf), GPA, ai);
	if (n < 0)
		fail_msg("acpi_build: %s", last_error());
	assert_true((size_t)n <= sizeof(buf));
}

static void check_gas(const uint8_t *g, uint8_t space, uint8_t width,
    uint64_t addr)
{
	assert_int_equal(g[0], space);
	assert_int_equal(g[1], width);
	assert_int_equal(rd64(g + 4), addr);
}

static void test_fadt_facs_dsdt(void **state)
{
	struct acpi_info ai = info(2, 256 << 20, 0);
	const uint8_t *f, *facs, *dsdt;
	uint32_t flags;

	(void)state;
	build(&ai);
	f = find("FACP");
	assert_non_null(f);
	assert_int_equal(rd32(f + 4), ACPI_FADT_LEN);
	assert_int_equal(f[8], 6);
	assert_int_equal(rd16(f + 46), SCI_IRQ_LINE);
	assert_int_equal(rd32(f + 48), SMI_CMD_PORT);
	assert_int_equal(f[52], ACPI_ENABLE_CMD);
	assert_int_equal(f[53], ACPI_DISABLE_CMD);
	assert_int_equal(rd32(f + 56), PM1A_EVT_PORT);
	assert_int_equal(rd32(f + 64), PM1A_CNT_PORT);
	assert_int_equal(rd32(f + 76), PM_TMR_PORT);
	assert_int_equal(rd32(f + 80), GPE0_PORT);
	assert_int_equal(f[88], 4);
	assert_int_equal(f[89], 2);
	assert_int_equal(f[91], 4);
	assert_int_equal(f[92], 2);	/* GPE0: status 0x40C, enable 0x40D */
	flags = rd32(f + 112);
	assert_true(flags & (1u << 8));		/* TMR_VAL_EXT */
	assert_true(flags & (1u << 10));	/* RESET_REG_SUP */
	assert_false(flags & (1u << 4));	/* fixed power button */
	assert_true(flags & (1u << 5));		/* no sleep button */
	check_gas(f + 116, 1, 8, 0xcf9);
	assert_int_equal(f[128], 0x06);
	check_gas(f + 148, 1, 32, PM1A_EVT_PORT);
	check_gas(f + 172, 1, 16, PM1A_CNT_PORT);
	check_gas(f + 208, 1, 32, PM_TMR_PORT);
	check_gas(f + 220, 1, 16, GPE0_PORT);
	/* FACS through X_FIRMWARE_CTRL, DSDT through both pointers */
	facs = at(rd64(f + 132), ACPI_FACS_LEN);
	assert_int_equal(rd64(f + 132) % 64, 0);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(rd32(facs + 4), ACPI_FACS_LEN);
	assert_int_equal(rd32(f + 40), rd64(f + 140));
	dsdt = at(rd64(f + 140), ACPI_HDR_LEN);
	assert_memory_equal(dsdt, "DSDT", 4);
	assert_int_equal(dsdt[8], 2);
	at(rd64(f + 140), rd32(dsdt + 4));
	assert_int_equal(sum(dsdt, rd32(dsdt + 4)), 0);
	/* Fixed-size tables */
	f = find("HPET");
	assert_non_null(f);
	assert_int_equal(rd32(f + 4), 56);
	check_gas(f + 40, 0, 64, HPET_BASE);
	/* the block ID is the device's: vendor 8086, 8 timers, legacy route */
	assert_int_equal(rd32(f + 36), hpet_block_id());
	assert_int_equal(rd32(f + 36) >> 16, 0x8086);
	assert_int_equal(((rd32(f + 36) >> 8) & 0x1f) + 1, HPET_TIMERS);
	assert_true(rd32(f + 36) & (1u << 15));
	f = find("MCFG");
	assert_non_null(f);
	assert_int_equal(rd32(f + 4), 60);
	assert_int_equal(rd64(f + 44), PCI_ECAM_BASE);
	assert_int_equal(rd16(f + 52), 0);
	assert_int_equal(f[54], 0);
	assert_int_equal(f[55], 0);	/* only bus 0 has devices */
	/* no COM1 configured: no SPCR; no domains: no SRAT/SLIT */
	assert_null(find("SPCR"));
	assert_null(find("SRAT"));
	assert_null(find("SLIT"));
}

static void test_spcr(void **state)
{
	struct acpi_info ai = info(1, 256 << 20, 0);
	const uint8_t *s;

	(void)state;
	assert_int_equal(config_set("lpc.com1.path", "stdio"), 0);
	build(&ai);
	s = find("SPCR");
	assert_non_null(s);
	assert_int_equal(rd32(s + 4), 80);
	assert_int_equal(s[36], 0);
	check_gas(s + 40, 1, 8, 0x3f8);
	assert_int_equal(s[53], 4);
	assert_int_equal(rd32(s + 54), 4);
	assert_int_equal(s[58], 7);
}

struct madt_counts {
	unsigned lapic, x2apic, ioapic, iso, nmi, x2nmi;
	uint32_t ids[8];
};

static struct madt_counts walk_madt(const uint8_t *m)
{
	struct madt_counts c;
	const uint8_t *p = m + 44, *end = m + rd32(m + 4);

	memset(&c, 0, sizeof(c));
	assert_int_equal(rd32(m + 36), 0xfee00000);
	while (p < end) {
		assert_true(p[1] >= 2 && p + p[1] <= end);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[1], 8);
			assert_int_equal(rd32(p + 4), 1);
			c.ids[c.lapic + c.x2apic] = p[3];
			assert_int_equal(p[2], c.lapic + c.x2apic);
			c.lapic++;
			break;
		case 9:
			assert_int_equal(p[1], 16);
			c.ids[c.lapic + c.x2apic] = rd32(p + 4);
			assert_int_equal(rd32(p + 12), c.lapic + c.x2apic);
			c.x2apic++;
			break;
		case 1:
			assert_int_equal(p[1], 12);
			assert_int_equal(rd32(p + 4), 0xfec00000);
			assert_int_equal(rd32(p + 8), 0);
			c.ioapic++;
			break;
		case 2:
			assert_int_equal(p[1], 10);
			if (p[3] == 0) {
				assert_int_equal(rd32(p + 4), 2);
			} else {
				assert_int_equal(p[3], 9);
				assert_int_equal(rd32(p + 4), 9);
				assert_int_equal(rd16(p + 8), 0x000f);
			}
			c.iso++;
			break;
		case 4:
			assert_int_equal(p[1], 6);
			assert_int_equal(p[2], 0xff);
			assert_int_equal(p[5], 1);
			c.nmi++;
			break;
		case 0x0a:
			assert_int_equal(p[1], 12);
			assert_int_equal(p[8], 1);
			c.x2nmi++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", p[0]);
		}
		p += p[1];
	}
	assert_ptr_equal(p, end);
	return c;
}

static void test_madt(void **state)
{
	struct acpi_info ai = info(4, 512 << 20, 0);
	struct madt_counts c;
	const uint8_t *m;

	(void)state;
	ai.apic_id[3] = 6;	/* a topology with a gap */
	build(&ai);
	m = find("APIC");
	assert_non_null(m);
	c = walk_madt(m);
	assert_int_equal(c.lapic, 4);
	assert_int_equal(c.x2apic, 0);
	assert_int_equal(c.ioapic, 1);
	assert_int_equal(c.iso, 2);
	assert_int_equal(c.nmi, 1);
	assert_int_equal(c.x2nmi, 0);
	assert_int_equal(c.ids[2], 2);
	assert_int_equal(c.ids[3], 6);
}

static void test_madt_x2apic(void **state)
{
	struct acpi_info ai = info(3, 512 << 20, 0);
	struct madt_counts c;

	(void)state;
	ai.apic_id[1] = 255;
	ai.apic_id[2] = 300;
	build(&ai);
	c = walk_madt(find("APIC"));
	assert_int_equal(c.lapic, 1);
	assert_int_equal(c.x2apic, 2);
	assert_int_equal(c.ids[1], 255);
	assert_int_equal(c.ids[2], 300);
	assert_int_equal(c.x2nmi, 1);
}

/* Two domains of 2 GiB in a 4 GiB guest: domain 1 spans the PCI hole. */
static void test_srat_slit(void **state)
{
	struct acpi_info ai = info(4, 3ULL << 30, 1ULL << 30);
	struct numa_config nc = { 2, { { 2ULL << 30, { 0x5 } },
	    { 2ULL << 30, { 0xa } } } };
	const uint8_t *s, *p, *end;
	unsigned mem = 0, cpu = 0, cpu_dom[4];
	uint64_t base[4], len[4];
	unsigned dom[4];

	(void)state;
	ai.numa = &nc;
	build(&ai);
	s = find("SRAT");
	assert_non_null(s);
	assert_int_equal(s[8], 3);
	p = s + 48;
	end = s + rd32(s + 4);
	while (p < end) {
		assert_true(p[1] > 0 && p + p[1] <= end);
		if (p[0] == 0) {
			assert_int_equal(p[1], 16);
			assert_int_equal(rd32(p + 4) & 1, 1);
			assert_int_equal(p[3], cpu);
			cpu_dom[cpu++] = p[2];
		} else if (p[0] == 1) {
			assert_int_equal(p[1], 40);
			assert_int_equal(rd32(p + 28) & 1, 1);
			dom[mem] = rd32(p + 2);
			base[mem] = rd64(p + 8);
			len[mem++] = rd64(p + 16);
		} else {
			fail_msg("unexpected SRAT entry %u", p[0]);
		}
		p += p[1];
	}
	assert_int_equal(cpu, 4);
	assert_int_equal(cpu_dom[0], 0);
	assert_int_equal(cpu_dom[1], 1);
	assert_int_equal(cpu_dom[2], 0);
	assert_int_equal(cpu_dom[3], 1);
	assert_int_equal(mem, 3);
	assert_int_equal(dom[0], 0);
	assert_int_equal(base[0], 0);
	assert_int_equal(len[0], 2ULL << 30);
	assert_int_equal(dom[1], 1);
	assert_int_equal(base[1], 2ULL << 30);
	assert_int_equal(len[1], 1ULL << 30);
	assert_int_equal(dom[2], 1);
	assert_int_equal(base[2], 4ULL << 30);
	assert_int_equal(len[2], 1ULL << 30);

	s = find("SLIT");
	assert_non_null(s);
	assert_int_equal(rd32(s + 4), 44 + 4);
	assert_int_equal(rd64(s + 36), 2);
	assert_int_equal(s[44], 10);
	assert_int_equal(s[45], 20);
	assert_int_equal(s[46], 20);
	assert_int_equal(s[47], 10);
}

static void test_numa_ranges(void **state)
{
	struct numa_config nc = { 3, { { 1ULL << 30, { 1 } },
	    { 3ULL << 30, { 2 } }, { 512ULL << 20, { 4 } } } };
	struct numa_range r[NUMA_MAX_RANGES];
	int n;

	(void)state;
	n = numa_ranges(&nc, 3ULL << 30, (1ULL << 30) + (512ULL << 20), r,
	    NUMA_MAX_RANGES);
	assert_int_equal(n, 4);
	assert_int_equal(r[0].domain, 0);
	assert_int_equal(r[0].size, 1ULL << 30);
	assert_int_equal(r[1].domain, 1);
	assert_int_equal(r[1].base, 1ULL << 30);
	assert_int_equal(r[1].size, 2ULL << 30);
	assert_int_equal(r[2].domain, 1);
	assert_int_equal(r[2].base, 4ULL << 30);
	assert_int_equal(r[2].size, 1ULL << 30);
	assert_int_equal(r[3].domain, 2);
	assert_int_equal(r[3].base, 5ULL << 30);
	assert_int_equal(r[3].size, 512ULL << 20);
}

/* numa_read on a tree given as -n options (and -o assignments). */
static int numa_from(const char *const *opts, size_t n, uint64_t mem,
    unsigned ncpu, struct numa_config *nc)
{
	for (size_t i = 0; i < n; i++) {
		int r = strncmp(opts[i], "-o ", 3) == 0 ?
		    config_parse_assignment(opts[i] + 3) :
		    numa_parse_option(opts[i]);
		if (r != 0)
			return -2;	/* option error */
	}
	assert_int_equal(config_freeze(), 0);
	return numa_read(nc, mem, ncpu);
}
#define NUMA(mem, ncpu, nc, ...) ({ \
	static const char *const _o[] = { __VA_ARGS__ }; \
	unit_reset_globals(); \
	numa_from(_o, ARRAY_SIZE(_o), mem, ncpu, nc); })

static void test_numa_read(void **state)
{
	struct numa_config nc;
	const uint64_t G = 1ULL << 30;

	(void)state;
	assert_int_equal(NUMA(G, 2, &nc, "id=0,size=512M,cpus=0",
	    "id=1,size=512M,cpus=1"), 0);
	assert_int_equal(nc.n, 2);
	assert_int_equal(nc.d[0].size, G / 2);
	assert_int_equal(nc.d[1].cpus[0], 2);
	/* cpus lists with commas and ranges */
	assert_int_equal(NUMA(G, 4, &nc, "id=0,cpus=0,2,size=256M",
	    "id=1,size=768M,cpus=1-1", "-o domains.1.cpus=1,3"), 0);
	assert_int_equal(nc.d[0].cpus[0], 0x5);
	assert_int_equal(nc.d[1].cpus[0], 0xa);
	/* no sizes: split evenly */
	assert_int_equal(NUMA(G, 2, &nc, "id=0,cpus=0", "id=1,cpus=1"), 0);
	assert_int_equal(nc.d[0].size + nc.d[1].size, G);
	assert_int_equal(nc.d[0].size, G / 2);
	/* none configured */
	assert_int_equal(NUMA(G, 2, &nc, "-o x=1"), 0);
	assert_int_equal(nc.n, 0);

	/* build-time errors, each naming the value */
	assert_int_equal(NUMA(G, 2, &nc, "id=0,size=512M,cpus=0",
	    "id=1,size=256M,cpus=1"), -1);
	assert_non_null(strstr(last_error(), "768 MiB"));
	assert_int_equal(NUMA(G, 2, &nc, "id=0,size=1G,cpus=0-2"), -1);
	assert_non_null(strstr(last_error(), "vCPU 2"));
	assert_int_equal(NUMA(G, 2, &nc, "id=0,size=512M,cpus=0-1",
	    "id=1,size=512M,cpus=1"), -1);
	assert_non_null(strstr(last_error(), "another NUMA domain"));
	assert_int_equal(NUMA(G, 2, &nc, "id=0,size=512M,cpus=0",
	    "id=2,size=512M,cpus=1"), -1);
	assert_non_null(strstr(last_error(), "domain 1 is missing"));
	assert_int_equal(NUMA(G, 2, &nc, "id=0,size=1G,cpus=0"), -1);
	assert_non_null(strstr(last_error(), "vCPU 1 is in no"));
	assert_int_equal(NUMA(G, 1, &nc, "id=0,size=1G"), -1);
	assert_non_null(strstr(last_error(), "no vCPUs"));
	assert_int_equal(NUMA(G, 1, &nc, "-o domains.0.size=1G",
	    "-o domains.0.cpus=0", "-o domains.9.cpus=0"), -1);
	assert_non_null(strstr(last_error(), "domains.9"));
	assert_int_equal(NUMA(G, 1, &nc, "-o domains.0.size=1Q",
	    "-o domains.0.cpus=0"), -1);
	assert_non_null(strstr(last_error(), "'1Q'"));
	assert_int_equal(NUMA(G, 1, &nc, "id=0,cpus=0,domain_policy=rr:0"),
	    -1);
	assert_non_null(strstr(last_error(), "domain_policy"));

	/* option errors */
	assert_int_equal(NUMA(G, 2, &nc, "size=1G,cpus=0"), -2);
	assert_non_null(strstr(last_error(), "missing NUMA domain ID"));
	assert_int_equal(NUMA(G, 2, &nc, "id=0,bogus=1"), -2);
	assert_non_null(strstr(last_error(), "'bogus=1'"));
	assert_int_equal(NUMA(G, 2, &nc, "id=8,cpus=0"), -2);
	assert_non_null(strstr(last_error(), "id 8"));
	assert_int_equal(NUMA(G, 2, &nc, "id=x"), -2);
	assert_non_null(strstr(last_error(), "'x'"));
	assert_int_equal(NUMA(G, 2, &nc, "id=0,size=12Z"), -2);
	assert_non_null(strstr(last_error(), "'12Z'"));
	assert_int_equal(NUMA(G, 2, &nc, "id=0,cpus=a"), -2);
	assert_non_null(strstr(last_error(), "'a'"));
	assert_int_equal(NUMA(G, 2, &nc, "id=0,cpus=0", "id=0,cpus=1"), -2);
	assert_non_null(strstr(last_error(), "twice"));
}

/* ---- AML ---- */

static void test_aml_pkglen(void **state)
{
	static const size_t bodies[] = { 0, 10, 58, 59, 62, 63, 100, 4000,
	    4090, 4093, 5000, 70000, 1048570 };
	uint8_t *filler = calloc(1, 1 << 21);

	(void)state;
	assert_non_null(filler);
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		struct aml a;
		unsigned used;
		long v;

		aml_init(&a);
		aml_scope(&a, "\\");	/* Scope + PkgLength + root name */
		aml_bytes(&a, filler, bodies[i]);
		aml_end(&a);
		assert_int_equal(aml_finish(&a), 0);
		assert_int_equal(a.buf[0], AML_SCOPE);
		v = aml_pkglen_decode(a.buf + 1, a.len - 1, &used);
		/* PkgLength counts itself and everything after it */
		assert_int_equal(v, (long)(a.len - 1));
		assert_int_equal(a.buf[1 + used], AML_ROOT);
		assert_int_equal(a.buf[1 + used + 1], 0);
		assert_int_equal(used, bodies[i] + 2 + 1 <= 63 ? 1 :
		    bodies[i] + 2 + 2 <= 4095 ? 2 :
		    bodies[i] + 2 + 3 <= 0xfffff ? 3 : 4);
		aml_free(&a);
	}
	free(filler);
}

static void test_aml_encoding(void **state)
{
	static const uint8_t want[] = {
		AML_NAME, '_', 'H', 'I', 'D', AML_DWORD, 0x41, 0xd0, 0x0a, 0x08,
		AML_NAME, AML_ROOT, AML_DUAL_NAME, '_', 'S', 'B', '_',
		    'P', 'C', '0', '0', AML_BYTE, 0x20,
		AML_NAME, AML_MULTI_NAME, 3, 'A', '_', '_', '_', 'B', '_', '_',
		    '_', 'C', '1', '_', '_', AML_WORD, 0x34, 0x12,
		AML_NAME, 'X', '_', '_', '_', AML_QWORD, 1, 0, 0, 0, 1, 0, 0, 0,
		AML_NAME, '^', 'S', 'T', 'R', '_', AML_STRING, 'h', 'i', 0,
		AML_NAME, 'O', 'N', 'E', '_', AML_ONE,
	};
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_name_eisaid(&a, "_HID", "PNP0A08");
	aml_name_int(&a, "\\_SB.PC00", 0x20);
	aml_name_int(&a, "A.B.C1", 0x1234);
	aml_name_int(&a, "X", 0x100000001ULL);
	aml_name_str(&a, "^STR", "hi");
	aml_name_int(&a, "ONE", 1);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.buf, want, sizeof(want));
	aml_free(&a);
	/* bad names and unbalanced constructs are reported */
	aml_init(&a);
	aml_name_int(&a, "toolong", 1);
	assert_int_equal(aml_finish(&a), -1);
	aml_free(&a);
	aml_init(&a);
	aml_device(&a, "DEV");
	assert_int_equal(aml_finish(&a), -1);
	aml_free(&a);
	aml_init(&a);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), -1);
	aml_free(&a);
}

/* ---- the DSDT through iasl -d ---- */

static char *run_iasl(const uint8_t *dsdt, size_t len)
{
	char dir[] = "/tmp/bhyve-acpi-XXXXXX", path[64], cmd[256];
	FILE *f;
	char *text;
	long n;
	int st;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dsdt.aml", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(dsdt, 1, len, f), len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.aml >iasl.log 2>&1",
	    dir);
	st = system(cmd);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(cmd, sizeof(cmd), "cat %s/iasl.log >&2", dir);
		if (system(cmd) != 0) {
			/* log only */
		}
		fail_msg("iasl -d failed (status %d)", st);
	}
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (getenv("BHYVE_KEEP_DSL")) {
		fprintf(stderr, "DSL kept in %s\n", dir);
		return text;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0) {
		/* leftovers in /tmp only */
	}
	return text;
}

static unsigned count(const char *text, const char *s)
{
	unsigned n = 0;
	for (const char *p = text; (p = strstr(p, s)) != NULL; p++)
		n++;
	return n;
}

static void test_dsdt_iasl(void **state)
{
	static struct vm vm;
	struct acpi_info ai = info(2, 1ULL << 30, 0);
	const uint8_t *f, *dsdt;
	char *text;

	(void)state;
	if (system("iasl -v >/dev/null 2>&1") != 0)
		skip();
	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = vm.kvm_fd = -1;	/* no KVM: pci_init skips interrupts */
	assert_int_equal(pci_parse_slot("0,hostbridge"), 0);
	assert_int_equal(pci_parse_slot("31,lpc"), 0);
	assert_int_equal(pci_parse_slot("1:0:0,hostbridge"), 0);
	assert_int_equal(config_freeze(), 0);
	assert_int_equal(pci_init(&vm), 0);
	build(&ai);
	f = find("FACP");
	dsdt = at(rd64(f + 140), ACPI_HDR_LEN);
	text = run_iasl(dsdt, rd32(dsdt + 4));
	assert_non_null(strstr(text, "Device (PC00)"));
	assert_non_null(strstr(text, "Device (PC01)"));
	assert_int_equal(count(text, "EisaId (\"PNP0A08\")"), 2);
	assert_int_equal(count(text, "EisaId (\"PNP0A03\")"), 2);
	assert_non_null(strstr(text, "Name (_PRT, Package (0x80)"));
	assert_int_equal(count(text, "Name (_PRT"), 2);
	assert_non_null(strstr(text, "Name (\\_S5, Package (0x04)"));
	assert_non_null(strstr(text, "Method (_BBN, 0"));
	assert_non_null(strstr(text, "Device (ISA)"));
	assert_non_null(strstr(text, "Name (_ADR, 0x001F0000)"));
	assert_int_equal(count(text, "EisaId (\"PNP0501\")"), 4);
	for (int i = 1; i <= 4; i++) {
		char d[16];
		snprintf(d, sizeof(d), "Device (COM%d)", i);
		assert_non_null(strstr(text, d));
	}
	assert_non_null(strstr(text, "0x03F8,             // Range Minimum"));
	assert_non_null(strstr(text, "EisaId (\"PNP0B00\")"));
	assert_non_null(strstr(text, "EisaId (\"PNP0103\")"));
	assert_non_null(strstr(text, "0xFED00000,         // Address Base"));
	assert_non_null(strstr(text, "0xE0000000,         // Address Base"));
	/* windows of the bus 0 root bridge */
	assert_non_null(strstr(text, "0x0CF7,             // Range Maximum"));
	assert_non_null(strstr(text, "0xC0000000,         // Range Minimum"));
	assert_non_null(strstr(text, "0xDFFFFFFF,         // Range Maximum"));
	assert_non_null(strstr(text, "0x0000000800000000, // Range Minimum"));
	/* no warnings or errors in the disassembly */
	assert_null(strstr(text, "**** "));
	free(text);
}

/* The GSI of every _PRT entry, read back from the AML bytes of a DSDT
 * body with only bus 0. */
static void test_dsdt_prt_gsi(void **state)
{
	struct acpi_info ai = info(1, 1ULL << 30, 0);
	struct aml a;
	const uint8_t *p, *end;
	unsigned found = 0;

	(void)state;
	assert_int_equal(config_freeze(), 0);
	aml_init(&a);
	assert_int_equal(acpi_build_dsdt_body(&a, &ai), 0);
	/* find Name (_PRT, Package (0x80) */
	p = memmem(a.buf, a.len, "_PRT", 4);
	assert_non_null(p);
	p += 4;
	assert_int_equal(*p, AML_PACKAGE);
	end = a.buf + a.len;
	{
		unsigned used;
		long v = aml_pkglen_decode(p + 1, (size_t)(end - p - 1), &used);
		assert_true(v > 0);
		p += 1 + used;
		assert_int_equal(*p++, 128);
	}
	for (unsigned s = 0; s < 32; s++)
		for (unsigned pin = 0; pin < 4; pin++) {
			unsigned used;
			uint32_t addr;
			assert_int_equal(*p++, AML_PACKAGE);
			assert_true(aml_pkglen_decode(p, (size_t)(end - p),
			    &used) > 0);
			p += used;
			assert_int_equal(*p++, 4);
			if (s == 0) {
				assert_int_equal(*p, AML_WORD);
				addr = rd16(p + 1);
				p += 3;
			} else {
				assert_int_equal(*p, AML_DWORD);
				addr = rd32(p + 1);
				p += 5;
			}
			assert_int_equal(addr, s << 16 | 0xffff);
			if (pin <= 1) {
				assert_int_equal(*p++, pin);	/* Zero/One */
			} else {
				assert_int_equal(*p++, AML_BYTE);
				assert_int_equal(*p++, pin);
			}
			assert_int_equal(*p++, AML_ZERO);
			assert_int_equal(*p++, AML_BYTE);
			assert_int_equal(*p++, pci_intx_gsi(0, s, pin + 1));
			found++;
		}
	assert_int_equal(found, 128);
	assert_null(memmem(a.buf, a.len, "_PXM", 4));
	aml_free(&a);
	/* with NUMA domains, the root bridge is in domain 0 */
	{
		struct numa_config nc = { 1, { { 1ULL << 30, { 1 } } } };
		const uint8_t *q;
		ai.numa = &nc;
		aml_init(&a);
		assert_int_equal(acpi_build_dsdt_body(&a, &ai), 0);
		q = memmem(a.buf, a.len, "_PXM", 4);
		assert_non_null(q);
		assert_int_equal(q[-1], AML_NAME);
		assert_int_equal(q[4], AML_ZERO);
		aml_free(&a);
	}
}

/* `s` occurs in text before `limit`. */
static void before(const char *text, const char *s, const char *limit)
{
	const char *p = strstr(text, s);
	if (p == NULL || p >= limit)
		fail_msg("'%s' not found before PC01", s);
}

/* Windows declared for bus 1 go to its root bridge and out of bus 0's. */
static void test_bus_windows(void **state)
{
	static struct vm vm;
	struct acpi_info ai = info(1, 1ULL << 30, 0);
	const uint8_t *f, *dsdt;
	char *text, *pc01;

	(void)state;
	if (system("iasl -v >/dev/null 2>&1") != 0)
		skip();
	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = vm.kvm_fd = -1;	/* no KVM: pci_init skips interrupts */
	assert_int_equal(pci_parse_slot("0,hostbridge"), 0);
	assert_int_equal(pci_parse_slot("1:0:0,hostbridge"), 0);
	assert_int_equal(config_freeze(), 0);
	assert_int_equal(pci_init(&vm), 0);
	assert_int_equal(acpi_add_bus_window(1, ACPI_WIN_IO, 0x3000, 0x3fff), 0);
	assert_int_equal(acpi_add_bus_window(1, ACPI_WIN_MEM32, 0xd0000000,
	    0xd00fffff), 0);
	assert_int_equal(acpi_add_bus_window(1, ACPI_WIN_MEM64, 0x800000000ULL,
	    0x800ffffffULL), 0);
	/* overlaps, bus 0, outside the window, inverted */
	assert_int_equal(acpi_add_bus_window(2, ACPI_WIN_IO, 0x3f00, 0x4000), -1);
	assert_non_null(strstr(last_error(), "overlaps one of bus 1"));
	assert_int_equal(acpi_add_bus_window(0, ACPI_WIN_IO, 0x5000, 0x5fff), -1);
	assert_int_equal(acpi_add_bus_window(2, ACPI_WIN_MEM32, 0xe0000000,
	    0xe00fffff), -1);
	assert_int_equal(acpi_add_bus_window(2, ACPI_WIN_IO, 0x6000, 0x5000), -1);
	build(&ai);
	f = find("FACP");
	dsdt = at(rd64(f + 140), ACPI_HDR_LEN);
	text = run_iasl(dsdt, rd32(dsdt + 4));
	pc01 = strstr(text, "Device (PC01)");
	assert_non_null(pc01);
	/* bus 0: I/O 0x0d00-0x2fff and 0x4000-0xffff, 32-bit around
	 * 0xd0000000-0xd00fffff, 64-bit from 0x801000000 */
	before(text, "0x2FFF,             // Range Maximum", pc01);
	before(text, "0x4000,             // Range Minimum", pc01);
	before(text, "0xCFFFFFFF,         // Range Maximum", pc01);
	before(text, "0xD0100000,         // Range Minimum", pc01);
	before(text, "0x0000000801000000, // Range Minimum", pc01);
	/* bus 1, the last in use: its root bridge decodes it alone, and
	 * MCFG ends there */
	assert_non_null(strstr(pc01, "0x0001,             // Range Maximum"));
	assert_null(strstr(text, "0x00FF,             // Range Maximum"));
	assert_int_equal(find("MCFG")[55], 1);
	assert_non_null(strstr(pc01, "0x3000,             // Range Minimum"));
	assert_non_null(strstr(pc01, "0x3FFF,             // Range Maximum"));
	assert_non_null(strstr(pc01, "0xD0000000,         // Range Minimum"));
	assert_non_null(strstr(pc01, "0x0000000800FFFFFF, // Range Maximum"));
	assert_null(strstr(text, "**** "));
	free(text);
}

static void test_too_small(void **state)
{
	struct acpi_info ai = info(1, 1ULL << 30, 0);

	(void)state;
	assert_int_equal(acpi_build(buf, 200, GPA, &ai), -1);
	assert_non_null(strstr(last_error(), "do not fit"));
}

int run_acpi_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fadt_facs_dsdt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spcr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt_x2apic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srat_slit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numa_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numa_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aml_pkglen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aml_encoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt_iasl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt_prt_gsi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_small, setup, teardown),
	};
	return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
