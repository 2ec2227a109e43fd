/* libFuzzer target for the virtqueue chain validator (src/virtio/queue.c).
 * The input is the guest: a queue size, feature bits, a descriptor table,
 * an indirect table and the avail ring, in 1 MiB of "guest memory".  Every
 * accepted chain must lie inside guest memory; ASan/UBSan catch the rest.
 * Build and run (bounded): make fuzz FUZZ_SECONDS=60 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/queue.h"
#include "vmm/mem.h"

#define RAM (1u << 20)

static uint8_t *ram;
static struct guest_mem mem;

static void f_intr(struct vq *q) { (void)q; }
static void f_err(struct vq *q, const char *why) { (void)q; (void)why; }
static const struct vq_ops ops = { f_intr, f_err };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq vq;
	struct vq_chain c;
	struct iovec iov[256];
	uint16_t qs;
	size_t n;

	if (ram == NULL) {
		ram = calloc(1, RAM);
		mem.r[0] = (struct mem_region){ 0, RAM, ram };
		mem.nr = 1;
		mem.lowmem = RAM;
	}
	if (size < 4)
		return 0;
	qs = (uint16_t)(1u << (data[0] % 9));	/* 1..256 */
	memset(ram, 0, 0x30000);
	vq_init(&vq, 0, qs, &ops, NULL, &mem);
	vq.desc_gpa = 0x0;
	vq.avail_gpa = 0x10000;
	vq.used_gpa = 0x20000;
	if (!vq_enable(&vq))
		return 0;
	vq.indirect = data[1] & 1;
	vq.event_idx = data[1] & 2;
	data += 2;
	size -= 2;
	/* avail ring (flags, idx, ring) then descriptors, then an indirect
	 * table at 0x8000 inside the descriptor area */
	n = size < 4 + 2u * qs ? size : 4 + 2u * qs;
	memcpy(ram + 0x10000, data, n);
	data += n;
	size -= n;
	n = size < 16u * qs ? size : 16u * qs;
	memcpy(ram, data, n);
	data += n;
	size -= n;
	n = size < 0x8000 ? size : 0x8000;
	memcpy(ram + 0x8000, data, n);
	for (int k = 0; k < 300; k++) {
		int r = vq_getchain(&vq, &c, iov, 256);
		if (r <= 0)
			break;
		if (c.nout + c.nin > qs || c.nout + c.nin > 256)
			abort();
		for (unsigned i = 0; i < (unsigned)c.nout + c.nin; i++) {
			uint8_t *p = iov[i].iov_base;
			if (p < ram || p + iov[i].iov_len > ram + RAM)
				abort();
		}
		vq_relchain(&vq, &c, c.inlen);
		vq_endchains(&vq);
	}
	return 0;
}
