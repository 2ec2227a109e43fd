/* Host bridges: "hostbridge" (bhyve's own vendor ID) and "amd_hostbridge"
 * (AMD's), each with a PCI Express capability as in bhyve. */
#include "bus/pci.h"

#define PCIY_EXPRESS		0x10
#define PCIEM_TYPE_ROOT_PORT	0x4

static int hostbridge_setup(struct pci_devinst *pi, uint16_t vendor,
    uint16_t device)
{
	unsigned cap;

	pci_set_ids(pi, vendor, device, 0x06, 0x00, 0x00);	/* host bridge */
	cap = pci_add_cap(pi, PCIY_EXPRESS, 0x3c);
	if (cap == 0)
		return -1;
	/* capability version 2, device/port type: root port */
	pci_set_cfg16(pi, cap + 2, 0x0002 | (PCIEM_TYPE_ROOT_PORT << 4));
	return 0;
}

static int hostbridge_init(struct vm *vm, struct pci_devinst *pi,
    const char *node)
{
	(void)vm;
	(void)node;
	return hostbridge_setup(pi, 0x1275, 0x1275);
}

static int amd_hostbridge_init(struct vm *vm, struct pci_devinst *pi,
    const char *node)
{
	(void)vm;
	(void)node;
	return hostbridge_setup(pi, 0x1022, 0x7432);
}

static const struct pci_devemu hostbridge = {
	.name = "hostbridge",
	.help = "A simple host bridge",
	.init = hostbridge_init,
};
PCI_EMUL_SET(hostbridge);

static const struct pci_devemu amd_hostbridge = {
	.name = "amd_hostbridge",
	.help = "Host bridge with an AMD vendor ID",
	.init = amd_hostbridge_init,
};
PCI_EMUL_SET(amd_hostbridge);
