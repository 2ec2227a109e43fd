/* Building each vCPU's CPUID table from what KVM supports.  Pure code:
 * no KVM calls, so it is unit tested directly. */
#ifndef BHYVE_CPUID_H
#define BHYVE_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

struct cpu_topology {
	unsigned cpus, sockets, cores, threads;
};

/* Check a topology as bhyve does (product equals cpus, 1..maxcpus). */
int topology_check(const struct cpu_topology *t, unsigned maxcpus);
/* APIC ID of vCPU index i: socket, core and thread fields packed at
 * power-of-two boundaries as real CPUs do. */
uint32_t topology_apic_id(const struct cpu_topology *t, unsigned vcpu);
unsigned topology_smt_bits(const struct cpu_topology *t);
unsigned topology_core_bits(const struct cpu_topology *t);

struct cpuid_opts {
	bool x2apic;		/* advertise x2APIC (-x) */
	uint32_t tsc_khz;	/* 0 = unknown */
	bool tsc_deadline;	/* in-kernel LAPIC emulates TSC-deadline mode */
};

#define CPUID_MAX_ENTRIES 256
#define KVM_CPUID_TSC_LEAF 0x40000010u

/* Rewrite entries[0..n) in place for vCPU `vcpu`; may append the timing
 * leaf.  Returns the new count (<= cap). */
int cpuid_build(struct kvm_cpuid_entry2 *e, int n, int cap,
    const struct cpu_topology *t, unsigned vcpu, const struct cpuid_opts *o);
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *e, int n,
    uint32_t function, uint32_t index);

#endif
