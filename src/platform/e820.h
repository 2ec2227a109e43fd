/* The BIOS E820 memory map handed to the guest kernel. */
#ifndef BHYVE_E820_H
#define BHYVE_E820_H

#include <stdint.h>

#define E820_RAM	1
#define E820_RESERVED	2

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

#define E820_MAX 16

/* Build the map for lowmem bytes at 0 and highmem bytes at 4 GiB; returns
 * the number of entries (sorted, non-overlapping). */
int e820_build(uint64_t lowmem, uint64_t highmem, struct e820_entry *e,
    int max);

#endif
