/* Internals of the transitional virtio PCI transport, shared by pci.c
 * (construction, interrupts, notifications, status and reset) and
 * pci_regs.c (the legacy and modern register files).  Locking is
 * described at the top of pci.c. */
#ifndef BHYVE_VIRTIO_PCI_PRIV_H
#define BHYVE_VIRTIO_PCI_PRIV_H

#include "virtio/virtio.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_VENDOR		0x1af4

/* BARs */
#define BAR_LEGACY	0
#define BAR_MSIX	1
#define BAR_MODERN	4

/* Legacy register layout (virtio 1.2, 4.1.4.8) */
#define VL_HOST_FEATURES	0x00
#define VL_GUEST_FEATURES	0x04
#define VL_QUEUE_PFN		0x08
#define VL_QUEUE_NUM		0x0c
#define VL_QUEUE_SEL		0x0e
#define VL_QUEUE_NOTIFY		0x10
#define VL_STATUS		0x12
#define VL_ISR			0x13
#define VL_CONFIG_VECTOR	0x14
#define VL_QUEUE_VECTOR		0x16
#define VL_HDR			0x14	/* device config without MSI-X */
#define VL_HDR_MSIX		0x18	/* ... with MSI-X enabled */
#define VL_PFN_SHIFT		12
#define VL_ALIGN		4096

/* Modern BAR layout */
#define VM_COMMON	0x0000
#define VM_ISR		0x1000
#define VM_DEVCFG	0x2000
#define VM_NOTIFY	0x3000
#define VM_NOTIFY_MULT	4
#define VM_BARSIZE	0x4000

/* Common configuration (4.1.4.3) */
#define VC_DFSELECT	0x00
#define VC_DF		0x04
#define VC_GFSELECT	0x08
#define VC_GF		0x0c
#define VC_MSIX		0x10
#define VC_NUMQ		0x12
#define VC_STATUS	0x14
#define VC_CFGGEN	0x15
#define VC_QSEL		0x16
#define VC_QSIZE	0x18
#define VC_QMSIX	0x1a
#define VC_QENABLE	0x1c
#define VC_QNOFF	0x1e
#define VC_QDESC	0x20
#define VC_QAVAIL	0x28
#define VC_QUSED	0x30
#define VC_QNDATA	0x38
#define VC_SIZE		0x3c

/* PCI capability types (4.1.4) */
#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4
#define VIRTIO_PCI_CAP_PCI_CFG		5
#define PCIY_VENDOR			0x09

#define ISR_QUEUE	1
#define ISR_CONFIG	2

struct vqx {
	struct vq vq;
	struct virtio_dev *vd;
	int efd;		/* kick eventfd */
	struct ev *ev;		/* main-loop watch (CTX_EVLOOP) */
	struct ev *iow;		/* I/O-thread watch (CTX_IOTHREAD) */
	uint64_t ioev_mmio;	/* registered ioeventfd addresses (0 none) */
	uint64_t ioev_pio;
};

struct virtio_dev {
	pthread_mutex_t lock;
	pthread_mutex_t isr_lock;
	struct pci_devinst *pi;
	const struct virtio_ops *ops;
	void *sc;
	bool use_msix;
	bool legacy;		/* the driver uses the legacy interface */
	atomic_uint status;
	uint8_t isr;
	atomic_uint cfggen;
	uint64_t dfeatures;	/* offered */
	uint64_t gfeatures;	/* driver's */
	uint32_t dfselect, gfselect;
	uint16_t qsel;
	uint16_t config_vector;
	bool ioev_on;
	atomic_ulong kicks, slow_kicks;	/* all / through a vCPU exit */
	struct evloop *io;	/* the I/O thread (CTX_IOTHREAD) */
	unsigned pcicfg;	/* offset of the PCI_CFG capability */
	unsigned nq;
	struct vqx q[];
};

/* pci.c */
uint8_t vpci_read_isr(struct virtio_dev *vd);	/* read-to-clear */
void vpci_kick(struct vqx *q);			/* a queue notification */
void vpci_notify(struct virtio_dev *vd, uint64_t idx);	/* slow path */
void vpci_set_status(struct virtio_dev *vd, uint8_t v);	/* vd->lock */
/* pci_regs.c, with vd->lock held */
int vpci_legacy_access(struct virtio_dev *vd, uint64_t off, int size,
    bool write, uint64_t *val);
int vpci_modern_access(struct virtio_dev *vd, uint64_t off, int size,
    bool write, uint64_t *val);

#endif
