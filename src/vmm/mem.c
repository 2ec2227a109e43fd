#include "vmm/mem.h"

#include <string.h>

void mem_layout(uint64_t size, uint64_t *lowmem, uint64_t *highmem)
{
	*lowmem = size > LOWMEM_LIMIT ? LOWMEM_LIMIT : size;
	*highmem = size - *lowmem;
}

void *guest_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (int i = 0; i < m->nr; i++) {
		const struct mem_region *r = &m->r[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

bool guest_is_ram(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	return guest_ptr(m, gpa, len) != NULL;
}

/* Walk [gpa, gpa+len) region by region; with buf NULL only check. */
static int guest_copy(const struct guest_mem *m, uint64_t gpa, uint8_t *buf,
    uint64_t len, bool write)
{
	if (gpa + len < gpa)
		return -1;
	while (len > 0) {
		uint64_t chunk = 0;
		uint8_t *h = NULL;
		for (int i = 0; i < m->nr; i++) {
			const struct mem_region *r = &m->r[i];
			if (gpa >= r->gpa && gpa - r->gpa < r->size) {
				chunk = r->size - (gpa - r->gpa);
				h = r->hva + (gpa - r->gpa);
				break;
			}
		}
		if (h == NULL)
			return -1;
		if (chunk > len)
			chunk = len;
		if (buf != NULL) {
			if (write)
				memcpy(h, buf, chunk);
			else
				memcpy(buf, h, chunk);
			buf += chunk;
		}
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

/* Both copies validate the whole range first: nothing is half-done. */
int guest_read(const struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len)
{
	if (guest_copy(m, gpa, NULL, len, false) != 0)
		return -1;
	return guest_copy(m, gpa, buf, len, false);
}

int guest_write(const struct guest_mem *m, uint64_t gpa, const void *buf,
    uint64_t len)
{
	if (guest_copy(m, gpa, NULL, len, true) != 0)
		return -1;
	return guest_copy(m, gpa, (uint8_t *)buf, len, true);
}
