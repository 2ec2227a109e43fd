/* PCI BARs: declared by device models at init, sized and placed by
 * pci_bar_place_all() once every device exists (largest first, in the
 * windows of pci.h), decoded on the port/MMIO bus only while the command
 * register enables I/O or memory decoding, and moved when the guest
 * reprograms them.
 *
 * Locking: BAR state lives in struct pci_devinst under pi->lock; the
 * configuration-space paths (pci_cfg_write) hold it when they call in here.
 * BAR accesses themselves are dispatched without pi->lock (rangetab.h), so
 * a BAR handler may take pi->lock. */
#ifndef BHYVE_PCI_BAR_H
#define BHYVE_PCI_BAR_H

#include "bus/pci.h"

/* Declare BAR `idx` (a 64-bit BAR also uses idx + 1) of `size` bytes
 * (rounded up to a power of two; I/O at least 4, memory at least 4 KiB).
 * From a model's init only. */
int pci_bar_declare(struct pci_devinst *pi, int idx, enum pci_bar_type type,
    uint64_t size, pci_bar_handler_t fn);
/* Where BAR idx is decoded now, 0 when it is not. */
uint64_t pci_bar_mapped(struct pci_devinst *pi, int idx);

/* Place every declared BAR of every device (pci_init calls this), with
 * the 64-bit window starting at pci_mem64_base(highmem).  BARs are not
 * decoded until the guest enables decoding (firmware-less boot: Linux
 * enables it when the driver binds). */
int pci_bar_place_all(uint64_t highmem);

/* Pure placement, for tests: sizes[i] (power of two) get addrs[i] in
 * [base, limit), largest first, each aligned to its size, ties by index.
 * Returns 0, or -1 with a message naming what did not fit. */
int pci_bar_place(const uint64_t *sizes, uint64_t *addrs, unsigned n,
    uint64_t base, uint64_t limit, const char *window);

/* Config-space hooks used by pci.c (pi->lock held): a write to the
 * command register or a BAR register.  Returns true when it handled it. */
bool pci_bar_cfgwrite(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t val);
/* Re-evaluate decoding of every BAR after a command-register change. */
void pci_bar_decode_update(struct pci_devinst *pi);
/* Unmap every BAR (device reset, teardown); addresses are kept. */
void pci_bar_unmap_all(struct pci_devinst *pi);

#endif
