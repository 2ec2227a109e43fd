/* PCI BARs: declaration, placement, sizing, decode enable and moves.
 * Locking in pci_bar.h; bus registration is copy-on-write (rangetab.h),
 * so mapping changes are safe while vCPUs (and this very vCPU, from inside
 * a BAR handler) dispatch. */
#include "bus/pci_bar.h"
#include "bus/mmio.h"
#include "bus/pio.h"
#include "bus/rangetab.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* One registration on the bus; retired (freed after readers) on unmap. */
struct bar_ctx {
	struct pci_devinst *pi;
	int idx;
	uint64_t base;
	uint64_t size;
};

static uint64_t pow2_roundup(uint64_t v)
{
	uint64_t p = 1;

	while (p < v && p != 0)
		p <<= 1;
	return p;
}

int pci_bar_declare(struct pci_devinst *pi, int idx, enum pci_bar_type type,
    uint64_t size, pci_bar_handler_t fn)
{
	struct pci_bar *b;
	uint32_t flags;

	if (idx < 0 || idx >= PCI_BARMAX ||
	    (type == PCIBAR_MEM64 && idx + 1 >= PCI_BARMAX))
		return fail("%s: bad BAR index %d", pi->name, idx);
	if (type != PCIBAR_IO && type != PCIBAR_MEM32 && type != PCIBAR_MEM64)
		return fail("%s: bad BAR type for BAR %d", pi->name, idx);
	if (pi->bar[idx].type != PCIBAR_NONE ||
	    (type == PCIBAR_MEM64 && pi->bar[idx + 1].type != PCIBAR_NONE))
		return fail("%s: BAR %d declared twice", pi->name, idx);
	if (size == 0 || size > (type == PCIBAR_IO ? 0x10000ULL :
	    type == PCIBAR_MEM32 ? (1ULL << 30) : PCI_MEM64_SIZE))
		return fail("%s: BAR %d size 0x%llx out of range", pi->name,
		    idx, (unsigned long long)size);
	size = pow2_roundup(size);
	if (type == PCIBAR_IO && size < 4)
		size = 4;
	if (type != PCIBAR_IO && size < 4096)
		size = 4096;
	b = &pi->bar[idx];
	memset(b, 0, sizeof(*b));
	b->type = type;
	b->size = size;
	b->fn = fn;
	flags = type == PCIBAR_IO ? 0x1 : type == PCIBAR_MEM64 ? 0x4 : 0x0;
	pci_set_cfg32(pi, PCIR_BAR(idx), flags);
	if (type == PCIBAR_MEM64) {
		memset(&pi->bar[idx + 1], 0, sizeof(pi->bar[0]));
		pi->bar[idx + 1].type = PCIBAR_MEMHI64;
		pci_set_cfg32(pi, PCIR_BAR(idx + 1), 0);
	}
	return 0;
}

/* ---- placement ---- */

int pci_bar_place(const uint64_t *sizes, uint64_t *addrs, unsigned n,
    uint64_t base, uint64_t limit, const char *window)
{
	unsigned *order;
	uint64_t next = base;

	if (n == 0)
		return 0;
	order = malloc(n * sizeof(*order));
	if (order == NULL)
		return fail("out of memory");
	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	/* Largest first, stable: insertion sort (n is small). */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && sizes[order[j - 1]] <
		    sizes[order[j]]; j--) {
			unsigned t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (unsigned k = 0; k < n; k++) {
		uint64_t sz = sizes[order[k]], a;

		if (sz == 0 || (sz & (sz - 1)) != 0) {
			free(order);
			return fail("BAR size 0x%llx is not a power of two",
			    (unsigned long long)sz);
		}
		a = (next + sz - 1) & ~(sz - 1);
		if (a < next || a + sz < a || a + sz > limit) {
			free(order);
			return fail("PCI %s window 0x%llx-0x%llx is full: no room "
			    "for a BAR of 0x%llx bytes", window,
			    (unsigned long long)base,
			    (unsigned long long)limit - 1,
			    (unsigned long long)sz);
		}
		addrs[order[k]] = a;
		next = a + sz;
	}
	free(order);
	return 0;
}

static void bar_set_addr(struct pci_devinst *pi, int idx, uint64_t addr);

/* Per bus and kind, the range its BARs were placed in ([lo, hi], hi < lo
 * when the bus has none): each bus's BARs are placed together so that a
 * root bridge can describe its own window (ACPI _CRS of \_SB.PCnn). */
static struct { uint64_t lo, hi; } bus_win[PCI_MAXBUS][3];

bool pci_bus_window(unsigned bus, enum pci_bar_type type, uint64_t *lo,
    uint64_t *hi)
{
	unsigned k = type == PCIBAR_IO ? 0 : type == PCIBAR_MEM32 ? 1 : 2;

	if (bus >= PCI_MAXBUS || (type != PCIBAR_IO && type != PCIBAR_MEM32 &&
	    type != PCIBAR_MEM64) || bus_win[bus][k].hi < bus_win[bus][k].lo)
		return false;
	*lo = bus_win[bus][k].lo;
	*hi = bus_win[bus][k].hi;
	return true;
}

/* place_bus's arrays, twice as long (each kept when another fails). */
static int grow(uint64_t **sizes, uint64_t **addrs,
    struct pci_devinst ***who, int **idx, unsigned *cap)
{
	unsigned c = *cap ? *cap * 2 : 16;
	void *p;

	if ((p = realloc(*sizes, c * sizeof(**sizes))) == NULL)
		return -1;
	*sizes = p;
	if ((p = realloc(*addrs, c * sizeof(**addrs))) == NULL)
		return -1;
	*addrs = p;
	if ((p = realloc(*who, c * sizeof(**who))) == NULL)
		return -1;
	*who = p;
	if ((p = realloc(*idx, c * sizeof(**idx))) == NULL)
		return -1;
	*idx = p;
	*cap = c;
	return 0;
}

/* Place the BARs of `kind` of one bus from *next on; *next moves past
 * them.  Bus 0 first, then bus 1, ...: each bus's BARs lie together. */
static int place_bus(unsigned b, enum pci_bar_type kind, const char *name,
    uint64_t *next, uint64_t limit, unsigned k)
{
	uint64_t *sizes = NULL, *addrs = NULL, lo = UINT64_MAX, hi = 0;
	struct pci_devinst **who = NULL;
	int *idx = NULL;
	unsigned n = 0, cap = 0;
	int r = 0;

	for (unsigned s = 0; pci_bus_used(b) && s < PCI_MAXSLOT; s++)
		for (unsigned f = 0; f < PCI_MAXFUNC; f++) {
			struct pci_devinst *pi = pci_find(b, s, f);
			for (int i = 0; pi && i < PCI_BARMAX; i++) {
				if (pi->bar[i].type != kind)
					continue;
				if (n == cap && grow(&sizes, &addrs, &who, &idx,
				    &cap) != 0) {
					free(sizes); free(addrs);
					free(who); free(idx);
					return fail("out of memory");
				}
				sizes[n] = pi->bar[i].size;
				who[n] = pi;
				idx[n++] = i;
			}
		}
	r = pci_bar_place(sizes, addrs, n, *next, limit, name);
	for (unsigned i = 0; r == 0 && i < n; i++) {
		pthread_mutex_lock(&who[i]->lock);
		bar_set_addr(who[i], idx[i], addrs[i]);
		pthread_mutex_unlock(&who[i]->lock);
		if (addrs[i] < lo)
			lo = addrs[i];
		if (addrs[i] + sizes[i] - 1 > hi)
			hi = addrs[i] + sizes[i] - 1;
	}
	if (r == 0 && n > 0) {
		bus_win[b][k].lo = lo;
		bus_win[b][k].hi = hi;
		*next = hi + 1;
	}
	free(sizes);
	free(addrs);
	free(who);
	free(idx);
	return r;
}

int pci_bar_place_all(uint64_t highmem)
{
	static const struct {
		enum pci_bar_type type;
		const char *name;
	} kinds[] = {
		{ PCIBAR_IO, "I/O" }, { PCIBAR_MEM32, "32-bit memory" },
		{ PCIBAR_MEM64, "64-bit memory" },
	};

	for (unsigned b = 0; b < PCI_MAXBUS; b++)
		for (unsigned k = 0; k < 3; k++) {
			bus_win[b][k].lo = 1;
			bus_win[b][k].hi = 0;
		}
	for (unsigned k = 0; k < ARRAY_SIZE(kinds); k++) {
		uint64_t next, limit;

		if (kinds[k].type == PCIBAR_IO) {
			next = PCI_IO_BASE;
			limit = PCI_IO_LIMIT;
		} else if (kinds[k].type == PCIBAR_MEM32) {
			next = PCI_MEM32_BASE;
			limit = PCI_MEM32_LIMIT;
		} else {
			next = pci_mem64_base(highmem);
			limit = next + PCI_MEM64_SIZE;
		}
		for (unsigned b = 0; b < PCI_MAXBUS; b++)
			if (place_bus(b, kinds[k].type, kinds[k].name, &next,
			    limit, k) != 0)
				return -1;
	}
	return 0;
}

/* ---- decoding ---- */

static int bar_pio(void *arg, uint16_t port, int size, bool in, uint32_t *val)
{
	struct bar_ctx *c = arg;
	uint64_t v = in ? 0 : *val;
	int r;

	r = c->pi->bar[c->idx].fn(c->pi, c->idx, port - c->base, size, !in, &v);
	if (in)
		*val = (uint32_t)v;
	return r;
}

static int bar_mmio(void *arg, uint64_t gpa, int size, bool write,
    uint64_t *val)
{
	struct bar_ctx *c = arg;

	return c->pi->bar[c->idx].fn(c->pi, c->idx, gpa - c->base, size, write,
	    val);
}

static bool bar_wanted(struct pci_devinst *pi, int idx)
{
	const struct pci_bar *b = &pi->bar[idx];
	uint16_t cmd = (uint16_t)pci_get_cfg(pi, PCIR_COMMAND, 2);

	if (b->fn == NULL || b->addr == 0)
		return false;
	switch (b->type) {
	case PCIBAR_IO:
		return (cmd & PCIM_CMD_PORTEN) && b->addr + b->size <= 0x10000;
	case PCIBAR_MEM32:
		return (cmd & PCIM_CMD_MEMEN) && b->addr + b->size <= (1ULL << 32);
	case PCIBAR_MEM64:
		/* inside the guest's 52-bit physical address space */
		return (cmd & PCIM_CMD_MEMEN) && b->addr + b->size > b->addr &&
		    b->addr + b->size <= (1ULL << 52);
	default:
		return false;
	}
}

static void bar_unmap(struct pci_devinst *pi, int idx)
{
	struct pci_bar *b = &pi->bar[idx];
	struct bar_ctx *c = b->ctx;

	if (!b->mapped)
		return;
	if (pi->emu->barmap)
		pi->emu->barmap(pi, idx, false);
	if (b->type == PCIBAR_IO)
		pio_unregister((uint16_t)c->base);
	else
		mmio_unregister(c->base);
	bus_rcu_retire(c);
	b->ctx = NULL;
	b->mapped = false;
	b->mapped_at = 0;
}

static void bar_map(struct pci_devinst *pi, int idx)
{
	struct pci_bar *b = &pi->bar[idx];
	struct bar_ctx *c;
	int r;

	c = malloc(sizeof(*c));
	if (c == NULL)
		return;
	*c = (struct bar_ctx){ pi, idx, b->addr, b->size };
	if (b->type == PCIBAR_IO)
		r = pio_register((uint16_t)b->addr, (uint16_t)b->size, bar_pio,
		    c, pi->name);
	else
		r = mmio_register(b->addr, b->size, bar_mmio, c, pi->name);
	if (r != 0) {
		/* The guest put it over something else: not decoded, as a
		 * conflicting real device would not be reachable either. */
		trace_point("%s: BAR %d at 0x%llx not decoded: %s", pi->name,
		    idx, (unsigned long long)b->addr, last_error());
		free(c);
		return;
	}
	b->ctx = c;
	b->mapped = true;
	b->mapped_at = b->addr;
	if (pi->emu->barmap)
		pi->emu->barmap(pi, idx, true);
}

static void bar_update(struct pci_devinst *pi, int idx)
{
	struct pci_bar *b = &pi->bar[idx];
	bool want = bar_wanted(pi, idx);

	if (b->mapped && (!want || b->mapped_at != b->addr))
		bar_unmap(pi, idx);
	if (want && !b->mapped)
		bar_map(pi, idx);
}

void pci_bar_decode_update(struct pci_devinst *pi)
{
	for (int i = 0; i < PCI_BARMAX; i++)
		if (pi->bar[i].type == PCIBAR_IO ||
		    pi->bar[i].type == PCIBAR_MEM32 ||
		    pi->bar[i].type == PCIBAR_MEM64)
			bar_update(pi, i);
}

void pci_bar_unmap_all(struct pci_devinst *pi)
{
	for (int i = 0; i < PCI_BARMAX; i++)
		bar_unmap(pi, i);
}

uint64_t pci_bar_mapped(struct pci_devinst *pi, int idx)
{
	if (idx < 0 || idx >= PCI_BARMAX || !pi->bar[idx].mapped)
		return 0;
	return pi->bar[idx].mapped_at;
}

/* Registers from b->addr (BAR idx, and idx+1 for 64-bit). */
static void bar_set_addr(struct pci_devinst *pi, int idx, uint64_t addr)
{
	struct pci_bar *b = &pi->bar[idx];
	uint64_t mask = ~(b->size - 1);

	switch (b->type) {
	case PCIBAR_IO:
		b->addr = addr & mask & 0xffffffffULL;
		pci_set_cfg32(pi, PCIR_BAR(idx), (uint32_t)b->addr | 0x1);
		break;
	case PCIBAR_MEM32:
		b->addr = addr & mask & 0xffffffffULL;
		pci_set_cfg32(pi, PCIR_BAR(idx), (uint32_t)b->addr);
		break;
	case PCIBAR_MEM64:
		b->addr = addr & mask;
		pci_set_cfg32(pi, PCIR_BAR(idx), (uint32_t)b->addr | 0x4);
		pci_set_cfg32(pi, PCIR_BAR(idx + 1), (uint32_t)(b->addr >> 32));
		break;
	default:
		return;
	}
	bar_update(pi, idx);
}

bool pci_bar_cfgwrite(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t val)
{
	unsigned reg, shift;
	int idx;
	uint32_t cur, v, bmask;
	struct pci_bar *b;

	if (off < PCIR_BAR(0) || off >= PCIR_BAR(PCI_BARMAX))
		return false;
	reg = off & ~3u;
	idx = (int)(reg - PCIR_BAR(0)) / 4;
	shift = (off & 3) * 8;
	bmask = size == 4 ? 0xffffffffu : ((1u << (size * 8)) - 1) << shift;
	cur = pci_get_cfg(pi, reg, 4);
	v = (cur & ~bmask) | ((val << shift) & bmask);
	b = &pi->bar[idx];
	switch (b->type) {
	case PCIBAR_IO:
	case PCIBAR_MEM32:
		bar_set_addr(pi, idx, v);
		break;
	case PCIBAR_MEM64:
		bar_set_addr(pi, idx, (b->addr & 0xffffffff00000000ULL) |
		    (v & ~0xfu));
		break;
	case PCIBAR_MEMHI64:
		bar_set_addr(pi, idx - 1, (pi->bar[idx - 1].addr & 0xffffffffULL)
		    | ((uint64_t)v << 32));
		break;
	default:
		break;	/* unimplemented BAR: reads 0 */
	}
	return true;
}
