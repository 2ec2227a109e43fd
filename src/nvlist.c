/* libnv's wire format: see nvlist.h. */
#include "nvlist.h"

#include <string.h>

#define NVL_MAGIC	0x6c
#define NVL_VERSION	0
#define NVL_F_IGNORE_CASE	0x01
#define NVL_F_NO_UNIQUE		0x02
#define NVL_F_BIG_ENDIAN	0x80

static uint64_t get(const uint8_t *p, unsigned n, bool be)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[be ? n - 1 - i : i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int header(const uint8_t *h, uint64_t *size, uint64_t *ndesc,
    bool *be)
{
	if (h[0] != NVL_MAGIC || h[1] != NVL_VERSION ||
	    (h[2] & ~(NVL_F_IGNORE_CASE | NVL_F_NO_UNIQUE |
	    NVL_F_BIG_ENDIAN)) != 0)
		return -1;
	*be = (h[2] & NVL_F_BIG_ENDIAN) != 0;
	*ndesc = get(h + 3, 8, *be);
	*size = get(h + 11, 8, *be);
	return 0;
}

int nvl_header(const uint8_t *h, uint64_t *size, uint64_t *ndesc)
{
	bool be;

	return header(h, size, ndesc, &be);
}

/* One pair at p (left bytes remain); its length in *used. */
static int pair(const uint8_t *p, size_t left, bool be, uint64_t ndesc,
    struct nvl_item *it, size_t *used)
{
	uint64_t nsize, dsize, nitems;
	const char *name;

	if (left < NVL_PAIR_HDR)
		return -1;
	it->type = p[0];
	nsize = get(p + 1, 2, be);
	dsize = get(p + 3, 8, be);
	nitems = get(p + 11, 8, be);
	p += NVL_PAIR_HDR;
	left -= NVL_PAIR_HDR;
	if (nsize < 2 || nsize > NVL_NAME_MAX || nsize > left || nitems != 0)
		return -1;
	name = (const char *)p;
	if (memchr(name, '\0', nsize) != name + nsize - 1)
		return -1;
	p += nsize;
	left -= nsize;
	if (dsize > left)
		return -1;
	it->name = name;
	it->data = p;
	it->size = dsize;
	it->num = 0;
	switch (it->type) {
	case NV_TYPE_NULL:
		if (dsize != 0)
			return -1;
		break;
	case NV_TYPE_BOOL:
		if (dsize != 1 || p[0] > 1)
			return -1;
		it->num = p[0];
		break;
	case NV_TYPE_NUMBER:
	case NV_TYPE_DESCRIPTOR:
		if (dsize != 8)
			return -1;
		it->num = get(p, 8, be);
		if (it->type == NV_TYPE_DESCRIPTOR && it->num >= ndesc)
			return -1;
		break;
	case NV_TYPE_STRING:
		if (dsize < 1 || memchr(p, '\0', dsize) !=
		    (const void *)(p + dsize - 1))
			return -1;
		break;
	case NV_TYPE_BINARY:
		break;
	default:	/* nested lists, arrays, unknown */
		return -1;
	}
	*used = NVL_PAIR_HDR + nsize + dsize;
	return 0;
}

int nvl_unpack(const uint8_t *buf, size_t len, struct nvl *out)
{
	uint64_t size, ndesc;
	size_t off = NVL_HDR_SIZE;
	bool be;

	out->n = 0;
	if (len < NVL_HDR_SIZE || header(buf, &size, &ndesc, &be) != 0 ||
	    size != len - NVL_HDR_SIZE)
		return -1;
	out->ndesc = ndesc;
	while (off < len) {
		size_t used;

		if (out->n == NVL_MAX_ITEMS ||
		    pair(buf + off, len - off, be, ndesc, &out->it[out->n],
		    &used) != 0)
			return -1;
		out->n++;
		off += used;
	}
	return 0;
}

const char *nvl_get_string(const struct nvl *l, const char *name)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->it[i].type == NV_TYPE_STRING &&
		    strcmp(l->it[i].name, name) == 0)
			return (const char *)l->it[i].data;
	return NULL;
}

void nvl_out_init(struct nvl_out *o, uint8_t *buf, size_t cap)
{
	o->buf = buf;
	o->cap = cap;
	o->len = NVL_HDR_SIZE;
	o->overflow = cap < NVL_HDR_SIZE;
}

static void add(struct nvl_out *o, uint8_t type, const char *name,
    const void *data, size_t dsize)
{
	size_t nsize = strlen(name) + 1;
	uint8_t *p;

	if (o->overflow || nsize > NVL_NAME_MAX ||
	    o->cap - o->len < NVL_PAIR_HDR + nsize ||
	    o->cap - o->len - NVL_PAIR_HDR - nsize < dsize) {
		o->overflow = true;
		return;
	}
	p = o->buf + o->len;
	p[0] = type;
	put_le(p + 1, nsize, 2);
	put_le(p + 3, dsize, 8);
	put_le(p + 11, 0, 8);
	memcpy(p + NVL_PAIR_HDR, name, nsize);
	memcpy(p + NVL_PAIR_HDR + nsize, data, dsize);
	o->len += NVL_PAIR_HDR + nsize + dsize;
}

void nvl_add_string(struct nvl_out *o, const char *name, const char *val)
{
	add(o, NV_TYPE_STRING, name, val, strlen(val) + 1);
}

void nvl_add_bool(struct nvl_out *o, const char *name, bool val)
{
	uint8_t b = val;

	add(o, NV_TYPE_BOOL, name, &b, 1);
}

void nvl_add_number(struct nvl_out *o, const char *name, uint64_t val)
{
	uint8_t b[8];

	put_le(b, val, 8);
	add(o, NV_TYPE_NUMBER, name, b, 8);
}

size_t nvl_out_finish(struct nvl_out *o)
{
	if (o->overflow)
		return 0;
	o->buf[0] = NVL_MAGIC;
	o->buf[1] = NVL_VERSION;
	o->buf[2] = 0;
	put_le(o->buf + 3, 0, 8);
	put_le(o->buf + 11, o->len - NVL_HDR_SIZE, 8);
	return o->len;
}
