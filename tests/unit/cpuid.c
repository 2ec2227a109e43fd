/* vCPU topology and CPUID table rewriting: src/vmm/cpuid.c */
#include "unit.h"

#include <string.h>

#include "vmm/cpuid.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

static void test_topology_check(void **state)
{
	struct cpu_topology ok[] = {
		{ 1, 1, 1, 1 }, { 4, 4, 1, 1 }, { 4, 2, 2, 1 }, { 16, 2, 4, 2 },
		{ 12, 2, 3, 2 },
	};
	struct cpu_topology bad[] = {
		{ 0, 1, 1, 1 }, { 1, 0, 1, 1 }, { 1, 1, 0, 1 }, { 1, 1, 1, 0 },
		{ 4, 2, 1, 1 }, { 3, 2, 2, 1 }, { 17, 17, 1, 1 },
		{ 32, 2, 4, 4 },
	};
	/* 65537 * 65537 is 131073 modulo 2^32 */
	struct cpu_topology wrap = { 131073, 65537, 65537, 1 };
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(topology_check(&ok[i], 16), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (topology_check(&bad[i], 16) == 0)
			fail_msg("topology %zu accepted", i);
	assert_int_equal(topology_check(&wrap, ~0u), -1);
	/* the limit is a parameter */
	assert_int_equal(topology_check(&ok[3], 15), -1);
}

static void test_apic_ids(void **state)
{
	struct cpu_topology t = { 12, 2, 3, 2 };
	static const uint32_t want[12] = { 0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12,
	    13 };
	struct cpu_topology flat = { 4, 4, 1, 1 };
	struct cpu_topology thr = { 8, 1, 2, 4 };
	(void)state;

	assert_int_equal(topology_smt_bits(&t), 1);
	assert_int_equal(topology_core_bits(&t), 2);
	for (unsigned i = 0; i < 12; i++)
		assert_int_equal(topology_apic_id(&t, i), want[i]);

	assert_int_equal(topology_smt_bits(&flat), 0);
	assert_int_equal(topology_core_bits(&flat), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(topology_apic_id(&flat, i), i);

	/* 4 threads per core, 2 cores: no gaps */
	assert_int_equal(topology_smt_bits(&thr), 2);
	assert_int_equal(topology_core_bits(&thr), 1);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(topology_apic_id(&thr, i), i);

	/* 3 threads: thread field is 2 bits wide */
	{
		struct cpu_topology t3 = { 6, 1, 2, 3 };
		assert_int_equal(topology_apic_id(&t3, 2), 2);
		assert_int_equal(topology_apic_id(&t3, 3), 4);
		assert_int_equal(topology_apic_id(&t3, 5), 6);
	}
}

/* A table as KVM_GET_SUPPORTED_CPUID might return it. */
static int make_table(struct kvm_cpuid_entry2 *e)
{
	int n = 0;

	memset(e, 0, sizeof(*e) * CPUID_MAX_ENTRIES);
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0x1f,
	    .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69 };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x000906ea,
	    .ebx = 0xff7f0801, .ecx = 0x7ffafbff | (1u << 21),
	    .edx = 0xbfebfbff };
	/* leaf 4: L1d, L1i, L2, L3, end; junk in the sharing fields */
	e[n++] = (struct kvm_cpuid_entry2){ .function = 4, .index = 0,
	    .flags = SIG, .eax = 0xfc000000 | 0x03ffc000 | 0x121,
	    .ebx = 0x1c0003f };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 4, .index = 1,
	    .flags = SIG, .eax = 0xfc000000 | 0x122 };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 4, .index = 2,
	    .flags = SIG, .eax = 0x143 };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 4, .index = 3,
	    .flags = SIG, .eax = 0x3ffc000 | 0x163 };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 4, .index = 4,
	    .flags = SIG, .eax = 0 };
	for (uint32_t i = 0; i < 3; i++)
		e[n++] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = i,
		    .flags = SIG, .eax = 0x55, .ebx = 0x55, .ecx = 0x55,
		    .edx = 0x55 };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0x40000000,
	    .eax = 0x40000001, .ebx = 0x4b4d564b, .ecx = 0x564b4d56,
	    .edx = 0x4d };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0x40000001,
	    .eax = 0x01007afb };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0x80000000,
	    .eax = 0x8000001e };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0x80000008,
	    .eax = 0x3027, .ecx = 0xffff0fffu };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0x8000001e,
	    .eax = 0xffffffff, .ebx = 0xffffffff, .ecx = 0xffffffff,
	    .edx = 0xffffffff };
	return n;
}

static struct kvm_cpuid_entry2 tab[CPUID_MAX_ENTRIES];

static struct kvm_cpuid_entry2 *get(int n, uint32_t fn, uint32_t idx)
{
	struct kvm_cpuid_entry2 *x = cpuid_find(tab, n, fn, idx);
	if (x == NULL)
		fail_msg("leaf 0x%x.%u missing", fn, idx);
	return x;
}

static void test_leaf1(void **state)
{
	struct cpu_topology t = { 12, 2, 3, 2 };
	struct cpuid_opts o = { .x2apic = false, .tsc_khz = 0 };
	struct kvm_cpuid_entry2 *x;
	int n0 = make_table(tab), n;
	(void)state;

	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &t, 7, &o);
	assert_int_equal(n, n0);
	x = get(n, 1, 0);
	assert_int_equal(x->ebx >> 24, 9);		/* APIC ID of vCPU 7 */
	assert_int_equal((x->ebx >> 16) & 0xff, 8);	/* 2^(1+2) IDs/package */
	assert_int_equal(x->ebx & 0xffff, 0x0801);	/* untouched */
	assert_true(x->ecx & (1u << 31));		/* hypervisor */
	assert_false(x->ecx & (1u << 21));		/* no x2APIC */
	assert_true(x->edx & (1u << 28));		/* HTT */
	assert_int_equal(x->eax, 0x000906ea);

	make_table(tab);
	o.x2apic = true;
	tab[1].ecx &= ~(1u << 21);
	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &t, 0, &o);
	x = get(n, 1, 0);
	assert_int_equal(x->ebx >> 24, 0);
	assert_true(x->ecx & (1u << 21));
	assert_true(x->ecx & (1u << 31));

	/* one CPU: no HTT, one logical processor per package */
	{
		struct cpu_topology one = { 1, 1, 1, 1 };
		make_table(tab);
		n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &one, 0, &o);
		x = get(n, 1, 0);
		assert_false(x->edx & (1u << 28));
		assert_int_equal((x->ebx >> 16) & 0xff, 1);
		assert_int_equal(x->ebx >> 24, 0);
	}
}

static void test_leaf4(void **state)
{
	struct cpu_topology t = { 12, 2, 3, 2 };
	struct cpuid_opts o = { 0 };
	struct kvm_cpuid_entry2 *x;
	int n0 = make_table(tab), n;
	(void)state;

	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &t, 3, &o);
	for (uint32_t i = 0; i < 4; i++) {
		unsigned level;
		x = get(n, 4, i);
		level = (x->eax >> 5) & 7;
		assert_int_equal(x->eax >> 26, 3);	/* 2^2 core IDs - 1 */
		if (level >= 3)
			assert_int_equal((x->eax >> 14) & 0xfff, 7);
		else
			assert_int_equal((x->eax >> 14) & 0xfff, 1);
	}
	assert_int_equal(get(n, 4, 0)->eax & 0x3fff, 0x121);
	assert_int_equal(get(n, 4, 3)->eax & 0x3fff, 0x163);
	assert_int_equal(get(n, 4, 0)->ebx, 0x1c0003f);
	assert_int_equal(get(n, 4, 4)->eax, 0);		/* terminator kept */
}

static void test_leaf_b(void **state)
{
	struct cpu_topology t = { 12, 2, 3, 2 };
	struct cpuid_opts o = { 0 };
	struct kvm_cpuid_entry2 *x;
	int n0 = make_table(tab), n;
	(void)state;

	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &t, 11, &o);
	x = get(n, 0xb, 0);				/* SMT level */
	assert_int_equal(x->eax, 1);
	assert_int_equal(x->ebx, 2);
	assert_int_equal(x->ecx, 0x100);
	assert_int_equal(x->edx, 13);
	x = get(n, 0xb, 1);				/* core level */
	assert_int_equal(x->eax, 3);
	assert_int_equal(x->ebx, 6);
	assert_int_equal(x->ecx, 0x201);
	assert_int_equal(x->edx, 13);
	x = get(n, 0xb, 2);				/* invalid: end */
	assert_int_equal(x->eax, 0);
	assert_int_equal(x->ebx, 0);
	assert_int_equal(x->ecx, 2);
	assert_int_equal(x->edx, 13);
}

static void test_amd_leaves(void **state)
{
	struct cpu_topology t = { 12, 2, 3, 2 };
	struct cpuid_opts o = { 0 };
	struct kvm_cpuid_entry2 *x;
	int n0 = make_table(tab), n;
	(void)state;

	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &t, 7, &o);
	x = get(n, 0x80000008, 0);
	assert_int_equal(x->ecx & 0xff, 5);		/* threads per pkg - 1 */
	assert_int_equal((x->ecx >> 12) & 0xf, 3);	/* APIC ID core bits */
	assert_int_equal(x->ecx & 0xffff0f00u, 0xffff0f00u);	/* kept */
	assert_int_equal(x->eax, 0x3027);
	x = get(n, 0x8000001e, 0);
	assert_int_equal(x->eax, 9);			/* extended APIC ID */
	assert_int_equal(x->ebx & 0xff, 4);		/* core id */
	assert_int_equal((x->ebx >> 8) & 0xff, 1);	/* threads/core - 1 */
	assert_int_equal(x->ecx, 1);			/* node = socket */
	assert_int_equal(x->edx, 0);
}

/* An AMD vCPU with SMT threads gets the topology extensions (TOPOEXT and
 * leaf 0x8000001E) even when KVM does not list them; Intel and one-thread
 * topologies are left alone. */
static void test_amd_topoext(void **state)
{
	struct cpu_topology t = { 8, 2, 2, 2 }, one = { 4, 4, 1, 1 };
	struct cpuid_opts o = { 0 };
	struct kvm_cpuid_entry2 *x;
	int n0, n;
	(void)state;

	n0 = make_table(tab);
	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &t, 5, &o);
	assert_null(cpuid_find(tab, n, 0x80000001, 0));	/* Intel: nothing */

	n0 = make_table(tab);
	tab[0].ebx = 0x68747541;	/* AuthenticAMD */
	tab[0].edx = 0x69746e65;
	tab[0].ecx = 0x444d4163;
	tab[n0++] = (struct kvm_cpuid_entry2){ .function = 0x80000001,
	    .ecx = 0x1 };
	/* drop KVM's 0x8000001e and lower the extended maximum */
	for (int i = 0; i < n0; i++)
		if (tab[i].function == 0x8000001e)
			tab[i] = tab[--n0];
	get(n0, 0x80000000, 0)->eax = 0x80000008;
	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &t, 5, &o);
	assert_int_equal(get(n, 0x80000001, 0)->ecx, 0x1 | (1u << 22));
	assert_int_equal(get(n, 0x80000000, 0)->eax, 0x8000001e);
	x = get(n, 0x8000001e, 0);
	assert_int_equal(x->eax, 5);			/* APIC id */
	assert_int_equal(x->ebx & 0xff, 2);		/* core id */
	assert_int_equal((x->ebx >> 8) & 0xff, 1);	/* 2 threads/core */
	assert_int_equal(x->ecx, 1);			/* socket 1 */

	/* one thread per core: no change */
	n0 = make_table(tab);
	tab[0].ebx = 0x68747541;
	tab[0].edx = 0x69746e65;
	tab[0].ecx = 0x444d4163;
	tab[n0++] = (struct kvm_cpuid_entry2){ .function = 0x80000001,
	    .ecx = 0x1 };
	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &one, 1, &o);
	assert_int_equal(get(n, 0x80000001, 0)->ecx, 0x1);
}

/* KVM may list only the SMT level of leaf 0xB (it copies what the host
 * reports): the core level and the terminating level are added. */
static void test_leaf_b_levels_added(void **state)
{
	struct cpu_topology t = { 8, 2, 2, 2 };
	struct cpuid_opts o = { 0 };
	struct kvm_cpuid_entry2 *x;
	int n0 = make_table(tab), n;
	(void)state;

	for (int i = 0; i < n0; i++)
		if (tab[i].function == 0xb && tab[i].index > 0)
			tab[i--] = tab[--n0];
	assert_null(cpuid_find(tab, n0, 0xb, 1));
	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &t, 6, &o);
	x = get(n, 0xb, 1);
	assert_int_equal(x->index, 1);
	assert_int_equal((x->ecx >> 8) & 0xff, 2);	/* core level */
	assert_int_equal(x->eax, 2);			/* smt + core bits */
	assert_int_equal(x->ebx, 4);
	assert_int_equal(x->edx, 6);
	x = get(n, 0xb, 2);
	assert_int_equal(x->index, 2);
	assert_int_equal((x->ecx >> 8) & 0xff, 0);	/* end */
	assert_int_equal(get(n, 0xb, 0)->eax, 1);
	/* no leaf 0x1F in the table: none is made up */
	assert_null(cpuid_find(tab, n, 0x1f, 0));
}

static void test_timing_leaf(void **state)
{
	struct cpu_topology t = { 1, 1, 1, 1 };
	struct cpuid_opts o = { .tsc_khz = 2500000 };
	struct kvm_cpuid_entry2 *x;
	int n0 = make_table(tab), n;
	(void)state;

	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &t, 0, &o);
	assert_int_equal(n, n0 + 1);
	x = get(n, KVM_CPUID_TSC_LEAF, 0);
	assert_int_equal(x->eax, 2500000);
	assert_int_equal(x->ebx, 1000000);
	assert_int_equal(x->ecx, 0);
	assert_int_equal(x->edx, 0);
	assert_int_equal(get(n, 0x40000000, 0)->eax, KVM_CPUID_TSC_LEAF);
	assert_int_equal(get(n, 0x40000000, 0)->ebx, 0x4b4d564b);
	assert_int_equal(get(n, 0x40000001, 0)->eax, 0x01007afb);

	/* building again (an existing leaf) updates in place */
	o.tsc_khz = 1000;
	n = cpuid_build(tab, n, CPUID_MAX_ENTRIES, &t, 0, &o);
	assert_int_equal(n, n0 + 1);
	assert_int_equal(get(n, KVM_CPUID_TSC_LEAF, 0)->eax, 1000);

	/* unknown TSC frequency: nothing added, signature leaf untouched */
	make_table(tab);
	o.tsc_khz = 0;
	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &t, 0, &o);
	assert_int_equal(n, n0);
	assert_null(cpuid_find(tab, n, KVM_CPUID_TSC_LEAF, 0));
	assert_int_equal(get(n, 0x40000000, 0)->eax, 0x40000001);

	/* no KVM signature leaf: no timing leaf */
	make_table(tab);
	o.tsc_khz = 3000000;
	get(n0, 0x40000000, 0)->function = 0x7;
	n = cpuid_build(tab, n0, CPUID_MAX_ENTRIES, &t, 0, &o);
	assert_int_equal(n, n0);
	assert_null(cpuid_find(tab, n, KVM_CPUID_TSC_LEAF, 0));
}

static void test_cap(void **state)
{
	struct cpu_topology t = { 1, 1, 1, 1 };
	struct cpuid_opts o = { .tsc_khz = 2500000 };
	int n0 = make_table(tab), n;
	(void)state;

	tab[n0].function = 0xdeadbeef;	/* canary just past the cap */
	tab[n0].eax = 0x12345678;
	n = cpuid_build(tab, n0, n0, &t, 0, &o);
	assert_int_equal(n, n0);
	assert_int_equal(tab[n0].function, 0xdeadbeef);
	assert_int_equal(tab[n0].eax, 0x12345678);

	make_table(tab);
	n = cpuid_build(tab, n0, n0 + 1, &t, 0, &o);
	assert_int_equal(n, n0 + 1);
}

static void test_find(void **state)
{
	int n = make_table(tab);
	(void)state;
	/* without the significant-index flag, any index matches */
	assert_ptr_equal(cpuid_find(tab, n, 1, 5), &tab[1]);
	assert_ptr_equal(cpuid_find(tab, n, 4, 2), &tab[4]);
	assert_null(cpuid_find(tab, n, 4, 9));
	assert_null(cpuid_find(tab, n, 0x12345, 0));
	assert_null(cpuid_find(tab, 0, 0, 0));
}

int run_cpuid_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topology_check),
		cmocka_unit_test(test_apic_ids),
		cmocka_unit_test(test_leaf1),
		cmocka_unit_test(test_leaf4),
		cmocka_unit_test(test_leaf_b),
		cmocka_unit_test(test_amd_leaves),
		cmocka_unit_test(test_amd_topoext),
		cmocka_unit_test(test_leaf_b_levels_added),
		cmocka_unit_test(test_timing_leaf),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_find),
	};
	return cmocka_run_group_tests_name("cpuid", tests, NULL, NULL);
}
