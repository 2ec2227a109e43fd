/* A small AML (ACPI Machine Language) builder: enough to write a DSDT in
 * process (names, integers, strings, packages, buffers, methods, scopes,
 * devices, resource templates) without an external compiler.
 *
 * Errors (out of memory, too deep nesting, a package given the wrong
 * element count) are sticky: every call after one is a no-op and
 * aml_finish() reports it. */
#ifndef BHYVE_AML_H
#define BHYVE_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err;
	int depth;
	struct {
		size_t start;	/* offset of the 1-byte PkgLength placeholder */
	} open[AML_MAX_DEPTH];
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* 0, or -1 with a message when something went wrong or a construct was
 * left open. */
int aml_finish(struct aml *a);

void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t v);

/* A NameString: "\\_SB.PC00", "^FOO", "COM1"; segments shorter than four
 * characters are padded with '_'. */
void aml_namestring(struct aml *a, const char *path);

/* Data objects */
void aml_integer(struct aml *a, uint64_t v);	/* Zero/One/Byte..QWord */
void aml_string(struct aml *a, const char *s);
void aml_eisaid(struct aml *a, const char *id);	/* "PNP0A08" -> DWord */
void aml_buffer(struct aml *a, const void *data, size_t n);

/* Name (NAME, <object that follows>) */
void aml_name(struct aml *a, const char *name);
/* Name (NAME, integer) and Name (NAME, string) shorthands */
void aml_name_int(struct aml *a, const char *name, uint64_t v);
void aml_name_str(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);

/* Constructs with a PkgLength; close each with aml_end(). */
void aml_scope(struct aml *a, const char *path);
void aml_device(struct aml *a, const char *name);
/* flags: argument count 0..7; serialized adds bit 3. */
void aml_method(struct aml *a, const char *name, unsigned nargs,
    int serialized);
/* Package with `nelems` elements: the caller emits exactly that many. */
void aml_package(struct aml *a, unsigned nelems);
void aml_end(struct aml *a);

/* Return (<term that follows>) */
void aml_return(struct aml *a);

/* Resource templates (ACPI 6.x, 6.4 "Resource Data Types"), built into a
 * byte array that aml_res_end() closes with an End Tag and hands to
 * aml_buffer(). */
struct aml_res {
	uint8_t buf[512];
	size_t len;
	int err;
};
void aml_res_init(struct aml_res *r);
/* IO (Decode16, min, max, align, len) */
void aml_res_io(struct aml_res *r, uint16_t min, uint16_t max, uint8_t align,
    uint8_t len);
/* IRQNoFlags () {irq}: edge, active high */
void aml_res_irq(struct aml_res *r, unsigned irq);
void aml_res_mem32_fixed(struct aml_res *r, int writable, uint32_t base,
    uint32_t len);
/* Producer address-space descriptors with fixed min and max */
void aml_res_word_bus(struct aml_res *r, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml_res *r, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml_res *r, uint32_t min, uint32_t max);
void aml_res_qword_mem(struct aml_res *r, uint64_t min, uint64_t max);
/* Append the End Tag and write Buffer () to `a`. */
void aml_res_end(struct aml_res *r, struct aml *a);

/* AML opcodes used by the builder and its tests */
#define AML_ZERO	0x00
#define AML_ONE		0x01
#define AML_NAME	0x08
#define AML_BYTE	0x0a
#define AML_WORD	0x0b
#define AML_DWORD	0x0c
#define AML_STRING	0x0d
#define AML_QWORD	0x0e
#define AML_SCOPE	0x10
#define AML_BUFFER	0x11
#define AML_PACKAGE	0x12
#define AML_METHOD	0x14
#define AML_DUAL_NAME	0x2e
#define AML_MULTI_NAME	0x2f
#define AML_EXT		0x5b
#define AML_DEVICE	0x82	/* after AML_EXT */
#define AML_ROOT	0x5c
#define AML_PARENT	0x5e
#define AML_RETURN	0xa4
#define AML_ONES	0xff

/* Decode a PkgLength at p (n bytes available): returns its value and the
 * number of bytes it took in *used, or -1 when malformed. */
long aml_pkglen_decode(const uint8_t *p, size_t n, unsigned *used);

#endif
