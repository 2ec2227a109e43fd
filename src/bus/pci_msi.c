/* INTx, MSI and MSI-X of PCI functions (pci_msi.h). */
#include "bus/pci_msi.h"
#include "bus/pci_bar.h"
#include "vmm/irq.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define MSI_CAPLEN	0x18	/* 64-bit address, per-vector masking */
#define MSI_CTRL	2
#define MSI_ADDR_LO	4
#define MSI_ADDR_HI	8
#define MSI_DATA	0xc
#define MSI_MASK	0x10
#define MSI_PENDING	0x14
#define MSICTL_ENABLE	0x0001
#define MSICTL_MMC_SHIFT 1
#define MSICTL_MME_SHIFT 4
#define MSICTL_64BIT	0x0080
#define MSICTL_VECMASK	0x0100

#define MSIX_CAPLEN	12
#define MSIX_CTRL	2
#define MSIX_TABLE	4
#define MSIX_PBA	8
#define MSIXCTL_FMASK	0x4000
#define MSIXCTL_ENABLE	0x8000
#define MSIX_ENTRY_SIZE	16
#define MSIX_MAXVEC	2048

struct pci_msi_state {
	pthread_mutex_t lock;
	unsigned cap;
	unsigned nvec_max;
	bool enabled;
	unsigned nvec;		/* enabled vectors */
	uint64_t addr;
	uint16_t data;
	uint32_t mask, pending;
	struct irq_msi *vec[32];
};

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
	bool dirty;		/* address/data changed since routed */
};

struct pci_msix_state {
	pthread_mutex_t lock;
	unsigned cap;
	unsigned nvec;
	int bar;
	uint32_t pba_off;
	bool enabled, fmask;
	struct msix_entry *tab;
	uint64_t *pba;
	struct irq_msi **vec;
};

/* ---- INTx ---- */

static pthread_mutex_t intx_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned gsi_count[24];	/* asserting devices per IOAPIC pin */
static struct pci_devinst *intx_devs[PCI_MAXBUS * PCI_MAXSLOT];
static unsigned nintx;

int pci_intx_add(struct pci_devinst *pi)
{
	pi->intx_pin = 1;
	pi->intx_gsi = pci_intx_gsi(pi->bus, pi->slot, 1);
	pci_set_cfg8(pi, PCIR_INTPIN, 1);
	pci_set_cfg8(pi, PCIR_INTLINE, (uint8_t)pi->intx_gsi);
	pthread_mutex_lock(&intx_lock);
	if (nintx < ARRAY_SIZE(intx_devs))
		intx_devs[nintx++] = pi;
	pthread_mutex_unlock(&intx_lock);
	return 0;
}

void pci_intx_foreach(void (*fn)(void *arg, unsigned bus, unsigned slot,
    unsigned pin, unsigned gsi), void *arg)
{
	for (unsigned i = 0; i < nintx; i++)
		fn(arg, intx_devs[i]->bus, intx_devs[i]->slot,
		    intx_devs[i]->intx_pin, intx_devs[i]->intx_gsi);
}

/* What the line should be: asserted, not disabled, no MSI in use. */
static bool intx_effective(struct pci_devinst *pi)
{
	uint16_t cmd = (uint16_t)pci_get_cfg(pi, PCIR_COMMAND, 2);

	return pi->intx_asserted && !(cmd & PCIM_CMD_INTxDIS) &&
	    !(pi->msi && pi->msi->enabled) && !(pi->msix && pi->msix->enabled);
}

static bool intx_driving[PCI_MAXBUS][PCI_MAXSLOT][PCI_MAXFUNC];

/* intx_lock held. */
static void intx_apply(struct pci_devinst *pi)
{
	bool *drv = &intx_driving[pi->bus][pi->slot][pi->func];
	bool eff = intx_effective(pi);
	unsigned g = pi->intx_gsi;
	uint16_t st = (uint16_t)pci_get_cfg(pi, PCIR_STATUS, 2);

	/* The status bit shows the device's own level. */
	st = pi->intx_asserted ? (st | PCIM_STATUS_INTxSTATE) :
	    (st & ~PCIM_STATUS_INTxSTATE);
	pci_set_cfg16(pi, PCIR_STATUS, st);
	if (eff == *drv || g >= 24)
		return;
	*drv = eff;
	if (eff && gsi_count[g]++ == 0)
		irq_set_level(g, true);
	else if (!eff && --gsi_count[g] == 0)
		irq_set_level(g, false);
}

void pci_intx_set(struct pci_devinst *pi, bool level)
{
	if (pi->intx_pin == 0)
		return;
	pthread_mutex_lock(&intx_lock);
	pi->intx_asserted = level;
	intx_apply(pi);
	pthread_mutex_unlock(&intx_lock);
}

void pci_intx_refresh(struct pci_devinst *pi)
{
	if (pi->intx_pin == 0)
		return;
	pthread_mutex_lock(&intx_lock);
	intx_apply(pi);
	pthread_mutex_unlock(&intx_lock);
}

/* ---- MSI ---- */

int pci_msi_add(struct pci_devinst *pi, unsigned nvec)
{
	struct pci_msi_state *m;
	unsigned log2 = 0;

	if (nvec == 0 || nvec > 32 || (nvec & (nvec - 1)) != 0)
		return fail("%s: bad MSI vector count %u", pi->name, nvec);
	while ((1u << log2) < nvec)
		log2++;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return fail("out of memory");
	pthread_mutex_init(&m->lock, NULL);
	m->cap = pci_add_cap(pi, PCIY_MSI, MSI_CAPLEN);
	if (m->cap == 0) {
		free(m);
		return fail("%s: no room for the MSI capability", pi->name);
	}
	m->nvec_max = nvec;
	for (unsigned i = 0; i < nvec; i++) {
		m->vec[i] = irq_msi_alloc();
		if (m->vec[i] == NULL) {
			pi->msi = m;
			return -1;
		}
	}
	pci_set_cfg16(pi, m->cap + MSI_CTRL, (uint16_t)(MSICTL_64BIT |
	    MSICTL_VECMASK | (log2 << MSICTL_MMC_SHIFT)));
	pi->msi = m;
	return 0;
}

/* Route every enabled vector (m->lock held). */
static void msi_route(struct pci_msi_state *m)
{
	for (unsigned i = 0; i < m->nvec; i++)
		irq_msi_route(m->vec[i], m->addr,
		    (uint32_t)((m->data & ~(m->nvec - 1)) | i));
}

static void msi_sync_cfg(struct pci_devinst *pi, struct pci_msi_state *m)
{
	pci_set_cfg32(pi, m->cap + MSI_PENDING, m->pending);
}

static bool msi_cfgwrite(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t val)
{
	struct pci_msi_state *m = pi->msi;
	uint8_t tmp[MSI_CAPLEN];
	unsigned rel = off - m->cap, mmc, mme;
	uint16_t ctrl, nctrl;
	bool was;

	memcpy(tmp, &pi->cfg[m->cap], MSI_CAPLEN);
	for (unsigned i = 0; i < size && rel + i < MSI_CAPLEN; i++)
		tmp[rel + i] = (uint8_t)(val >> (8 * i));
	pthread_mutex_lock(&m->lock);
	ctrl = (uint16_t)pci_get_cfg(pi, m->cap + MSI_CTRL, 2);
	nctrl = (uint16_t)(tmp[MSI_CTRL] | tmp[MSI_CTRL + 1] << 8);
	mmc = (ctrl >> MSICTL_MMC_SHIFT) & 7;
	mme = (nctrl >> MSICTL_MME_SHIFT) & 7;
	if (mme > mmc)
		mme = mmc;
	ctrl = (uint16_t)((ctrl & ~(MSICTL_ENABLE | (7 << MSICTL_MME_SHIFT)))
	    | (nctrl & MSICTL_ENABLE) | (mme << MSICTL_MME_SHIFT));
	pci_set_cfg16(pi, m->cap + MSI_CTRL, ctrl);
	pci_set_cfg32(pi, m->cap + MSI_ADDR_LO, (uint32_t)(tmp[4] | tmp[5] << 8 |
	    tmp[6] << 16 | (uint32_t)tmp[7] << 24) & ~3u);
	memcpy(&pi->cfg[m->cap + MSI_ADDR_HI], &tmp[MSI_ADDR_HI], 4);
	memcpy(&pi->cfg[m->cap + MSI_DATA], &tmp[MSI_DATA], 2);
	pci_set_cfg32(pi, m->cap + MSI_MASK, (uint32_t)(tmp[0x10] |
	    tmp[0x11] << 8 | tmp[0x12] << 16 | (uint32_t)tmp[0x13] << 24) &
	    (uint32_t)(((uint64_t)1 << m->nvec_max) - 1));
	was = m->enabled;
	m->enabled = ctrl & MSICTL_ENABLE;
	m->nvec = 1u << mme;
	m->addr = pci_get_cfg(pi, m->cap + MSI_ADDR_LO, 4) |
	    (uint64_t)pci_get_cfg(pi, m->cap + MSI_ADDR_HI, 4) << 32;
	m->data = (uint16_t)pci_get_cfg(pi, m->cap + MSI_DATA, 2);
	m->mask = pci_get_cfg(pi, m->cap + MSI_MASK, 4);
	if (m->enabled)
		msi_route(m);
	/* Unmasked vectors with a pending message fire now. */
	for (unsigned i = 0; m->enabled && i < m->nvec; i++)
		if ((m->pending & ~m->mask) & (1u << i)) {
			m->pending &= ~(1u << i);
			irq_msi_fire(m->vec[i]);
		}
	msi_sync_cfg(pi, m);
	pthread_mutex_unlock(&m->lock);
	if (was != m->enabled)
		pci_intx_refresh(pi);
	return true;
}

/* ---- MSI-X ---- */

static int msix_bar_access(struct pci_devinst *pi, int bar, uint64_t off,
    int size, bool write, uint64_t *val);

int pci_msix_add(struct pci_devinst *pi, unsigned nvec, int bar)
{
	struct pci_msix_state *x;
	uint64_t tabsize, barsize;

	if (nvec == 0 || nvec > MSIX_MAXVEC)
		return fail("%s: bad MSI-X vector count %u", pi->name, nvec);
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return fail("out of memory");
	pthread_mutex_init(&x->lock, NULL);
	pi->msix = x;
	x->nvec = nvec;
	x->bar = bar;
	tabsize = (uint64_t)nvec * MSIX_ENTRY_SIZE;
	x->pba_off = (uint32_t)ALIGN_UP(tabsize, 4096ULL);
	barsize = x->pba_off + ALIGN_UP((nvec + 63) / 64 * 8ULL, 4096ULL);
	x->tab = calloc(nvec, sizeof(*x->tab));
	x->pba = calloc((nvec + 63) / 64, sizeof(uint64_t));
	x->vec = calloc(nvec, sizeof(*x->vec));
	if (x->tab == NULL || x->pba == NULL || x->vec == NULL)
		return fail("out of memory");
	for (unsigned i = 0; i < nvec; i++) {
		x->tab[i].ctrl = 1;	/* masked */
		x->vec[i] = irq_msi_alloc();
		if (x->vec[i] == NULL)
			return -1;
	}
	x->cap = pci_add_cap(pi, PCIY_MSIX, MSIX_CAPLEN);
	if (x->cap == 0)
		return fail("%s: no room for the MSI-X capability", pi->name);
	pci_set_cfg16(pi, x->cap + MSIX_CTRL, (uint16_t)(nvec - 1));
	pci_set_cfg32(pi, x->cap + MSIX_TABLE, (uint32_t)bar);
	pci_set_cfg32(pi, x->cap + MSIX_PBA, x->pba_off | (uint32_t)bar);
	return pci_bar_declare(pi, bar, PCIBAR_MEM32, barsize, msix_bar_access);
}

/* Fire vector i if it can be delivered now, else leave it pending
 * (x->lock held). */
static void msix_try(struct pci_msix_state *x, unsigned i)
{
	struct msix_entry *e = &x->tab[i];

	if (!x->enabled || x->fmask || (e->ctrl & 1)) {
		x->pba[i / 64] |= 1ULL << (i % 64);
		return;
	}
	x->pba[i / 64] &= ~(1ULL << (i % 64));
	if (e->dirty || !x->vec[i]->routed) {
		irq_msi_route(x->vec[i], e->addr_lo | (uint64_t)e->addr_hi << 32,
		    e->data);
		e->dirty = false;
	}
	irq_msi_fire(x->vec[i]);
}

/* Deliver what became deliverable (x->lock held). */
static void msix_flush_pending(struct pci_msix_state *x)
{
	for (unsigned i = 0; i < x->nvec; i++)
		if (x->pba[i / 64] & (1ULL << (i % 64)))
			msix_try(x, i);
}

static bool msix_cfgwrite(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t val)
{
	struct pci_msix_state *x = pi->msix;
	unsigned rel = off - x->cap;
	uint16_t ctrl;
	bool was;

	/* Only the upper byte of the message control word is writable. */
	for (unsigned i = 0; i < size; i++)
		if (rel + i == MSIX_CTRL + 1) {
			uint8_t b = (uint8_t)(val >> (8 * i));
			pthread_mutex_lock(&x->lock);
			ctrl = (uint16_t)pci_get_cfg(pi, x->cap + MSIX_CTRL, 2);
			ctrl = (uint16_t)((ctrl & 0x3fff) |
			    ((b << 8) & (MSIXCTL_ENABLE | MSIXCTL_FMASK)));
			pci_set_cfg16(pi, x->cap + MSIX_CTRL, ctrl);
			was = x->enabled;
			x->enabled = ctrl & MSIXCTL_ENABLE;
			x->fmask = ctrl & MSIXCTL_FMASK;
			/* Route the unmasked vectors now rather than on the
			 * first interrupt. */
			for (unsigned v = 0; x->enabled && v < x->nvec; v++)
				if (!(x->tab[v].ctrl & 1) && (x->tab[v].dirty ||
				    !x->vec[v]->routed)) {
					irq_msi_route(x->vec[v], x->tab[v].addr_lo |
					    (uint64_t)x->tab[v].addr_hi << 32,
					    x->tab[v].data);
					x->tab[v].dirty = false;
				}
			msix_flush_pending(x);
			pthread_mutex_unlock(&x->lock);
			if (was != x->enabled)
				pci_intx_refresh(pi);
		}
	return true;
}

static int msix_bar_access(struct pci_devinst *pi, int bar, uint64_t off,
    int size, bool write, uint64_t *val)
{
	struct pci_msix_state *x = pi->msix;
	uint64_t tabsize = (uint64_t)x->nvec * MSIX_ENTRY_SIZE;

	(void)bar;
	/* Only aligned dword and qword accesses are defined. */
	if ((size != 4 && size != 8) || (off & (uint64_t)(size - 1)) != 0) {
		if (!write)
			*val = 0;
		return 0;
	}
	pthread_mutex_lock(&x->lock);
	if (off + (uint64_t)size <= tabsize) {
		unsigned i = (unsigned)(off / MSIX_ENTRY_SIZE);
		struct msix_entry *e = &x->tab[i];
		uint32_t *w = &e->addr_lo;	/* addr_lo, addr_hi, data, ctrl */
		unsigned dw = (unsigned)(off % MSIX_ENTRY_SIZE) / 4;

		if (!write) {
			*val = w[dw];
			if (size == 8)
				*val |= (uint64_t)w[dw + 1] << 32;
		} else {
			for (unsigned k = 0; k < (unsigned)size / 4; k++) {
				uint32_t v = (uint32_t)(*val >> (32 * k));
				unsigned d = dw + k;
				if (d == 3) {
					bool was = e->ctrl & 1;
					e->ctrl = v & 1;
					if (was && !(e->ctrl & 1) &&
					    (x->pba[i / 64] & (1ULL << (i % 64))))
						msix_try(x, i);
					else if (was && !(e->ctrl & 1) &&
					    x->enabled && e->dirty) {
						irq_msi_route(x->vec[i],
						    e->addr_lo | (uint64_t)e->addr_hi
						    << 32, e->data);
						e->dirty = false;
					}
				} else {
					if (d == 0)
						v &= ~3u;
					if (w[d] != v)
						e->dirty = true;
					w[d] = v;
				}
			}
		}
	} else if (off >= x->pba_off && off - x->pba_off + (uint64_t)size <=
	    (x->nvec + 63) / 64 * 8ULL) {
		uint64_t q = x->pba[(off - x->pba_off) / 8];
		if (!write)
			*val = size == 8 ? q : (uint32_t)(q >> ((off & 4) * 8));
		/* PBA writes are ignored. */
	} else if (!write) {
		*val = 0;
	}
	pthread_mutex_unlock(&x->lock);
	return 0;
}

/* ---- common ---- */

bool pci_msi_enabled(struct pci_devinst *pi)
{
	return pi->msi && pi->msi->enabled;
}

bool pci_msix_enabled(struct pci_devinst *pi)
{
	return pi->msix && pi->msix->enabled;
}

unsigned pci_msi_nvec(struct pci_devinst *pi)
{
	if (pci_msix_enabled(pi))
		return pi->msix->nvec;
	if (pci_msi_enabled(pi))
		return pi->msi->nvec;
	return 0;
}

bool pci_msi_notify(struct pci_devinst *pi, unsigned vec)
{
	struct pci_msix_state *x = pi->msix;
	struct pci_msi_state *m = pi->msi;
	bool done = false;

	if (x != NULL) {
		pthread_mutex_lock(&x->lock);
		if (x->enabled && vec < x->nvec) {
			msix_try(x, vec);
			done = true;
		}
		pthread_mutex_unlock(&x->lock);
		if (done || x->enabled)
			return done;
	}
	if (m != NULL) {
		pthread_mutex_lock(&m->lock);
		if (m->enabled && vec < m->nvec) {
			if (m->mask & (1u << vec)) {
				m->pending |= 1u << vec;
				msi_sync_cfg(pi, m);
			} else {
				irq_msi_fire(m->vec[vec]);
			}
			done = true;
		}
		pthread_mutex_unlock(&m->lock);
	}
	return done;
}

bool pci_msi_cfgwrite(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t val)
{
	if (pi->msi && off >= pi->msi->cap && off < pi->msi->cap + MSI_CAPLEN)
		return off + size <= pi->msi->cap + MSI_CAPLEN ?
		    msi_cfgwrite(pi, off, size, val) : true;
	if (pi->msix && off >= pi->msix->cap &&
	    off < pi->msix->cap + MSIX_CAPLEN)
		return off + size <= pi->msix->cap + MSIX_CAPLEN ?
		    msix_cfgwrite(pi, off, size, val) : true;
	return false;
}

void pci_msi_reset(struct pci_devinst *pi)
{
	struct pci_msix_state *x = pi->msix;
	struct pci_msi_state *m = pi->msi;

	if (m != NULL) {
		pthread_mutex_lock(&m->lock);
		m->enabled = false;
		m->pending = m->mask = 0;
		pci_set_cfg16(pi, m->cap + MSI_CTRL, (uint16_t)(pci_get_cfg(pi,
		    m->cap + MSI_CTRL, 2) & ~(MSICTL_ENABLE |
		    (7 << MSICTL_MME_SHIFT))));
		pci_set_cfg32(pi, m->cap + MSI_MASK, 0);
		msi_sync_cfg(pi, m);
		pthread_mutex_unlock(&m->lock);
	}
	if (x != NULL) {
		pthread_mutex_lock(&x->lock);
		x->enabled = x->fmask = false;
		pci_set_cfg16(pi, x->cap + MSIX_CTRL, (uint16_t)(x->nvec - 1));
		for (unsigned i = 0; i < x->nvec; i++) {
			x->tab[i] = (struct msix_entry){ .ctrl = 1 };
		}
		memset(x->pba, 0, (x->nvec + 63) / 64 * 8);
		pthread_mutex_unlock(&x->lock);
	}
	pci_intx_set(pi, false);
}

void pci_msi_free(struct pci_devinst *pi)
{
	if (pi->msi) {
		for (unsigned i = 0; i < 32; i++)
			irq_msi_free(pi->msi->vec[i]);
		free(pi->msi);
		pi->msi = NULL;
	}
	if (pi->msix) {
		for (unsigned i = 0; pi->msix->vec && i < pi->msix->nvec; i++)
			irq_msi_free(pi->msix->vec[i]);
		free(pi->msix->vec);
		free(pi->msix->tab);
		free(pi->msix->pba);
		free(pi->msix);
		pi->msix = NULL;
	}
	pthread_mutex_lock(&intx_lock);
	for (unsigned i = 0; i < nintx; i++)
		if (intx_devs[i] == pi) {
			intx_devs[i] = intx_devs[--nintx];
			break;
		}
	pthread_mutex_unlock(&intx_lock);
}
