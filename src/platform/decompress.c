#include "platform/decompress.h"
#include "util.h"

#include <lzma.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static int unxz(const uint8_t *in, size_t inlen, uint8_t *out, size_t cap,
    size_t *outlen)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;

	if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK)
		return fail("xz: cannot initialise the decoder");
	s.next_in = in;
	s.avail_in = inlen;
	s.next_out = out;
	s.avail_out = cap;
	r = lzma_code(&s, LZMA_FINISH);
	*outlen = cap - s.avail_out;
	lzma_end(&s);
	if (r != LZMA_STREAM_END)
		return fail("xz payload: decoder error %d", (int)r);
	return 0;
}

static int ungzip(const uint8_t *in, size_t inlen, uint8_t *out, size_t cap,
    size_t *outlen)
{
	z_stream z;
	int r;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return fail("gzip: cannot initialise the decoder");
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)(inlen > UINT32_MAX ? UINT32_MAX : inlen);
	z.next_out = out;
	z.avail_out = (uInt)(cap > UINT32_MAX ? UINT32_MAX : cap);
	r = inflate(&z, Z_FINISH);
	*outlen = z.total_out;
	inflateEnd(&z);
	if (r != Z_STREAM_END)
		return fail("gzip payload: decoder error %d", r);
	return 0;
}

static int unzstd(const uint8_t *in, size_t inlen, uint8_t *out, size_t cap,
    size_t *outlen)
{
	size_t r = ZSTD_decompress(out, cap, in, inlen);

	if (ZSTD_isError(r))
		return fail("zstd payload: %s", ZSTD_getErrorName(r));
	*outlen = r;
	return 0;
}

int payload_decompress(const uint8_t *in, size_t inlen, uint8_t *out,
    size_t outcap, size_t *outlen)
{
	static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	static const uint8_t gz[] = { 0x1f, 0x8b };
	static const uint8_t zs[] = { 0x28, 0xb5, 0x2f, 0xfd };

	if (inlen >= sizeof(xz) && memcmp(in, xz, sizeof(xz)) == 0)
		return unxz(in, inlen, out, outcap, outlen);
	if (inlen >= sizeof(gz) && memcmp(in, gz, sizeof(gz)) == 0)
		return ungzip(in, inlen, out, outcap, outlen);
	if (inlen >= sizeof(zs) && memcmp(in, zs, sizeof(zs)) == 0)
		return unzstd(in, inlen, out, outcap, outlen);
	return 1;
}
