/* Virtqueues (split ring, virtio 1.2 section 2.7): the one place that
 * reads descriptor chains from the guest.  Every chain is validated before
 * a device sees it:
 *   - head and every next index < queue size, at most `size` descriptors
 *     in total (which also rules out loops), indirect tables inside guest
 *     RAM, a multiple of 16 bytes, at most `size` entries, not nested and
 *     not combined with NEXT in the same descriptor;
 *   - device-readable buffers before device-writable ones;
 *   - every buffer inside guest RAM (guest_ptr), lengths summed without
 *     overflow (at most 4 GiB - 1 per direction).
 * A bad chain (or a bad avail index: moved by more than the queue size,
 * or behind a value already read, which the driver never does and which
 * could otherwise keep a device re-looking at an empty ring) puts the
 * device into NEEDS_RESET
 * (vq->ops->error) and the queue stops: no crash, no unbounded work.
 *
 * Threads: a queue is driven by one thread at a time (its notify context,
 * see virtio.h), but vq_getchain/vq_relchain/vq_endchains take vq->mtx,
 * so completions may come from another thread (e.g. an I/O completion).
 * A reset bumps vq->gen; chains taken before it are dropped by
 * vq_relchain. */
#ifndef BHYVE_VIRTIO_QUEUE_H
#define BHYVE_VIRTIO_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util.h"

struct guest_mem;
struct vq;

#define VQ_MAX_SIZE	32768

/* Descriptor flags and ring flags (virtio 1.2, 2.7.5 / 2.7.6 / 2.7.8). */
#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
#define VRING_AVAIL_F_NO_INTERRUPT	1
#define VRING_USED_F_NO_NOTIFY		1

/* Ring layout sizes (bytes) for a queue of `n` entries. */
#define VQ_DESC_SIZE(n)		(16ULL * (n))
#define VQ_AVAIL_SIZE(n)	(6ULL + 2ULL * (n))
#define VQ_USED_SIZE(n)		(6ULL + 8ULL * (n))

/* What the transport provides. */
struct vq_ops {
	void (*interrupt)(struct vq *vq);	/* signal the queue's vector */
	void (*error)(struct vq *vq, const char *why);	/* -> NEEDS_RESET */
};

struct vq {
	pthread_mutex_t mtx;	/* everything below */
	const struct vq_ops *ops;
	void *owner;		/* transport's */
	const struct guest_mem *mem;
	unsigned index;
	uint16_t maxsize;	/* offered */
	uint16_t size;		/* driver's choice (power of two) */
	bool ready;		/* enabled and addresses valid */
	bool broken;		/* a bad chain was seen: no more work */
	bool event_idx;		/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t msix_vector;
	uint32_t gen;		/* bumped by every reset */
	uint16_t last_avail;	/* next avail entry to take */
	uint16_t seen_avail;	/* avail->idx as last read: never goes back */
	uint16_t used_idx;	/* our copy of used->idx */
	uint16_t signalled_used;	/* used idx at the last interrupt */
	bool signalled_valid;
	bool no_notify;		/* device asked the guest not to notify */
};

/* A validated chain: iov[0..nout) device-readable, iov[nout..nout+nin)
 * device-writable; lengths in bytes. */
struct vq_chain {
	uint16_t head;
	uint16_t nout, nin;
	uint32_t outlen, inlen;
	uint32_t gen;
};

void vq_init(struct vq *vq, unsigned index, uint16_t maxsize,
    const struct vq_ops *ops, void *owner, const struct guest_mem *mem);
/* Check and enable the rings the driver set up (addresses in RAM, size a
 * power of two <= maxsize); false (and error()) when they are bad. */
bool vq_enable(struct vq *vq);
/* Back to the reset state (keeps maxsize, ops); bumps gen. */
void vq_reset(struct vq *vq);

/* Take the next available chain into iov (maxiov entries; pass at least
 * vq->size to never hit the limit: a chain with more segments than maxiov
 * is treated as bad).  Returns 1 with *c filled, 0 when there is nothing
 * (or the queue is not ready / broken), -1 when the chain was bad (the
 * device is now in NEEDS_RESET). */
int vq_getchain(struct vq *vq, struct vq_chain *c, struct iovec *iov,
    unsigned maxiov);
/* Undo the last vq_getchain (e.g. no room for it yet). */
void vq_retchain(struct vq *vq);
/* Put a chain on the used ring with `written` bytes written into it. */
void vq_relchain(struct vq *vq, const struct vq_chain *c, uint32_t written);
/* After a batch of vq_relchain: interrupt the guest unless it suppressed
 * it (VRING_AVAIL_F_NO_INTERRUPT or used_event). */
void vq_endchains(struct vq *vq);
/* Whether a chain is available. */
bool vq_has_descs(struct vq *vq);
/* Ask the driver (not) to notify us (used flags or avail_event).  After
 * enabling, re-check vq_has_descs() to close the race. */
void vq_set_notify(struct vq *vq, bool enable);

/* iov_to_buf()/iov_from_buf() (util.h) copy between a chain's segments
 * and a flat buffer. */

/* Event index rule (virtio 1.2, 2.7.10): notify when new_idx has moved
 * past event_idx since old_idx. */
static inline bool vq_need_event(uint16_t event_idx, uint16_t new_idx,
    uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) <
	    (uint16_t)(new_idx - old_idx);
}

#endif
