/* Device models the manual lists that are not implemented yet.  They are
 * registered so that `-s` accepts them into the configuration tree with
 * bhyve's legacy option syntax (and config.dump shows the result), while
 * building a VM that uses one fails with a clear message.  Each moves to a
 * file of its own when it is implemented. */
#include "bus/pci.h"
#include "config.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int net_legacy(const char *node, const char *opts)
{
	return pci_parse_legacy_first(node, opts, "backend");
}

/* As FreeBSD's nvme legacy parser: "ram=SIZE[,opts]" or the block
 * device form, whose first field is always `path` (like every block
 * device; the manual's "devpath"), then key=value options. */
static int nvme_legacy(const char *node, const char *opts)
{
	const char *comma = strchr(opts, ',');
	const char *key = strncmp(opts, "ram=", 4) == 0 ? "ram" : "path";
	const char *v = key[0] == 'r' ? opts + 4 : opts;
	char *first;
	int r;

	first = strndup(v, comma ? (size_t)(comma - v) : strlen(v));
	if (first == NULL)
		return fail("out of memory");
	r = config_setf(first, "%s.%s", node, key);
	free(first);
	if (r == 0 && comma != NULL)
		r = pci_parse_legacy_generic(node, comma + 1);
	return r;
}

static int input_legacy(const char *node, const char *opts)
{
	return pci_parse_legacy_first(node, opts, "path");
}

static int scsi_legacy(const char *node, const char *opts)
{
	return pci_parse_legacy_first(node, opts, "dev");
}

/* "slot/bus/function" selector, then key=value options. */
static int passthru_legacy(const char *node, const char *opts)
{
	unsigned b, s, f;
	char extra;
	const char *comma = strchr(opts, ',');

	if (sscanf(opts, "%u/%u/%u%c", &b, &s, &f, &extra) >= 3 &&
	    (extra == ',' || comma == NULL)) {
		char v[16];
		snprintf(v, sizeof(v), "%u", b);
		if (config_setf(v, "%s.bus", node) != 0)
			return -1;
		snprintf(v, sizeof(v), "%u", s);
		if (config_setf(v, "%s.slot", node) != 0)
			return -1;
		snprintf(v, sizeof(v), "%u", f);
		if (config_setf(v, "%s.func", node) != 0)
			return -1;
		return comma ? pci_parse_legacy_generic(node, comma + 1) : 0;
	}
	return pci_parse_legacy_generic(node, opts);
}

/* "sharename=/path[,ro]" */
static int p9_legacy(const char *node, const char *opts)
{
	const char *eq = strchr(opts, '='), *comma = strchr(opts, ',');
	char name[128], path[4096];

	if (eq == NULL || (comma && comma < eq))
		return fail("virtio-9p: expected sharename=/path, got '%s'",
		    opts);
	if ((size_t)(eq - opts) >= sizeof(name))
		return fail("virtio-9p: share name too long");
	memcpy(name, opts, (size_t)(eq - opts));
	name[eq - opts] = '\0';
	{
		size_t n = comma ? (size_t)(comma - eq - 1) : strlen(eq + 1);
		if (n >= sizeof(path))
			return fail("virtio-9p: path too long");
		memcpy(path, eq + 1, n);
		path[n] = '\0';
	}
	if (config_setf(name, "%s.sharename", node) != 0 ||
	    config_setf(path, "%s.path", node) != 0)
		return -1;
	return comma ? pci_parse_legacy_generic(node, comma + 1) : 0;
}


/* ahci: "hd:path[,opts],cd:path[,opts]..." -> port.N.type/path/... */
static int ahci_ports(const char *node, const char *opts, const char *fixed)
{
	char *copy = strdup(opts), *save = NULL, *tok;
	int port = fixed ? 0 : -1, r = 0;
	char pnode[64];

	if (copy == NULL)
		return fail("out of memory");
	if (fixed) {
		snprintf(pnode, sizeof(pnode), "%s.port.0", node);
		r = config_setf(fixed, "%s.type", pnode);
	}
	for (tok = strtok_r(copy, ",", &save); tok && r == 0;
	    tok = strtok_r(NULL, ",", &save)) {
		bool hd = strncmp(tok, "hd:", 3) == 0;
		bool cd = strncmp(tok, "cd:", 3) == 0;
		if (!fixed && (hd || cd)) {
			if (++port == 32) {
				r = fail("ahci: at most 32 ports");
				break;
			}
			snprintf(pnode, sizeof(pnode), "%s.port.%d", node, port);
			r = config_setf(hd ? "hd" : "cd", "%s.type", pnode);
			if (r == 0)
				r = config_setf(tok + 3, "%s.path", pnode);
			continue;
		}
		if (fixed && port == 0 && strchr(tok, '=') == NULL &&
		    config_getf("%s.path", pnode) == NULL) {
			r = config_setf(tok, "%s.path", pnode);
			continue;
		}
		if (port < 0) {
			r = fail("ahci: expected hd:path or cd:path, got '%s'",
			    tok);
			break;
		}
		r = pci_parse_legacy_generic(pnode, tok);
	}
	free(copy);
	return r;
}

static int ahci_legacy(const char *node, const char *opts)
{
	return ahci_ports(node, opts, NULL);
}

static int ahci_hd_legacy(const char *node, const char *opts)
{
	return ahci_ports(node, opts, "hd");
}

static int ahci_cd_legacy(const char *node, const char *opts)
{
	return ahci_ports(node, opts, "cd");
}

/* xhci: "tablet" -> slot.1.device=tablet */
static int xhci_legacy(const char *node, const char *opts)
{
	char *copy = strdup(opts), *save = NULL, *tok;
	unsigned slot = 1;
	int r = 0;

	if (copy == NULL)
		return fail("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && r == 0;
	    tok = strtok_r(NULL, ",", &save))
		r = config_setf(tok, "%s.slot.%u.device", node, slot++);
	free(copy);
	return r;
}

#define PENDING(sym, nm, hlp, legacy) \
	static const struct pci_devemu sym = { \
		.name = nm, .help = hlp, .legacy_config = legacy, \
	}; \
	PCI_EMUL_SET(sym)

PENDING(pe_passthru, "passthru", "PCI pass-through device", passthru_legacy);
PENDING(pe_vtscsi, "virtio-scsi", "Virtio SCSI interface", scsi_legacy);
PENDING(pe_vt9p, "virtio-9p", "Virtio 9p (VirtFS) interface", p9_legacy);
PENDING(pe_vtinput, "virtio-input", "Virtio input interface", input_legacy);
PENDING(pe_ahci, "ahci", "AHCI controller attached to arbitrary devices",
    ahci_legacy);
PENDING(pe_ahci_cd, "ahci-cd", "AHCI controller attached to an ATAPI "
    "CD/DVD", ahci_cd_legacy);
PENDING(pe_ahci_hd, "ahci-hd", "AHCI controller attached to a SATA hard "
    "drive", ahci_hd_legacy);
PENDING(pe_e1000, "e1000", "Intel e82545 network interface", net_legacy);
PENDING(pe_uart, "uart", "PCI 16550 serial device", input_legacy);
PENDING(pe_fbuf, "fbuf", "Raw framebuffer device attached to VNC server",
    NULL);
PENDING(pe_xhci, "xhci", "eXtensible Host Controller Interface (xHCI) USB "
    "controller", xhci_legacy);
PENDING(pe_nvme, "nvme", "NVM Express (NVMe) controller", nvme_legacy);
PENDING(pe_hda, "hda", "High Definition Audio Controller", NULL);
