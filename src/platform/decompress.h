/* Decompressing a bzImage's payload (the compressed vmlinux ELF) on the
 * host, so the guest skips its own decompressor. */
#ifndef BHYVE_DECOMPRESS_H
#define BHYVE_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

/* Decompress in[0..inlen) into out[0..outcap).  Returns 0 and the size in
 * *outlen, 1 when the format is not one handled here (xz, gzip, zstd), or
 * -1 on corrupt input or too small an output buffer (message set). */
int payload_decompress(const uint8_t *in, size_t inlen, uint8_t *out,
    size_t outcap, size_t *outlen);

#endif
