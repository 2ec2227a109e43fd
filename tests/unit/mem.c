/* Guest physical memory access: src/vmm/mem.c */
#include "unit.h"

#include <string.h>

#include "vmm/mem.h"

#define RSZ 0x10000
static uint8_t lo[RSZ], hi[RSZ], far[RSZ];

/* Two adjacent regions (0..64K, 64K..128K), to test crossings. */
static struct guest_mem adj = {
	.r = { { 0, RSZ, lo }, { RSZ, RSZ, hi } }, .nr = 2,
};
/* A realistic split: 64K at 0, 64K at 4 GiB. */
static struct guest_mem split = {
	.r = { { 0, RSZ, lo }, { HIGHMEM_BASE, RSZ, far } }, .nr = 2,
};

static int setup(void **state)
{
	(void)state;
	memset(lo, 0x11, RSZ);
	memset(hi, 0x22, RSZ);
	memset(far, 0x33, RSZ);
	return 0;
}

static void test_guest_ptr(void **state)
{
	(void)state;
	assert_ptr_equal(guest_ptr(&adj, 0, RSZ), lo);
	assert_ptr_equal(guest_ptr(&adj, RSZ - 1, 1), lo + RSZ - 1);
	assert_ptr_equal(guest_ptr(&adj, 0x1234, 0x10), lo + 0x1234);
	assert_ptr_equal(guest_ptr(&adj, RSZ, RSZ), hi);
	assert_ptr_equal(guest_ptr(&adj, 2 * RSZ - 4, 4), hi + RSZ - 4);
	/* straddling two regions: not one host range */
	assert_null(guest_ptr(&adj, RSZ - 1, 2));
	assert_null(guest_ptr(&adj, 0, RSZ + 1));
	/* past the end */
	assert_null(guest_ptr(&adj, 2 * RSZ, 1));
	assert_null(guest_ptr(&adj, 2 * RSZ - 1, 2));
	/* len 0 counts as 1 */
	assert_ptr_equal(guest_ptr(&adj, 0, 0), lo);
	assert_ptr_equal(guest_ptr(&adj, 2 * RSZ - 1, 0), hi + RSZ - 1);
	assert_null(guest_ptr(&adj, 2 * RSZ, 0));
	/* wraparound of gpa + len */
	assert_null(guest_ptr(&adj, 0x100, UINT64_MAX));
	assert_null(guest_ptr(&adj, 0x100, UINT64_MAX - 0xff));
	assert_null(guest_ptr(&adj, UINT64_MAX, 2));
	assert_null(guest_ptr(&adj, UINT64_MAX, 1));
	assert_null(guest_ptr(&adj, UINT64_MAX - RSZ + 2, RSZ));
	/* the hole between split regions */
	assert_null(guest_ptr(&split, RSZ, 1));
	assert_null(guest_ptr(&split, HIGHMEM_BASE - 1, 1));
	assert_ptr_equal(guest_ptr(&split, HIGHMEM_BASE, 1), far);
	assert_null(guest_ptr(&split, HIGHMEM_BASE - 1, 2));
	/* no regions at all */
	{
		struct guest_mem none = { .nr = 0 };
		assert_null(guest_ptr(&none, 0, 1));
	}
	assert_true(guest_is_ram(&adj, 0, 2 * RSZ - RSZ));
	assert_false(guest_is_ram(&split, 0x20000, 4));
}

static void test_rw_across_regions(void **state)
{
	uint8_t data[64], back[64];
	(void)state;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0x80 + i);
	assert_int_equal(guest_write(&adj, RSZ - 16, data, sizeof(data)), 0);
	assert_memory_equal(lo + RSZ - 16, data, 16);
	assert_memory_equal(hi, data + 16, 48);
	assert_int_equal(lo[RSZ - 17], 0x11);
	assert_int_equal(hi[48], 0x22);
	memset(back, 0, sizeof(back));
	assert_int_equal(guest_read(&adj, RSZ - 16, back, sizeof(back)), 0);
	assert_memory_equal(back, data, sizeof(data));
	/* all of both regions at once */
	{
		static uint8_t whole[2 * RSZ];
		assert_int_equal(guest_read(&adj, 0, whole, sizeof(whole)), 0);
		assert_int_equal(whole[0], 0x11);
		assert_int_equal(whole[2 * RSZ - 1], 0x22);
	}
}

static void test_rw_failures_untouched(void **state)
{
	uint8_t data[64], back[64];
	(void)state;

	memset(data, 0xab, sizeof(data));
	/* ends past the last region */
	memset(back, 0x5c, sizeof(back));
	assert_int_equal(guest_read(&adj, 2 * RSZ - 16, back, sizeof(back)), -1);
	for (unsigned i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0x5c);
	assert_int_equal(guest_write(&adj, 2 * RSZ - 16, data, sizeof(data)), -1);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(hi[RSZ - 16 + i], 0x22);
	/* spans the hole of a split layout */
	assert_int_equal(guest_write(&split, RSZ - 8, data, sizeof(data)), -1);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(lo[RSZ - 8 + i], 0x11);
	assert_int_equal(guest_read(&split, RSZ - 8, back, sizeof(back)), -1);
	for (unsigned i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0x5c);
	/* wraparound */
	assert_int_equal(guest_read(&adj, UINT64_MAX - 7, back, 16), -1);
	assert_int_equal(guest_write(&adj, 16, data, UINT64_MAX - 8), -1);
	assert_int_equal(lo[16], 0x11);
	/* entirely outside */
	assert_int_equal(guest_read(&split, 0x80000000, back, 1), -1);
	/* in the high region */
	assert_int_equal(guest_write(&split, HIGHMEM_BASE + RSZ - 4, data, 4), 0);
	assert_int_equal(far[RSZ - 1], 0xab);
	assert_int_equal(guest_write(&split, HIGHMEM_BASE + RSZ - 4, data, 5), -1);
}

static void test_layout(void **state)
{
	uint64_t l, h;
	(void)state;

	mem_layout(256 * MIB, &l, &h);
	assert_int_equal(l, 256 * MIB);
	assert_int_equal(h, 0);
	mem_layout(3 * GIB, &l, &h);
	assert_int_equal(l, 3 * GIB);
	assert_int_equal(h, 0);
	mem_layout(3 * GIB + 4096, &l, &h);
	assert_int_equal(l, 3 * GIB);
	assert_int_equal(h, 4096);
	mem_layout(5 * GIB, &l, &h);
	assert_int_equal(l, 3 * GIB);
	assert_int_equal(h, 2 * GIB);
	mem_layout(1ULL << 40, &l, &h);
	assert_int_equal(l + h, 1ULL << 40);
	assert_int_equal(l, LOWMEM_LIMIT);
}

int run_mem_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_guest_ptr, setup),
		cmocka_unit_test_setup(test_rw_across_regions, setup),
		cmocka_unit_test_setup(test_rw_failures_untouched, setup),
		cmocka_unit_test_setup(test_layout, setup),
	};
	return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
