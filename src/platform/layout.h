/* Where the platform puts things in guest memory below 1 MiB for a direct
 * kernel boot, and the fixed reserved areas. */
#ifndef BHYVE_LAYOUT_H
#define BHYVE_LAYOUT_H

#define BOOT_GDT_ADDR		0x00500
#define PVH_START_INFO_ADDR	0x06000
#define ZERO_PAGE_ADDR		0x07000
#define PML4_ADDR		0x09000
#define PDPT_ADDR		0x0a000
#define PD_ADDR			0x0b000	/* four pages: 0x0b000..0x0efff */
#define CMDLINE_ADDR		0x20000
#define CMDLINE_MAX		0x10000
#define EBDA_ADDR		0x9fc00
#define BIOS_AREA_ADDR		0xa0000	/* 640 KiB .. 1 MiB: reserved */
#define MPTABLE_ADDR		0xf0000
#define MPTABLE_MAX		0x1000
#define SMBIOS_ADDR		0xf1000	/* SMBIOS entry point and tables, */
#define SMBIOS_MAX		0x1400	/* up to the ACPI RSDP */
#define SMBIOS_BIG_ADDR		0xc0000	/* SMBIOS structures too many for */
#define SMBIOS_BIG_MAX		0x10000	/* SMBIOS_MAX (many sockets): the
					 * option-ROM area, unused by a direct
					 * kernel boot */
#define KERNEL_ADDR		0x100000

/* KVM's private pages (see vmm/vm.c), reserved in e820 */
#define KVM_PRIVATE_ADDR	0xfeffc000ULL
#define KVM_PRIVATE_SIZE	0x4000ULL

/* ACPI fixed hardware (FADT) and firmware tables; see spec/PLATFORM.md */
#define ACPI_RSDP_ADDR		0xf2400	/* RSDP in the BIOS area */
#define ACPI_TABLES_END		0x100000	/* tables follow the RSDP up to 1 MiB */
#define PM1A_EVT_PORT		0x400	/* PM1a status (2 bytes), enable at +2 */
#define PM1A_CNT_PORT		0x404	/* PM1a control */
#define PM_TMR_PORT		0x408	/* 32-bit PM timer, 3.579545 MHz */
#define GPE0_PORT		0x40c	/* GPE0 status/enable */
#define SMI_CMD_PORT		0xb2
#define ACPI_ENABLE_CMD		0xa0
#define ACPI_DISABLE_CMD	0xa1
#define SCI_IRQ_LINE		9	/* level, active low */
#define HPET_BASE		0xfed00000ULL
#define HPET_SIZE		0x400

#endif
