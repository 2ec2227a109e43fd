/* PCI interrupts of a device: INTx (level, via pci_intx_gsi to IOAPIC pins
 * 16..23), the MSI capability (64-bit, per-vector masking) and the MSI-X
 * capability with its table and PBA in a BAR of their own.  Delivery goes
 * through vmm/irq.h (KVM GSI routes + irqfd).
 *
 * Locking: each device's MSI/MSI-X/INTx state has its own mutex
 * (`irqlock` in pci_msi.c's state), taken by the notify functions (any
 * thread: vCPU, event loop, I/O threads), by config writes (which hold
 * pi->lock first: order pi->lock -> irqlock) and by MSI-X table accesses
 * (vCPU, without pi->lock).  The notify functions never block on I/O. */
#ifndef BHYVE_PCI_MSI_H
#define BHYVE_PCI_MSI_H

#include "bus/pci.h"

#define PCIY_MSI	0x05
#define PCIY_MSIX	0x11

/* Give the device INTx pin INTA (config registers and GSI). */
int pci_intx_add(struct pci_devinst *pi);
/* Set the device's INTx level; honours the command register's INTx
 * disable bit and reflects the status register's interrupt bit. */
void pci_intx_set(struct pci_devinst *pi, bool level);
/* Re-evaluate the line after a command-register or MSI enable change. */
void pci_intx_refresh(struct pci_devinst *pi);

/* Add an MSI capability with `nvec` vectors (1, 2, 4, 8, 16 or 32). */
int pci_msi_add(struct pci_devinst *pi, unsigned nvec);
/* Add an MSI-X capability with `nvec` vectors (1..2048); table at offset
 * 0 and PBA after it (4 KiB aligned) in memory BAR `bar`, declared here. */
int pci_msix_add(struct pci_devinst *pi, unsigned nvec, int bar);

bool pci_msi_enabled(struct pci_devinst *pi);
bool pci_msix_enabled(struct pci_devinst *pi);
/* Vectors the guest enabled (MSI: 2^multiple-message-enable). */
unsigned pci_msi_nvec(struct pci_devinst *pi);
/* Deliver vector `vec`: MSI-X when enabled (pending bit if masked), else
 * MSI (pending if masked).  Returns false when neither is enabled or vec
 * is out of range (the caller may fall back to INTx). */
bool pci_msi_notify(struct pci_devinst *pi, unsigned vec);

/* Config-space hooks for pci.c (pi->lock held): true when off lies in
 * the MSI/MSI-X capability and was handled. */
bool pci_msi_cfgwrite(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t val);
/* Function reset: disable MSI/MSI-X, mask all, clear pending, drop INTx. */
void pci_msi_reset(struct pci_devinst *pi);
void pci_msi_free(struct pci_devinst *pi);

/* MP table / ACPI: visit every device with an INTx pin. */
void pci_intx_foreach(void (*fn)(void *arg, unsigned bus, unsigned slot,
    unsigned pin, unsigned gsi), void *arg);

#endif
