/* bzImage and ELF parsing/loading: src/platform/loader.c */
#include "unit.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/loader.h"
#include "util.h"
#include "vmm/mem.h"

static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, (uint16_t)v); w16(p + 2, (uint16_t)(v >> 16)); }
static void w64(uint8_t *p, uint64_t v) { w32(p, (uint32_t)v); w32(p + 4, (uint32_t)(v >> 32)); }

/* Call a parser on an exact-size heap copy, so overreads are real. */
static int bz_parse_n(const uint8_t *img, size_t len, struct bzimage_info *bi)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;
	assert_non_null(copy);
	memcpy(copy, img, len);
	r = bzimage_parse(copy, len, bi);
	free(copy);
	return r;
}

static int elf_n(const uint8_t *img, size_t len, const struct guest_mem *m,
    struct elf_info *ei)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;
	assert_non_null(copy);
	memcpy(copy, img, len);
	r = elf_load(copy, len, m, ei);
	free(copy);
	return r;
}

/* ---- bzImage ---- */

#define BZ_LEN (5 * 512 + 8192)
static uint8_t bz[BZ_LEN];

static void make_bzimage(void)
{
	memset(bz, 0, sizeof(bz));
	bz[0x1f1] = 4;				/* setup_sects */
	bz[0x1fe] = 0x55;
	bz[0x1ff] = 0xaa;
	bz[0x200] = 0xeb;
	bz[0x201] = 0x6a;			/* header ends at 0x26c */
	memcpy(bz + 0x202, "HdrS", 4);
	w16(bz + 0x206, 0x020f);
	bz[0x211] = 0x01;			/* LOADED_HIGH */
	w32(bz + 0x214, 0x100000);
	w32(bz + 0x22c, 0x7fffffff);
	w32(bz + 0x238, 2047);
	w64(bz + 0x258, 0x1000000);
	w32(bz + 0x260, 0x1234000);
	for (size_t i = 5 * 512; i < BZ_LEN; i++)
		bz[i] = (uint8_t)i;
}

static void test_bz_valid(void **state)
{
	struct bzimage_info bi;
	(void)state;

	make_bzimage();
	assert_int_equal(bz_parse_n(bz, BZ_LEN, &bi), 0);
	assert_int_equal(bi.version, 0x020f);
	assert_int_equal(bi.setup_size, 5 * 512);
	assert_int_equal(bi.code32_start, 0x100000);
	assert_int_equal(bi.initrd_addr_max, 0x7fffffff);
	assert_int_equal(bi.cmdline_size, 2047);
	assert_int_equal(bi.pref_address, 0x1000000);
	assert_int_equal(bi.init_size, 0x1234000);
	assert_int_equal(bi.loadflags, 0x01);
	assert_int_equal(bi.hdr_end, 0x26c);

	/* setup_sects 0 means 4 */
	bz[0x1f1] = 0;
	assert_int_equal(bz_parse_n(bz, BZ_LEN, &bi), 0);
	assert_int_equal(bi.setup_size, 5 * 512);
	bz[0x1f1] = 10;
	assert_int_equal(bz_parse_n(bz, BZ_LEN, &bi), 0);
	assert_int_equal(bi.setup_size, 11 * 512);

	/* 2.06..2.09: no pref_address / init_size fields */
	make_bzimage();
	w16(bz + 0x206, 0x0206);
	assert_int_equal(bz_parse_n(bz, BZ_LEN, &bi), 0);
	assert_int_equal(bi.version, 0x0206);
	assert_int_equal(bi.pref_address, 0);
	assert_int_equal(bi.init_size, 0);
	assert_int_equal(bi.cmdline_size, 2047);
}

static void test_bz_invalid(void **state)
{
	struct bzimage_info bi;
	(void)state;

	make_bzimage();
	memcpy(bz + 0x202, "HdrX", 4);
	assert_int_equal(bz_parse_n(bz, BZ_LEN, &bi), -1);
	assert_non_null(strstr(last_error(), "HdrS"));

	make_bzimage();
	w16(bz + 0x206, 0x0205);
	assert_int_equal(bz_parse_n(bz, BZ_LEN, &bi), -1);
	assert_non_null(strstr(last_error(), "2.05"));

	make_bzimage();
	bz[0x211] = 0;				/* zImage */
	assert_int_equal(bz_parse_n(bz, BZ_LEN, &bi), -1);

	make_bzimage();
	bz[0x201] = 0x10;			/* header too short */
	assert_int_equal(bz_parse_n(bz, BZ_LEN, &bi), -1);

	/* setup larger than the file */
	make_bzimage();
	bz[0x1f1] = 20;			/* 21 * 512 == BZ_LEN */
	assert_int_equal(bz_parse_n(bz, 21 * 512 - 1, &bi), -1);
	assert_int_equal(bz_parse_n(bz, BZ_LEN, &bi), -1);
	make_bzimage();
	assert_int_equal(bz_parse_n(bz, 5 * 512, &bi), -1);	/* no kernel */
	assert_int_equal(bz_parse_n(bz, 5 * 512 + 1, &bi), 0);

	assert_int_equal(bz_parse_n(bz, 0x3ff, &bi), -1);
	assert_int_equal(bz_parse_n(bz, 0, &bi), -1);
}

static void test_bz_truncations(void **state)
{
	struct bzimage_info bi;
	(void)state;

	make_bzimage();
	for (size_t len = 0; len <= 5 * 512 + 16; len++) {
		int r = bz_parse_n(bz, len, &bi);
		assert_int_equal(r, len > 5 * 512 ? 0 : -1);
	}
	/* random garbage after the magic */
	srand(1);
	for (int i = 0; i < 2000; i++) {
		make_bzimage();
		for (int k = 0; k < 8; k++)
			bz[0x1f0 + rand() % 0x80] = (uint8_t)rand();
		int r = bz_parse_n(bz, (size_t)(rand() % BZ_LEN), &bi);
		assert_true(r == 0 || r == -1);
		if (r == 0) {
			assert_true(bi.setup_size < BZ_LEN);
			assert_true(bi.hdr_end <= bi.setup_size);
		}
	}
}

/* ---- ELF ---- */

#define ELF_LEN 0x400
#define SEG_OFF 0x200
#define SEG_FILESZ 0x100
#define SEG_MEMSZ 0x200
#define SEG_PADDR 0x100000ULL
#define SEG_VADDR 0xffffffff81000000ULL
static uint8_t elf[ELF_LEN];

/* ELF64: ehdr, phdr[0] = PT_NOTE (when note), phdr[1] = PT_LOAD. */
static void make_elf64(bool note)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(elf + sizeof(*eh));
	unsigned i = 0;

	memset(elf, 0, sizeof(elf));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = SEG_VADDR + 0x10;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	if (note) {
		ph[i].p_type = PT_NOTE;
		ph[i].p_offset = 0x100;
		ph[i].p_filesz = 0x40;
		/* an unrelated note first, then Xen PHYS32_ENTRY */
		w32(elf + 0x100, 4);
		w32(elf + 0x104, 4);
		w32(elf + 0x108, 1);
		memcpy(elf + 0x10c, "GNU", 4);
		w32(elf + 0x110, 0x11111111);
		w32(elf + 0x114, 4);
		w32(elf + 0x118, 4);
		w32(elf + 0x11c, 18);
		memcpy(elf + 0x120, "Xen", 4);
		w32(elf + 0x124, 0x100400);
		i++;
	}
	ph[i].p_type = PT_LOAD;
	ph[i].p_offset = SEG_OFF;
	ph[i].p_vaddr = SEG_VADDR;
	ph[i].p_paddr = SEG_PADDR;
	ph[i].p_filesz = SEG_FILESZ;
	ph[i].p_memsz = SEG_MEMSZ;
	ph[i].p_flags = PF_R | PF_X;
	i++;
	eh->e_phnum = (uint16_t)i;
	for (unsigned k = 0; k < SEG_FILESZ; k++)
		elf[SEG_OFF + k] = (uint8_t)(k ^ 0x5a);
}

static Elf64_Phdr *phdr64(unsigned i)
{
	return (Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr)) + i;
}

/* A guest with 2 MiB of RAM at 0. */
static struct guest_mem gm;
static uint8_t *ram;
#define RAM_SIZE (2 * MIB)

static int mem_setup(void **state)
{
	(void)state;
	ram = malloc(RAM_SIZE);
	if (ram == NULL)
		return -1;
	memset(ram, 0xcc, RAM_SIZE);
	memset(&gm, 0, sizeof(gm));
	gm.r[0] = (struct mem_region){ 0, RAM_SIZE, ram };
	gm.nr = 1;
	gm.lowmem = RAM_SIZE;
	return 0;
}

static int mem_teardown(void **state)
{
	(void)state;
	free(ram);
	ram = NULL;
	return 0;
}

static void test_elf_pvh(void **state)
{
	struct elf_info ei;
	(void)state;

	make_elf64(true);
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), 0);
	assert_true(ei.is64);
	assert_true(ei.pvh);
	assert_int_equal(ei.entry, 0x100400);
	assert_int_equal(ei.load_end, SEG_PADDR + SEG_MEMSZ);

	/* 64-bit PVH descriptor */
	w32(elf + 0x118, 8);
	w64(elf + 0x124, 0x200000);
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), 0);
	assert_true(ei.pvh);
	assert_int_equal(ei.entry, 0x200000);

	/* other Xen note types are not the entry */
	make_elf64(true);
	w32(elf + 0x11c, 17);
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), 0);
	assert_false(ei.pvh);
	assert_int_equal(ei.entry, SEG_PADDR + 0x10);
	/* nor a type-18 note with another name */
	make_elf64(true);
	memcpy(elf + 0x120, "Xem", 4);
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), 0);
	assert_false(ei.pvh);
	/* a note segment outside the file is an error */
	make_elf64(true);
	phdr64(0)->p_offset = ELF_LEN - 8;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	/* notes whose sizes run past the segment are ignored */
	make_elf64(true);
	w32(elf + 0x100, 0xfffffff0u);
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), 0);
	assert_false(ei.pvh);
	make_elf64(true);
	w32(elf + 0x118, 0xffffffffu);
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), 0);
	assert_false(ei.pvh);
}

static void test_elf64_entry(void **state)
{
	struct elf_info ei;
	(void)state;

	make_elf64(false);
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), 0);
	assert_true(ei.is64);
	assert_false(ei.pvh);
	/* virtual e_entry translated through its segment */
	assert_int_equal(ei.entry, SEG_PADDR + 0x10);
	assert_int_equal(ei.load_end, SEG_PADDR + SEG_MEMSZ);

	/* physical e_entry works too */
	((Elf64_Ehdr *)elf)->e_entry = SEG_PADDR;
	phdr64(0)->p_vaddr = SEG_PADDR;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), 0);
	assert_int_equal(ei.entry, SEG_PADDR);

	/* entry in the bss part of the segment is still inside */
	make_elf64(false);
	((Elf64_Ehdr *)elf)->e_entry = SEG_VADDR + SEG_MEMSZ - 1;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), 0);
	assert_int_equal(ei.entry, SEG_PADDR + SEG_MEMSZ - 1);

	/* entry outside every segment */
	((Elf64_Ehdr *)elf)->e_entry = SEG_VADDR + SEG_MEMSZ;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);

	/* entry above 4 GiB */
	make_elf64(false);
	phdr64(0)->p_paddr = 0x100000000ULL;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
}

static void test_elf_load_into_memory(void **state)
{
	struct elf_info ei;
	(void)state;

	make_elf64(true);
	assert_int_equal(elf_n(elf, ELF_LEN, &gm, &ei), 0);
	assert_memory_equal(ram + SEG_PADDR, elf + SEG_OFF, SEG_FILESZ);
	for (size_t i = SEG_FILESZ; i < SEG_MEMSZ; i++)
		assert_int_equal(ram[SEG_PADDR + i], 0);	/* bss zeroed */
	assert_int_equal(ram[SEG_PADDR + SEG_MEMSZ], 0xcc);	/* no more */
	assert_int_equal(ram[SEG_PADDR - 1], 0xcc);

	/* a segment ending exactly at the end of RAM */
	memset(ram, 0xcc, RAM_SIZE);
	make_elf64(false);
	phdr64(0)->p_paddr = RAM_SIZE - SEG_MEMSZ;
	phdr64(0)->p_vaddr = RAM_SIZE - SEG_MEMSZ;
	((Elf64_Ehdr *)elf)->e_entry = RAM_SIZE - SEG_MEMSZ;
	assert_int_equal(elf_n(elf, ELF_LEN, &gm, &ei), 0);
	assert_int_equal(ei.load_end, RAM_SIZE);

	/* one byte more does not fit */
	phdr64(0)->p_paddr = RAM_SIZE - SEG_MEMSZ + 1;
	assert_int_equal(elf_n(elf, ELF_LEN, &gm, &ei), -1);
	/* fine when only parsing */
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), 0);
	/* far outside */
	make_elf64(false);
	phdr64(0)->p_paddr = 0x300000;
	assert_int_equal(elf_n(elf, ELF_LEN, &gm, &ei), -1);
	assert_non_null(strstr(last_error(), "guest memory"));
}

static void test_elf_bad_segments(void **state)
{
	struct elf_info ei;
	(void)state;

	make_elf64(false);
	phdr64(0)->p_offset = ELF_LEN - 0x10;		/* data past EOF */
	assert_int_equal(elf_n(elf, ELF_LEN, &gm, &ei), -1);
	make_elf64(false);
	phdr64(0)->p_offset = 0x8000000000000000ULL;
	assert_int_equal(elf_n(elf, ELF_LEN, &gm, &ei), -1);
	make_elf64(false);
	phdr64(0)->p_filesz = ~0ULL - 0x100;
	phdr64(0)->p_memsz = ~0ULL;
	assert_int_equal(elf_n(elf, ELF_LEN, &gm, &ei), -1);
	make_elf64(false);
	phdr64(0)->p_filesz = SEG_MEMSZ + 1;		/* filesz > memsz */
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	phdr64(0)->p_paddr = 0xfffffffffffff000ULL;	/* wraps */
	phdr64(0)->p_memsz = 0x2000;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	assert_int_equal(elf_n(elf, ELF_LEN, &gm, &ei), -1);
	/* no loadable segment */
	make_elf64(false);
	phdr64(0)->p_type = PT_DYNAMIC;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	phdr64(0)->p_memsz = 0;
	phdr64(0)->p_filesz = 0;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
}

static void test_elf_bad_headers(void **state)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;
	struct elf_info ei;
	(void)state;

	make_elf64(false);
	eh->e_phnum = 0;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	eh->e_phnum = 65;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	eh->e_phnum = 0xffff;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	eh->e_phnum = 30;		/* 30 * 56 bytes: past the file */
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	eh->e_phoff = ELF_LEN;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	eh->e_phoff = ~0ULL - 8;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	eh->e_phentsize = 32;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	eh->e_machine = EM_AARCH64;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	eh->e_ident[EI_DATA] = ELFDATA2MSB;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	eh->e_ident[EI_CLASS] = 3;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	elf[1] = 'F';
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf64(false);
	assert_int_equal(elf_n(elf, sizeof(Elf64_Ehdr) - 1, NULL, &ei), -1);
	assert_int_equal(elf_n(elf, 4, NULL, &ei), -1);
	assert_int_equal(elf_n(elf, 0, NULL, &ei), -1);
}

/* ELF32 with one PT_LOAD, optionally a PVH note. */
static void make_elf32(bool note)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)elf;
	Elf32_Phdr *ph = (Elf32_Phdr *)(elf + sizeof(*eh));
	unsigned i = 0;

	memset(elf, 0, sizeof(elf));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0x100000;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf32_Phdr);
	if (note) {
		ph[i].p_type = PT_NOTE;
		ph[i].p_offset = 0x100;
		ph[i].p_filesz = 0x14;
		w32(elf + 0x100, 4);
		w32(elf + 0x104, 4);
		w32(elf + 0x108, 18);
		memcpy(elf + 0x10c, "Xen", 4);
		w32(elf + 0x110, 0x100020);
		i++;
	}
	ph[i].p_type = PT_LOAD;
	ph[i].p_offset = SEG_OFF;
	ph[i].p_vaddr = 0x100000;
	ph[i].p_paddr = 0x100000;
	ph[i].p_filesz = SEG_FILESZ;
	ph[i].p_memsz = SEG_MEMSZ;
	i++;
	eh->e_phnum = (uint16_t)i;
}

static void test_elf32(void **state)
{
	struct elf_info ei;
	(void)state;

	make_elf32(false);
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	assert_non_null(strstr(last_error(), "32-bit"));

	make_elf32(true);
	assert_int_equal(elf_n(elf, ELF_LEN, &gm, &ei), 0);
	assert_false(ei.is64);
	assert_true(ei.pvh);
	assert_int_equal(ei.entry, 0x100020);
	assert_int_equal(ei.load_end, 0x100000 + SEG_MEMSZ);
	assert_memory_equal(ram + 0x100000, elf + SEG_OFF, SEG_FILESZ);

	make_elf32(true);
	((Elf32_Ehdr *)elf)->e_machine = EM_X86_64;
	assert_int_equal(elf_n(elf, ELF_LEN, NULL, &ei), -1);
	make_elf32(true);
	assert_int_equal(elf_n(elf, sizeof(Elf32_Ehdr) - 1, NULL, &ei), -1);
}

/* Hostile images: every truncation and random corruption must give 0 or
 * -1, never a crash or a write outside guest RAM. */
static void test_elf_fuzz(void **state)
{
	static uint8_t img[ELF_LEN];
	struct elf_info ei;
	(void)state;

	for (int kind = 0; kind < 3; kind++) {
		if (kind == 2)
			make_elf32(true);
		else
			make_elf64(kind == 1);
		memcpy(img, elf, ELF_LEN);
		for (size_t len = 0; len < ELF_LEN; len++) {
			int r = elf_n(img, len, &gm, &ei);
			assert_true(r == 0 || r == -1);
			/* the segment data ends at 0x300 */
			if (len < SEG_OFF + SEG_FILESZ)
				assert_int_equal(r, -1);
		}
	}
	srand(2);
	for (int i = 0; i < 20000; i++) {
		size_t len = ELF_LEN;
		int r;

		if (i & 1)
			make_elf32(true);
		else
			make_elf64(i & 2);
		for (int k = 0; k < 1 + rand() % 6; k++) {
			/* mostly headers and notes */
			size_t at = (size_t)rand() % (rand() % 4 ? 0x140 : ELF_LEN);
			elf[at] = (uint8_t)rand();
		}
		if (rand() % 4 == 0)
			len = (size_t)rand() % ELF_LEN;
		r = elf_n(elf, len, &gm, &ei);
		assert_true(r == 0 || r == -1);
		if (r == 0) {
			assert_true(ei.load_end <= RAM_SIZE);
			assert_true(ei.entry < (4ULL << 30));
		}
	}
}

/* The RSDP address reaches the guest: PVH start_info.rsdp_paddr, and the
 * zero page's acpi_rsdp_addr (0x070) of the 64-bit entry without a note;
 * 0 when ACPI tables are off. */
static void boot_rsdp(bool note, uint64_t rsdp, uint64_t *pvh, uint64_t *zp)
{
	static struct vm vm;
	char *path;
	FILE *f;

	make_elf64(note);
	path = unit_write_temp("");
	assert_non_null(path);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(elf, 1, ELF_LEN, f), ELF_LEN);
	fclose(f);
	memset(&vm, 0, sizeof(vm));
	vm.mem = gm;
	vm.boot.rsdp = rsdp;
	memset(ram, 0xcc, RAM_SIZE);
	assert_int_equal(boot_load(&vm, path, NULL, "", false), 0);
	memcpy(pvh, ram + 0x6000 + 32, 8);	/* PVH_START_INFO_ADDR */
	memcpy(zp, ram + 0x7000 + 0x70, 8);	/* ZERO_PAGE_ADDR */
	unlink(path);
	free(path);
}

static void test_boot_rsdp(void **state)
{
	uint64_t pvh, zp;
	(void)state;

	boot_rsdp(true, 0xf2400, &pvh, &zp);
	assert_int_equal(pvh, 0xf2400);
	boot_rsdp(true, 0, &pvh, &zp);
	assert_int_equal(pvh, 0);
	boot_rsdp(false, 0xf2400, &pvh, &zp);
	assert_int_equal(zp, 0xf2400);
	boot_rsdp(false, 0, &pvh, &zp);
	assert_int_equal(zp, 0);
}

int run_loader_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bz_valid),
		cmocka_unit_test(test_bz_invalid),
		cmocka_unit_test(test_bz_truncations),
		cmocka_unit_test_setup_teardown(test_elf_pvh, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_elf64_entry, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_elf_load_into_memory, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_elf_bad_segments, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_elf_bad_headers, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_elf32, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_elf_fuzz, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_boot_rsdp, mem_setup, mem_teardown),
	};
	return cmocka_run_group_tests_name("loader", tests, NULL, NULL);
}
