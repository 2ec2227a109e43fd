/* Host-side decompression of bzImage payloads (src/platform/decompress.c). */
#include "unit.h"
#include "platform/decompress.h"

#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define N 100000

static uint8_t *sample(void)
{
	uint8_t *p = malloc(N);
	assert_non_null(p);
	for (size_t i = 0; i < N; i++)
		p[i] = (uint8_t)((i * 7919) % 251 ^ (i >> 9));
	return p;
}

static size_t do_xz(const uint8_t *in, uint8_t *out, size_t cap)
{
	size_t pos = 0;
	assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in,
	    N, out, &pos, cap), LZMA_OK);
	return pos;
}

static size_t do_gzip(const uint8_t *in, uint8_t *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = N;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return z.total_out;
}

/* With a checksum, as the zstd tool writes the kernel's payload. */
static size_t do_zstd(const uint8_t *in, uint8_t *out, size_t cap)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t r;

	assert_non_null(c);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	r = ZSTD_compress2(c, out, cap, in, N);
	ZSTD_freeCCtx(c);
	assert_false(ZSTD_isError(r));
	return r;
}

typedef size_t (*compressor)(const uint8_t *, uint8_t *, size_t);

static void roundtrip(compressor c)
{
	uint8_t *in = sample(), *z = malloc(2 * N), *out = malloc(N + 16);
	size_t zn = c(in, z, 2 * N), got = 0;

	assert_int_equal(payload_decompress(z, zn, out, N + 16, &got), 0);
	assert_int_equal(got, N);
	assert_memory_equal(in, out, N);
	/* too small an output buffer: an error, never an overrun */
	memset(out, 0xcc, N + 16);
	assert_int_equal(payload_decompress(z, zn, out, N / 2, &got), -1);
	assert_int_equal(out[N / 2], 0xcc);
	/* corrupt input: an error */
	for (size_t i = zn / 3; i < zn / 3 + 64 && i < zn; i++)
		z[i] ^= 0xa5;
	assert_int_equal(payload_decompress(z, zn, out, N + 16, &got), -1);
	/* truncated input: an error */
	zn = c(in, z, 2 * N);
	assert_int_equal(payload_decompress(z, zn / 2, out, N + 16, &got), -1);
	free(in);
	free(z);
	free(out);
}

static void test_xz(void **state) { (void)state; roundtrip(do_xz); }
static void test_gzip(void **state) { (void)state; roundtrip(do_gzip); }
static void test_zstd(void **state) { (void)state; roundtrip(do_zstd); }

static void test_unknown_format(void **state)
{
	static const uint8_t lz4[] = { 0x02, 0x21, 0x4c, 0x18, 1, 2, 3, 4 };
	uint8_t out[64];
	size_t got;
	(void)state;
	assert_int_equal(payload_decompress(lz4, sizeof(lz4), out, sizeof(out),
	    &got), 1);
	assert_int_equal(payload_decompress(lz4, 0, out, sizeof(out), &got), 1);
}

int run_decompress_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xz),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_zstd),
		cmocka_unit_test(test_unknown_format),
	};
	return cmocka_run_group_tests_name("decompress", tests, NULL, NULL);
}
