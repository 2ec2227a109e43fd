/* ACPI tables built in process: RSDP, RSDT, XSDT, FADT, FACS, MADT, HPET,
 * MCFG, SPCR, DSDT (AML from platform/aml.c and the devices' write_dsdt
 * hooks), and SRAT/SLIT when NUMA domains are configured.  They live at
 * ACPI_RSDP_ADDR .. ACPI_TABLES_END (platform/layout.h), which the e820
 * map reserves. */
#ifndef BHYVE_ACPI_H
#define BHYVE_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "platform/numa.h"

struct vm;
struct aml;

#define ACPI_MAX_CPUS	VM_MAXCPU	/* numa.h includes vmm/vm.h */

struct acpi_info {
	unsigned ncpu;
	uint32_t apic_id[ACPI_MAX_CPUS];	/* of vCPU i */
	uint64_t lowmem, highmem;		/* RAM at 0 and at 4 GiB */
	const struct numa_config *numa;		/* NULL or n == 0: none */
};

/* Build every table into buf, which the guest sees at `gpa` (the RSDP
 * comes first).  Returns the number of bytes used, or -1. */
int acpi_build(uint8_t *buf, size_t cap, uint32_t gpa,
    const struct acpi_info *ai);

/* The DSDT's AML body (everything after the table header), from the PCI
 * devices that exist and their write_dsdt hooks. */
int acpi_build_dsdt_body(struct aml *a, const struct acpi_info *ai);

/* Address windows of the root bridge of a PCI bus other than 0, for the
 * BAR allocator to declare (before acpi_init) where it placed the BARs of
 * that bus's devices: [lo, hi] inclusive.  Bus 0's root bridge decodes
 * the rest of the I/O, 32-bit and 64-bit windows (spec/PLATFORM.md); a bus
 * without windows decodes no addresses. */
enum acpi_window { ACPI_WIN_IO, ACPI_WIN_MEM32, ACPI_WIN_MEM64 };
int acpi_add_bus_window(unsigned bus, enum acpi_window type, uint64_t lo,
    uint64_t hi);
void acpi_reset_bus_windows(void);

/* Write the tables into the VM (after every device exists). */
int acpi_init(struct vm *vm, const struct numa_config *numa);

/* Table signatures and sizes the tests parse back */
#define ACPI_HDR_LEN		36
#define ACPI_RSDP_LEN		36
#define ACPI_FADT_LEN		276
#define ACPI_FACS_LEN		64

#endif
