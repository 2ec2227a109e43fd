/* PCI: the device-model registry, configuration space, configuration
 * mechanism #1 (ports 0xCF8/0xCFC) and the ECAM window. */
#ifndef BHYVE_PCI_H
#define BHYVE_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct pci_devinst;
struct pci_msi_state;
struct pci_msix_state;
struct aml;

#define PCI_MAXBUS	256
#define PCI_MAXSLOT	32
#define PCI_MAXFUNC	8
#define PCI_CFG_SIZE	4096

/* BAR windows (spec/PLATFORM.md): I/O BARs from 0x2000, 32-bit memory
 * BARs below the ECAM window, 64-bit BARs in a 32 GiB window above the
 * highest RAM (aligned to its size). */
#define PCI_IO_BASE	0x2000u
#define PCI_IO_LIMIT	0x10000u
#define PCI_MEM32_BASE	0xc0000000ULL
#define PCI_MEM32_LIMIT	0xe0000000ULL
#define PCI_MEM64_SIZE	(32ULL << 30)

#define PCI_ECAM_BASE	0xe0000000ULL
#define PCI_ECAM_SIZE	0x10000000ULL	/* 256 buses x 1 MiB */

/* A device model.  Descriptors register themselves with PCI_EMUL_SET and
 * are found by name; `-s help` lists them. */
struct pci_devemu {
	const char *name;
	const char *help;	/* one-line description */
	/* Turn the legacy "-s slot,name,CONF" CONF into variables under
	 * `node` (e.g. "pci.0.3.0").  NULL: generic key[=value] list. */
	int (*legacy_config)(const char *node, const char *opts);
	/* Build the device from its frozen config node.  NULL means the
	 * model is known from the manual but not implemented yet. */
	int (*init)(struct vm *vm, struct pci_devinst *pi, const char *node);
	/* Optional config-space hooks for registers beyond the header. */
	int (*cfgread)(struct pci_devinst *pi, unsigned off, unsigned size,
	    uint32_t *val);
	int (*cfgwrite)(struct pci_devinst *pi, unsigned off, unsigned size,
	    uint32_t val);
	bool lpc_only_bus0;
	/* Lifecycle (all optional).  reset: the guest reset the function
	 * (FLR-like; BARs, MSI and the command register are already reset
	 * by the bus); called with pi->lock held.  teardown: free
	 * everything, stop threads; called from pci_fini() after the vCPUs
	 * stopped.  barmap: BAR `bar` became decoded at pci_bar_addr() (on)
	 * or stopped being decoded (off); called with pi->lock held, on a
	 * vCPU thread or in pci_init (the place to (un)register
	 * ioeventfds).  snapshot: placeholder, not called yet. */
	void (*reset)(struct pci_devinst *pi);
	void (*teardown)(struct pci_devinst *pi);
	void (*barmap)(struct pci_devinst *pi, int bar, bool on);
	int (*snapshot)(struct pci_devinst *pi, void *meta);
	/* Optional: check the node's settings before the VM exists (bad
	 * values, missing host resources), so bad input fails early and
	 * nothing is half-started.  No side effects. */
	int (*check)(const char *node, unsigned bus, unsigned slot,
	    unsigned func);
	/* Optional: the device's objects in the DSDT, written inside the
	 * scope of its bus's root bridge (\_SB.PCnn); see platform/aml.h. */
	void (*write_dsdt)(struct pci_devinst *pi, struct aml *a);
};

#define PCI_EMUL_SET(sym) \
	static const struct pci_devemu *const __pci_set_##sym \
	__attribute__((section("set_pci_devemu"), used)) = &(sym)

const struct pci_devemu *pci_emul_find(const char *name);
/* Iterate registered models: returns NULL past the end. */
const struct pci_devemu *pci_emul_at(unsigned i);
void pci_emul_print_help(void);

/* BARs (pci_bar.h has the functions). */
#define PCI_BARMAX	6
enum pci_bar_type { PCIBAR_NONE, PCIBAR_IO, PCIBAR_MEM32, PCIBAR_MEM64,
	PCIBAR_MEMHI64 /* upper half of the BAR before */ };
/* An access at offset `off` (size 1, 2, 4 or 8) into BAR `bar`: fill *val
 * on reads.  Runs on a vCPU thread WITHOUT pi->lock; return 0, or -1 for
 * a fatal VM error. */
typedef int (*pci_bar_handler_t)(struct pci_devinst *pi, int bar,
    uint64_t off, int size, bool write, uint64_t *val);
struct pci_bar {
	enum pci_bar_type type;
	uint64_t size;		/* power of two */
	uint64_t addr;		/* address the guest programmed */
	uint64_t mapped_at;	/* where it is decoded now */
	bool mapped;
	bool prefetch;
	pci_bar_handler_t fn;
	void *ctx;		/* bus registration (pci_bar.c) */
};

struct pci_devinst {
	const struct pci_devemu *emu;
	uint8_t bus, slot, func;
	uint8_t cfg[PCI_CFG_SIZE];
	uint16_t capend;	/* next free capability offset */
	uint8_t afcap;		/* Advanced Features capability (FLR), or 0 */
	uint32_t flrs;		/* function-level resets the guest asked for */
	pthread_mutex_t lock;	/* config space, BAR state, device model */
	void *softc;
	struct vm *vm;
	char name[24];		/* "pci 0:4:0 virtio-rnd" for messages */
	struct pci_bar bar[PCI_BARMAX];
	/* Interrupts (pci_msi.h): msi/msix are NULL without the
	 * capability; intx_pin 0 means none. */
	struct pci_msi_state *msi;
	struct pci_msix_state *msix;
	uint8_t intx_pin;
	unsigned intx_gsi;
	bool intx_asserted;	/* device's level (under the irq lock) */
};

/* The IOAPIC pin (GSI 16..23) that INTx pin `pin` (1 = INTA .. 4 = INTD)
 * of a device at bus/slot raises: a fixed swizzle that the ACPI _PRT and
 * the MP table describe and the INTx code uses. */
static inline unsigned pci_intx_gsi(unsigned bus, unsigned slot, unsigned pin)
{
	return 16 + ((bus + slot + pin - 1) & 7);
}
/* Base of the 64-bit BAR window for a guest with `highmem` bytes of RAM
 * above 4 GiB. */
static inline uint64_t pci_mem64_base(uint64_t highmem)
{
	uint64_t top = (4ULL << 30) + highmem;
	return (top + PCI_MEM64_SIZE - 1) & ~(PCI_MEM64_SIZE - 1);
}

/* Parse "-s" argument into the config tree (bhyve syntax). */
int pci_parse_slot(const char *opt);
/* Generic legacy option list: "a=b,c" -> node.a=b, node.c=true. */
int pci_parse_legacy_generic(const char *node, const char *opts);
/* Legacy list whose first bare token names `firstkey`. */
int pci_parse_legacy_first(const char *node, const char *opts,
    const char *firstkey);

/* Run every configured model's check hook (before the VM exists). */
int pci_check(void);
/* Build every device in the frozen tree, place their BARs, register
 * ports and ECAM. */
int pci_init(struct vm *vm);
/* Tear every device down (after the vCPUs stopped) and free it. */
void pci_fini(void);
/* Function-level reset: decoding off, BARs unmapped, MSI/MSI-X disabled,
 * INTx dropped, then the model's reset hook.  Takes pi->lock.  Every model
 * with a reset hook gets an Advanced Features capability advertising FLR:
 * the guest's write of its Initiate-FLR bit lands here (Linux uses it for
 * /sys/bus/pci/devices/.../reset and before handing a device to a VM). */
void pci_dev_reset(struct pci_devinst *pi);
struct pci_devinst *pci_find(unsigned bus, unsigned slot, unsigned func);
/* Whether a device is on bus `bus` (after pci_init, until pci_fini). */
bool pci_bus_used(unsigned bus);

/* Configuration-space accessors (little-endian). */
static inline void pci_set_cfg8(struct pci_devinst *pi, unsigned off, uint8_t v)
{
	pi->cfg[off] = v;
}
static inline void pci_set_cfg16(struct pci_devinst *pi, unsigned off, uint16_t v)
{
	pi->cfg[off] = (uint8_t)v;
	pi->cfg[off + 1] = (uint8_t)(v >> 8);
}
static inline void pci_set_cfg32(struct pci_devinst *pi, unsigned off, uint32_t v)
{
	pci_set_cfg16(pi, off, (uint16_t)v);
	pci_set_cfg16(pi, off + 2, (uint16_t)(v >> 16));
}
static inline uint32_t pci_get_cfg(const struct pci_devinst *pi, unsigned off,
    unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)pi->cfg[off + i] << (8 * i);
	return v;
}

/* Standard header helper: ids and class code. */
void pci_set_ids(struct pci_devinst *pi, uint16_t vendor, uint16_t device,
    uint8_t class, uint8_t subclass, uint8_t progif);
/* Append a capability of `len` bytes (with id); returns its offset or 0. */
unsigned pci_add_cap(struct pci_devinst *pi, uint8_t id, unsigned len);

/* One configuration access from any path (mechanism #1, ECAM, tests). */
uint32_t pci_cfg_read(unsigned bus, unsigned slot, unsigned func,
    unsigned off, unsigned size);
void pci_cfg_write(unsigned bus, unsigned slot, unsigned func, unsigned off,
    unsigned size, uint32_t val);

/* Standard register offsets */
#define PCIR_VENDOR	0x00
#define PCIR_DEVICE	0x02
#define PCIR_COMMAND	0x04
#define PCIR_STATUS	0x06
#define PCIR_REVID	0x08
#define PCIR_PROGIF	0x09
#define PCIR_SUBCLASS	0x0a
#define PCIR_CLASS	0x0b
#define PCIR_CACHELNSZ	0x0c
#define PCIR_LATTIMER	0x0d
#define PCIR_HDRTYPE	0x0e
#define PCIR_SUBVEND	0x2c
#define PCIR_SUBDEV	0x2e
#define PCIR_CAP_PTR	0x34
/* Advanced Features capability of conventional PCI (function-level reset
 * for devices without a PCIe capability). */
#define PCIY_AF		0x13
#define PCIR_AF_LEN	2
#define PCIR_AF_CAP	3
#define PCIM_AF_CAP_TP	0x01	/* Transactions Pending bit supported */
#define PCIM_AF_CAP_FLR	0x02	/* function-level reset supported */
#define PCIR_AF_CTRL	4
#define PCIM_AF_CTRL_FLR 0x01
#define PCIR_AF_STATUS	5
#define PCI_AF_LEN	6
#define PCIR_INTLINE	0x3c
#define PCIR_INTPIN	0x3d

#define PCIR_BAR(i)	(0x10 + 4 * (i))

#define PCIM_CMD_PORTEN		0x0001
#define PCIM_CMD_MEMEN		0x0002
#define PCIM_CMD_BUSMASTEREN	0x0004
#define PCIM_CMD_INTxDIS	0x0400
#define PCIM_STATUS_INTxSTATE	0x0008
#define PCIM_STATUS_CAPPRESENT	0x0010
#define PCIM_MFDEV		0x80

#endif
