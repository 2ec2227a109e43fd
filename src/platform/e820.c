#include "platform/e820.h"
#include "bus/pci.h"
#include "platform/layout.h"
#include "vmm/mem.h"

static int add(struct e820_entry *e, int n, int max, uint64_t addr,
    uint64_t size, uint32_t type)
{
	if (n < max && size > 0)
		e[n++] = (struct e820_entry){ addr, size, type };
	return n;
}

int e820_build(uint64_t lowmem, uint64_t highmem, struct e820_entry *e,
    int max)
{
	int n = 0;

	/* Conventional memory up to the EBDA, then the BIOS areas. */
	n = add(e, n, max, 0, EBDA_ADDR, E820_RAM);
	n = add(e, n, max, EBDA_ADDR, KERNEL_ADDR - EBDA_ADDR, E820_RESERVED);
	if (lowmem > KERNEL_ADDR)
		n = add(e, n, max, KERNEL_ADDR, lowmem - KERNEL_ADDR, E820_RAM);
	/* PCI ECAM window (as MCFG will describe it) */
	n = add(e, n, max, PCI_ECAM_BASE, PCI_ECAM_SIZE, E820_RESERVED);
	/* KVM's TSS and identity-map pages */
	n = add(e, n, max, KVM_PRIVATE_ADDR, KVM_PRIVATE_SIZE, E820_RESERVED);
	if (highmem)
		n = add(e, n, max, HIGHMEM_BASE, highmem, E820_RAM);
	return n;
}
