/* The transitional virtio PCI transport's register files (virtio 1.2,
 * 4.1.4): the legacy interface in I/O BAR 0 and the modern common
 * configuration, ISR, device configuration and notification areas in
 * memory BAR 4.  Called from pci.c's BAR handler with vd->lock held
 * (notification writes of the modern BAR without it: they only kick). */
#include "virtio/pci_priv.h"
#include "bus/pci_msi.h"
#include "util.h"

#include <stdatomic.h>

static uint64_t offered(struct virtio_dev *vd)
{
	/* The legacy interface sees the low 32 bits (no VERSION_1). */
	return vd->legacy ? (uint32_t)vd->dfeatures : vd->dfeatures;
}

/* ---- device configuration ---- */

static uint32_t devcfg_read(struct virtio_dev *vd, uint64_t off, int size)
{
	uint32_t v = 0;

	if (size > 4 || off + (uint64_t)size > vd->ops->cfgsize ||
	    vd->ops->cfgread == NULL)
		return 0;
	if (vd->ops->cfgread(vd->sc, (unsigned)off, (unsigned)size, &v) != 0)
		return 0;
	return v;
}

static void devcfg_write(struct virtio_dev *vd, uint64_t off, int size,
    uint32_t v)
{
	if (size > 4 || off + (uint64_t)size > vd->ops->cfgsize ||
	    vd->ops->cfgwrite == NULL)
		return;
	vd->ops->cfgwrite(vd->sc, (unsigned)off, (unsigned)size, v);
}

/* ---- legacy interface (I/O BAR 0) ---- */

static struct vqx *selq(struct virtio_dev *vd)
{
	return vd->qsel < vd->nq ? &vd->q[vd->qsel] : NULL;
}

static uint16_t check_vector(struct virtio_dev *vd, uint16_t v)
{
	/* A vector beyond the table reads back as NO_VECTOR. */
	return v < vd->nq + 1 ? v : VIRTIO_MSI_NO_VECTOR;
}

static void legacy_set_pfn(struct virtio_dev *vd, struct vqx *q, uint32_t pfn)
{
	struct vq *vq = &q->vq;

	if (pfn == 0) {
		vq_reset(vq);
		return;
	}
	pthread_mutex_lock(&vq->mtx);
	vq->size = vq->maxsize;
	vq->desc_gpa = (uint64_t)pfn << VL_PFN_SHIFT;
	vq->avail_gpa = vq->desc_gpa + VQ_DESC_SIZE(vq->size);
	vq->used_gpa = ALIGN_UP(vq->avail_gpa + VQ_AVAIL_SIZE(vq->size),
	    (uint64_t)VL_ALIGN);
	pthread_mutex_unlock(&vq->mtx);
	vq_enable(vq);
	(void)vd;
}

int vpci_legacy_access(struct virtio_dev *vd, uint64_t off, int size,
    bool write, uint64_t *val)
{
	unsigned hdr = pci_msix_enabled(vd->pi) ? VL_HDR_MSIX : VL_HDR;
	struct vqx *q;
	uint32_t v = write ? (uint32_t)*val : 0;

	if (off >= hdr) {
		if (write)
			devcfg_write(vd, off - hdr, size, v);
		else
			*val = devcfg_read(vd, off - hdr, size);
		return 0;
	}
	vd->legacy = true;
	q = selq(vd);
#define AT(o, s) (off == (o) && size == (s))
	if (!write) {
		uint64_t r = 0;
		if (AT(VL_HOST_FEATURES, 4))
			r = (uint32_t)offered(vd);
		else if (AT(VL_GUEST_FEATURES, 4))
			r = (uint32_t)vd->gfeatures;
		else if (AT(VL_QUEUE_PFN, 4))
			r = q && q->vq.ready ? (uint32_t)(q->vq.desc_gpa >>
			    VL_PFN_SHIFT) : 0;
		else if (AT(VL_QUEUE_NUM, 2))
			r = q ? q->vq.maxsize : 0;
		else if (AT(VL_QUEUE_SEL, 2))
			r = vd->qsel;
		else if (AT(VL_STATUS, 1))
			r = atomic_load(&vd->status) & 0xff;
		else if (AT(VL_ISR, 1))
			r = vpci_read_isr(vd);
		else if (AT(VL_CONFIG_VECTOR, 2) && hdr == VL_HDR_MSIX)
			r = vd->config_vector;
		else if (AT(VL_QUEUE_VECTOR, 2) && hdr == VL_HDR_MSIX)
			r = q ? q->vq.msix_vector : VIRTIO_MSI_NO_VECTOR;
		*val = r;
		return 0;
	}
	if (AT(VL_GUEST_FEATURES, 4))
		vd->gfeatures = v & (uint32_t)vd->dfeatures;
	else if (AT(VL_QUEUE_PFN, 4) && q)
		legacy_set_pfn(vd, q, v);
	else if (AT(VL_QUEUE_SEL, 2))
		vd->qsel = (uint16_t)v;
	else if (AT(VL_STATUS, 1))
		vpci_set_status(vd, (uint8_t)v);
	else if (AT(VL_CONFIG_VECTOR, 2) && hdr == VL_HDR_MSIX)
		vd->config_vector = check_vector(vd, (uint16_t)v);
	else if (AT(VL_QUEUE_VECTOR, 2) && hdr == VL_HDR_MSIX && q)
		q->vq.msix_vector = check_vector(vd, (uint16_t)v);
#undef AT
	return 0;
}

/* ---- modern interface (memory BAR 4) ---- */

static uint64_t common_read(struct virtio_dev *vd, uint64_t off, int size)
{
	struct vqx *q = selq(vd);
	uint64_t f = offered(vd);

#define AT(o, s) (off == (o) && size == (s))
	if (AT(VC_DFSELECT, 4))
		return vd->dfselect;
	if (AT(VC_DF, 4))
		return vd->dfselect == 0 ? (uint32_t)f : vd->dfselect == 1 ?
		    (uint32_t)(f >> 32) : 0;
	if (AT(VC_GFSELECT, 4))
		return vd->gfselect;
	if (AT(VC_GF, 4))
		return vd->gfselect == 0 ? (uint32_t)vd->gfeatures :
		    vd->gfselect == 1 ? (uint32_t)(vd->gfeatures >> 32) : 0;
	if (AT(VC_MSIX, 2))
		return vd->config_vector;
	if (AT(VC_NUMQ, 2))
		return vd->nq;
	if (AT(VC_STATUS, 1))
		return atomic_load(&vd->status) & 0xff;
	if (AT(VC_CFGGEN, 1))
		return atomic_load(&vd->cfggen) & 0xff;
	if (AT(VC_QSEL, 2))
		return vd->qsel;
	if (q == NULL)
		return 0;	/* queue registers of a missing queue */
	if (AT(VC_QSIZE, 2))
		return q->vq.size;
	if (AT(VC_QMSIX, 2))
		return q->vq.msix_vector;
	if (AT(VC_QENABLE, 2))
		return q->vq.ready;
	if (AT(VC_QNOFF, 2))
		return vd->qsel;
	if (AT(VC_QNDATA, 2))
		return vd->qsel;
	if (off >= VC_QDESC && off + (uint64_t)size <= VC_QUSED + 8 &&
	    (size == 4 || size == 8) && (off & (uint64_t)(size - 1)) == 0) {
		uint64_t base = (off - VC_QDESC) / 8, v;
		v = base == 0 ? q->vq.desc_gpa : base == 1 ? q->vq.avail_gpa :
		    q->vq.used_gpa;
		if (size == 8)
			return v;
		return (off & 4) ? v >> 32 : (uint32_t)v;
	}
#undef AT
	return 0;
}

static void set_half(uint64_t *field, uint64_t off, int size, uint64_t v)
{
	if (size == 8)
		*field = v;
	else if (off & 4)
		*field = (*field & 0xffffffffULL) | (v << 32);
	else
		*field = (*field & ~0xffffffffULL) | (uint32_t)v;
}

static void common_write(struct virtio_dev *vd, uint64_t off, int size,
    uint64_t v)
{
	struct vqx *q = selq(vd);

#define AT(o, s) (off == (o) && size == (s))
	if (AT(VC_DFSELECT, 4))
		vd->dfselect = (uint32_t)v;
	else if (AT(VC_GFSELECT, 4))
		vd->gfselect = (uint32_t)v;
	else if (AT(VC_GF, 4)) {
		/* Features are fixed once FEATURES_OK is set. */
		if (atomic_load(&vd->status) & VIRTIO_STATUS_FEATURES_OK)
			return;
		if (vd->gfselect == 0)
			vd->gfeatures = (vd->gfeatures & ~0xffffffffULL) |
			    (uint32_t)v;
		else if (vd->gfselect == 1)
			vd->gfeatures = (vd->gfeatures & 0xffffffffULL) |
			    (v << 32);
	} else if (AT(VC_MSIX, 2))
		vd->config_vector = check_vector(vd, (uint16_t)v);
	else if (AT(VC_STATUS, 1))
		vpci_set_status(vd, (uint8_t)v);
	else if (AT(VC_QSEL, 2))
		vd->qsel = (uint16_t)v;
	else if (q == NULL || q->vq.ready)
		return;	/* a missing queue, or an enabled one: read-only */
	else if (AT(VC_QSIZE, 2)) {
		/* split rings: a power of two up to the maximum */
		if (v >= 1 && v <= q->vq.maxsize && (v & (v - 1)) == 0)
			q->vq.size = (uint16_t)v;
	} else if (AT(VC_QMSIX, 2))
		q->vq.msix_vector = check_vector(vd, (uint16_t)v);
	else if (AT(VC_QENABLE, 2)) {
		if (v == 1)
			vq_enable(&q->vq);
	} else if (off >= VC_QDESC && off + (uint64_t)size <= VC_QUSED + 8 &&
	    (size == 4 || size == 8) && (off & (uint64_t)(size - 1)) == 0) {
		uint64_t which = (off - VC_QDESC) / 8;
		pthread_mutex_lock(&q->vq.mtx);
		set_half(which == 0 ? &q->vq.desc_gpa : which == 1 ?
		    &q->vq.avail_gpa : &q->vq.used_gpa, off, size, v);
		pthread_mutex_unlock(&q->vq.mtx);
	}
#undef AT
}

int vpci_modern_access(struct virtio_dev *vd, uint64_t off, int size,
    bool write, uint64_t *val)
{
	if (off < VM_COMMON + VC_SIZE) {
		if (write)
			common_write(vd, off, size, *val);
		else
			*val = common_read(vd, off, size);
	} else if (off == VM_ISR && !write && size == 1) {
		*val = vpci_read_isr(vd);
	} else if (off >= VM_DEVCFG && off < VM_DEVCFG + 0x1000) {
		if (write)
			devcfg_write(vd, off - VM_DEVCFG, size, (uint32_t)*val);
		else
			*val = devcfg_read(vd, off - VM_DEVCFG, size);
	} else if (off >= VM_NOTIFY && off < VM_NOTIFY + VM_NOTIFY_MULT *
	    (uint64_t)vd->nq) {
		/* Notifications that did not go through the ioeventfd. */
		if (write)
			vpci_notify(vd, (off - VM_NOTIFY) / VM_NOTIFY_MULT);
		else
			*val = 0;
	} else if (!write) {
		*val = 0;
	}
	return 0;
}
