/* The block backend shared by every disk model (virtio-blk, later AHCI and
 * NVMe): a file or a block device opened from a device's config node
 * (bhyve's keys: path, nocache, direct/sync, ro, sectorsize, nodelete),
 * with requests served asynchronously (or, with blk_try_now(), at once
 * when that cannot wait on a device).
 *
 * Engines: io_uring (liburing) for reads, writes and flushes, with a small
 * pool of worker threads for what io_uring cannot do here (BLKDISCARD,
 * BLKZEROOUT, zero-writing fallbacks); when the kernel refuses io_uring,
 * or the environment has BHYVE_BLOCK_ENGINE=threads, everything runs on
 * the worker pool.
 *
 * Threads: blk_submit() may be called from any thread (vCPU, ioeventfd
 * handler, event loop); it never blocks on host I/O.  A request's done()
 * callback runs on a backend-owned thread (the io_uring completion thread
 * or a worker), never on the submitting thread and never on a vCPU or the
 * event loop; it must not call blk_drain() or blk_close().
 * Locks: `sq_lock` serialises io_uring submissions; `lock` guards the
 * worker queue, the in-flight count and the stop flag.
 *
 * Durability: a FLUSH completes only after fdatasync() of the file (or
 * the device's cache flush) returned, so it covers every write that had
 * completed before the flush was submitted. */
#ifndef BHYVE_BLOCK_H
#define BHYVE_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct blk;

enum blk_op {
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,
	BLK_OP_DISCARD,		/* deallocate; reads of the range may return
				 * old data or zeroes */
	BLK_OP_WRITE_ZEROES,	/* the range reads back as zeroes */
};

struct blk_req;
/* err: 0 or a positive errno value. */
typedef void blk_done_t(struct blk_req *req, int err);

struct blk_req {
	enum blk_op op;
	uint64_t offset;	/* bytes from the start of the disk */
	struct iovec *iov;	/* READ/WRITE: guest buffers; must stay valid
				 * (and unchanged) until done() */
	unsigned iovcnt;	/* at most BLK_IOV_MAX */
	uint64_t len;		/* DISCARD/WRITE_ZEROES: bytes; READ/WRITE:
				 * set by blk_submit() to the iovec total */
	bool unmap;		/* WRITE_ZEROES may deallocate the range */
	blk_done_t *done;
	void *arg;		/* for the caller */
	/* backend-private */
	struct blk_req *next;
};

#define BLK_IOV_MAX	1024

struct blk_info {
	const char *path;
	uint64_t size;		/* bytes */
	unsigned sectsz;	/* logical sector size */
	unsigned psectsz;	/* physical sector size (>= sectsz) */
	unsigned psectoff;	/* offset of the first physical sector */
	bool ro;		/* opened read-only; writes fail with EROFS */
	bool candelete;		/* DISCARD supported (not with nodelete) */
	bool is_bdev;
	const char *engine;	/* "io_uring" or "threads" */
};

/* Open the disk that config node `node` (e.g. "pci.0.4.0") describes.
 * Errors name the node, path or value.  `ident` names the worker threads. */
int blk_open(const char *node, const char *ident, struct blk **out);
/* Validate a node without keeping anything open (before the VM exists). */
int blk_check(const char *node);
const struct blk_info *blk_info(const struct blk *b);

/* Queue a request.  Returns 0 when queued (done() is called later, once),
 * or a positive errno without calling done(): EINVAL for a bad range or
 * iovec count (offset+len past the disk, overflow), EROFS for a write to a
 * read-only disk, EOPNOTSUPP for DISCARD without support, ENOMEM. */
int blk_submit(struct blk *b, struct blk_req *req);

/* A hook called on the completing thread after each batch of done()
 * calls (all the completions ready at once, at most 64), before those
 * requests stop counting as in flight: a device raises one interrupt per
 * batch there.  Set before the first request. */
void blk_set_batch_done(struct blk *b, void (*fn)(void *), void *arg);

/* Serve a READ or WRITE at once on the calling thread when that cannot
 * wait on a device: a file in memory (tmpfs, ramfs), or a read the page
 * cache holds entirely (preadv2 with RWF_NOWAIT; not with nocache).
 * Returns 0 when the request is finished (*err: 0, or the errno
 * blk_submit() or the I/O gave; done() is not called), -1 when it must
 * go through blk_submit().  For I/O threads (it copies the data). */
int blk_try_now(struct blk *b, struct blk_req *req, int *err);

/* Wait until no request is in flight (device reset).  Not from done(). */
void blk_drain(struct blk *b);
/* Drain, stop the threads, close the file. */
void blk_close(struct blk *b);

/* Parse "logical[/physical]": powers of two, 512 <= logical <= 4096,
 * logical <= physical <= 65536.  Exposed for tests. */
int blk_parse_sectorsize(const char *s, unsigned *lsec, unsigned *psec);

#endif
