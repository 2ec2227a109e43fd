/* The E820 map: src/platform/e820.c */
#include "unit.h"

#include "bus/pci.h"
#include "platform/e820.h"
#include "platform/layout.h"
#include "vmm/mem.h"

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Is [addr, addr+len) covered by one entry of `type`? */
static bool covered(const struct e820_entry *e, int n, uint64_t addr,
    uint64_t len, uint32_t type)
{
	for (int i = 0; i < n; i++)
		if (e[i].type == type && e[i].addr <= addr &&
		    addr + len <= e[i].addr + e[i].size)
			return true;
	return false;
}

static void check_map(uint64_t memsize)
{
	struct e820_entry e[E820_MAX];
	uint64_t lowmem, highmem, ram = 0;
	int n;

	mem_layout(memsize, &lowmem, &highmem);
	n = e820_build(lowmem, highmem, e, E820_MAX);
	assert_true(n > 0 && n <= E820_MAX);

	for (int i = 0; i < n; i++) {
		assert_true(e[i].size > 0);
		assert_true(e[i].type == E820_RAM || e[i].type == E820_RESERVED);
		assert_true(e[i].addr + e[i].size > e[i].addr);
		if (i > 0)	/* sorted and non-overlapping */
			assert_true(e[i - 1].addr + e[i - 1].size <= e[i].addr);
		if (e[i].type == E820_RAM) {
			ram += e[i].size;
			/* no RAM in the PCI hole, nor past the RAM we have */
			assert_false(overlaps(e[i].addr, e[i].size, lowmem,
			    HIGHMEM_BASE - lowmem));
			assert_false(overlaps(e[i].addr, e[i].size,
			    HIGHMEM_BASE + highmem, ~0ULL - HIGHMEM_BASE - highmem));
			/* nor in the BIOS area */
			assert_false(overlaps(e[i].addr, e[i].size, EBDA_ADDR,
			    KERNEL_ADDR - EBDA_ADDR));
		}
	}
	/* conventional memory, the EBDA/BIOS hole, RAM from 1 MiB */
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[0].type, E820_RAM);
	assert_true(covered(e, n, 0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED));
	assert_true(covered(e, n, 0x100000, lowmem - 0x100000, E820_RAM));
	assert_true(covered(e, n, PCI_ECAM_BASE, PCI_ECAM_SIZE, E820_RESERVED));
	assert_true(covered(e, n, KVM_PRIVATE_ADDR, KVM_PRIVATE_SIZE,
	    E820_RESERVED));
	if (highmem)
		assert_true(covered(e, n, HIGHMEM_BASE, highmem, E820_RAM));
	/* every byte of guest RAM except the BIOS hole, and no more */
	assert_int_equal(ram, memsize - (0x100000 - 0x9fc00));
}

static void test_256m(void **state)
{
	(void)state;
	check_map(256 * MIB);
}

static void test_3g(void **state)
{
	(void)state;
	check_map(3 * GIB);
}

static void test_5g(void **state)
{
	struct e820_entry e[E820_MAX];
	int n;
	(void)state;

	check_map(5 * GIB);
	n = e820_build(3 * GIB, 2 * GIB, e, E820_MAX);
	assert_int_equal(e[n - 1].addr, 4 * GIB);
	assert_int_equal(e[n - 1].size, 2 * GIB);
	assert_int_equal(e[n - 1].type, E820_RAM);
}

static void test_odd_sizes(void **state)
{
	(void)state;
	check_map(3 * GIB + 4096);
	check_map(64 * GIB);
	check_map(2 * MIB);
}

static void test_max_respected(void **state)
{
	struct e820_entry e[E820_MAX + 1];
	int n;
	(void)state;

	e[2].addr = 0x1234;
	n = e820_build(256 * MIB, 0, e, 2);
	assert_int_equal(n, 2);
	assert_int_equal(e[2].addr, 0x1234);	/* nothing written past max */
	assert_int_equal(e820_build(256 * MIB, 0, e, 0), 0);
}

int run_e820_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_256m),
		cmocka_unit_test(test_3g),
		cmocka_unit_test(test_5g),
		cmocka_unit_test(test_odd_sizes),
		cmocka_unit_test(test_max_respected),
	};
	return cmocka_run_group_tests_name("e820", tests, NULL, NULL);
}
