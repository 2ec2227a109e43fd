/* Guest physical memory: the only way device and loader code reaches it.
 * A range is usable only when it lies entirely inside one RAM region. */
#ifndef BHYVE_MEM_H
#define BHYVE_MEM_H

#include <stdbool.h>
#include <stdint.h>

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)
#define LOWMEM_LIMIT	(3 * GIB)	/* RAM below the 32-bit PCI hole */
#define HIGHMEM_BASE	(4 * GIB)

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct mem_region r[2];
	int nr;
	uint64_t lowmem;	/* bytes of RAM at 0 */
	uint64_t highmem;	/* bytes of RAM at 4 GiB */
};

/* Split a RAM size into the regions below and above the PCI hole. */
void mem_layout(uint64_t size, uint64_t *lowmem, uint64_t *highmem);

/* Host pointer for [gpa, gpa+len) or NULL when any byte is outside one RAM
 * region (or the range wraps). len 0 is treated as 1. */
void *guest_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* Copy helpers that may cross regions; -1 when any byte is not RAM. */
int guest_read(const struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len);
int guest_write(const struct guest_mem *m, uint64_t gpa, const void *buf,
    uint64_t len);
bool guest_is_ram(const struct guest_mem *m, uint64_t gpa, uint64_t len);

#endif
