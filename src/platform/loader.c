#include "platform/loader.h"
#include "platform/decompress.h"
#include "platform/e820.h"
#include "platform/layout.h"
#include "util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_KERNEL_SIZE (512ULL << 20)

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* A kernel or initrd image: a buffer (tests) or a file read with pread
 * straight into guest memory, so no copy of it stays in the VMM. */
struct blob {
	const uint8_t *mem;
	int fd;
	uint64_t size;
};

static int blob_read(const struct blob *b, uint64_t off, void *dst,
    uint64_t len)
{
	uint8_t *d = dst;

	if (off > b->size || len > b->size - off)
		return fail("read of %llu bytes at %llu is outside the file",
		    (unsigned long long)len, (unsigned long long)off);
	if (b->mem != NULL) {
		memcpy(d, b->mem + off, len);
		return 0;
	}
	while (len > 0) {
		ssize_t n = pread(b->fd, d, len > (1 << 30) ? (1 << 30) : len,
		    (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? fail("file shrank while reading") :
			    fail_errno("read");
		d += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* ---- bzImage ---- */

#define HDR_SETUP_SECTS		0x1f1
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP		0x200
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_CODE32_START	0x214
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_HEAP_END_PTR	0x224
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_CMDLINE_SIZE	0x238
#define HDR_PAYLOAD_OFFSET	0x248
#define HDR_PAYLOAD_LENGTH	0x24c
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define BP_E820_ENTRIES		0x1e8
#define BP_E820_TABLE		0x2d0
#define BP_E820_MAX		128
#define BP_VID_MODE		0x1fa
#define BP_ACPI_RSDP_ADDR	0x070	/* boot protocol 2.14+ */

#define LOADED_HIGH	0x01
#define CAN_USE_HEAP	0x80

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *bi)
{
	unsigned sects;

	memset(bi, 0, sizeof(*bi));
	if (len < 0x400 || memcmp(img + HDR_MAGIC, "HdrS", 4) != 0)
		return fail("not a Linux bzImage (no HdrS header)");
	bi->version = le16(img + HDR_VERSION);
	if (bi->version < 0x0206)
		return fail("Linux boot protocol %u.%02u is too old (2.06 or "
		    "later needed)", bi->version >> 8, bi->version & 0xff);
	bi->loadflags = img[HDR_LOADFLAGS];
	if (!(bi->loadflags & LOADED_HIGH))
		return fail("zImage kernels (loaded low) are not supported");
	sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	bi->setup_size = (sects + 1) * 512;
	if (bi->setup_size >= len)
		return fail("bzImage truncated: setup of %u bytes, file of %zu",
		    bi->setup_size, len);
	bi->hdr_end = 0x202 + img[HDR_JUMP + 1];
	if (bi->hdr_end > bi->setup_size || bi->hdr_end > 0x1000 ||
	    bi->hdr_end < HDR_CMDLINE_SIZE + 4)
		return fail("bzImage setup header is malformed");
	bi->code32_start = le32(img + HDR_CODE32_START);
	bi->initrd_addr_max = le32(img + HDR_INITRD_ADDR_MAX);
	bi->cmdline_size = le32(img + HDR_CMDLINE_SIZE);
	if (bi->version >= 0x0208 && bi->hdr_end >= HDR_PAYLOAD_LENGTH + 4) {
		bi->payload_offset = le32(img + HDR_PAYLOAD_OFFSET);
		bi->payload_length = le32(img + HDR_PAYLOAD_LENGTH);
	}
	if (bi->version >= 0x020a && bi->hdr_end >= HDR_INIT_SIZE + 4) {
		bi->pref_address = le64(img + HDR_PREF_ADDRESS);
		bi->init_size = le32(img + HDR_INIT_SIZE);
	}
	return 0;
}

/* ---- ELF ---- */

#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define MAX_NOTES_SIZE (1 << 20)

/* Look for the PVH entry note in a PT_NOTE segment's bytes. */
static int elf_find_pvh(const uint8_t *img, uint64_t size, uint64_t *entry)
{
	uint64_t p = 0, end = size;

	while (end - p >= 12) {
		uint32_t namesz = le32(img + p), descsz = le32(img + p + 4);
		uint32_t type = le32(img + p + 8);
		uint64_t name = p + 12;
		uint64_t desc = name + ALIGN_UP((uint64_t)namesz, 4);
		uint64_t next = desc + ALIGN_UP((uint64_t)descsz, 4);

		if (next > end || next <= p)
			break;
		if (namesz == 4 && memcmp(img + name, "Xen", 4) == 0 &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY &&
		    (descsz == 4 || descsz == 8)) {
			*entry = descsz == 4 ? le32(img + desc) : le64(img + desc);
			return 1;
		}
		p = next;
	}
	return 0;
}

static int elf_load_blob(const struct blob *b, const struct guest_mem *mem,
    struct elf_info *ei)
{
	unsigned phnum, phentsize;
	uint64_t phoff, e_entry, len = b->size;
	bool entry_mapped = false;
	uint8_t img[sizeof(Elf64_Ehdr)];
	uint8_t phdrs[64 * sizeof(Elf64_Phdr)];

	memset(ei, 0, sizeof(*ei));
	memset(img, 0, sizeof(img));
	if (blob_read(b, 0, img, len < sizeof(img) ? len : sizeof(img)) != 0)
		return -1;
	if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0)
		return fail("not an ELF file");
	if (img[EI_DATA] != ELFDATA2LSB)
		return fail("ELF kernel is not little-endian");
	if (img[EI_CLASS] == ELFCLASS64) {
		if (len < sizeof(Elf64_Ehdr))
			return fail("ELF header truncated");
		ei->is64 = true;
		if (le16(img + 18) != EM_X86_64)
			return fail("ELF kernel is not for x86-64");
		e_entry = le64(img + 24);
		phoff = le64(img + 32);
		phentsize = le16(img + 54);
		phnum = le16(img + 56);
		if (phentsize != sizeof(Elf64_Phdr))
			return fail("ELF program header size %u", phentsize);
	} else if (img[EI_CLASS] == ELFCLASS32) {
		if (len < sizeof(Elf32_Ehdr))
			return fail("ELF header truncated");
		if (le16(img + 18) != EM_386)
			return fail("ELF kernel is not for i386");
		e_entry = le32(img + 24);
		phoff = le32(img + 28);
		phentsize = le16(img + 42);
		phnum = le16(img + 44);
		if (phentsize != sizeof(Elf32_Phdr))
			return fail("ELF program header size %u", phentsize);
	} else {
		return fail("unknown ELF class %u", img[EI_CLASS]);
	}
	if (phnum == 0 || phnum > 64 || phoff > len ||
	    (uint64_t)phnum * phentsize > len - phoff)
		return fail("ELF program headers outside the file");
	if (blob_read(b, phoff, phdrs, (uint64_t)phnum * phentsize) != 0)
		return -1;

	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = phdrs + (uint64_t)i * phentsize;
		uint32_t type = le32(ph);
		uint64_t off, vaddr, paddr, filesz, memsz;

		if (ei->is64) {
			off = le64(ph + 8);
			vaddr = le64(ph + 16);
			paddr = le64(ph + 24);
			filesz = le64(ph + 32);
			memsz = le64(ph + 40);
		} else {
			off = le32(ph + 4);
			vaddr = le32(ph + 8);
			paddr = le32(ph + 12);
			filesz = le32(ph + 16);
			memsz = le32(ph + 20);
		}
		if (type == PT_NOTE) {
			uint64_t entry = 0;
			uint8_t *notes;
			int r;

			if (off > len || filesz > len - off)
				return fail("ELF note segment outside the file");
			if (filesz == 0 || filesz > MAX_NOTES_SIZE)
				continue;
			notes = malloc(filesz);
			if (notes == NULL)
				return fail("out of memory");
			r = blob_read(b, off, notes, filesz);
			if (r == 0)
				r = elf_find_pvh(notes, filesz, &entry);
			free(notes);
			if (r < 0)
				return -1;
			if (r == 1) {
				ei->pvh = true;
				ei->entry = entry;
			}
			continue;
		}
		if (type != PT_LOAD || memsz == 0)
			continue;
		if (filesz > memsz || off > len || filesz > len - off)
			return fail("ELF segment %u lies outside the file", i);
		if (paddr + memsz < paddr)
			return fail("ELF segment %u wraps around", i);
		if (mem != NULL) {
			uint8_t *dst = guest_ptr(mem, paddr, memsz);
			if (dst == NULL)
				return fail("ELF segment %u (0x%llx..0x%llx) "
				    "does not fit in guest memory", i,
				    (unsigned long long)paddr,
				    (unsigned long long)(paddr + memsz));
			if (blob_read(b, off, dst, filesz) != 0)
				return -1;
			memset(dst + filesz, 0, memsz - filesz);
		}
		if (paddr + memsz > ei->load_end)
			ei->load_end = paddr + memsz;
		/* e_entry is physical (x86-64 vmlinux) or virtual: find the
		 * segment it lies in, physical addresses first. */
		if (e_entry >= paddr && e_entry - paddr < memsz) {
			ei->entry64 = e_entry;
			entry_mapped = true;
		} else if (!entry_mapped && e_entry >= vaddr &&
		    e_entry - vaddr < memsz) {
			ei->entry64 = paddr + (e_entry - vaddr);
			entry_mapped = true;
		}
	}
	if (ei->load_end == 0)
		return fail("ELF kernel has no loadable segments");
	ei->entry64_ok = entry_mapped;
	if (!ei->pvh) {
		ei->entry = ei->entry64;
		if (!ei->is64)
			return fail("32-bit ELF kernel without a PVH entry note "
			    "is not supported");
		if (!entry_mapped)
			return fail("ELF entry point 0x%llx is not inside a "
			    "loaded segment", (unsigned long long)e_entry);
	}
	if (ei->entry >= (4ULL << 30))
		return fail("ELF entry point 0x%llx is above 4 GiB",
		    (unsigned long long)ei->entry);
	return 0;
}

int elf_load(const uint8_t *img, size_t len, const struct guest_mem *mem,
    struct elf_info *ei)
{
	struct blob b = { img, -1, len };
	return elf_load_blob(&b, mem, ei);
}

/* ---- common pieces ---- */

/* Open a kernel or initrd: a regular file of sensible size. */
static int open_image(const char *what, const char *path, struct blob *b)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail_errno("%s '%s'", what, path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail("%s '%s' is not a regular file", what, path);
	}
	if ((uint64_t)st.st_size > MAX_KERNEL_SIZE || st.st_size == 0) {
		close(fd);
		return fail("%s '%s' has an unreasonable size (%lld bytes)",
		    what, path, (long long)st.st_size);
	}
	*b = (struct blob){ NULL, fd, (uint64_t)st.st_size };
	return 0;
}

/* Put the initrd as high as allowed below `limit`, above `floor`. */
static int load_initrd(struct vm *vm, const char *path, uint64_t floor,
    uint64_t limit, uint64_t *addr, uint64_t *size)
{
	struct blob b;
	uint64_t top = vm->mem.lowmem < limit ? vm->mem.lowmem : limit;
	void *dst;
	int r;

	if (open_image("initrd", path, &b) != 0)
		return -1;
	if (b.size > top || ((top - b.size) & ~0xfffULL) < floor) {
		close(b.fd);
		return fail("initrd '%s' (%llu bytes) does not fit in guest "
		    "memory with the kernel; use a larger -m", path,
		    (unsigned long long)b.size);
	}
	*addr = (top - b.size) & ~0xfffULL;
	*size = b.size;
	dst = guest_ptr(&vm->mem, *addr, b.size);
	r = dst ? blob_read(&b, 0, dst, b.size) :
	    fail("initrd placement outside guest memory");
	close(b.fd);
	return r == 0 ? 0 : fail_prefix("initrd '%s'", path);
}

static int put_cmdline(struct vm *vm, const char *cmdline, uint32_t max)
{
	size_t n = strlen(cmdline);

	if (n + 1 > max || n + 1 > CMDLINE_MAX)
		return fail("boot.cmdline is too long (%zu bytes, at most %u)",
		    n, (max < CMDLINE_MAX ? max : CMDLINE_MAX) - 1);
	return guest_write(&vm->mem, CMDLINE_ADDR, cmdline, n + 1) == 0 ? 0 :
	    fail("guest memory too small for the command line");
}

static int put_gdt(struct vm *vm)
{
	static const uint64_t gdt[4] = {
		0, 0,
		0x00cf9a000000ffffULL,	/* 0x10: flat 32-bit code */
		0x00cf92000000ffffULL,	/* 0x18: flat data */
	};
	uint64_t g[4];

	memcpy(g, gdt, sizeof(g));
	if (vm->boot.mode == BOOT_LONG64)
		g[2] = 0x00af9a000000ffffULL;	/* 64-bit code */
	vm->boot.gdt_base = BOOT_GDT_ADDR;
	return guest_write(&vm->mem, BOOT_GDT_ADDR, g, sizeof(g));
}

static int put_page_tables(struct vm *vm)
{
	uint64_t e;

	/* Identity map of the low 4 GiB with 2 MiB pages. */
	e = PDPT_ADDR | 3;
	if (guest_write(&vm->mem, PML4_ADDR, &e, 8) != 0)
		return -1;
	for (uint64_t i = 0; i < 4; i++) {
		e = (PD_ADDR + i * 4096) | 3;
		if (guest_write(&vm->mem, PDPT_ADDR + i * 8, &e, 8) != 0)
			return -1;
	}
	for (uint64_t i = 0; i < 2048; i++) {
		e = (i << 21) | 0x83;
		if (guest_write(&vm->mem, PD_ADDR + i * 8, &e, 8) != 0)
			return -1;
	}
	vm->boot.cr3 = PML4_ADDR;
	return 0;
}

/* Fill the zero page's e820 table. */
static int put_bp_e820(struct vm *vm, uint8_t *zp)
{
	struct e820_entry e[E820_MAX];
	int n = e820_build(vm->mem.lowmem, vm->mem.highmem, e, E820_MAX);

	if (n > BP_E820_MAX)
		return fail("e820 map too large");
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	memcpy(zp + BP_E820_TABLE, e, (size_t)n * sizeof(e[0]));
	return 0;
}

#define MAX_VMLINUX_SIZE (256ULL << 20)

/* Decompress the payload inside guest memory, above where the kernel will
 * live, and load its ELF segments.  Returns 0 with the 64-bit entry in
 * *entry, 1 when not possible (the guest then decompresses), -1 on error.
 * The scratch pages are given back afterwards. */
static int bzimage_unpack(struct vm *vm, const struct blob *b,
    const struct bzimage_info *bi, uint64_t kend, uint64_t *entry)
{
	uint64_t poff = (uint64_t)bi->setup_size + bi->payload_offset;
	uint64_t plen = bi->payload_length, vlen, in_at, out_at;
	uint8_t tail[4], *in, *out;
	size_t got;
	struct blob vb;
	struct elf_info ei;
	int r;

	if (plen < 16 || poff > b->size || plen > b->size - poff)
		return 1;
	/* The payload ends with the decompressed size (little-endian). */
	if (blob_read(b, poff + plen - 4, tail, 4) != 0)
		return -1;
	vlen = le32(tail);
	if (vlen == 0 || vlen > MAX_VMLINUX_SIZE)
		return 1;
	in_at = ALIGN_UP(kend, 2ULL << 20);
	out_at = ALIGN_UP(in_at + plen, 2ULL << 20);
	in = guest_ptr(&vm->mem, in_at, plen);
	out = guest_ptr(&vm->mem, out_at, vlen);
	if (in == NULL || out == NULL)
		return 1;		/* not enough memory for the scratch */
	if (blob_read(b, poff, in, plen) != 0)
		return -1;
	r = payload_decompress(in, plen - 4, out, vlen, &got);
	if (r != 0)
		goto out;
	vb = (struct blob){ out, -1, got };
	/* Parse first: every segment must end below the scratch area. */
	if ((r = elf_load_blob(&vb, NULL, &ei)) == 0 && ei.load_end > in_at)
		r = fail("decompressed kernel (up to 0x%llx) overlaps its "
		    "scratch area", (unsigned long long)ei.load_end);
	if (r == 0 && (!ei.is64 || !ei.entry64_ok))
		r = 1;
	if (r == 0)
		r = elf_load_blob(&vb, &vm->mem, &ei);
	if (r == 0)
		*entry = ei.entry64;
out:
	madvise(in, out_at + vlen - in_at, MADV_DONTNEED);
	return r;
}

static int boot_bzimage(struct vm *vm, const struct blob *b,
    const char *initrd, const char *cmdline, bool decompress)
{
	struct bzimage_info bi;
	uint8_t *zp = guest_ptr(&vm->mem, ZERO_PAGE_ADDR, 4096);
	uint64_t pm_len, floor, rd_addr = 0, rd_size = 0, base;
	uint64_t len = b->size;
	uint8_t img[4096];	/* the setup header lies in the first 4 KiB */
	uint32_t cmax;
	void *dst;
	uint64_t entry = 0;
	int unpacked;

	if (blob_read(b, 0, img, len < sizeof(img) ? len : sizeof(img)) != 0 ||
	    bzimage_parse(img, len, &bi) != 0)
		return -1;
	pm_len = len - bi.setup_size;
	dst = guest_ptr(&vm->mem, KERNEL_ADDR, pm_len);
	if (zp == NULL || dst == NULL)
		return fail("kernel (%llu bytes) does not fit in guest memory",
		    (unsigned long long)pm_len);

	memset(zp, 0, 4096);
	memcpy(zp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS,
	    bi.hdr_end - HDR_SETUP_SECTS);
	zp[HDR_TYPE_OF_LOADER] = 0xff;
	zp[HDR_LOADFLAGS] = (uint8_t)(bi.loadflags | CAN_USE_HEAP);
	zp[HDR_HEAP_END_PTR] = 0x00;
	zp[HDR_HEAP_END_PTR + 1] = 0xfe;	/* 0xfe00 */
	zp[BP_VID_MODE] = 0xff;
	zp[BP_VID_MODE + 1] = 0xff;
	memcpy(zp + HDR_CODE32_START, &(uint32_t){ KERNEL_ADDR }, 4);
	memcpy(zp + HDR_CMD_LINE_PTR, &(uint32_t){ CMDLINE_ADDR }, 4);
	cmax = bi.cmdline_size ? bi.cmdline_size + 1 : 256;
	if (put_cmdline(vm, cmdline, cmax) != 0)
		return -1;
	/* The decompressed kernel occupies init_size bytes from its
	 * preferred address; the initrd must stay clear of it. */
	base = bi.pref_address > KERNEL_ADDR ? bi.pref_address : KERNEL_ADDR;
	floor = base + (bi.init_size > pm_len ? bi.init_size : pm_len);
	if (floor > vm->mem.lowmem)
		return fail("guest memory too small for this kernel (needs "
		    "more than %llu MiB)", (unsigned long long)(floor >> 20));
	unpacked = 1;
	if (decompress) {
		unpacked = bi.init_size == 0 ? 1 : bzimage_unpack(vm, b, &bi,
		    floor, &entry);
		if (unpacked < 0)
			return -1;
		if (unpacked > 0)
			return fail("boot.decompress: this kernel's payload "
			    "cannot be decompressed here (not xz, gzip or "
			    "zstd, or too little memory for it); set "
			    "boot.decompress=false");
	}
	if (unpacked != 0 && blob_read(b, bi.setup_size, dst, pm_len) != 0)
		return -1;
	if (initrd != NULL) {
		uint64_t limit = (uint64_t)bi.initrd_addr_max + 1;
		if (load_initrd(vm, initrd, floor, limit, &rd_addr, &rd_size))
			return -1;
		memcpy(zp + HDR_RAMDISK_IMAGE, &(uint32_t){ (uint32_t)rd_addr }, 4);
		memcpy(zp + HDR_RAMDISK_SIZE, &(uint32_t){ (uint32_t)rd_size }, 4);
	}
	if (put_bp_e820(vm, zp) != 0)
		return -1;
	if (vm->boot.rsdp != 0 && bi.version >= 0x020e)
		memcpy(zp + BP_ACPI_RSDP_ADDR, &vm->boot.rsdp, 8);
	vm->boot.rsi = ZERO_PAGE_ADDR;
	if (unpacked == 0) {
		/* vmlinux in place: its 64-bit entry, as the decompressor
		 * would jump to it. */
		vm->boot.mode = BOOT_LONG64;
		vm->boot.rip = entry;
		if (put_page_tables(vm) != 0)
			return fail("guest memory too small for page tables");
		return put_gdt(vm);
	}
	vm->boot.mode = BOOT_PROT32;
	vm->boot.rip = KERNEL_ADDR;
	return put_gdt(vm);
}

/* PVH start_info and its tables. */
#define PVH_MAGIC		0x336ec578u
#define PVH_MODLIST_ADDR	(PVH_START_INFO_ADDR + 0x100)
#define PVH_MEMMAP_ADDR		(PVH_START_INFO_ADDR + 0x200)

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static int boot_elf(struct vm *vm, const struct blob *b,
    const char *initrd, const char *cmdline)
{
	struct elf_info ei;
	struct e820_entry e[E820_MAX];
	uint64_t rd_addr = 0, rd_size = 0;
	int n;

	if (elf_load_blob(b, &vm->mem, &ei) != 0)
		return -1;
	if (put_cmdline(vm, cmdline, CMDLINE_MAX) != 0)
		return -1;
	if (initrd != NULL && load_initrd(vm, initrd, ei.load_end,
	    4ULL << 30, &rd_addr, &rd_size) != 0)
		return -1;
	n = e820_build(vm->mem.lowmem, vm->mem.highmem, e, E820_MAX);
	if (ei.pvh) {
		struct hvm_start_info si = {
			.magic = PVH_MAGIC, .version = 1,
			.cmdline_paddr = CMDLINE_ADDR,
			.memmap_paddr = PVH_MEMMAP_ADDR,
			.memmap_entries = (uint32_t)n,
			.rsdp_paddr = vm->boot.rsdp,
		};
		if (initrd != NULL) {
			struct hvm_modlist_entry m = { rd_addr, rd_size, 0, 0 };
			si.nr_modules = 1;
			si.modlist_paddr = PVH_MODLIST_ADDR;
			if (guest_write(&vm->mem, PVH_MODLIST_ADDR, &m,
			    sizeof(m)) != 0)
				return fail("guest memory too small");
		}
		for (int i = 0; i < n; i++) {
			struct hvm_memmap_entry m = { e[i].addr, e[i].size,
			    e[i].type, 0 };
			if (guest_write(&vm->mem, PVH_MEMMAP_ADDR +
			    (uint64_t)i * sizeof(m), &m, sizeof(m)) != 0)
				return fail("guest memory too small");
		}
		if (guest_write(&vm->mem, PVH_START_INFO_ADDR, &si,
		    sizeof(si)) != 0)
			return fail("guest memory too small");
		vm->boot.mode = BOOT_PROT32;
		vm->boot.rip = ei.entry;
		vm->boot.rbx = PVH_START_INFO_ADDR;
		return put_gdt(vm);
	}
	/* 64-bit boot protocol: a zero page without setup code. */
	{
		uint8_t *zp = guest_ptr(&vm->mem, ZERO_PAGE_ADDR, 4096);
		if (zp == NULL)
			return fail("guest memory too small");
		memset(zp, 0, 4096);
		memcpy(zp + HDR_BOOT_FLAG, &(uint16_t){ 0xaa55 }, 2);
		memcpy(zp + HDR_MAGIC, "HdrS", 4);
		memcpy(zp + HDR_VERSION, &(uint16_t){ 0x020f }, 2);
		zp[HDR_TYPE_OF_LOADER] = 0xff;
		zp[HDR_LOADFLAGS] = LOADED_HIGH;
		memcpy(zp + HDR_CMD_LINE_PTR, &(uint32_t){ CMDLINE_ADDR }, 4);
		memcpy(zp + HDR_RAMDISK_IMAGE, &(uint32_t){ (uint32_t)rd_addr }, 4);
		memcpy(zp + HDR_RAMDISK_SIZE, &(uint32_t){ (uint32_t)rd_size }, 4);
		if (put_bp_e820(vm, zp) != 0)
			return -1;
		vm->boot.mode = BOOT_LONG64;
		vm->boot.rip = ei.entry;
		vm->boot.rsi = ZERO_PAGE_ADDR;
		if (put_page_tables(vm) != 0)
			return fail("guest memory too small for page tables");
		return put_gdt(vm);
	}
}

int boot_load(struct vm *vm, const char *kernel, const char *initrd,
    const char *cmdline, bool decompress)
{
	struct blob b;
	uint8_t magic[SELFMAG] = { 0 };
	int r;

	if (open_image("kernel", kernel, &b) != 0)
		return -1;
	if (!cmdline)
		cmdline = "";
	r = blob_read(&b, 0, magic, b.size < SELFMAG ? b.size : SELFMAG);
	if (r == 0 && memcmp(magic, ELFMAG, SELFMAG) == 0)
		r = boot_elf(vm, &b, initrd, cmdline);
	else if (r == 0)
		r = boot_bzimage(vm, &b, initrd, cmdline, decompress);
	close(b.fd);
	if (r != 0)
		return fail_prefix("boot.kernel '%s'", kernel);
	return 0;
}
