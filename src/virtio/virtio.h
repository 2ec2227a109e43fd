/* Virtio devices on PCI: the API for device models (virtio-rnd, -blk, -net,
 * -console ...).  The transport (virtio/pci.c) is transitional: a legacy
 * interface in I/O BAR 0 (FreeBSD guests, old Linux) and the virtio 1.x
 * interface in 64-bit memory BAR 4 (common, notify, ISR and device-config
 * capabilities; with virtio.pio_notify=true a first notify capability
 * sends modern drivers to the legacy notify port in BAR 0), with MSI-X
 * (table and PBA in BAR 1) or MSI (-W, virtio_msix=false) or INTx.  PCI IDs: vendor 1af4, device 0x1000 +
 * (type-specific legacy id), subsystem device = virtio device type.
 *
 * A device model:
 *   static const struct virtio_ops ops = { .name = "virtio-rnd",
 *       .device_type = VIRTIO_ID_RNG, .legacy_devid = 0x1005,
 *       .pci_class = 0xff, .nqueues = 1, .qsize = 64,
 *       .notify = rnd_notify, .ctx = VIRTIO_CTX_EVLOOP, ... };
 *   init(vm, pi, node): sc = calloc(..);
 *       virtio_pci_init(vm, pi, &ops, sc, &sc->vdev);
 *   its struct pci_devemu uses VIRTIO_PCI_DEVEMU_HOOKS.
 *   notify(sc, vq): while (vq_getchain(vq, &c, iov, n) > 0) { work;
 *       vq_relchain(vq, &c, written); }  vq_endchains(vq);
 *
 * Where callbacks run:
 *   notify   - VIRTIO_CTX_EVLOOP: on the event-loop thread (must not
 *              block: console, rnd);  VIRTIO_CTX_IOTHREAD: on the
 *              device's own I/O thread, created by the transport, where it
 *              may do blocking host I/O (blk, net).  Never on a vCPU.
 *              Guest notifications arrive through an ioeventfd (no exit
 *              to user space) or, when the write cannot use it, through
 *              the same eventfd written by the vCPU's exit handler.  At
 *              DRIVER_OK every queue is notified once.
 *   cfgread/cfgwrite - device-specific config space, on a vCPU thread,
 *              with the transport's lock held; must not block.
 *   reset    - on a vCPU thread (guest wrote status 0, or FLR) with the
 *              transport's lock held, after every queue was reset (their
 *              gen bumped: chains still in flight are dropped on
 *              vq_relchain).  Must not block; drop queued work.
 *   driver_ok - on a vCPU thread, lock held, when the driver sets
 *              DRIVER_OK (features are final: virtio_features()).
 *   teardown - from pci_fini after the vCPUs stopped (I/O thread joined).
 * Interrupts: vq_endchains() (or virtio_vq_interrupt) raises the queue's
 * vector from any thread; virtio_config_changed() the config vector. */
#ifndef BHYVE_VIRTIO_H
#define BHYVE_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/queue.h"

struct vm;
struct pci_devinst;
struct virtio_dev;

/* virtio.poll_us (our extension; 0 turns it off): the longest window for
 * which virtio-blk's I/O thread watches an emptied queue for the driver's
 * next request. */
#define VIRTIO_POLL_US_MAX	1000000

/* Device types (virtio 1.2, 5) */
#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_ID_CONSOLE	3
#define VIRTIO_ID_RNG		4
#define VIRTIO_ID_SCSI		8
#define VIRTIO_ID_9P		9
#define VIRTIO_ID_INPUT		18

/* Feature bits the transport handles itself. */
#define VIRTIO_F_NOTIFY_ON_EMPTY	24
#define VIRTIO_F_ANY_LAYOUT		27
#define VIRTIO_RING_F_INDIRECT_DESC	28
#define VIRTIO_RING_F_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

/* Device status (virtio 1.2, 2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

#define VIRTIO_MAX_QUEUES	64
#define VIRTIO_MSI_NO_VECTOR	0xffff

struct evloop;

enum virtio_ctx { VIRTIO_CTX_EVLOOP, VIRTIO_CTX_IOTHREAD };

struct virtio_ops {
	const char *name;
	uint16_t device_type;	/* VIRTIO_ID_* (subsystem device id) */
	uint16_t legacy_devid;	/* transitional PCI device id 0x1000.. */
	uint8_t pci_class, pci_subclass;
	unsigned nqueues;	/* 1..VIRTIO_MAX_QUEUES */
	uint16_t qsize;		/* maximum size of every queue (power of 2) */
	uint64_t features;	/* device-specific features offered */
	unsigned cfgsize;	/* bytes of device config space (<= 256) */
	enum virtio_ctx ctx;
	void (*notify)(void *sc, struct vq *vq);
	int (*cfgread)(void *sc, unsigned off, unsigned size, uint32_t *val);
	int (*cfgwrite)(void *sc, unsigned off, unsigned size, uint32_t val);
	void (*reset)(void *sc);
	void (*driver_ok)(void *sc);
	void (*teardown)(void *sc);
};

/* Build the PCI function: ids, BARs, capabilities, queues; pi->softc
 * becomes the transport's state.  Returns 0 or -1 with a message. */
int virtio_pci_init(struct vm *vm, struct pci_devinst *pi,
    const struct virtio_ops *ops, void *sc, struct virtio_dev **out);
/* Hooks for the model's struct pci_devemu. */
void virtio_pci_reset(struct pci_devinst *pi);
void virtio_pci_teardown(struct pci_devinst *pi);
void virtio_pci_barmap(struct pci_devinst *pi, int bar, bool on);
int virtio_pci_cfgread(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t *val);
int virtio_pci_cfgwrite(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t val);
#define VIRTIO_PCI_DEVEMU_HOOKS \
	.reset = virtio_pci_reset, .teardown = virtio_pci_teardown, \
	.barmap = virtio_pci_barmap, .cfgread = virtio_pci_cfgread, \
	.cfgwrite = virtio_pci_cfgwrite

struct vq *virtio_queue(struct virtio_dev *vd, unsigned i);
/* Features agreed with the driver (valid from FEATURES_OK/DRIVER_OK). */
uint64_t virtio_features(struct virtio_dev *vd);
/* Offer more features than ops->features: only while the VM is built,
 * before any vCPU runs (a device that learns them from a backend it opens
 * on its I/O thread's loop). */
void virtio_offer(struct virtio_dev *vd, uint64_t features);
/* Whether the driver is using the legacy interface (affects the device
 * config layout of a few devices, e.g. virtio-net's header size). */
bool virtio_is_legacy(struct virtio_dev *vd);
/* Raise the queue's interrupt now (normally via vq_endchains). */
void virtio_vq_interrupt(struct vq *vq);
/* Device configuration changed: config interrupt (any thread). */
void virtio_config_changed(struct virtio_dev *vd);
/* Something went wrong the driver must see: NEEDS_RESET + config
 * interrupt; queues stop until the driver resets (any thread). */
void virtio_needs_reset(struct virtio_dev *vd, const char *why);
/* The device's I/O thread (VIRTIO_CTX_IOTHREAD), to watch more fds. */
struct evloop *virtio_iothread(struct virtio_dev *vd);

#endif
