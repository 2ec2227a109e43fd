/* libFuzzer target for the guest's register surface of the PCI devices:
 * a VM without KVM (as the unit tests build one) with a host bridge,
 * virtio-rnd, virtio-blk on a scratch image, virtio-net without a backend
 * and virtio-console with one port, then whatever the input says a guest
 * does: configuration-space reads and writes (BARs moved, decode switched,
 * MSI/MSI-X capabilities, function-level reset), reads and writes of any
 * width at any offset of any BAR where it currently decodes (the virtio
 * registers, queue setup, notifications, MSI-X tables, device
 * configuration), port I/O, and writes into guest RAM (rings for the
 * devices' threads to walk).  Checked beyond ASan/UBSan and libFuzzer's
 * timeout: every device's identity (vendor, device, revision, class,
 * subsystem) reads the same after all of it.
 * Build and run (bounded): make fuzz FUZZ_PCI_SECONDS=60 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/mmio.h"
#include "bus/pci.h"
#include "bus/pci_bar.h"
#include "bus/pio.h"
#include "config.h"
#include "util.h"
#include "vmm/vm.h"

#include "fuzz.h"

#define RAM		(1u << 20)
#define NSLOTS		5

static const unsigned slots[NSLOTS] = { 0, 3, 4, 5, 6 };
static struct vm fakevm;
static uint8_t *ram;
static char img[64], sock[64];

static void vm_down(void)
{
	config_reset();
	pci_fini();		/* joins the devices' threads */
	pio_reset();
	mmio_reset();
	clear_error();
}

/* The VM; `opts` picks -W (MSI instead of MSI-X) and the notification
 * port. */
static void vm_up(uint8_t opts)
{
	char s[160];

	vm_down();
	memset(ram, 0, RAM);
	memset(&fakevm, 0, sizeof(fakevm));
	fakevm.vm_fd = fakevm.kvm_fd = -1;
	fakevm.mem.r[0] = (struct mem_region){ 0, RAM, ram };
	fakevm.mem.nr = 1;
	fakevm.mem.lowmem = RAM;
	if ((opts & 1) && config_parse_assignment("virtio_msix=false") != 0)
		abort();
	if ((opts & 2) &&
	    config_parse_assignment("virtio.pio_notify=true") != 0)
		abort();
	if (pci_parse_slot("0,hostbridge") != 0 ||
	    pci_parse_slot("3,virtio-rnd") != 0)
		abort();
	snprintf(s, sizeof(s), "4,virtio-blk,%s", img);
	if (pci_parse_slot(s) != 0 || pci_parse_slot("5,virtio-net") != 0)
		abort();
	snprintf(s, sizeof(s), "6,virtio-console,fuzz=%s", sock);
	if (pci_parse_slot(s) != 0 || config_freeze() != 0)
		abort();
	if (pci_init(&fakevm) != 0) {
		fprintf(stderr, "pci_init: %s\n", last_error());
		abort();
	}
}

static const int sizes[4] = { 1, 2, 4, 8 };

static void remove_files(void)
{
	unlink(img);
	unlink(sock);
}

/* Where BAR `bar` of the device picked by `d` decodes now (0: nowhere). */
static uint64_t bar_at(uint8_t d, uint8_t bar)
{
	struct pci_devinst *pi = pci_find(0, slots[d % NSLOTS], 0);

	return pi ? pci_bar_mapped(pi, bar % 6) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t ids[NSLOTS][3];

	if (ram == NULL) {
		int fd;

		ram = calloc(1, RAM);
		snprintf(img, sizeof(img), "/tmp/bhyve-pci-fuzz-%d.img",
		    (int)getpid());
		snprintf(sock, sizeof(sock), "/tmp/bhyve-pci-fuzz-%d.sock",
		    (int)getpid());
		fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (ram == NULL || fd < 0 || ftruncate(fd, 1 << 20) != 0)
			abort();
		close(fd);
		atexit(remove_files);
	}
	if (size < 1)
		return 0;
	in = data + 1;
	inlen = size - 1;
	vm_up(data[0]);
	for (unsigned i = 0; i < NSLOTS; i++) {
		ids[i][0] = pci_cfg_read(0, slots[i], 0, PCIR_VENDOR, 4);
		ids[i][1] = pci_cfg_read(0, slots[i], 0, 0x08, 4);
		ids[i][2] = pci_cfg_read(0, slots[i], 0, 0x2c, 4);
	}
	for (int k = 0; k < 256 && inlen > 0; k++) {
		uint8_t op, dev, bar, w;
		uint16_t off;
		uint64_t v = 0, a;
		uint32_t v32;

		take(&op, 1);
		take(&dev, 1);
		take(&off, 2);
		take(&w, 1);
		switch (op % 8) {
		case 0:		/* configuration write, any function */
			take(&v32, 4);
			pci_cfg_write(0, slots[dev % NSLOTS], (dev >> 4) & 7,
			    off % 4096, (unsigned)sizes[w % 3], v32);
			break;
		case 1:
			(void)pci_cfg_read(0, slots[dev % NSLOTS],
			    (dev >> 4) & 7, off % 4096, (unsigned)sizes[w % 3]);
			break;
		case 2:		/* memory BAR write */
		case 3:
			bar = w >> 2;
			a = bar_at(dev, bar);
			if (op % 8 == 2)
				take(&v, 8);
			if (a != 0)
				(void)mmio_dispatch(a + off, sizes[w % 4],
				    op % 8 == 2, &v);
			break;
		case 4:		/* port I/O, at an I/O BAR or anywhere */
		case 5:
			bar = w >> 2;
			a = bar_at(dev, bar);
			take(&v32, 4);
			(void)pio_dispatch((uint16_t)(a != 0 && a < 0x10000 ?
			    a + off % 256 : off), sizes[w % 3], op % 8 == 5,
			    &v32);
			break;
		case 6:		/* guest RAM: rings and buffers */
			take(&v, 8);
			memcpy(ram + ((uint32_t)off << 4) % (RAM - 8), &v, 8);
			break;
		default:	/* any address at all */
			take(&a, 8);
			(void)mmio_dispatch(a, sizes[w % 4], w & 0x80, &v);
			break;
		}
	}
	/* what the guest cannot change */
	for (unsigned i = 0; i < NSLOTS; i++) {
		check(pci_cfg_read(0, slots[i], 0, PCIR_VENDOR, 4) == ids[i][0]);
		check(pci_cfg_read(0, slots[i], 0, 0x08, 4) == ids[i][1]);
		check(pci_cfg_read(0, slots[i], 0, 0x2c, 4) == ids[i][2]);
	}
	vm_down();
	return 0;
}
