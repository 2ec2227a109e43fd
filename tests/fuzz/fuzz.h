/* What the device fuzz targets share: reading the input as a stream and
 * a check that names itself when it fails. */
#ifndef BHYVE_FUZZ_H
#define BHYVE_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The input not read yet (set by the target for each input). */
static const uint8_t *in;
static size_t inlen;

/* The next `n` input bytes copied to dst; past the end, zeros. */
static inline void take(void *dst, size_t n)
{
	size_t k = inlen < n ? inlen : n;

	memcpy(dst, in, k);
	memset((uint8_t *)dst + k, 0, n - k);
	in += k;
	inlen -= k;
}

#define check(ok) do {						\
	if (!(ok)) {							\
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #ok);	\
		abort();						\
	}								\
} while (0)

#endif
