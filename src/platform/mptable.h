/* Intel MultiProcessor Specification 1.4 table: processors, buses, the
 * I/O APIC and ISA interrupt routing, so guests without ACPI find every
 * vCPU and the I/O APIC.  Disabled with -Y (x86.mptable=false). */
#ifndef BHYVE_MPTABLE_H
#define BHYVE_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define IOAPIC_ADDR	0xfec00000u
#define LAPIC_ADDR	0xfee00000u

/* Build floating pointer + configuration table for a table placed at
 * guest physical address `gpa` into buf; returns the length or -1. */
int mptable_build(uint8_t *buf, size_t cap, uint32_t gpa, unsigned ncpu,
    const uint32_t *apic_ids, uint32_t cpu_signature, uint32_t cpu_features);

struct vm;
int mptable_init(struct vm *vm);

#endif
