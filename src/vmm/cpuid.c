#include "vmm/cpuid.h"
#include "util.h"

#include <string.h>

#define CPUID1_ECX_X2APIC	(1u << 21)
#define CPUID1_ECX_TSC_DEADLINE	(1u << 24)
#define CPUID1_ECX_HYPERVISOR	(1u << 31)
#define CPUID1_EDX_HTT		(1u << 28)
#define CPUID_EXT1_ECX_TOPOEXT	(1u << 22)	/* leaf 0x80000001 */

int topology_check(const struct cpu_topology *t, unsigned maxcpus)
{
	uint64_t prod = (uint64_t)t->sockets * t->cores * t->threads;

	if (t->sockets == 0 || t->cores == 0 || t->threads == 0 ||
	    t->cpus == 0)
		return fail("counts must be at least 1");
	if (prod != t->cpus)
		return fail("cpus=%u but sockets=%u x "
		    "cores=%u x threads=%u = %llu", t->cpus, t->sockets,
		    t->cores, t->threads, (unsigned long long)prod);
	if (t->cpus > maxcpus)
		return fail("%u vCPUs, at most %u supported", t->cpus, maxcpus);
	return 0;
}

static unsigned ceil_log2(unsigned v)
{
	unsigned b = 0;
	while ((1u << b) < v)
		b++;
	return b;
}

unsigned topology_smt_bits(const struct cpu_topology *t)
{
	return ceil_log2(t->threads);
}

unsigned topology_core_bits(const struct cpu_topology *t)
{
	return ceil_log2(t->cores);
}

uint32_t topology_apic_id(const struct cpu_topology *t, unsigned vcpu)
{
	unsigned smt = topology_smt_bits(t), core = topology_core_bits(t);
	unsigned thread_id = vcpu % t->threads;
	unsigned core_id = (vcpu / t->threads) % t->cores;
	unsigned socket_id = vcpu / (t->threads * t->cores);

	return (socket_id << (smt + core)) | (core_id << smt) | thread_id;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *e, int n,
    uint32_t function, uint32_t index)
{
	for (int i = 0; i < n; i++)
		if (e[i].function == function &&
		    (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		    e[i].index == index))
			return &e[i];
	return NULL;
}

/* One level of leaf 0xB / 0x1F. */
static void topo_leaf(struct kvm_cpuid_entry2 *x, const struct cpu_topology *t,
    uint32_t apic)
{
	unsigned smt = topology_smt_bits(t), core = topology_core_bits(t);

	x->edx = apic;
	x->ecx = x->index & 0xff;
	switch (x->index) {
	case 0:		/* SMT level */
		x->eax = smt;
		x->ebx = t->threads;
		x->ecx |= 1u << 8;
		break;
	case 1:		/* core level */
		x->eax = smt + core;
		x->ebx = t->threads * t->cores;
		x->ecx |= 2u << 8;
		break;
	default:	/* invalid level ends the enumeration */
		x->eax = 0;
		x->ebx = 0;
		break;
	}
}

/* Leaf 0x8000001E (AMD topology extensions) for a vCPU. */
static void amd_topo_leaf(struct kvm_cpuid_entry2 *x,
    const struct cpu_topology *t, unsigned vcpu, uint32_t apic)
{
	unsigned smt = topology_smt_bits(t);

	x->eax = apic;
	x->ebx = (apic >> smt) & 0xff;
	x->ebx |= ((t->threads - 1) & 0xff) << 8;
	x->ecx = vcpu / (t->threads * t->cores);
	x->edx = 0;
}

static bool vendor_amd(struct kvm_cpuid_entry2 *e, int n)
{
	struct kvm_cpuid_entry2 *v = cpuid_find(e, n, 0, 0);

	/* "AuthenticAMD" or "HygonGenuine" in EBX, EDX, ECX */
	return v != NULL && ((v->ebx == 0x68747541 && v->edx == 0x69746e65 &&
	    v->ecx == 0x444d4163) || (v->ebx == 0x6f677948 &&
	    v->edx == 0x6e65476e && v->ecx == 0x656e6975));
}

/* An AMD guest sees SMT threads only through the topology extensions
 * (Linux reads the threads per core from leaf 0x8000001E and pairs
 * siblings only when TOPOEXT is set), which KVM does not list when the
 * host lacks them: advertise them whenever there are threads. */
static int amd_topoext(struct kvm_cpuid_entry2 *e, int n, int cap,
    const struct cpu_topology *t, unsigned vcpu, uint32_t apic)
{
	struct kvm_cpuid_entry2 *ext = cpuid_find(e, n, 0x80000000, 0);
	struct kvm_cpuid_entry2 *f = cpuid_find(e, n, 0x80000001, 0);

	if (t->threads < 2 || ext == NULL || f == NULL || !vendor_amd(e, n))
		return n;
	if (cpuid_find(e, n, 0x8000001e, 0) == NULL) {
		struct kvm_cpuid_entry2 *x;

		if (n >= cap)
			return n;
		x = &e[n++];
		memset(x, 0, sizeof(*x));
		x->function = 0x8000001e;
		amd_topo_leaf(x, t, vcpu, apic);
	}
	if (ext->eax < 0x8000001e)
		ext->eax = 0x8000001e;
	f->ecx |= CPUID_EXT1_ECX_TOPOEXT;
	return n;
}

/* Leaf `fn` (0xB or 0x1F) must list the SMT and core levels and end with
 * an invalid level: KVM copies only the levels the host reports, and a
 * guest that finds no core level takes every core for a package. */
static int topo_subleaves(struct kvm_cpuid_entry2 *e, int n, int cap,
    uint32_t fn)
{
	if (cpuid_find(e, n, fn, 0) == NULL)
		return n;
	for (uint32_t i = 1; i <= 2 && n < cap; i++) {
		struct kvm_cpuid_entry2 *x = cpuid_find(e, n, fn, i);

		if (x != NULL && x->index == i)
			continue;
		x = &e[n++];
		memset(x, 0, sizeof(*x));
		x->function = fn;
		x->index = i;
		x->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	}
	return n;
}

int cpuid_build(struct kvm_cpuid_entry2 *e, int n, int cap,
    const struct cpu_topology *t, unsigned vcpu, const struct cpuid_opts *o)
{
	uint32_t apic = topology_apic_id(t, vcpu);
	unsigned smt = topology_smt_bits(t), core = topology_core_bits(t);
	unsigned per_pkg_bits = smt + core;

	n = topo_subleaves(e, n, cap, 0xb);
	n = topo_subleaves(e, n, cap, 0x1f);
	for (int i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *x = &e[i];

		switch (x->function) {
		case 1:
			x->ebx &= 0x0000ffffu;
			x->ebx |= apic << 24;
			x->ebx |= ((1u << per_pkg_bits) & 0xff) << 16;
			if (per_pkg_bits > 0)
				x->edx |= CPUID1_EDX_HTT;
			else
				x->edx &= ~CPUID1_EDX_HTT;
			x->ecx |= CPUID1_ECX_HYPERVISOR;
			/* KVM does not list TSC-deadline among the supported
			 * bits: it depends on the in-kernel LAPIC. */
			if (o->tsc_deadline)
				x->ecx |= CPUID1_ECX_TSC_DEADLINE;
			if (o->x2apic)
				x->ecx |= CPUID1_ECX_X2APIC;
			else
				x->ecx &= ~CPUID1_ECX_X2APIC;
			break;
		case 4:
			if ((x->eax & 0x1f) == 0)	/* no cache here */
				break;
			x->eax &= 0x3fffu;
			x->eax |= ((1u << core) - 1) << 26;
			if (((x->eax >> 5) & 7) >= 3)	/* L3: whole package */
				x->eax |= ((1u << per_pkg_bits) - 1) << 14;
			else
				x->eax |= ((1u << smt) - 1) << 14;
			break;
		case 0xb:
		case 0x1f:
			topo_leaf(x, t, apic);
			break;
		case 0x80000008:
			x->ecx &= ~0xf0ffu;
			x->ecx |= (t->threads * t->cores - 1) & 0xff;
			x->ecx |= (per_pkg_bits & 0xf) << 12;
			break;
		case 0x8000001e:
			amd_topo_leaf(x, t, vcpu, apic);
			break;
		default:
			break;
		}
	}
	n = amd_topoext(e, n, cap, t, vcpu, apic);
	/* Timing leaf (the de facto hypervisor convention): TSC and local
	 * APIC timer frequencies in kHz.  KVM's APIC timer runs at 1 GHz. */
	if (o->tsc_khz && cpuid_find(e, n, 0x40000000, 0) != NULL) {
		struct kvm_cpuid_entry2 *sig = cpuid_find(e, n, 0x40000000, 0);
		struct kvm_cpuid_entry2 *x = cpuid_find(e, n, KVM_CPUID_TSC_LEAF, 0);
		if (x == NULL) {
			if (n >= cap)
				return n;
			x = &e[n++];
			memset(x, 0, sizeof(*x));
			x->function = KVM_CPUID_TSC_LEAF;
		}
		x->eax = o->tsc_khz;
		x->ebx = 1000000;
		x->ecx = x->edx = 0;
		/* The signature leaf's EAX is the highest hypervisor leaf. */
		if (sig->eax < KVM_CPUID_TSC_LEAF)
			sig->eax = KVM_CPUID_TSC_LEAF;
	}
	return n;
}
