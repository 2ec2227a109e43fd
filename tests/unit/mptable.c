/* Intel MP table: src/platform/mptable.c */
#include "unit.h"

#include <string.h>

#include "platform/mptable.h"

static uint8_t buf[8192];

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }

struct parsed {
	unsigned procs, buses, ioapics, ioints, lints, total;
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
};

/* Walk the entries; fails the test on a malformed table. */
static struct parsed walk(int len)
{
	const uint8_t *hdr = buf + 16, *p = hdr + 44, *end = buf + len;
	struct parsed r = { 0 };

	while (p < end) {
		switch (p[0]) {
		case 0:
			r.procs++;
			p += 20;
			break;
		case 1:
			r.buses++;
			p += 8;
			break;
		case 2:
			r.ioapics++;
			r.ioapic_id = p[1];
			r.ioapic_addr = rd32(p + 4);
			p += 8;
			break;
		case 3:
			r.ioints++;
			p += 8;
			break;
		case 4:
			r.lints++;
			p += 8;
			break;
		default:
			fail_msg("unknown entry type %u at %td", p[0], p - buf);
		}
		r.total++;
	}
	assert_ptr_equal(p, end);
	return r;
}

/* The I/O interrupt entry for ISA `irq`, or NULL. */
static const uint8_t *ioint(int len, uint8_t type, uint8_t irq)
{
	const uint8_t *p = buf + 16 + 44, *end = buf + len;
	while (p < end) {
		if (p[0] == 3 && p[1] == type && p[4] == 1 && p[5] == irq)
			return p;
		p += p[0] == 0 ? 20 : 8;
	}
	return NULL;
}

static void test_structure(void **state)
{
	static const uint32_t ids[4] = { 0, 1, 2, 3 };
	const uint8_t *hdr = buf + 16, *e;
	struct parsed r;
	int len;
	(void)state;

	memset(buf, 0xee, sizeof(buf));
	len = mptable_build(buf, sizeof(buf), 0xf0000, 4, ids, 0x906ea,
	    0xbfebfbff);
	assert_true(len > 60);
	/* floating pointer */
	assert_memory_equal(buf, "_MP_", 4);
	assert_int_equal(rd32(buf + 4), 0xf0010);	/* table right after */
	assert_int_equal(buf[8], 1);
	assert_int_equal(buf[9], 4);
	assert_int_equal(buf[11], 0);			/* not a default config */
	assert_int_equal(sum(buf, 16), 0);
	/* configuration table header */
	assert_memory_equal(hdr, "PCMP", 4);
	assert_int_equal(rd16(hdr + 4), len - 16);
	assert_int_equal(hdr[6], 4);
	assert_int_equal(sum(hdr, (size_t)(len - 16)), 0);
	assert_int_equal(rd32(hdr + 36), LAPIC_ADDR);
	assert_int_equal(rd16(hdr + 40), 0);		/* no extended table */
	/* entries */
	r = walk(len);
	assert_int_equal(rd16(hdr + 34), r.total);
	assert_int_equal(r.procs, 4);
	assert_int_equal(r.buses, 2);
	assert_int_equal(r.ioapics, 1);
	assert_int_equal(r.lints, 2);
	assert_int_equal(r.ioapic_addr, IOAPIC_ADDR);
	assert_int_equal(r.ioapic_addr, 0xfec00000);
	assert_int_equal(r.ioapic_id, 4);		/* distinct from CPUs */
	/* processors: the first one is the BSP, all enabled */
	e = hdr + 44;
	for (unsigned i = 0; i < 4; i++, e += 20) {
		assert_int_equal(e[0], 0);
		assert_int_equal(e[1], ids[i]);
		assert_int_equal(e[3], i == 0 ? 0x03 : 0x01);
		assert_int_equal(rd32(e + 4), 0x906ea);
		assert_int_equal(rd32(e + 8), 0xbfebfbff);
	}
	/* ISA IRQ 0 (the PIT) goes to pin 2; pin 0 is ExtINT */
	e = ioint(len, 0, 0);
	assert_non_null(e);
	assert_int_equal(e[6], 4);
	assert_int_equal(e[7], 2);
	e = ioint(len, 3, 0);
	assert_non_null(e);
	assert_int_equal(e[7], 0);
	/* IRQ n to pin n, except the cascade IRQ 2 */
	assert_null(ioint(len, 0, 2));
	for (uint8_t irq = 1; irq < 16; irq++) {
		if (irq == 2)
			continue;
		e = ioint(len, 0, irq);
		assert_non_null(e);
		assert_int_equal(e[7], irq);
		assert_int_equal(rd16(e + 2), irq == 9 ? 0x0f : 0);
	}
}

static void test_sparse_ids(void **state)
{
	static const uint32_t ids[2] = { 0, 8 };
	struct parsed r;
	int len;
	(void)state;

	len = mptable_build(buf, sizeof(buf), 0xf0000, 2, ids, 0, 0);
	assert_true(len > 0);
	r = walk(len);
	assert_int_equal(r.procs, 2);
	assert_int_equal(r.ioapic_id, 9);
	assert_int_equal(sum(buf, 16), 0);
	assert_int_equal(sum(buf + 16, (size_t)(len - 16)), 0);
}

static void test_sixteen_cpus(void **state)
{
	uint32_t ids[16];
	struct parsed r;
	int len;
	(void)state;

	for (unsigned i = 0; i < 16; i++)
		ids[i] = i * 2;
	len = mptable_build(buf, sizeof(buf), 0x9fc00, 16, ids, 0, 0);
	assert_true(len > 0 && len <= 0x2000);
	assert_int_equal(rd32(buf + 4), 0x9fc10);
	r = walk(len);
	assert_int_equal(r.procs, 16);
	assert_int_equal(rd16(buf + 16 + 34), r.total);
	assert_int_equal(sum(buf + 16, (size_t)(len - 16)), 0);
}

static void test_too_small(void **state)
{
	static const uint32_t ids[4] = { 0, 1, 2, 3 };
	uint8_t small[1024];
	int len;
	(void)state;

	len = mptable_build(buf, sizeof(buf), 0xf0000, 4, ids, 0, 0);
	assert_true(len > 0 && (size_t)len <= sizeof(small));
	assert_int_equal(mptable_build(small, 0, 0xf0000, 4, ids, 0, 0), -1);
	assert_int_equal(mptable_build(small, 16, 0xf0000, 4, ids, 0, 0), -1);
	assert_int_equal(mptable_build(small, 60, 0xf0000, 4, ids, 0, 0), -1);
	assert_int_equal(mptable_build(small, (size_t)len - 1, 0xf0000, 4, ids,
	    0, 0), -1);
	/* exact fit works and writes nothing past the end */
	memset(small, 0xee, sizeof(small));
	assert_int_equal(mptable_build(small, (size_t)len, 0xf0000, 4, ids, 0,
	    0), len);
	assert_memory_equal(small, buf, (size_t)len);
	for (size_t i = (size_t)len; i < sizeof(small); i++)
		assert_int_equal(small[i], 0xee);
}

int run_mptable_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_sparse_ids),
		cmocka_unit_test(test_sixteen_cpus),
		cmocka_unit_test(test_too_small),
	};
	return cmocka_run_group_tests_name("mptable", tests, NULL, NULL);
}
