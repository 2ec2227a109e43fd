/* SMBIOS tables, built into a buffer (pure code, unit tested) and copied
 * to SMBIOS_ADDR.  See smbios.h for what is generated and why. */
#include "platform/smbios.h"
#include "config.h"
#include "platform/layout.h"
#include "util.h"
#include "vmm/vm.h"

#include <ctype.h>
#include <md5.h>
#include <string.h>
#include <unistd.h>

/* Firmware identity as bhyve reports it (smbiostbl.c). */
#define FIRMWARE_VERSION	"14.0"
#define FIRMWARE_RELEASE_DATE	"10/17/2021"	/* mm/dd/yyyy per the spec */

const struct smbios_var smbios_vars[SMB_NSTR] = {
	[SMB_BIOS_VENDOR] = { "bios.vendor", "BHYVE" },
	[SMB_BIOS_VERSION] = { "bios.version", FIRMWARE_VERSION },
	[SMB_BIOS_RELEASE_DATE] = { "bios.release_date", FIRMWARE_RELEASE_DATE },
	[SMB_SYS_MANUFACTURER] = { "system.manufacturer", "FreeBSD" },
	[SMB_SYS_PRODUCT] = { "system.product_name", "BHYVE" },
	[SMB_SYS_VERSION] = { "system.version", "1.0" },
	[SMB_SYS_SERIAL] = { "system.serial_number", "None" },
	[SMB_SYS_SKU] = { "system.sku", "None" },
	[SMB_SYS_FAMILY] = { "system.family_name", "Virtual Machine" },
	[SMB_BOARD_MANUFACTURER] = { "board.manufacturer", "FreeBSD" },
	[SMB_BOARD_PRODUCT] = { "board.product_name", "BHYVE" },
	[SMB_BOARD_VERSION] = { "board.version", "1.0" },
	[SMB_BOARD_SERIAL] = { "board.serial_number", "None" },
	[SMB_BOARD_ASSET] = { "board.asset_tag", "None" },
	[SMB_BOARD_LOCATION] = { "board.location", "None" },
	[SMB_CHASSIS_MANUFACTURER] = { "chassis.manufacturer", "FreeBSD" },
	[SMB_CHASSIS_VERSION] = { "chassis.version", "1.0" },
	[SMB_CHASSIS_SERIAL] = { "chassis.serial_number", "None" },
	[SMB_CHASSIS_ASSET] = { "chassis.asset_tag", "None" },
	[SMB_CHASSIS_SKU] = { "chassis.sku", "None" },
};

#define EP_LEN		0x1f	/* 2.x entry point */
/* Version 2.8: the structures below use fields up to 2.8 (type 17's
 * extended size, type 19's extended addresses), and from 2.6 on the UUID's
 * first three fields are little-endian, which is how bhyve stores it (a
 * guest reading 2.4, as older bhyve declares, would show it byte-swapped). */
#define SMBIOS_MAJOR	2
#define SMBIOS_MINOR	8

/* ---- writer ---- */

struct smb {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
	uint16_t nstruct, maxsize;
	size_t cur;		/* offset of the structure being written */
	uint8_t nstr;		/* strings of the current structure */
};

static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, (uint16_t)v); w16(p + 2, (uint16_t)(v >> 16)); }
static void w64(uint8_t *p, uint64_t v) { w32(p, (uint32_t)v); w32(p + 4, (uint32_t)(v >> 32)); }

static uint8_t *room(struct smb *s, size_t n)
{
	uint8_t *p;

	if (s->overflow || n > s->cap - s->len) {
		s->overflow = true;
		return NULL;
	}
	p = s->buf + s->len;
	memset(p, 0, n);
	s->len += n;
	return p;
}

/* Start a structure of `type` with a formatted area of `len` bytes; the
 * handle is its index.  Returns the formatted area (zeroed) or NULL. */
static uint8_t *begin(struct smb *s, uint8_t type, uint8_t len)
{
	uint8_t *p;

	s->cur = s->len;
	s->nstr = 0;
	p = room(s, len);
	if (p == NULL)
		return NULL;
	p[0] = type;
	p[1] = len;
	w16(p + 2, s->nstruct);
	return p;
}

/* Append a string to the current structure; returns its number (1-based)
 * for the formatted area, or 0 for an empty string (no string). */
static uint8_t str(struct smb *s, const char *v)
{
	size_t n = strlen(v) + 1;
	uint8_t *p;

	if (*v == '\0' || s->nstr == 255)
		return 0;
	p = room(s, n);
	if (p == NULL)
		return 0;
	memcpy(p, v, n);
	return ++s->nstr;
}

/* The formatted area may move no more (strings follow it): callers keep
 * an offset, not a pointer, across str() calls. */
#define AT(s, off) ((s)->overflow ? NULL : (s)->buf + (off))

static void end(struct smb *s)
{
	size_t size;

	/* The string set ends with an extra NUL; without strings the
	 * formatted area is followed by two NULs. */
	room(s, s->nstr ? 1 : 2);
	if (s->overflow)
		return;
	size = s->len - s->cur;
	if (size > s->maxsize)
		s->maxsize = (uint16_t)size;
	s->nstruct++;
}

/* Set a string field: string number at `field` of the current structure. */
static void sfield(struct smb *s, size_t field, const char *v)
{
	uint8_t n = str(s, v);
	uint8_t *p = AT(s, s->cur);

	if (p != NULL)
		p[field] = n;
}

/* ---- structures ---- */

static void type0(struct smb *s, const struct smbios_info *in)
{
	uint8_t *p = begin(s, 0, 0x18);

	if (p == NULL)
		return;
	w16(p + 6, 0xf000);		/* BIOS segment */
	p[9] = 0;			/* ROM size: 64 KiB */
	/* ISA, PCI, shadowing, CD boot, EDD */
	w64(p + 10, 0x10 | 0x80 | 0x1000 | 0x8000 | 0x80000);
	p[18] = 0x01;			/* ACPI */
	p[19] = 0x01 | 0x10;		/* BIOS boot specification, VM */
	p[22] = 0xff;			/* no embedded controller */
	p[23] = 0xff;
	sfield(s, 4, in->str[SMB_BIOS_VENDOR]);
	sfield(s, 5, in->str[SMB_BIOS_VERSION]);
	sfield(s, 8, in->str[SMB_BIOS_RELEASE_DATE]);
	end(s);
}

static void type1(struct smb *s, const struct smbios_info *in)
{
	uint8_t *p = begin(s, 1, 0x1b);

	if (p == NULL)
		return;
	memcpy(p + 8, in->uuid, 16);
	p[24] = 0x06;			/* wake-up: power switch */
	sfield(s, 4, in->str[SMB_SYS_MANUFACTURER]);
	sfield(s, 5, in->str[SMB_SYS_PRODUCT]);
	sfield(s, 6, in->str[SMB_SYS_VERSION]);
	sfield(s, 7, in->str[SMB_SYS_SERIAL]);
	sfield(s, 25, in->str[SMB_SYS_SKU]);
	sfield(s, 26, in->str[SMB_SYS_FAMILY]);
	end(s);
}

static void type2(struct smb *s, const struct smbios_info *in,
    uint16_t chassis)
{
	uint8_t *p = begin(s, 2, 0x0f);

	if (p == NULL)
		return;
	p[9] = 0x01;			/* hosting board */
	w16(p + 11, chassis);
	p[13] = 0x0a;			/* motherboard */
	sfield(s, 4, in->str[SMB_BOARD_MANUFACTURER]);
	sfield(s, 5, in->str[SMB_BOARD_PRODUCT]);
	sfield(s, 6, in->str[SMB_BOARD_VERSION]);
	sfield(s, 7, in->str[SMB_BOARD_SERIAL]);
	sfield(s, 8, in->str[SMB_BOARD_ASSET]);
	sfield(s, 10, in->str[SMB_BOARD_LOCATION]);
	end(s);
}

static void type3(struct smb *s, const struct smbios_info *in)
{
	uint8_t *p = begin(s, 3, 0x16);

	if (p == NULL)
		return;
	p[5] = 0x02;			/* chassis type unknown */
	p[9] = p[10] = p[11] = 0x03;	/* boot-up, power, thermal: safe */
	p[12] = 0x03;			/* security: none */
	sfield(s, 4, in->str[SMB_CHASSIS_MANUFACTURER]);
	sfield(s, 6, in->str[SMB_CHASSIS_VERSION]);
	sfield(s, 7, in->str[SMB_CHASSIS_SERIAL]);
	sfield(s, 8, in->str[SMB_CHASSIS_ASSET]);
	sfield(s, 21, in->str[SMB_CHASSIS_SKU]);
	end(s);
}

static uint8_t clamp8(unsigned v)
{
	return v > 255 ? 255 : (uint8_t)v;
}

static void type4(struct smb *s, const struct smbios_info *in)
{
	unsigned per_socket = in->topo.cores * in->topo.threads;

	for (unsigned i = 0; i < in->topo.sockets && !s->overflow; i++) {
		uint8_t *p = begin(s, 4, 0x2a);
		char name[32];

		if (p == NULL)
			return;
		p[5] = 0x03;			/* central processor */
		p[6] = 0x01;			/* family: other */
		w32(p + 8, in->cpu_signature);
		w32(p + 12, in->cpu_features);
		p[24] = 0x41;			/* populated, enabled */
		p[25] = 0x06;			/* upgrade: none */
		w16(p + 26, 0xffff);		/* no cache information */
		w16(p + 28, 0xffff);
		w16(p + 30, 0xffff);
		p[35] = clamp8(in->topo.cores);
		p[36] = clamp8(in->topo.cores);
		p[37] = clamp8(per_socket);
		w16(p + 38, 0x04);		/* 64-bit capable */
		w16(p + 40, 0x01);
		snprintf(name, sizeof(name), "CPU #%u", i);
		sfield(s, 4, name);
		if (in->compact) {
			end(s);
			continue;
		}
		sfield(s, 7, " ");
		sfield(s, 16, " ");
		sfield(s, 32, "None");
		sfield(s, 33, "None");
		sfield(s, 34, "None");
		end(s);
	}
}

static void type16(struct smb *s, const struct smbios_info *in)
{
	uint8_t *p = begin(s, 16, 0x17);

	if (p == NULL)
		return;
	p[4] = 0x03;			/* system board */
	p[5] = 0x03;			/* system memory */
	p[6] = 0x03;			/* no error correction */
	w32(p + 7, 0x80000000u);	/* see the extended capacity */
	w16(p + 11, 0xfffe);		/* no error information */
	w16(p + 13, in->highmem ? 2 : 1);
	w64(p + 15, in->lowmem + in->highmem);
	end(s);
}

static void type17(struct smb *s, uint16_t array, uint64_t size)
{
	uint8_t *p = begin(s, 17, 0x28);

	if (p == NULL)
		return;
	w16(p + 4, array);
	w16(p + 6, 0xfffe);
	w16(p + 8, 64);			/* total width */
	w16(p + 10, 64);		/* data width */
	w16(p + 12, 0x7fff);		/* see the extended size */
	p[14] = 0x02;			/* form factor unknown */
	p[18] = 0x02;			/* type unknown */
	w16(p + 19, 0x0004);		/* type detail unknown */
	w32(p + 28, (uint32_t)(size >> 20));	/* extended size, MiB */
	sfield(s, 16, " ");
	sfield(s, 17, " ");
	sfield(s, 23, " ");
	sfield(s, 24, "None");
	sfield(s, 25, "None");
	sfield(s, 26, "None");
	end(s);
}

static void type19(struct smb *s, uint16_t array, uint64_t start,
    uint64_t size)
{
	uint8_t *p = begin(s, 19, 0x1f);

	if (p == NULL)
		return;
	w32(p + 4, 0xffffffffu);	/* see the extended addresses */
	w32(p + 8, 0xffffffffu);
	w16(p + 12, array);
	p[14] = 1;
	w64(p + 15, start);
	w64(p + 23, start + size - 1);	/* inclusive */
	end(s);
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

int smbios_build_split(uint8_t ep[EP_LEN], uint8_t *tbuf, size_t tcap,
    uint32_t tgpa, const struct smbios_info *in)
{
	struct smb s = { .buf = tbuf, .cap = tcap > 0xffff ? 0xffff : tcap };
	uint16_t array;

	type0(&s, in);
	type1(&s, in);
	/* The board names its chassis: the type 3 structure follows it. */
	type2(&s, in, (uint16_t)(s.nstruct + 1));
	type3(&s, in);
	type4(&s, in);
	array = s.nstruct;
	type16(&s, in);
	type17(&s, array, in->lowmem);
	if (in->highmem)
		type17(&s, array, in->highmem);
	type19(&s, array, 0, in->lowmem);
	if (in->highmem)
		type19(&s, array, 4ULL << 30, in->highmem);
	if (begin(&s, 32, 0x0b) != NULL)
		end(&s);		/* boot status 0: no errors */
	if (begin(&s, 127, 4) != NULL)
		end(&s);
	if (s.overflow)
		return fail("SMBIOS tables do not fit in %zu bytes (%u "
		    "processor sockets; are the SMBIOS strings too long?)",
		    s.cap, in->topo.sockets);
	memset(ep, 0, EP_LEN);
	memcpy(ep, "_SM_", 4);
	ep[5] = EP_LEN;
	ep[6] = SMBIOS_MAJOR;
	ep[7] = SMBIOS_MINOR;
	w16(ep + 8, s.maxsize);
	memcpy(ep + 16, "_DMI_", 5);
	w16(ep + 22, (uint16_t)s.len);
	w32(ep + 24, tgpa);
	w16(ep + 28, s.nstruct);
	ep[30] = (SMBIOS_MAJOR << 4) | SMBIOS_MINOR;
	ep[21] = checksum(ep + 16, EP_LEN - 16);
	ep[4] = checksum(ep, EP_LEN);
	return (int)s.len;
}

int smbios_build(uint8_t *buf, size_t cap, uint32_t gpa,
    const struct smbios_info *in)
{
	int n;

	if (cap < EP_LEN)
		return fail("SMBIOS tables do not fit in %zu bytes", cap);
	n = smbios_build_split(buf, buf + EP_LEN, cap - EP_LEN, gpa + EP_LEN,
	    in);
	return n < 0 ? -1 : n + EP_LEN;
}

/* Where the tables go: after the entry point when they fit there, else
 * (many sockets) in the bigger area, with compact processor structures
 * as the last resort.  Returns the table length; *tgpa says where. */
static int place(uint8_t *ep, uint8_t *small, uint8_t *big,
    struct smbios_info *in, uint32_t *tgpa)
{
	int n;

	*tgpa = SMBIOS_ADDR + EP_LEN;
	n = smbios_build_split(ep, small, SMBIOS_MAX - EP_LEN, *tgpa, in);
	if (n >= 0)
		return n;
	*tgpa = SMBIOS_BIG_ADDR;
	n = smbios_build_split(ep, big, SMBIOS_BIG_MAX, *tgpa, in);
	if (n >= 0)
		return n;
	in->compact = true;
	return smbios_build_split(ep, big, SMBIOS_BIG_MAX, *tgpa, in);
}

/* ---- UUID ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Byte i of the UUID's string (big-endian) order goes to SMBIOS position
 * order[i]: the first three fields are stored little-endian. */
static const uint8_t le_order[16] = {
	3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15
};

int smbios_uuid_parse(const char *s, uint8_t out[16])
{
	unsigned n = 0;

	if (strlen(s) != 36)
		goto bad;
	for (unsigned i = 0; i < 36; i += 2) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				goto bad;
			i--;
			continue;
		}
		hi = hexval((unsigned char)s[i]);
		lo = hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			goto bad;
		out[le_order[n++]] = (uint8_t)(hi << 4 | lo);
	}
	if (n == 16)
		return 0;
bad:
	return fail("invalid UUID '%s' (expected "
	    "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in hexadecimal)", s);
}

void smbios_uuid_default(const char *vmname, const char *hostname,
    uint8_t out[16])
{
	uint8_t host[256], d[16];
	MD5_CTX ctx;

	memset(host, 0, sizeof(host));
	strncpy((char *)host, hostname, sizeof(host) - 1);
	MD5Init(&ctx);
	MD5Update(&ctx, (const uint8_t *)vmname, strlen(vmname));
	MD5Update(&ctx, host, sizeof(host));
	MD5Final(d, &ctx);
	d[6] = (uint8_t)((d[6] & 0x0f) | 0x30);	/* version 3 */
	d[8] = (uint8_t)((d[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	for (unsigned i = 0; i < 16; i++)
		out[le_order[i]] = d[i];
}

/* ---- configuration ---- */

/* Read the variables into `in` (strings and UUID); the rest is left. */
static int read_config(struct smbios_info *in, const char *vmname)
{
	const char *u = config_get("uuid");

	for (unsigned i = 0; i < SMB_NSTR; i++) {
		const char *v = config_get(smbios_vars[i].name);
		in->str[i] = v != NULL ? v : smbios_vars[i].def;
	}
	if (u != NULL)
		return smbios_uuid_parse(u, in->uuid) != 0 ?
		    fail_prefix("uuid") : 0;
	{
		char host[256];

		if (gethostname(host, sizeof(host)) != 0)
			return fail_errno("gethostname (for the default "
			    "SMBIOS UUID)");
		host[sizeof(host) - 1] = '\0';
		smbios_uuid_default(vmname ? vmname : "", host, in->uuid);
	}
	return 0;
}

int smbios_check_config(const struct cpu_topology *topo)
{
	static uint8_t small[SMBIOS_MAX], big[SMBIOS_BIG_MAX];
	struct smbios_info in;
	uint8_t ep[EP_LEN];
	uint32_t tgpa;

	memset(&in, 0, sizeof(in));
	if (read_config(&in, config_get("name")) != 0)
		return -1;
	/* A trial build with the most structures memory can need. */
	in.topo = *topo;
	in.lowmem = in.highmem = 1ULL << 30;
	return place(ep, small, big, &in, &tgpa) < 0 ? -1 : 0;
}

int smbios_init(struct vm *vm)
{
	static uint8_t small[SMBIOS_MAX], big[SMBIOS_BIG_MAX];
	struct smbios_info in;
	uint8_t ep[EP_LEN];
	uint32_t tgpa;
	int n;

	memset(&in, 0, sizeof(in));
	if (read_config(&in, vm->name) != 0)
		return -1;
	in.topo = vm->topo;
	in.cpu_signature = vm->cpuid1_eax;
	in.cpu_features = vm->cpuid1_edx;
	in.lowmem = vm->mem.lowmem;
	in.highmem = vm->mem.highmem;
	n = place(ep, small, big, &in, &tgpa);
	if (n < 0)
		return -1;
	if (guest_write(&vm->mem, SMBIOS_ADDR, ep, EP_LEN) != 0 ||
	    guest_write(&vm->mem, tgpa, tgpa == SMBIOS_BIG_ADDR ? big : small,
	    (uint64_t)n) != 0)
		return fail("guest memory too small for the SMBIOS tables");
	return 0;
}
