/* Direct kernel boot (boot.kernel, boot.initrd, boot.cmdline): a Linux
 * bzImage through the x86 boot protocol's 32-bit entry, or an ELF kernel
 * through its PVH entry note (or, for a 64-bit ELF without the note, the
 * 64-bit boot protocol entry at e_entry). */
#ifndef BHYVE_LOADER_H
#define BHYVE_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/vm.h"

/* Facts read from a bzImage setup header. */
struct bzimage_info {
	uint16_t version;
	unsigned setup_size;	/* bytes before the protected-mode code */
	uint32_t code32_start;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t init_size;
	uint64_t pref_address;
	uint8_t loadflags;
	unsigned hdr_end;	/* end of the setup header (to copy) */
	uint32_t payload_offset;	/* compressed vmlinux, from the */
	uint32_t payload_length;	/* protected-mode code (2.08+) */
};
/* img holds the first min(len, 4096) bytes of a file of len bytes. */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *bi);

/* Facts read from an ELF kernel. */
struct elf_info {
	bool is64;
	uint64_t entry;		/* physical entry (PVH or translated e_entry) */
	bool pvh;
	uint64_t entry64;	/* e_entry as a physical address */
	bool entry64_ok;	/* e_entry lies inside a loaded segment */
	uint64_t load_end;	/* highest physical byte loaded + 1 */
};
/* Parse and, when mem is non-NULL, load the PT_LOAD segments. */
int elf_load(const uint8_t *img, size_t len, const struct guest_mem *mem,
    struct elf_info *ei);

/* Load boot.kernel/initrd/cmdline into the VM and fill vm->boot.  With
 * `decompress` (boot.decompress=true), a bzImage's payload is decompressed
 * here and its vmlinux entered through the 64-bit boot protocol: the
 * guest's own decompressor is skipped, at the cost of the decoder's memory
 * (an xz kernel's 32 MiB dictionary) while loading and of physical KASLR. */
int boot_load(struct vm *vm, const char *kernel, const char *initrd,
    const char *cmdline, bool decompress);

#endif
