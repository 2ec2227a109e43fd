/* The AML builder (see aml.h).  Constructs with a PkgLength reserve one
 * byte for it; aml_end() computes the length, widens the encoding to 2..4
 * bytes when needed (moving the body up) and writes it. */
#include "platform/aml.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

int aml_finish(struct aml *a)
{
	if (a->err == 0 && a->depth != 0)
		a->err = 3;
	switch (a->err) {
	case 0:
		return 0;
	case 1:
		return fail("AML: out of memory");
	case 2:
		return fail("AML: nesting too deep or unbalanced");
	case 3:
		return fail("AML: construct left open");
	default:
		return fail("AML: invalid name or value");
	}
}

static uint8_t *room(struct aml *a, size_t n)
{
	if (a->err)
		return NULL;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 1024;
		uint8_t *p;
		while (cap < a->len + n)
			cap *= 2;
		p = realloc(a->buf, cap);
		if (p == NULL) {
			a->err = 1;
			return NULL;
		}
		a->buf = p;
		a->cap = cap;
	}
	a->len += n;
	return a->buf + a->len - n;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	uint8_t *d = room(a, n);
	if (d)
		memcpy(d, p, n);
}

void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

static void le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static int seg_char_ok(char c, int first)
{
	return c == '_' || isupper((unsigned char)c) ||
	    (!first && isdigit((unsigned char)c));
}

void aml_namestring(struct aml *a, const char *path)
{
	char segs[32][4];
	unsigned nseg = 0;
	const char *p = path;

	if (a->err)
		return;
	if (*p == '\\') {
		aml_byte(a, AML_ROOT);
		p++;
	} else {
		while (*p == '^') {
			aml_byte(a, AML_PARENT);
			p++;
		}
	}
	while (*p) {
		unsigned n = 0;
		if (nseg == 32) {
			a->err = 4;
			return;
		}
		while (*p && *p != '.') {
			if (n == 4 || !seg_char_ok(*p, n == 0)) {
				a->err = 4;
				return;
			}
			segs[nseg][n++] = *p++;
		}
		if (n == 0) {
			a->err = 4;
			return;
		}
		while (n < 4)
			segs[nseg][n++] = '_';
		nseg++;
		if (*p == '.') {
			p++;
			if (*p == '\0') {
				a->err = 4;
				return;
			}
		}
	}
	if (nseg == 0)
		aml_byte(a, 0);		/* NullName */
	else if (nseg == 2)
		aml_byte(a, AML_DUAL_NAME);
	else if (nseg > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)nseg);
	}
	for (unsigned i = 0; i < nseg; i++)
		aml_bytes(a, segs[i], 4);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, AML_ZERO);
	else if (v == 1)
		aml_byte(a, AML_ONE);
	else if (v <= 0xff) {
		aml_byte(a, AML_BYTE);
		le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD);
		le(a, v, 2);
	} else if (v <= 0xffffffffULL) {
		aml_byte(a, AML_DWORD);
		le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD);
		le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p > 0x7f) {
			a->err = 4;
			return;
		}
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

/* "PNP0A08": three letters compressed to 5 bits each, then four hex
 * digits, stored big-endian in a DWord. */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		a->err = 4;
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (!isupper((unsigned char)id[i])) {
			a->err = 4;
			return;
		}
		v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		if (!isxdigit((unsigned char)id[i])) {
			a->err = 4;
			return;
		}
		v = (v << 4) | (uint32_t)(isdigit((unsigned char)id[i]) ?
		    id[i] - '0' : toupper((unsigned char)id[i]) - 'A' + 10);
	}
	v <<= 1;	/* bit 31 is reserved (0) */
	v >>= 1;
	aml_integer(a, ((v & 0xff) << 24) | ((v & 0xff00) << 8) |
	    ((v >> 8) & 0xff00) | (v >> 24));
}

static void open_pkg(struct aml *a)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		a->err = 2;
		return;
	}
	a->open[a->depth++].start = a->len;
	aml_byte(a, 0);		/* PkgLength placeholder */
}

void aml_end(struct aml *a)
{
	size_t start, body;
	unsigned n;
	uint64_t v;
	uint8_t *p;

	if (a->err)
		return;
	if (a->depth == 0) {
		a->err = 2;
		return;
	}
	start = a->open[--a->depth].start;
	body = a->len - start - 1;
	if (body + 1 <= 0x3f)
		n = 1;
	else if (body + 2 <= 0xfff)
		n = 2;
	else if (body + 3 <= 0xfffff)
		n = 3;
	else if (body + 4 <= 0xfffffff)
		n = 4;
	else {
		a->err = 4;
		return;
	}
	if (n > 1 && room(a, n - 1) == NULL)
		return;
	p = a->buf + start;
	memmove(p + n, p + 1, body);
	v = body + n;
	if (n == 1) {
		p[0] = (uint8_t)v;
		return;
	}
	p[0] = (uint8_t)(((n - 1) << 6) | (v & 0xf));
	for (unsigned i = 1; i < n; i++)
		p[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
}

long aml_pkglen_decode(const uint8_t *p, size_t n, unsigned *used)
{
	unsigned extra;
	long v;

	if (n == 0)
		return -1;
	extra = p[0] >> 6;
	if (n < extra + 1u)
		return -1;
	*used = extra + 1;
	if (extra == 0)
		return p[0] & 0x3f;
	if (p[0] & 0x30)
		return -1;
	v = p[0] & 0xf;
	for (unsigned i = 1; i <= extra; i++)
		v |= (long)p[i] << (4 + 8 * (i - 1));
	return v;
}

void aml_buffer(struct aml *a, const void *data, size_t n)
{
	aml_byte(a, AML_BUFFER);
	open_pkg(a);
	aml_integer(a, n);
	aml_bytes(a, data, n);
	aml_end(a);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME);
	aml_namestring(a, name);
}

void aml_name_int(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_integer(a, v);
}

void aml_name_str(struct aml *a, const char *name, const char *s)
{
	aml_name(a, name);
	aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name(a, name);
	aml_eisaid(a, id);
}

void aml_scope(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE);
	open_pkg(a);
	aml_namestring(a, path);
}

void aml_device(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT);
	aml_byte(a, AML_DEVICE);
	open_pkg(a);
	aml_namestring(a, name);
}

void aml_method(struct aml *a, const char *name, unsigned nargs,
    int serialized)
{
	if (nargs > 7) {
		a->err = 4;
		return;
	}
	aml_byte(a, AML_METHOD);
	open_pkg(a);
	aml_namestring(a, name);
	aml_byte(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

void aml_package(struct aml *a, unsigned nelems)
{
	if (nelems > 255) {
		a->err = 4;
		return;
	}
	aml_byte(a, AML_PACKAGE);
	open_pkg(a);
	aml_byte(a, (uint8_t)nelems);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN);
}

/* ---- resource templates ---- */

void aml_res_init(struct aml_res *r)
{
	memset(r, 0, sizeof(*r));
}

static uint8_t *res_put(struct aml_res *r, size_t n)
{
	if (r->err || r->len + n > sizeof(r->buf)) {
		r->err = 1;
		return NULL;
	}
	r->len += n;
	memset(r->buf + r->len - n, 0, n);
	return r->buf + r->len - n;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void aml_res_io(struct aml_res *r, uint16_t min, uint16_t max, uint8_t align,
    uint8_t len)
{
	uint8_t *p = res_put(r, 8);
	if (p == NULL)
		return;
	p[0] = 0x47;		/* small item 8, 7 bytes */
	p[1] = 0x01;		/* decodes 16 bits */
	put_le(p + 2, min, 2);
	put_le(p + 4, max, 2);
	p[6] = align;
	p[7] = len;
}

void aml_res_irq(struct aml_res *r, unsigned irq)
{
	uint8_t *p;

	if (irq > 15) {
		r->err = 1;
		return;
	}
	p = res_put(r, 3);
	if (p == NULL)
		return;
	p[0] = 0x22;		/* small item 4, 2 bytes: no flags */
	put_le(p + 1, 1u << irq, 2);
}

void aml_res_mem32_fixed(struct aml_res *r, int writable, uint32_t base,
    uint32_t len)
{
	uint8_t *p = res_put(r, 12);
	if (p == NULL)
		return;
	p[0] = 0x86;		/* large item 6 */
	put_le(p + 1, 9, 2);
	p[3] = writable ? 1 : 0;
	put_le(p + 4, base, 4);
	put_le(p + 8, len, 4);
}

/* Address space descriptors: large items 0x88 (word), 0x87 (dword),
 * 0x8a (qword); resource type 0 memory, 1 I/O, 2 bus number; general
 * flags: producer, MinFixed, MaxFixed, positive decode. */
static void res_addr(struct aml_res *r, uint8_t tag, unsigned w,
    uint8_t type, uint8_t tflags, uint64_t min, uint64_t max)
{
	size_t n = 3 + 3 + 5 * w;
	uint8_t *p = res_put(r, n);

	if (p == NULL)
		return;
	p[0] = tag;
	put_le(p + 1, n - 3, 2);
	p[3] = type;
	p[4] = 0x0c;		/* MaxFixed | MinFixed, producer */
	p[5] = tflags;
	/* granularity 0, min, max, translation 0, length */
	put_le(p + 6 + w, min, w);
	put_le(p + 6 + 2 * w, max, w);
	put_le(p + 6 + 4 * w, max - min + 1, w);
}

void aml_res_word_bus(struct aml_res *r, uint16_t min, uint16_t max)
{
	res_addr(r, 0x88, 2, 2, 0, min, max);
}

void aml_res_word_io(struct aml_res *r, uint16_t min, uint16_t max)
{
	res_addr(r, 0x88, 2, 1, 0x03, min, max);	/* EntireRange */
}

void aml_res_dword_mem(struct aml_res *r, uint32_t min, uint32_t max)
{
	res_addr(r, 0x87, 4, 0, 0x01, min, max);	/* read-write, UC */
}

void aml_res_qword_mem(struct aml_res *r, uint64_t min, uint64_t max)
{
	res_addr(r, 0x8a, 8, 0, 0x01, min, max);
}

void aml_res_end(struct aml_res *r, struct aml *a)
{
	uint8_t *p = res_put(r, 2);

	if (p == NULL) {
		if (!a->err)
			a->err = 1;
		return;
	}
	p[0] = 0x79;		/* End Tag */
	p[1] = 0;		/* checksum 0: treated as correct */
	aml_buffer(a, r->buf, r->len);
}
