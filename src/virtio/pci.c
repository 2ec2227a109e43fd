/* Transitional virtio PCI transport (virtio.h): legacy registers in I/O
 * BAR 0, MSI-X table in BAR 1 (or an MSI capability with -W), virtio 1.x
 * capabilities in 64-bit memory BAR 4.  With virtio.pio_notify=true (off
 * by default, as QEMU's modern-pio-notify) a first notification
 * capability points modern drivers at the legacy queue-notify port in BAR
 * 0 (multiplier 0: every queue writes its index there): a port write exits
 * with its port and value decoded, where a memory write makes KVM fetch
 * and emulate the guest's instruction (AMD without decode assists, nested
 * hypervisors).  The memory-BAR notification capability follows for
 * drivers that want one.
 *
 * Locking: vd->lock guards the transport registers (status, features,
 * queue selection and setup, vectors, ioeventfd registrations) and is held
 * around the model's cfgread/cfgwrite/reset/driver_ok callbacks.  Order:
 * pi->lock -> vd->lock -> vq->mtx.  The ISR and the INTx level change
 * together under vd->isr_lock.  The status is atomic so that
 * virtio_needs_reset() can be called from any thread without vd->lock. */
#include "virtio/virtio.h"
#include "backends/evloop.h"
#include "bus/pci_bar.h"
#include "bus/pci_msi.h"
#include "config.h"
#include "util.h"
#include "vmm/irq.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/pci_priv.h"

static const struct vq_ops transport_vq_ops;

static struct virtio_dev *vd_of(struct vq *vq)
{
	return ((struct vqx *)vq)->vd;
}

struct vq *virtio_queue(struct virtio_dev *vd, unsigned i)
{
	return i < vd->nq ? &vd->q[i].vq : NULL;
}

uint64_t virtio_features(struct virtio_dev *vd)
{
	return vd->gfeatures;
}

void virtio_offer(struct virtio_dev *vd, uint64_t features)
{
	vd->dfeatures |= features;
}

bool virtio_is_legacy(struct virtio_dev *vd)
{
	return vd->legacy;
}

struct evloop *virtio_iothread(struct virtio_dev *vd)
{
	return vd->io;
}

/* ---- interrupts ---- */

static void raise_isr(struct virtio_dev *vd, uint8_t bit, uint16_t vector)
{
	struct pci_devinst *pi = vd->pi;

	if (pci_msix_enabled(pi)) {
		if (vector != VIRTIO_MSI_NO_VECTOR)
			pci_msi_notify(pi, vector);
		return;
	}
	pthread_mutex_lock(&vd->isr_lock);
	vd->isr |= bit;
	pthread_mutex_unlock(&vd->isr_lock);
	if (pci_msi_enabled(pi))
		pci_msi_notify(pi, 0);
	else {
		pthread_mutex_lock(&vd->isr_lock);
		if (vd->isr)
			pci_intx_set(pi, true);
		pthread_mutex_unlock(&vd->isr_lock);
	}
}

uint8_t vpci_read_isr(struct virtio_dev *vd)
{
	uint8_t v;

	pthread_mutex_lock(&vd->isr_lock);
	v = vd->isr;
	vd->isr = 0;
	pci_intx_set(vd->pi, false);
	pthread_mutex_unlock(&vd->isr_lock);
	return v;
}

void virtio_vq_interrupt(struct vq *vq)
{
	raise_isr(vd_of(vq), ISR_QUEUE, vq->msix_vector);
}

void virtio_config_changed(struct virtio_dev *vd)
{
	atomic_fetch_add(&vd->cfggen, 1);
	raise_isr(vd, ISR_CONFIG, vd->config_vector);
}

void virtio_needs_reset(struct virtio_dev *vd, const char *why)
{
	unsigned st = atomic_load(&vd->status);

	trace_point("%s: needs reset: %s", vd->pi->name, why);
	/* Only a device the driver set up can need a reset. */
	if (!(st & VIRTIO_STATUS_DRIVER_OK) &&
	    !(st & VIRTIO_STATUS_FEATURES_OK) && !vd->legacy)
		return;
	if (atomic_fetch_or(&vd->status, VIRTIO_STATUS_NEEDS_RESET) &
	    VIRTIO_STATUS_NEEDS_RESET)
		return;
	virtio_config_changed(vd);
}

static void vq_error(struct vq *vq, const char *why)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "queue %u: %s", vq->index, why);
	virtio_needs_reset(vd_of(vq), msg);
}

static const struct vq_ops transport_vq_ops = {
	.interrupt = virtio_vq_interrupt,
	.error = vq_error,
};

/* ---- notifications ---- */

static void kick_common(int fd, struct vqx *q)
{
	struct virtio_dev *vd = q->vd;
	uint64_t cnt;
	unsigned st;

	if (read(fd, &cnt, sizeof(cnt)) < 0) {
		if (errno != EAGAIN)
			return;
		cnt = 0;
	}
	atomic_fetch_add(&vd->kicks, cnt);
	st = atomic_load(&vd->status);
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_NEEDS_RESET))
		vd->ops->notify(vd->sc, &q->vq);
}

static void kick_ev(int fd, uint32_t events, void *arg)
{
	(void)events;
	kick_common(fd, arg);
}

/* A notification written to a BAR that no ioeventfd caught (before
 * DRIVER_OK, or when KVM refused the registration); any thread, no lock. */
void vpci_notify(struct virtio_dev *vd, uint64_t idx)
{
	if (idx >= vd->nq)
		return;
	atomic_fetch_add(&vd->slow_kicks, 1);
	vpci_kick(&vd->q[idx]);
}

void vpci_kick(struct vqx *q)
{
	uint64_t one = 1;

	if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		trace_point("virtio kick: %s", strerror(errno));
}

/* (Un)register the queues' ioeventfds at the BARs' current places,
 * treating BAR `going` (or every BAR when !on) as no longer decoded
 * (vd->lock held).  Costs KVM grace periods: DRIVER_OK, reset and BAR
 * moves only; unchanged registrations are left alone. */
static void ioev_set(struct virtio_dev *vd, bool on, int going)
{
	uint64_t mbase = going == BAR_MODERN ? 0 :
	    pci_bar_mapped(vd->pi, BAR_MODERN);
	uint64_t lbase = going == BAR_LEGACY ? 0 :
	    pci_bar_mapped(vd->pi, BAR_LEGACY);

	for (unsigned i = 0; i < vd->nq; i++) {
		struct vqx *q = &vd->q[i];
		uint64_t ma = mbase ? mbase + VM_NOTIFY + VM_NOTIFY_MULT * i : 0;
		uint64_t la = lbase ? lbase + VL_QUEUE_NOTIFY : 0;

		if (!on)
			ma = la = 0;
		if (q->ioev_mmio != ma) {
			if (q->ioev_mmio)
				irq_ioeventfd(q->ioev_mmio, 2, false, false, 0,
				    q->efd, false);
			q->ioev_mmio = 0;
			if (ma && irq_ioeventfd(ma, 2, false, false, 0, q->efd,
			    true) == 0)
				q->ioev_mmio = ma;
		}
		if (q->ioev_pio != la) {
			if (q->ioev_pio)
				irq_ioeventfd(q->ioev_pio, 2, true, true, i,
				    q->efd, false);
			q->ioev_pio = 0;
			if (la && irq_ioeventfd(la, 2, true, true, i, q->efd,
			    true) == 0)
				q->ioev_pio = la;
		}
	}
	vd->ioev_on = on;
}

static void ioev_update(struct virtio_dev *vd, bool on)
{
	ioev_set(vd, on, -1);
}

void virtio_pci_barmap(struct pci_devinst *pi, int bar, bool on)
{
	struct virtio_dev *vd = pi->softc;

	(void)on;
	if (vd == NULL || (bar != BAR_MODERN && bar != BAR_LEGACY))
		return;
	pthread_mutex_lock(&vd->lock);
	/* Called before a BAR stops being decoded (off) and after it is
	 * decoded at its new place (on). */
	if (atomic_load(&vd->status) & VIRTIO_STATUS_DRIVER_OK)
		ioev_set(vd, true, on ? -1 : bar);
	pthread_mutex_unlock(&vd->lock);
}

/* ---- status, reset, features ---- */

static void device_reset(struct virtio_dev *vd)
{
	if (vd->ioev_on)
		ioev_update(vd, false);
	for (unsigned i = 0; i < vd->nq; i++)
		vq_reset(&vd->q[i].vq);
	atomic_store(&vd->status, 0);
	vd->gfeatures = 0;
	vd->dfselect = vd->gfselect = 0;
	vd->qsel = 0;
	vd->config_vector = VIRTIO_MSI_NO_VECTOR;
	vd->legacy = false;
	vpci_read_isr(vd);
	if (vd->ops->reset)
		vd->ops->reset(vd->sc);
}

void virtio_pci_reset(struct pci_devinst *pi)
{
	struct virtio_dev *vd = pi->softc;

	if (vd == NULL)
		return;
	pthread_mutex_lock(&vd->lock);
	device_reset(vd);
	pthread_mutex_unlock(&vd->lock);
}

static void driver_ok(struct virtio_dev *vd)
{
	bool evidx = vd->gfeatures & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	bool indirect = vd->gfeatures & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	for (unsigned i = 0; i < vd->nq; i++) {
		struct vqx *q = &vd->q[i];
		pthread_mutex_lock(&q->vq.mtx);
		q->vq.event_idx = evidx;
		q->vq.indirect = indirect;
		pthread_mutex_unlock(&q->vq.mtx);
		if (vd->ops->ctx == VIRTIO_CTX_EVLOOP && q->ev == NULL)
			q->ev = ev_add(q->efd, false, kick_ev, q);
	}
	ioev_update(vd, true);
	if (vd->ops->driver_ok)
		vd->ops->driver_ok(vd->sc);
	/* Buffers made available before DRIVER_OK are seen now. */
	for (unsigned i = 0; i < vd->nq; i++)
		vpci_kick(&vd->q[i]);
}

void vpci_set_status(struct virtio_dev *vd, uint8_t v)
{
	unsigned old = atomic_load(&vd->status);

	if (v == 0) {
		device_reset(vd);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) &&
	    !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* Accept only features we offered, and VERSION_1 on the
		 * modern interface. */
		if ((vd->gfeatures & ~vd->dfeatures) != 0 ||
		    (!vd->legacy && !(vd->gfeatures &
		    (1ULL << VIRTIO_F_VERSION_1))))
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	/* NEEDS_RESET is the device's to set. */
	v = (uint8_t)((v & ~VIRTIO_STATUS_NEEDS_RESET) |
	    (old & VIRTIO_STATUS_NEEDS_RESET));
	atomic_store(&vd->status, v);
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
		driver_ok(vd);
}

static int bar_access(struct pci_devinst *pi, int bar, uint64_t off, int size,
    bool write, uint64_t *val)
{
	struct virtio_dev *vd = pi->softc;
	int r;

	/* Notifications need no lock: they only write an eventfd.  With
	 * virtio.pio_notify the legacy notify register is the modern
	 * drivers' too (see the top): it does not mark the driver legacy. */
	if (bar == BAR_MODERN && write && off >= VM_NOTIFY)
		return vpci_modern_access(vd, off, size, write, val);
	if (bar == BAR_LEGACY && write && off == VL_QUEUE_NOTIFY &&
	    size == 2) {
		vpci_notify(vd, *val & 0xffff);
		return 0;
	}
	pthread_mutex_lock(&vd->lock);
	if (bar == BAR_LEGACY)
		r = vpci_legacy_access(vd, off, size, write, val);
	else
		r = vpci_modern_access(vd, off, size, write, val);
	pthread_mutex_unlock(&vd->lock);
	return r;
}

/* ---- construction ---- */

static unsigned add_vcap_bar(struct pci_devinst *pi, uint8_t type, int bar,
    uint32_t off, uint32_t len, bool notify, uint32_t mult)
{
	unsigned caplen = notify || type == VIRTIO_PCI_CAP_PCI_CFG ? 20 : 16;
	unsigned c = pci_add_cap(pi, PCIY_VENDOR, caplen);

	if (c == 0) {
		fail("%s: no room for virtio capabilities", pi->name);
		return 0;
	}
	pci_set_cfg8(pi, c + 2, (uint8_t)caplen);
	pci_set_cfg8(pi, c + 3, type);
	pci_set_cfg8(pi, c + 4, (uint8_t)bar);
	pci_set_cfg32(pi, c + 8, off);
	pci_set_cfg32(pi, c + 12, len);
	if (notify)
		pci_set_cfg32(pi, c + 16, mult);
	return c;
}

static unsigned add_vcap(struct pci_devinst *pi, uint8_t type, uint32_t off,
    uint32_t len, bool notify)
{
	return add_vcap_bar(pi, type, BAR_MODERN, off, len, notify,
	    VM_NOTIFY_MULT);
}

/* The PCI configuration access capability (4.1.4.9): the driver picks a
 * BAR, offset and length in the capability, then reads or writes
 * pci_cfg_data to access the BAR through configuration space.  Called
 * with pi->lock held (order pi->lock -> vd->lock). */
static int pcicfg_access(struct pci_devinst *pi, unsigned off, unsigned size,
    bool write, uint32_t *val)
{
	struct virtio_dev *vd = pi->softc;
	unsigned c, bar;
	uint32_t boff, len;
	uint64_t v;

	if (vd == NULL || vd->pcicfg == 0)
		return -1;
	c = vd->pcicfg;
	if (off + size <= c + 4 || off >= c + 20)
		return -1;
	if (off < c + 16) {
		/* bar, offset and length are plain read/write fields */
		if (!write)
			return -1;
		for (unsigned i = 0; i < size; i++) {
			unsigned o = off + i;
			if (o == c + 4 || (o >= c + 8 && o < c + 16))
				pi->cfg[o] = (uint8_t)(*val >> (8 * i));
		}
		return 0;
	}
	bar = pi->cfg[c + 4];
	boff = pci_get_cfg(pi, c + 8, 4);
	len = pci_get_cfg(pi, c + 12, 4);
	if (!write)
		*val = 0;
	if ((bar != BAR_MODERN && bar != BAR_LEGACY) ||
	    (len != 1 && len != 2 && len != 4) || off != c + 16 ||
	    (uint64_t)boff + len > pi->bar[bar].size)
		return 0;
	v = write ? *val : 0;
	bar_access(pi, (int)bar, boff, (int)len, write, &v);
	if (!write)
		*val = (uint32_t)v;
	return 0;
}

int virtio_pci_cfgread(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t *val)
{
	return pcicfg_access(pi, off, size, false, val);
}

int virtio_pci_cfgwrite(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t val)
{
	return pcicfg_access(pi, off, size, true, &val);
}

int virtio_pci_init(struct vm *vm, struct pci_devinst *pi,
    const struct virtio_ops *ops, void *sc, struct virtio_dev **out)
{
	struct virtio_dev *vd;
	bool msix = true, pio_notify = false;
	uint64_t lsize;

	if (ops->nqueues == 0 || ops->nqueues > VIRTIO_MAX_QUEUES ||
	    ops->qsize == 0 || ops->qsize > VQ_MAX_SIZE ||
	    (ops->qsize & (ops->qsize - 1)) != 0 ||
	    ops->cfgsize > 256 || ops->notify == NULL)
		return fail("%s: bad virtio device description", pi->name);
	if (config_get_bool("virtio_msix", true, &msix) != 0 ||
	    config_get_bool("virtio.pio_notify", false, &pio_notify) != 0)
		return -1;
	vd = calloc(1, sizeof(*vd) + ops->nqueues * sizeof(vd->q[0]));
	if (vd == NULL)
		return fail("out of memory");
	pthread_mutex_init(&vd->lock, NULL);
	pthread_mutex_init(&vd->isr_lock, NULL);
	vd->pi = pi;
	vd->ops = ops;
	vd->sc = sc;
	vd->nq = ops->nqueues;
	vd->use_msix = msix;
	vd->config_vector = VIRTIO_MSI_NO_VECTOR;
	vd->dfeatures = ops->features | (1ULL << VIRTIO_F_VERSION_1) |
	    (1ULL << VIRTIO_RING_F_EVENT_IDX) |
	    (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	for (unsigned i = 0; i < vd->nq; i++)
		vd->q[i].efd = -1;
	pi->softc = vd;
	for (unsigned i = 0; i < vd->nq; i++) {
		struct vqx *q = &vd->q[i];
		vq_init(&q->vq, i, ops->qsize, &transport_vq_ops, vd,
		    vm ? &vm->mem : NULL);
		q->vd = vd;
		q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->efd < 0)
			return fail_errno("%s: eventfd", pi->name);
	}
	if (ops->ctx == VIRTIO_CTX_IOTHREAD) {
		char name[16];
		snprintf(name, sizeof(name), "vio %u:%u", pi->slot, pi->func);
		vd->io = evloop_start(name);
		if (vd->io == NULL)
			return -1;
		for (unsigned i = 0; i < vd->nq; i++) {
			vd->q[i].iow = ev_add_on(vd->io, vd->q[i].efd, false,
			    kick_ev, &vd->q[i]);
			if (vd->q[i].iow == NULL)
				return -1;
		}
	}

	pci_set_ids(pi, VIRTIO_VENDOR, ops->legacy_devid, ops->pci_class,
	    ops->pci_subclass, 0);
	pci_set_cfg8(pi, PCIR_REVID, 0);	/* transitional */
	pci_set_cfg16(pi, PCIR_SUBVEND, VIRTIO_VENDOR);
	pci_set_cfg16(pi, PCIR_SUBDEV, ops->device_type);
	lsize = VL_HDR_MSIX + ops->cfgsize;
	if (pci_bar_declare(pi, BAR_LEGACY, PCIBAR_IO, lsize, bar_access) != 0 ||
	    pci_bar_declare(pi, BAR_MODERN, PCIBAR_MEM64, VM_BARSIZE,
	    bar_access) != 0)
		return -1;
	if (add_vcap(pi, VIRTIO_PCI_CAP_COMMON_CFG, VM_COMMON, VC_SIZE,
	    false) == 0 ||
	    add_vcap(pi, VIRTIO_PCI_CAP_ISR_CFG, VM_ISR, 1, false) == 0 ||
	    add_vcap(pi, VIRTIO_PCI_CAP_DEVICE_CFG, VM_DEVCFG,
	    ops->cfgsize ? ops->cfgsize : 4, false) == 0 ||
	    (pio_notify && add_vcap_bar(pi, VIRTIO_PCI_CAP_NOTIFY_CFG,
	    BAR_LEGACY, VL_QUEUE_NOTIFY, 2, true, 0) == 0) ||
	    add_vcap(pi, VIRTIO_PCI_CAP_NOTIFY_CFG, VM_NOTIFY,
	    VM_NOTIFY_MULT * vd->nq, true) == 0 ||
	    (vd->pcicfg = add_vcap(pi, VIRTIO_PCI_CAP_PCI_CFG, 0, 0,
	    false)) == 0)
		return -1;
	/* bar, offset and length are the driver's to choose */
	pci_set_cfg8(pi, vd->pcicfg + 4, 0);
	if (msix ? pci_msix_add(pi, vd->nq + 1, BAR_MSIX) != 0 :
	    pci_msi_add(pi, 1) != 0)
		return -1;
	if (pci_intx_add(pi) != 0)
		return -1;
	if (out)
		*out = vd;
	return 0;
}

void virtio_pci_teardown(struct pci_devinst *pi)
{
	struct virtio_dev *vd = pi->softc;

	if (vd == NULL)
		return;
	/* BHYVE_TRACE: how many queue notifications needed a vCPU exit
	 * (those before DRIVER_OK, or without ioeventfds). */
	trace_point("%s: %lu queue notifications, %lu through vCPU exits",
	    pi->name, atomic_load(&vd->kicks), atomic_load(&vd->slow_kicks));
	/* Joins the I/O thread: no callback runs any more; the device's
	 * own entries on it go in its teardown, the loop after that. */
	evloop_stop(vd->io);
	if (vd->ioev_on)
		ioev_update(vd, false);
	for (unsigned i = 0; i < vd->nq; i++) {
		ev_del(vd->q[i].ev);
		ev_del(vd->q[i].iow);
		if (vd->q[i].efd >= 0)
			close(vd->q[i].efd);
	}
	if (vd->ops->teardown)
		vd->ops->teardown(vd->sc);
	evloop_free(vd->io);
	pi->softc = NULL;
	free(vd);
}
