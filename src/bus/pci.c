#include "bus/pci.h"
#include "bus/mmio.h"
#include "bus/pci_bar.h"
#include "bus/pci_msi.h"
#include "bus/pio.h"
#include "config.h"
#include "vmm/irq.h"
#include "vmm/vm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct pci_devemu *const __start_set_pci_devemu[];
extern const struct pci_devemu *const __stop_set_pci_devemu[];

/* Instances, indexed [bus][slot][func] through a small table of buses. */
static struct pci_devinst *devs[PCI_MAXBUS][PCI_MAXSLOT][PCI_MAXFUNC];
static unsigned bus_ndevs[PCI_MAXBUS];	/* devices in devs[b] */
static uint32_t cf8;		/* mechanism #1 address register */
static pthread_mutex_t cf8_lock = PTHREAD_MUTEX_INITIALIZER;

const struct pci_devemu *pci_emul_at(unsigned i)
{
	size_t n = (size_t)(__stop_set_pci_devemu - __start_set_pci_devemu);
	return i < n ? __start_set_pci_devemu[i] : NULL;
}

const struct pci_devemu *pci_emul_find(const char *name)
{
	const struct pci_devemu *pe;
	for (unsigned i = 0; (pe = pci_emul_at(i)) != NULL; i++)
		if (strcmp(pe->name, name) == 0)
			return pe;
	return NULL;
}

void pci_emul_print_help(void)
{
	const struct pci_devemu *pe, *list[64];
	unsigned n = 0;

	for (unsigned i = 0; (pe = pci_emul_at(i)) != NULL && n < 64; i++)
		list[n++] = pe;
	/* sorted by name, so the output does not depend on link order */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 &&
		    strcmp(list[j - 1]->name, list[j]->name) > 0; j--) {
			pe = list[j];
			list[j] = list[j - 1];
			list[j - 1] = pe;
		}
	for (unsigned i = 0; i < n; i++)
		printf("%-16s%s%s\n", list[i]->name, list[i]->help,
		    list[i]->init ? "" : " (not implemented yet)");
}

/* ---- -s parsing ---- */

/* Split opts at commas and feed each token to fn. */
static int for_each_token(const char *node, const char *opts,
    int (*fn)(const char *node, const char *tok, void *arg), void *arg)
{
	char *copy = strdup(opts), *save = NULL, *tok;
	int r = 0;

	if (copy == NULL)
		return fail("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok != NULL && r == 0;
	    tok = strtok_r(NULL, ",", &save))
		r = fn(node, tok, arg);
	free(copy);
	return r;
}

static int generic_token(const char *node, const char *tok, void *arg)
{
	const char *eq = strchr(tok, '=');
	const char *firstkey = arg;
	char key[128];

	if (eq == NULL) {
		if (firstkey != NULL && *firstkey)
			return config_setf(tok, "%s.%s", node, firstkey);
		return config_setf("true", "%s.%s", node, tok);
	}
	if (eq == tok || (size_t)(eq - tok) >= sizeof(key))
		return fail("invalid device option '%s'", tok);
	memcpy(key, tok, (size_t)(eq - tok));
	key[eq - tok] = '\0';
	return config_setf(eq + 1, "%s.%s", node, key);
}

int pci_parse_legacy_generic(const char *node, const char *opts)
{
	return for_each_token(node, opts, generic_token, NULL);
}

struct first_state {
	const char *key;
	bool done;
};

static int first_token(const char *node, const char *tok, void *arg)
{
	struct first_state *st = arg;

	if (!st->done) {
		st->done = true;
		if (strchr(tok, '=') == NULL)
			return config_setf(tok, "%s.%s", node, st->key);
	}
	return generic_token(node, tok, NULL);
}

int pci_parse_legacy_first(const char *node, const char *opts,
    const char *firstkey)
{
	struct first_state st = { firstkey, false };
	return for_each_token(node, opts, first_token, &st);
}

int pci_parse_slot(const char *opt)
{
	char slotstr[32], emul[64], node[32];
	const char *comma, *conf = NULL;
	unsigned vals[3], nvals = 0, bus = 0, slot, func = 0;
	const struct pci_devemu *pe;
	char *p;

	comma = strchr(opt, ',');
	if (comma == NULL || comma == opt ||
	    (size_t)(comma - opt) >= sizeof(slotstr))
		return fail("invalid PCI slot configuration '%s' (expected "
		    "[bus:]slot[:func],emulation[,conf])", opt);
	memcpy(slotstr, opt, (size_t)(comma - opt));
	slotstr[comma - opt] = '\0';
	{
		const char *e = comma + 1, *c2 = strchr(e, ',');
		size_t n = c2 ? (size_t)(c2 - e) : strlen(e);
		if (n == 0 || n >= sizeof(emul))
			return fail("invalid PCI slot configuration '%s': "
			    "missing emulation", opt);
		memcpy(emul, e, n);
		emul[n] = '\0';
		if (c2)
			conf = c2 + 1;
	}
	/* Decimal fields separated by single colons; like bhyve's sscanf,
	 * a trailing colon is tolerated, empty fields elsewhere are not. */
	for (p = slotstr; *p != '\0';) {
		char *end = strchr(p, ':');
		unsigned v;

		if (end != NULL)
			*end = '\0';
		if (nvals == 3 || *p == '\0' || strspn(p, "0123456789") !=
		    strlen(p) || parse_uint_range(p, 0, 255, &v) != 0)
			return fail("invalid PCI slot '%.*s'",
			    (int)(comma - opt), opt);
		vals[nvals++] = v;
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (nvals == 0)
		return fail("invalid PCI slot '%.*s'", (int)(comma - opt), opt);
	if (nvals == 1) {
		slot = vals[0];
	} else if (nvals == 2) {
		slot = vals[0];
		func = vals[1];
	} else {
		bus = vals[0];
		slot = vals[1];
		func = vals[2];
	}
	if (bus >= PCI_MAXBUS || slot >= PCI_MAXSLOT || func >= PCI_MAXFUNC)
		return fail("invalid PCI slot %u:%u:%u: bus 0-255, slot 0-31, "
		    "function 0-7", bus, slot, func);
	pe = pci_emul_find(emul);
	if (pe == NULL)
		return fail("pci slot %u:%u:%u: unknown device \"%s\" (see "
		    "'bhyve -s help')", bus, slot, func, emul);
	snprintf(node, sizeof(node), "pci.%u.%u.%u", bus, slot, func);
	if (config_is_node(node) || config_get_raw(node) != NULL)
		return fail("pci slot %u:%u:%u already occupied!", bus, slot,
		    func);
	if (config_setf(emul, "%s.device", node) != 0)
		return -1;
	if (conf == NULL || *conf == '\0')
		return 0;
	if (pe->legacy_config)
		return pe->legacy_config(node, conf);
	return pci_parse_legacy_generic(node, conf);
}

/* ---- configuration space ---- */

void pci_set_ids(struct pci_devinst *pi, uint16_t vendor, uint16_t device,
    uint8_t class, uint8_t subclass, uint8_t progif)
{
	pci_set_cfg16(pi, PCIR_VENDOR, vendor);
	pci_set_cfg16(pi, PCIR_DEVICE, device);
	pci_set_cfg8(pi, PCIR_CLASS, class);
	pci_set_cfg8(pi, PCIR_SUBCLASS, subclass);
	pci_set_cfg8(pi, PCIR_PROGIF, progif);
}

unsigned pci_add_cap(struct pci_devinst *pi, uint8_t id, unsigned len)
{
	unsigned off = pi->capend;
	unsigned prev;

	if (off < 0x40)
		off = 0x40;
	off = ALIGN_UP(off, 4u);
	if (len < 2 || off + len > 256)
		return 0;
	/* Link at the end of the list. */
	if (pci_get_cfg(pi, PCIR_CAP_PTR, 1) == 0) {
		pci_set_cfg8(pi, PCIR_CAP_PTR, (uint8_t)off);
	} else {
		prev = pci_get_cfg(pi, PCIR_CAP_PTR, 1);
		while (pi->cfg[prev + 1] != 0)
			prev = pi->cfg[prev + 1];
		pi->cfg[prev + 1] = (uint8_t)off;
	}
	pi->cfg[off] = id;
	pi->cfg[off + 1] = 0;
	pci_set_cfg16(pi, PCIR_STATUS, (uint16_t)(pci_get_cfg(pi, PCIR_STATUS, 2)
	    | PCIM_STATUS_CAPPRESENT));
	pi->capend = (uint16_t)(off + len);
	return off;
}

struct pci_devinst *pci_find(unsigned bus, unsigned slot, unsigned func)
{
	if (bus >= PCI_MAXBUS || slot >= PCI_MAXSLOT || func >= PCI_MAXFUNC)
		return NULL;
	return devs[bus][slot][func];
}

bool pci_bus_used(unsigned bus)
{
	return bus < PCI_MAXBUS && bus_ndevs[bus] > 0;
}

uint32_t pci_cfg_read(unsigned bus, unsigned slot, unsigned func,
    unsigned off, unsigned size)
{
	struct pci_devinst *pi = pci_find(bus, slot, func);
	uint32_t v;

	if (pi == NULL || off >= PCI_CFG_SIZE || off + size > PCI_CFG_SIZE ||
	    (off & (size - 1)) != 0)
		return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
	pthread_mutex_lock(&pi->lock);
	if (pi->emu->cfgread == NULL ||
	    pi->emu->cfgread(pi, off, size, &v) != 0)
		v = pci_get_cfg(pi, off, size);
	pthread_mutex_unlock(&pi->lock);
	return v;
}

/* Writable bits of the standard header for devices without BARs. */
static void cfg_write_header(struct pci_devinst *pi, unsigned off,
    unsigned size, uint32_t val)
{
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		switch (o) {
		case PCIR_COMMAND:
			pi->cfg[o] = b & 0x47;	/* io, mem, master, parity */
			break;
		case PCIR_COMMAND + 1:
			pi->cfg[o] = b & 0x05;	/* SERR, INTx disable */
			break;
		case PCIR_STATUS + 1:
			pi->cfg[o] &= (uint8_t)~(b & 0xf9);	/* RW1C */
			break;
		case PCIR_CACHELNSZ:
		case PCIR_LATTIMER:
		case PCIR_INTLINE:
			pi->cfg[o] = b;
			break;
		default:
			break;	/* read-only */
		}
	}
}

static void dev_reset_locked(struct pci_devinst *pi)
{
	pci_set_cfg16(pi, PCIR_COMMAND, 0);
	pci_bar_unmap_all(pi);
	pci_msi_reset(pi);
	if (pi->emu->reset)
		pi->emu->reset(pi);
}

/* A write touching the AF capability's control byte: Initiate FLR (the
 * rest of the capability is read-only; no transactions are ever pending,
 * the reset completes before the write returns). */
static bool af_cfgwrite(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t val)
{
	unsigned ctrl = pi->afcap + PCIR_AF_CTRL;

	if (pi->afcap == 0 || off + size <= pi->afcap ||
	    off >= pi->afcap + (unsigned)PCI_AF_LEN)
		return false;
	if (off <= ctrl && off + size > ctrl &&
	    ((val >> (8 * (ctrl - off))) & PCIM_AF_CTRL_FLR)) {
		pi->flrs++;
		trace_point("%s: function-level reset", pi->name);
		dev_reset_locked(pi);
	}
	return true;
}

void pci_cfg_write(unsigned bus, unsigned slot, unsigned func, unsigned off,
    unsigned size, uint32_t val)
{
	struct pci_devinst *pi = pci_find(bus, slot, func);

	if (pi == NULL || off >= PCI_CFG_SIZE || off + size > PCI_CFG_SIZE ||
	    (off & (size - 1)) != 0)
		return;
	pthread_mutex_lock(&pi->lock);
	if (af_cfgwrite(pi, off, size, val)) {
		/* function-level reset */
	} else if (pci_msi_cfgwrite(pi, off, size, val)) {
		/* MSI / MSI-X capability */
	} else if (pi->emu->cfgwrite == NULL ||
	    pi->emu->cfgwrite(pi, off, size, val) != 0) {
		if (off < 0x40 && !pci_bar_cfgwrite(pi, off, size, val)) {
			cfg_write_header(pi, off, size, val);
			if (off <= PCIR_COMMAND + 1 && off + size > PCIR_COMMAND) {
				pci_bar_decode_update(pi);
				pci_intx_refresh(pi);
			}
		}
	}
	pthread_mutex_unlock(&pi->lock);
}

/* ---- mechanism #1 and ECAM ---- */

static int cf8_handler(void *arg, uint16_t port, int size, bool in,
    uint32_t *val)
{
	(void)arg;
	if (size != 4 || port != 0xcf8) {
		/* Byte accesses here belong to mechanism #2: not decoded. */
		if (in)
			*val = size == 1 ? 0xff : 0xffff;
		return 0;
	}
	pthread_mutex_lock(&cf8_lock);
	if (in)
		*val = cf8;
	else
		cf8 = *val & 0x80fffffcu;
	pthread_mutex_unlock(&cf8_lock);
	return 0;
}

static int cfc_handler(void *arg, uint16_t port, int size, bool in,
    uint32_t *val)
{
	uint32_t a;
	unsigned off;

	(void)arg;
	pthread_mutex_lock(&cf8_lock);
	a = cf8;
	pthread_mutex_unlock(&cf8_lock);
	off = (a & 0xfc) + (port - 0xcfc);
	if (!(a & 0x80000000u) || (off & (unsigned)(size - 1))) {
		if (in)
			*val = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
		return 0;
	}
	if (in)
		*val = pci_cfg_read((a >> 16) & 0xff, (a >> 11) & 0x1f,
		    (a >> 8) & 7, off, (unsigned)size);
	else
		pci_cfg_write((a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
		    off, (unsigned)size, *val);
	return 0;
}

static int ecam_handler(void *arg, uint64_t gpa, int size, bool write,
    uint64_t *val)
{
	uint64_t off = gpa - PCI_ECAM_BASE;
	unsigned bus = (unsigned)(off >> 20), slot = (off >> 15) & 0x1f,
	    func = (off >> 12) & 7, reg = off & 0xfff;

	(void)arg;
	if (size == 8) {	/* split into two dword accesses */
		if (write) {
			pci_cfg_write(bus, slot, func, reg, 4, (uint32_t)*val);
			pci_cfg_write(bus, slot, func, reg + 4, 4,
			    (uint32_t)(*val >> 32));
		} else {
			*val = pci_cfg_read(bus, slot, func, reg, 4) |
			    (uint64_t)pci_cfg_read(bus, slot, func, reg + 4, 4)
			    << 32;
		}
		return 0;
	}
	if (size != 1 && size != 2 && size != 4) {
		if (!write)
			*val = ~0ULL;
		return 0;
	}
	if (write)
		pci_cfg_write(bus, slot, func, reg, (unsigned)size,
		    (uint32_t)*val);
	else
		*val = pci_cfg_read(bus, slot, func, reg, (unsigned)size);
	return 0;
}

static int init_one(struct vm *vm, unsigned b, unsigned s, unsigned f)
{
	char node[32];
	const char *name;
	const struct pci_devemu *pe;
	struct pci_devinst *pi;

	snprintf(node, sizeof(node), "pci.%u.%u.%u", b, s, f);
	name = config_getf("%s.device", node);
	if (name == NULL)
		return fail("%s: no 'device' variable", node);
	pe = pci_emul_find(name);
	if (pe == NULL)
		return fail("%s: unknown device \"%s\"", node, name);
	if (pe->init == NULL)
		return fail("%s: device \"%s\" is not implemented yet", node,
		    name);
	if (pe->lpc_only_bus0 && b != 0)
		return fail("%s: the %s device can only be configured on bus "
		    "0", node, name);
	pi = calloc(1, sizeof(*pi));
	if (pi == NULL)
		return fail("out of memory");
	pi->emu = pe;
	pi->bus = (uint8_t)b;
	pi->slot = (uint8_t)s;
	pi->func = (uint8_t)f;
	pi->vm = vm;
	snprintf(pi->name, sizeof(pi->name), "%u:%u:%u %s", b, s, f, name);
	pthread_mutex_init(&pi->lock, NULL);
	devs[b][s][f] = pi;
	bus_ndevs[b]++;
	if (pe->init(vm, pi, node) != 0)
		return -1;
	if (pe->reset != NULL) {
		unsigned off = pci_add_cap(pi, PCIY_AF, PCI_AF_LEN);
		if (off == 0)
			return fail("%s: no room for the FLR capability", node);
		pi->afcap = (uint8_t)off;
		pi->cfg[off + PCIR_AF_LEN] = PCI_AF_LEN;
		pi->cfg[off + PCIR_AF_CAP] = PCIM_AF_CAP_TP | PCIM_AF_CAP_FLR;
	}
	return 0;
}

int pci_check(void)
{
	for (unsigned b = 0; b < PCI_MAXBUS; b++) {
		char node[48];
		if (!config_is_node((snprintf(node, sizeof(node), "pci.%u", b),
		    node)))
			continue;
		for (unsigned s = 0; s < PCI_MAXSLOT; s++)
			for (unsigned f = 0; f < PCI_MAXFUNC; f++) {
				const struct pci_devemu *pe;
				const char *name = config_getf(
				    "pci.%u.%u.%u.device", b, s, f);
				if (name == NULL ||
				    (pe = pci_emul_find(name)) == NULL ||
				    pe->check == NULL)
					continue;
				snprintf(node, sizeof(node), "pci.%u.%u.%u", b,
				    s, f);
				if (pe->check(node, b, s, f) != 0)
					return -1;
			}
	}
	return 0;
}

int pci_init(struct vm *vm)
{
	char buses[PCI_MAXBUS][32], slots[PCI_MAXSLOT * 2][32],
	    funcs[PCI_MAXFUNC * 2][32];
	int nb = config_children("pci", buses, PCI_MAXBUS);

	if (vm != NULL && vm->vm_fd >= 0 && irq_init(vm) != 0)
		return -1;

	for (int i = 0; i < nb; i++) {
		unsigned b, s, f;
		char node[48];
		int ns;

		if (parse_uint_range(buses[i], 0, PCI_MAXBUS - 1, &b) != 0)
			return fail("invalid PCI bus 'pci.%s'", buses[i]);
		snprintf(node, sizeof(node), "pci.%u", b);
		ns = config_children(node, slots, PCI_MAXSLOT * 2);
		for (int j = 0; j < ns; j++) {
			char snode[64];
			int nf;
			if (parse_uint_range(slots[j], 0, PCI_MAXSLOT - 1, &s))
				return fail("invalid PCI slot 'pci.%u.%s'", b,
				    slots[j]);
			snprintf(snode, sizeof(snode), "pci.%u.%u", b, s);
			nf = config_children(snode, funcs, PCI_MAXFUNC * 2);
			for (int k = 0; k < nf; k++) {
				if (parse_uint_range(funcs[k], 0,
				    PCI_MAXFUNC - 1, &f) != 0)
					return fail("invalid PCI function "
					    "'pci.%u.%u.%s'", b, s, funcs[k]);
				if (init_one(vm, b, s, f) != 0)
					return -1;
			}
		}
	}
	/* Function 0 of a slot with more functions is multi-function. */
	for (unsigned b = 0; b < PCI_MAXBUS; b++)
		for (unsigned s = 0; pci_bus_used(b) && s < PCI_MAXSLOT; s++) {
			bool more = false;
			for (unsigned f = 1; f < PCI_MAXFUNC; f++)
				more |= devs[b][s][f] != NULL;
			if (more && devs[b][s][0])
				devs[b][s][0]->cfg[PCIR_HDRTYPE] |= PCIM_MFDEV;
		}
	if (pci_bar_place_all(vm ? vm->mem.highmem : 0) != 0)
		return -1;
	if (pio_register(0xcf8, 1, cf8_handler, NULL, "pci-cf8") != 0 ||
	    pio_register(0xcfc, 4, cfc_handler, NULL, "pci-cfc") != 0)
		return -1;
	return mmio_register(PCI_ECAM_BASE, PCI_ECAM_SIZE, ecam_handler, NULL,
	    "pci-ecam");
}

void pci_dev_reset(struct pci_devinst *pi)
{
	pthread_mutex_lock(&pi->lock);
	dev_reset_locked(pi);
	pthread_mutex_unlock(&pi->lock);
}

void pci_fini(void)
{
	for (unsigned b = 0; b < PCI_MAXBUS; b++)
		for (unsigned s = 0; pci_bus_used(b) && s < PCI_MAXSLOT; s++)
			for (unsigned f = 0; f < PCI_MAXFUNC; f++) {
				struct pci_devinst *pi = devs[b][s][f];
				if (pi == NULL)
					continue;
				pci_bar_unmap_all(pi);
				if (pi->emu->teardown)
					pi->emu->teardown(pi);
				pci_msi_free(pi);
				pthread_mutex_destroy(&pi->lock);
				free(pi);
				devs[b][s][f] = NULL;
				bus_ndevs[b]--;
			}
	irq_fini();
	cf8 = 0;
}
