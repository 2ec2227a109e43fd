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

#define ACPI_MAX_CPUS	256

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

/* Write the tables into the VM (after every device exists). */
int acpi_init(struct vm *vm, const struct numa_config *numa);

/* Table signatures and sizes the tests parse back */
#define ACPI_HDR_LEN		36
#define ACPI_RSDP_LEN		36
#define ACPI_FADT_LEN		276
#define ACPI_FACS_LEN		64

#endif
