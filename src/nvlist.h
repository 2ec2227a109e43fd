/* FreeBSD libnv's wire format (what nvlist_send()/nvlist_recv() put on a
 * socket), the part bhyve's control socket uses: flat lists of null, bool,
 * number, string, descriptor and binary values.  Written from the format's
 * description (a packed header: magic 0x6c, version 0, flags, descriptor
 * count and body size as 64-bit integers; then each pair: type, name size,
 * data size, item count, the NUL-terminated name, the data), not from
 * libnv's code.
 *
 * Unpacking validates everything before a caller sees it: sizes against
 * the buffer, names and strings NUL-terminated exactly at their end,
 * fixed-size types of their size, descriptor indices below the count, at
 * most NVL_MAX_ITEMS pairs.  Nested lists and arrays are refused.  The
 * items point into the caller's buffer.  Both byte orders are read; lists
 * are written little-endian (the x86 host's). */
#ifndef BHYVE_NVLIST_H
#define BHYVE_NVLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NV_TYPE_NULL		1
#define NV_TYPE_BOOL		2
#define NV_TYPE_NUMBER		3
#define NV_TYPE_STRING		4
#define NV_TYPE_NVLIST		5
#define NV_TYPE_DESCRIPTOR	6
#define NV_TYPE_BINARY		7

#define NVL_HDR_SIZE	19	/* packed list header */
#define NVL_PAIR_HDR	19	/* packed pair header */
#define NVL_NAME_MAX	2048	/* with the NUL */
#define NVL_MAX_ITEMS	32

struct nvl_item {
	uint8_t type;
	const char *name;
	const uint8_t *data;	/* in the caller's buffer */
	uint64_t size;
	uint64_t num;		/* BOOL, NUMBER, DESCRIPTOR: the value */
};

struct nvl {
	unsigned n;
	uint64_t ndesc;		/* descriptors that follow the list */
	struct nvl_item it[NVL_MAX_ITEMS];
};

/* Read a list header (NVL_HDR_SIZE bytes): the body size and descriptor
 * count.  -1 when it is not a libnv header. */
int nvl_header(const uint8_t *h, uint64_t *size, uint64_t *ndesc);
/* Unpack header and body (`len` bytes in all).  -1 when malformed. */
int nvl_unpack(const uint8_t *buf, size_t len, struct nvl *out);
/* The value of string `name`, or NULL (absent or another type). */
const char *nvl_get_string(const struct nvl *l, const char *name);

/* Building a list into a caller's buffer. */
struct nvl_out {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

void nvl_out_init(struct nvl_out *o, uint8_t *buf, size_t cap);
void nvl_add_string(struct nvl_out *o, const char *name, const char *val);
void nvl_add_bool(struct nvl_out *o, const char *name, bool val);
void nvl_add_number(struct nvl_out *o, const char *name, uint64_t val);
/* Fill in the header: the list's total length, 0 when it did not fit. */
size_t nvl_out_finish(struct nvl_out *o);

#endif
