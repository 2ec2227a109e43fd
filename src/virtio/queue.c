/* Split virtqueues: chain validation, used ring, event index (queue.h).
 *
 * Guest memory: the rings are reached through host pointers computed once
 * (vq_enable) with guest_ptr(), so every ring access is in bounds; all
 * indices read from the guest are reduced modulo the size or checked.
 * Fields shared with the guest are read and written with __atomic builtins
 * (the guest changes them concurrently); descriptors are copied before
 * use so the guest cannot change one between check and use.
 *
 * Barriers (virtio 1.2, 2.7.7 and 2.7.13): read avail->idx, then an
 * acquire fence before reading ring entries and descriptors; write the
 * used element, a release fence, then used->idx; a full fence between
 * publishing used->idx (or avail_event) and reading the driver's
 * suppression fields (flags / used_event). */
#include "virtio/queue.h"
#include "vmm/mem.h"

#include <stdatomic.h>
#include <string.h>

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static uint16_t ld16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static void st16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

static void st32(void *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED);
}

/* Host views of the rings (valid while ready). */
static uint8_t *desc_p(struct vq *vq)
{
	return guest_ptr(vq->mem, vq->desc_gpa, VQ_DESC_SIZE(vq->size));
}
static uint8_t *avail_p(struct vq *vq)
{
	return guest_ptr(vq->mem, vq->avail_gpa, VQ_AVAIL_SIZE(vq->size));
}
static uint8_t *used_p(struct vq *vq)
{
	return guest_ptr(vq->mem, vq->used_gpa, VQ_USED_SIZE(vq->size));
}

void vq_init(struct vq *vq, unsigned index, uint16_t maxsize,
    const struct vq_ops *ops, void *owner, const struct guest_mem *mem)
{
	memset(vq, 0, sizeof(*vq));
	pthread_mutex_init(&vq->mtx, NULL);
	vq->index = index;
	vq->maxsize = maxsize;
	vq->size = maxsize;
	vq->ops = ops;
	vq->owner = owner;
	vq->mem = mem;
	vq->msix_vector = 0xffff;
}

void vq_reset(struct vq *vq)
{
	pthread_mutex_lock(&vq->mtx);
	vq->ready = vq->broken = false;
	vq->event_idx = vq->indirect = false;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->size = vq->maxsize;
	vq->msix_vector = 0xffff;
	vq->gen++;
	vq->last_avail = vq->seen_avail = 0;
	vq->used_idx = vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->no_notify = false;
	pthread_mutex_unlock(&vq->mtx);
}

static void bad(struct vq *vq, const char *why)
{
	/* vq->mtx held: mark, the caller reports after unlocking. */
	vq->broken = true;
	(void)why;
}

bool vq_enable(struct vq *vq)
{
	const char *why = NULL;

	pthread_mutex_lock(&vq->mtx);
	if (vq->size == 0 || vq->size > vq->maxsize ||
	    (vq->size & (vq->size - 1)) != 0)
		why = "queue size out of range or not a power of two";
	else if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) ||
	    (vq->used_gpa & 3))
		why = "misaligned ring";
	else if (desc_p(vq) == NULL || avail_p(vq) == NULL ||
	    used_p(vq) == NULL)
		why = "ring outside guest memory";
	if (why == NULL) {
		vq->ready = true;
		vq->broken = false;
		/* The driver starts both indices at 0 (2.7.6/2.7.8). */
		vq->last_avail = vq->seen_avail = 0;
		vq->used_idx = 0;
		st16(used_p(vq) + 2, 0);
	}
	pthread_mutex_unlock(&vq->mtx);
	if (why != NULL) {
		vq->ops->error(vq, why);
		return false;
	}
	return true;
}

/* Walk and check the chain at `head`; fills iov and *c.  NULL on
 * success, else the reason. */
static const char *walk(struct vq *vq, uint16_t head, struct vq_chain *c,
    struct iovec *iov, unsigned maxiov)
{
	const uint8_t *table = desc_p(vq);
	unsigned tsize = vq->size, idx = head, n = 0, nio = 0;
	uint64_t outlen = 0, inlen = 0;
	bool in_indirect = false, writable = false;

	if (table == NULL)
		return "ring outside guest memory";
	if (head >= vq->size)
		return "head index out of range";
	for (;;) {
		struct vring_desc d;

		if (++n > vq->size)
			return "chain longer than the queue (loop?)";
		memcpy(&d, table + 16u * idx, sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return "indirect descriptor not negotiated";
			if (in_indirect)
				return "nested indirect table";
			if (d.flags & VRING_DESC_F_NEXT)
				return "indirect descriptor with NEXT";
			if (d.len == 0 || (d.len & 15) ||
			    d.len / 16 > vq->size)
				return "bad indirect table length";
			table = guest_ptr(vq->mem, d.addr, d.len);
			if (table == NULL)
				return "indirect table outside guest memory";
			tsize = d.len / 16;
			idx = 0;
			in_indirect = true;
			n--;	/* the table's entries count, not the pointer */
			continue;
		}
		if (d.flags & VRING_DESC_F_WRITE)
			writable = true;
		else if (writable)
			return "readable buffer after a writable one";
		if (d.len != 0) {
			void *p = guest_ptr(vq->mem, d.addr, d.len);
			if (p == NULL)
				return "buffer outside guest memory";
			if (nio >= maxiov)
				return "more segments than the device handles";
			iov[nio].iov_base = p;
			iov[nio].iov_len = d.len;
			nio++;
			if (writable) {
				inlen += d.len;
				c->nin++;
			} else {
				outlen += d.len;
				c->nout++;
			}
			if (outlen > UINT32_MAX || inlen > UINT32_MAX)
				return "chain length overflows";
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		idx = d.next;
		if (idx >= tsize)
			return "next index out of range";
	}
	c->outlen = (uint32_t)outlen;
	c->inlen = (uint32_t)inlen;
	return NULL;
}

/* vq->mtx held: the driver's avail index, checked against what was taken
 * and what was read before; NULL or why it is bad. */
static const char *read_avail(struct vq *vq, const uint8_t *avail,
    uint16_t *aidx)
{
	uint16_t a = ld16(avail + 2);
	uint16_t ahead = (uint16_t)(a - vq->last_avail);

	if (ahead > vq->size)
		return "avail index moved by more than the queue size";
	if (ahead < (uint16_t)(vq->seen_avail - vq->last_avail))
		return "avail index went backwards";
	vq->seen_avail = a;
	*aidx = a;
	return NULL;
}

int vq_getchain(struct vq *vq, struct vq_chain *c, struct iovec *iov,
    unsigned maxiov)
{
	const char *why = NULL;
	uint8_t *avail;
	uint16_t aidx, head;
	int r = 0;

	pthread_mutex_lock(&vq->mtx);
	if (!vq->ready || vq->broken || (avail = avail_p(vq)) == NULL)
		goto out;
	why = read_avail(vq, avail, &aidx);
	if (why != NULL || aidx == vq->last_avail)
		goto out;
	atomic_thread_fence(memory_order_acquire);
	head = ld16(avail + 4 + 2u * (vq->last_avail % vq->size));
	memset(c, 0, sizeof(*c));
	why = walk(vq, head, c, iov, maxiov);
	if (why != NULL)
		goto out;
	c->head = head;
	c->gen = vq->gen;
	vq->last_avail++;
	if (vq->event_idx && !vq->no_notify) {
		uint8_t *used = used_p(vq);
		st16(used + 4 + 8u * vq->size, vq->last_avail);
	}
	r = 1;
out:
	if (why != NULL) {
		bad(vq, why);
		r = -1;
	}
	pthread_mutex_unlock(&vq->mtx);
	if (why != NULL)
		vq->ops->error(vq, why);
	return r;
}

void vq_retchain(struct vq *vq)
{
	pthread_mutex_lock(&vq->mtx);
	if (vq->ready)
		vq->last_avail--;
	pthread_mutex_unlock(&vq->mtx);
}

void vq_relchain(struct vq *vq, const struct vq_chain *c, uint32_t written)
{
	uint8_t *used;
	uint8_t *e;

	pthread_mutex_lock(&vq->mtx);
	if (!vq->ready || c->gen != vq->gen || (used = used_p(vq)) == NULL) {
		pthread_mutex_unlock(&vq->mtx);
		return;	/* reset since: dropped */
	}
	if (written > c->inlen)
		written = c->inlen;
	e = used + 4 + 8u * (vq->used_idx % vq->size);
	st32(e, c->head);
	st32(e + 4, written);
	vq->used_idx++;
	atomic_thread_fence(memory_order_release);
	st16(used + 2, vq->used_idx);
	pthread_mutex_unlock(&vq->mtx);
}

void vq_endchains(struct vq *vq)
{
	uint8_t *avail;
	bool need = false;

	pthread_mutex_lock(&vq->mtx);
	if (!vq->ready || (avail = avail_p(vq)) == NULL) {
		pthread_mutex_unlock(&vq->mtx);
		return;
	}
	atomic_thread_fence(memory_order_seq_cst);
	if (vq->event_idx) {
		uint16_t ev = ld16(avail + 4 + 2u * vq->size);
		uint16_t old = vq->signalled_used;
		bool valid = vq->signalled_valid;

		vq->signalled_used = vq->used_idx;
		vq->signalled_valid = true;
		need = !valid ? vq->used_idx != old :
		    vq_need_event(ev, vq->used_idx, old);
	} else {
		need = vq->used_idx != vq->signalled_used &&
		    !(ld16(avail) & VRING_AVAIL_F_NO_INTERRUPT);
		vq->signalled_used = vq->used_idx;
	}
	pthread_mutex_unlock(&vq->mtx);
	if (need)
		vq->ops->interrupt(vq);
}

bool vq_has_descs(struct vq *vq)
{
	const char *why = NULL;
	uint8_t *avail;
	uint16_t aidx;
	bool r = false;

	pthread_mutex_lock(&vq->mtx);
	if (vq->ready && !vq->broken && (avail = avail_p(vq)) != NULL) {
		why = read_avail(vq, avail, &aidx);
		if (why != NULL)
			bad(vq, why);
		else
			r = aidx != vq->last_avail;
	}
	pthread_mutex_unlock(&vq->mtx);
	if (why != NULL)
		vq->ops->error(vq, why);
	return r;
}

void vq_set_notify(struct vq *vq, bool enable)
{
	uint8_t *used;

	pthread_mutex_lock(&vq->mtx);
	if (vq->ready && (used = used_p(vq)) != NULL) {
		vq->no_notify = !enable;
		if (vq->event_idx) {
			if (enable)
				st16(used + 4 + 8u * vq->size, vq->last_avail);
		} else {
			st16(used, enable ? 0 : VRING_USED_F_NO_NOTIFY);
		}
		atomic_thread_fence(memory_order_seq_cst);
	}
	pthread_mutex_unlock(&vq->mtx);
}

