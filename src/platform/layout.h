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
#define MPTABLE_MAX		0x2000
#define KERNEL_ADDR		0x100000

/* KVM's private pages (see vmm/vm.c), reserved in e820 */
#define KVM_PRIVATE_ADDR	0xfeffc000ULL
#define KVM_PRIVATE_SIZE	0x4000ULL

#endif
