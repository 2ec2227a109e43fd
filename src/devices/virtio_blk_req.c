/* virtio-blk request decoding (virtio 1.2, 5.2.6): see virtio_blk.h.
 * The header is copied out of guest memory once and only the copy is
 * used, so a guest changing it meanwhile changes nothing. */
#include "devices/virtio_blk.h"

#include <md5.h>
#include <stdio.h>
#include <string.h>

#define HDR_SIZE	16u
#define DWZ_SIZE	16u	/* struct virtio_blk_discard_write_zeroes */
#define DWZ_MAX_SEG	1u	/* max_discard_seg = max_write_zeroes_seg */
#define DWZ_F_UNMAP	1u

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Copy up to `len` bytes starting `skip` bytes into iov[0..n) to dst. */
static size_t gather(const struct iovec *iov, unsigned n, uint64_t skip,
    void *dst, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, c;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		c = l - (size_t)skip;
		if (c > len - done)
			c = len - done;
		memcpy((uint8_t *)dst + done, (uint8_t *)iov[i].iov_base + skip,
		    c);
		done += c;
		skip = 0;
	}
	return done;
}

/* Copy up to `len` bytes from src into iov[0..n). */
static size_t scatter(const struct iovec *iov, unsigned n, const void *src,
    size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t c = iov[i].iov_len;
		if (c > len - done)
			c = len - done;
		memcpy(iov[i].iov_base, (const uint8_t *)src + done, c);
		done += c;
	}
	return done;
}

/* The segments covering [skip, skip+len) of iov[0..n), empty ones left
 * out; returns their number. */
static unsigned slice(const struct iovec *iov, unsigned n, uint64_t skip,
    uint64_t len, struct iovec *out)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len > 0; i++) {
		uint64_t l = iov[i].iov_len, c;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		c = l - skip;
		if (c > len)
			c = len;
		out[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[k].iov_len = (size_t)c;
		k++;
		len -= c;
		skip = 0;
	}
	return k;
}

static bool in_range(const struct vblk_disk *d, uint64_t sector,
    uint64_t sectors)
{
	return sector <= d->capacity && sectors <= d->capacity - sector;
}

static void finish(struct vblk_cmd *cmd, uint8_t st)
{
	cmd->action = VBLK_DONE;
	*cmd->status = st;
}

static void decode_dwz(const struct vblk_disk *d, const struct iovec *iov,
    unsigned nout, uint64_t dout, bool discard, struct vblk_cmd *cmd)
{
	uint8_t seg[DWZ_SIZE];
	uint64_t sector;
	uint32_t nsect, flags;

	if (discard ? !d->discard : !d->wzeroes) {
		finish(cmd, VIRTIO_BLK_S_UNSUPP);
		return;
	}
	if (dout == 0 || dout % DWZ_SIZE || dout / DWZ_SIZE > DWZ_MAX_SEG ||
	    gather(iov, nout, HDR_SIZE, seg, DWZ_SIZE) != DWZ_SIZE) {
		finish(cmd, VIRTIO_BLK_S_IOERR);
		return;
	}
	sector = le64(seg);
	nsect = le32(seg + 8);
	flags = le32(seg + 12);
	if ((flags & ~DWZ_F_UNMAP) || (discard && (flags & DWZ_F_UNMAP))) {
		finish(cmd, VIRTIO_BLK_S_UNSUPP);
		return;
	}
	if (d->ro || nsect > (discard ? d->max_discard_sectors :
	    d->max_wzeroes_sectors) || !in_range(d, sector, nsect)) {
		finish(cmd, VIRTIO_BLK_S_IOERR);
		return;
	}
	cmd->action = VBLK_IO;
	cmd->op = discard ? VBLK_DISCARD : VBLK_WZEROES;
	cmd->offset = sector * VBLK_SECTOR;
	cmd->len = (uint64_t)nsect * VBLK_SECTOR;
	cmd->unmap = !discard && (flags & DWZ_F_UNMAP) && d->may_unmap;
}

void vblk_decode(const struct vblk_disk *d, const struct iovec *iov,
    unsigned nout, unsigned nin, struct iovec *scratch,
    struct vblk_cmd *cmd)
{
	const struct iovec *win = iov + nout;
	uint64_t outlen = 0, inlen = 0, dout, din, sector;
	uint8_t hdr[HDR_SIZE];
	uint32_t type;
	int last = -1;

	memset(cmd, 0, sizeof(*cmd));
	cmd->action = VBLK_NONE;
	for (unsigned i = 0; i < nout; i++)
		outlen += iov[i].iov_len;
	for (unsigned i = 0; i < nin; i++) {
		inlen += win[i].iov_len;
		if (win[i].iov_len)
			last = (int)i;
	}
	if (last < 0)
		return;		/* nowhere to put a status */
	cmd->status = (uint8_t *)win[last].iov_base + win[last].iov_len - 1;
	cmd->written = 1;
	if (outlen < HDR_SIZE || gather(iov, nout, 0, hdr, HDR_SIZE) !=
	    HDR_SIZE) {
		finish(cmd, VIRTIO_BLK_S_IOERR);
		return;
	}
	type = le32(hdr) & ~VIRTIO_BLK_T_BARRIER;
	sector = le64(hdr + 8);
	dout = outlen - HDR_SIZE;
	din = inlen - 1;

	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool rd = type == VIRTIO_BLK_T_IN;
		uint64_t len = rd ? din : dout;
		if ((rd ? dout : din) != 0 || len % VBLK_SECTOR ||
		    !in_range(d, sector, len / VBLK_SECTOR) ||
		    (!rd && d->ro)) {
			finish(cmd, VIRTIO_BLK_S_IOERR);
			return;
		}
		cmd->data = scratch;
		cmd->ndata = rd ? slice(win, nin, 0, len, scratch) :
		    slice(iov, nout, HDR_SIZE, len, scratch);
		cmd->action = VBLK_IO;
		cmd->op = rd ? VBLK_READ : VBLK_WRITE;
		cmd->offset = sector * VBLK_SECTOR;
		cmd->len = len;
		if (rd)
			cmd->written = (uint32_t)(len + 1);
		return;
	}
	case VIRTIO_BLK_T_FLUSH:
	case VIRTIO_BLK_T_FLUSH_OUT:
		cmd->action = VBLK_IO;
		cmd->op = VBLK_FLUSH;
		return;
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = din < VIRTIO_BLK_ID_BYTES ? (size_t)din :
		    VIRTIO_BLK_ID_BYTES;
		/* the status byte is excluded from the id's room */
		struct iovec *seg = scratch;
		unsigned k = slice(win, nin, 0, n, seg);
		n = scatter(seg, k, d->id, n);
		cmd->written = (uint32_t)n + 1;
		finish(cmd, VIRTIO_BLK_S_OK);
		return;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (din != 0) {
			finish(cmd, VIRTIO_BLK_S_IOERR);
			return;
		}
		decode_dwz(d, iov, nout, dout, type == VIRTIO_BLK_T_DISCARD,
		    cmd);
		return;
	default:
		finish(cmd, VIRTIO_BLK_S_UNSUPP);
		return;
	}
}

void vblk_default_id(const char *path, char id[VIRTIO_BLK_ID_BYTES + 1])
{
	MD5_CTX ctx;
	uint8_t dg[16];

	MD5Init(&ctx);
	MD5Update(&ctx, (const uint8_t *)path, strlen(path));
	MD5Final(dg, &ctx);
	snprintf(id, VIRTIO_BLK_ID_BYTES + 1,
	    "BHYVE-%02X%02X-%02X%02X-%02X%02X", dg[0], dg[1], dg[2], dg[3],
	    dg[4], dg[5]);
}
