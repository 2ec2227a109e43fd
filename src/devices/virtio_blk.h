/* virtio-blk request decoding, separate from the transport so that it can
 * be driven with hostile chains in unit tests. */
#ifndef BHYVE_VIRTIO_BLK_H
#define BHYVE_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* Request types and status values (virtio 1.2, 5.2.6) */
#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_FLUSH_OUT		5	/* legacy */
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_T_DISCARD		11
#define VIRTIO_BLK_T_WRITE_ZEROES	13
#define VIRTIO_BLK_T_BARRIER		0x80000000u	/* legacy flag */

#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

#define VIRTIO_BLK_ID_BYTES	20
#define VBLK_SECTOR		512u

/* What the decoder needs to know about the disk. */
struct vblk_disk {
	uint64_t capacity;	/* 512-byte sectors */
	bool ro;
	bool discard;		/* DISCARD offered */
	bool wzeroes;		/* WRITE_ZEROES offered */
	bool may_unmap;		/* write_zeroes_may_unmap */
	uint32_t max_discard_sectors, max_wzeroes_sectors;
	char id[VIRTIO_BLK_ID_BYTES];	/* not NUL-terminated when full */
};

enum vblk_action {
	VBLK_NONE,	/* no writable status byte: return the chain, 0 bytes */
	VBLK_DONE,	/* finished here: *status set, `written` bytes */
	VBLK_IO,	/* hand `op` to the block backend */
};

enum vblk_op { VBLK_READ, VBLK_WRITE, VBLK_FLUSH, VBLK_DISCARD,
    VBLK_WZEROES };

struct vblk_cmd {
	enum vblk_action action;
	enum vblk_op op;
	uint8_t *status;	/* the status byte in guest memory */
	uint32_t written;	/* bytes written into the chain on success */
	uint64_t offset, len;	/* bytes */
	bool unmap;
	struct iovec *data;	/* READ/WRITE data segments (in the caller's
				 * `scratch` array) */
	unsigned ndata;
};

/* Decode one validated chain: iov[0..nout) device-readable,
 * iov[nout..nout+nin) device-writable (host pointers into guest RAM).
 * `scratch` must have room for nout + nin entries.  Every field of the
 * header, every length and the sector range are checked; a request the
 * device cannot or must not perform gets its status here (IOERR for a
 * malformed or out-of-range request, UNSUPP for unknown types and flags).
 * Never touches memory outside the iovecs. */
void vblk_decode(const struct vblk_disk *d, const struct iovec *iov,
    unsigned nout, unsigned nin, struct iovec *scratch,
    struct vblk_cmd *cmd);

/* The default serial bhyve derives from the path (MD5). */
void vblk_default_id(const char *path, char id[VIRTIO_BLK_ID_BYTES + 1]);

#endif
