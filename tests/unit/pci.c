/* PCI slots, configuration space, mechanism #1, ECAM: src/bus/pci.c and
 * src/devices/hostbridge.c */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "bus/mmio.h"
#include "bus/pci.h"
#include "bus/pio.h"
#include "config.h"
#include "util.h"

static int setup(void **state)
{
	(void)state;
	unit_reset_globals();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unit_reset_globals();
	return 0;
}

/* -s each argument, freeze, pci_init(NULL). */
static int build(const char *const *slots, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pci_parse_slot(slots[i]) != 0)
			fail_msg("-s %s: %s", slots[i], last_error());
	assert_int_equal(config_freeze(), 0);
	return pci_init(NULL);
}

#define BUILD(...) ({ \
	static const char *const _s[] = { __VA_ARGS__ }; \
	build(_s, ARRAY_SIZE(_s)); })

static uint32_t cf8_read(uint32_t addr, uint16_t port, int size)
{
	uint32_t v = addr;
	assert_int_equal(pio_dispatch(0xcf8, 4, false, &v), PIO_OK);
	v = 0x12345678;
	assert_int_equal(pio_dispatch(port, size, true, &v), PIO_OK);
	return v;
}

static void test_parse_slot(void **state)
{
	(void)state;
	assert_int_equal(pci_parse_slot("0,hostbridge"), 0);
	assert_string_equal(config_get("pci.0.0.0.device"), "hostbridge");
	assert_int_equal(pci_parse_slot("4:2,amd_hostbridge"), 0);
	assert_string_equal(config_get("pci.0.4.2.device"), "amd_hostbridge");
	assert_int_equal(pci_parse_slot("7:31:7,hostbridge"), 0);
	assert_string_equal(config_get("pci.7.31.7.device"), "hostbridge");
	assert_int_equal(pci_parse_slot("7:31:7,hostbridge"), -1);
	assert_int_equal(pci_parse_slot("32,hostbridge"), -1);
	assert_int_equal(pci_parse_slot("1:8,hostbridge"), -1);
	assert_int_equal(pci_parse_slot("256:1:0,hostbridge"), -1);
	assert_int_equal(pci_parse_slot("1,unknown-thing"), -1);
	assert_int_equal(pci_parse_slot("1"), -1);
	/* the generic option list: key=value and bare flags */
	assert_int_equal(pci_parse_slot("5,virtio-rnd,a=1,b,c=x=y"), 0);
	assert_string_equal(config_get("pci.0.5.0.a"), "1");
	assert_string_equal(config_get("pci.0.5.0.b"), "true");
	assert_string_equal(config_get("pci.0.5.0.c"), "x=y");
	assert_int_equal(pci_parse_slot("6,virtio-rnd,=1"), -1);
	/* an empty conf is no conf */
	assert_int_equal(pci_parse_slot("8,virtio-blk,"), 0);
	assert_null(config_get("pci.0.8.0.path"));
}

/* Slot syntax lives before the first comma; the device options after it
 * may contain anything, "::" included (a QEMU-style hostfwd with an empty
 * host address, an IPv6 address, a file name). */
static void test_parse_slot_conf_with_double_colon(void **state)
{
	(void)state;
	assert_int_equal(pci_parse_slot("2,virtio-blk,/images/a::b.img"), 0);
	assert_string_equal(config_get("pci.0.2.0.path"), "/images/a::b.img");
	assert_int_equal(pci_parse_slot(
	    "3,virtio-net,slirp,hostfwd=tcp::2222-:22"), 0);
	assert_string_equal(config_get("pci.0.3.0.backend"), "slirp");
	assert_string_equal(config_get("pci.0.3.0.hostfwd"), "tcp::2222-:22");
}

/* bhyve reads the slot with sscanf("%d:%d:%d"), then "%d:%d", then "%d":
 * a slot field must start with a number.  An empty bus or slot before a
 * colon is not the next number along. */
static void test_parse_slot_leading_colon(void **state)
{
	(void)state;
	assert_int_equal(pci_parse_slot(":4,hostbridge"), -1);
	assert_null(config_get("pci.0.4.0.device"));
	assert_int_equal(pci_parse_slot(":3:1,hostbridge"), -1);
	assert_null(config_get("pci.0.3.1.device"));
}

static void test_registry(void **state)
{
	static const char *const manual[] = {
		"hostbridge", "amd_hostbridge", "passthru", "virtio-net",
		"virtio-blk", "virtio-scsi", "virtio-9p", "virtio-rnd",
		"virtio-console", "virtio-input", "ahci", "ahci-cd", "ahci-hd",
		"e1000", "uart", "lpc", "fbuf", "xhci", "nvme", "hda",
	};
	const struct pci_devemu *pe;
	unsigned n = 0;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(manual); i++) {
		pe = pci_emul_find(manual[i]);
		if (pe == NULL)
			fail_msg("device %s is not registered", manual[i]);
		assert_string_equal(pe->name, manual[i]);
		assert_non_null(pe->help);
	}
	assert_null(pci_emul_find("nosuch"));
	assert_null(pci_emul_find(""));
	while (pci_emul_at(n) != NULL)
		n++;
	assert_int_equal(n, ARRAY_SIZE(manual));
	assert_non_null(pci_emul_find("hostbridge")->init);
	assert_non_null(pci_emul_find("amd_hostbridge")->init);
	assert_null(pci_emul_find("hda")->init);
}

static void test_hostbridge_ids(void **state)
{
	(void)state;
	assert_int_equal(BUILD("0,hostbridge", "1,amd_hostbridge"), 0);
	assert_non_null(pci_find(0, 0, 0));
	assert_non_null(pci_find(0, 1, 0));
	assert_null(pci_find(0, 2, 0));
	assert_null(pci_find(256, 0, 0));
	assert_null(pci_find(0, 32, 0));
	assert_null(pci_find(0, 0, 8));

	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_VENDOR, 2), 0x1275);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_DEVICE, 2), 0x1275);
	assert_int_equal(pci_cfg_read(0, 0, 0, 0, 4), 0x12751275);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_CLASS, 1), 0x06);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_SUBCLASS, 1), 0x00);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_PROGIF, 1), 0x00);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_REVID, 4) >> 8, 0x060000);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_HDRTYPE, 1), 0);

	assert_int_equal(pci_cfg_read(0, 1, 0, PCIR_VENDOR, 2), 0x1022);
	assert_int_equal(pci_cfg_read(0, 1, 0, PCIR_DEVICE, 2), 0x7432);
	assert_int_equal(pci_cfg_read(0, 1, 0, PCIR_REVID, 4) >> 8, 0x060000);
}

static void test_capabilities(void **state)
{
	unsigned cap;
	(void)state;
	assert_int_equal(BUILD("0,hostbridge"), 0);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_STATUS, 2) &
	    PCIM_STATUS_CAPPRESENT, PCIM_STATUS_CAPPRESENT);
	cap = pci_cfg_read(0, 0, 0, PCIR_CAP_PTR, 1);
	assert_true(cap >= 0x40 && cap < 0x100 && (cap & 3) == 0);
	assert_int_equal(pci_cfg_read(0, 0, 0, cap, 1), 0x10);	/* PCIe */
	assert_int_equal(pci_cfg_read(0, 0, 0, cap + 1, 1), 0);	/* last */
	/* PCIe capabilities register: version 2, root port */
	assert_int_equal(pci_cfg_read(0, 0, 0, cap + 2, 2), 0x0042);
}

static struct pci_devinst capdev;

static void test_add_cap(void **state)
{
	struct pci_devinst *pi = memset(&capdev, 0, sizeof(capdev));
	unsigned a, b, c;
	(void)state;

	a = pci_add_cap(pi, 0x05, 14);
	b = pci_add_cap(pi, 0x11, 12);
	assert_int_equal(a, 0x40);
	assert_int_equal(b, 0x50);		/* 0x40 + 14, dword aligned */
	assert_int_equal(pi->cfg[PCIR_CAP_PTR], 0x40);
	assert_int_equal(pi->cfg[a], 0x05);
	assert_int_equal(pi->cfg[a + 1], b);
	assert_int_equal(pi->cfg[b], 0x11);
	assert_int_equal(pi->cfg[b + 1], 0);
	assert_int_equal(pci_get_cfg(pi, PCIR_STATUS, 2), PCIM_STATUS_CAPPRESENT);
	/* the list must end inside the 256-byte header space */
	c = pci_add_cap(pi, 0x09, 256 - 0x5c + 1);
	assert_int_equal(c, 0);
	assert_int_equal(pi->cfg[b + 1], 0);
	assert_int_equal(pci_add_cap(pi, 0x09, 1), 0);	/* too short */
}

/* A capability may end exactly at offset 0x100; after it the space is
 * full and the existing list must stay intact. */
static void test_add_cap_fills_space(void **state)
{
	struct pci_devinst *pi = memset(&capdev, 0, sizeof(capdev));
	unsigned a, b;
	(void)state;

	a = pci_add_cap(pi, 0x05, 0x10);
	assert_int_equal(a, 0x40);
	b = pci_add_cap(pi, 0x10, 0x100 - 0x50);	/* ends at 0x100 */
	assert_int_equal(b, 0x50);
	assert_int_equal(pci_add_cap(pi, 0x09, 4), 0);	/* full */
	/* the list is still 0x40 -> 0x50 -> end */
	assert_int_equal(pi->cfg[PCIR_CAP_PTR], 0x40);
	assert_int_equal(pi->cfg[0x40], 0x05);
	assert_int_equal(pi->cfg[0x41], 0x50);
	assert_int_equal(pi->cfg[0x50], 0x10);
	assert_int_equal(pi->cfg[0x51], 0x00);
}

static void test_header_writes(void **state)
{
	(void)state;
	assert_int_equal(BUILD("0,hostbridge"), 0);
	/* IDs and class are read-only */
	pci_cfg_write(0, 0, 0, PCIR_VENDOR, 2, 0xdead);
	pci_cfg_write(0, 0, 0, PCIR_DEVICE, 2, 0xbeef);
	pci_cfg_write(0, 0, 0, PCIR_REVID, 4, 0xffffffff);
	pci_cfg_write(0, 0, 0, PCIR_CAP_PTR, 1, 0x00);
	assert_int_equal(pci_cfg_read(0, 0, 0, 0, 4), 0x12751275);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_REVID, 4) >> 8, 0x060000);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_CAP_PTR, 1), 0x40);
	/* command register */
	pci_cfg_write(0, 0, 0, PCIR_COMMAND, 2, 0x0007);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_COMMAND, 2), 0x0007);
	pci_cfg_write(0, 0, 0, PCIR_COMMAND, 2, 0x0000);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_COMMAND, 2), 0);
	pci_cfg_write(0, 0, 0, PCIR_COMMAND, 2, 0x0400);	/* INTx disable */
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_COMMAND, 2), 0x0400);
	/* reserved bits (7, 11..15) read as zero */
	pci_cfg_write(0, 0, 0, PCIR_COMMAND, 2, 0xffff);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_COMMAND, 2) & 0xf880, 0);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_COMMAND, 2) & 0x0407, 0x0407);
	/* a dword write to command/status leaves CAPPRESENT alone */
	pci_cfg_write(0, 0, 0, PCIR_COMMAND, 4, 0xffff0006);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_COMMAND, 2), 0x0006);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_STATUS, 2) &
	    PCIM_STATUS_CAPPRESENT, PCIM_STATUS_CAPPRESENT);
	/* interrupt line and cache line size are scratch */
	pci_cfg_write(0, 0, 0, PCIR_INTLINE, 1, 0x0b);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_INTLINE, 1), 0x0b);
	pci_cfg_write(0, 0, 0, PCIR_CACHELNSZ, 1, 0x10);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_CACHELNSZ, 1), 0x10);
	/* misaligned writes are dropped */
	pci_cfg_write(0, 0, 0, PCIR_COMMAND + 1, 2, 0xffff);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_COMMAND, 2), 0x0006);
	/* writes to absent functions are harmless */
	pci_cfg_write(0, 9, 0, PCIR_COMMAND, 2, 0x7);
	pci_cfg_write(255, 31, 7, 0, 4, 0);
}

static void test_absent_and_misaligned(void **state)
{
	(void)state;
	assert_int_equal(BUILD("0,hostbridge"), 0);
	assert_int_equal(pci_cfg_read(0, 5, 0, 0, 4), 0xffffffff);
	assert_int_equal(pci_cfg_read(0, 5, 0, 0, 2), 0xffff);
	assert_int_equal(pci_cfg_read(0, 5, 0, 0, 1), 0xff);
	assert_int_equal(pci_cfg_read(0, 0, 1, 0, 4), 0xffffffff);
	assert_int_equal(pci_cfg_read(1, 0, 0, 0, 4), 0xffffffff);
	assert_int_equal(pci_cfg_read(999, 0, 0, 0, 4), 0xffffffff);
	/* misaligned */
	assert_int_equal(pci_cfg_read(0, 0, 0, 1, 2), 0xffff);
	assert_int_equal(pci_cfg_read(0, 0, 0, 2, 4), 0xffffffff);
	assert_int_equal(pci_cfg_read(0, 0, 0, 3, 4), 0xffffffff);
	/* out of the 4 KiB space */
	assert_int_equal(pci_cfg_read(0, 0, 0, 4096, 1), 0xff);
	assert_int_equal(pci_cfg_read(0, 0, 0, 4094, 4), 0xffffffff);
	assert_int_equal(pci_cfg_read(0, 0, 0, 4092, 4), 0);	/* extended */
}

static void test_multifunction(void **state)
{
	(void)state;
	assert_int_equal(BUILD("0,hostbridge", "3:0,hostbridge",
	    "3:2,amd_hostbridge", "4:1,hostbridge"), 0);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_HDRTYPE, 1) & PCIM_MFDEV, 0);
	assert_int_equal(pci_cfg_read(0, 3, 0, PCIR_HDRTYPE, 1) & PCIM_MFDEV,
	    PCIM_MFDEV);
	assert_int_equal(pci_cfg_read(0, 3, 2, PCIR_VENDOR, 2), 0x1022);
	assert_int_equal(pci_cfg_read(0, 3, 1, PCIR_VENDOR, 2), 0xffff);
	/* a function without function 0 stays as it is */
	assert_int_equal(pci_cfg_read(0, 4, 1, PCIR_VENDOR, 2), 0x1275);
	assert_int_equal(pci_cfg_read(0, 4, 0, PCIR_VENDOR, 2), 0xffff);
}

static void test_mechanism1(void **state)
{
	uint32_t v;
	(void)state;
	assert_int_equal(BUILD("0,hostbridge", "1,amd_hostbridge",
	    "2:0:0,hostbridge"), 0);
	assert_string_equal(pio_owner(0xcf8), "pci-cf8");
	assert_string_equal(pio_owner(0xcfc), "pci-cfc");
	assert_string_equal(pio_owner(0xcff), "pci-cfc");

	assert_int_equal(cf8_read(0x80000000, 0xcfc, 4), 0x12751275);
	/* the address register reads back, low bits dropped */
	v = 0x80000003;
	pio_dispatch(0xcf8, 4, false, &v);
	v = 0;
	pio_dispatch(0xcf8, 4, true, &v);
	assert_int_equal(v, 0x80000000);
	/* without the enable bit: nothing */
	assert_int_equal(cf8_read(0x00000000, 0xcfc, 4), 0xffffffff);
	/* register offset and slot */
	assert_int_equal(cf8_read(0x80000008, 0xcfc, 4) >> 8, 0x060000);
	assert_int_equal(cf8_read(0x80000800, 0xcfc, 4), 0x74321022);
	/* bus 2 */
	assert_int_equal(cf8_read(0x80020000, 0xcfc, 4), 0x12751275);
	assert_int_equal(cf8_read(0x80030000, 0xcfc, 4), 0xffffffff);
	/* byte and word accesses within the data window */
	assert_int_equal(cf8_read(0x80000800, 0xcfe, 1), 0x32);
	assert_int_equal(cf8_read(0x80000800, 0xcff, 1), 0x74);
	assert_int_equal(cf8_read(0x80000800, 0xcfe, 2), 0x7432);
	assert_int_equal(cf8_read(0x80000800, 0xcfd, 1), 0x10);
	assert_int_equal(cf8_read(0x80000800, 0xcfd, 2), 0xffff);  /* misaligned */
	/* the class byte (offset 0xb) through port 0xcff */
	assert_int_equal(cf8_read(0x80000008, 0xcff, 1), 0x06);
	/* writes through 0xcfc */
	v = 0x80000004;
	pio_dispatch(0xcf8, 4, false, &v);
	v = 0x0002;
	assert_int_equal(pio_dispatch(0xcfc, 2, false, &v), PIO_OK);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_COMMAND, 2), 0x0002);
	v = 0x04;
	assert_int_equal(pio_dispatch(0xcfc, 1, false, &v), PIO_OK);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_COMMAND, 2), 0x0004);
	/* disabled: writes go nowhere */
	v = 0x00000004;
	pio_dispatch(0xcf8, 4, false, &v);
	v = 0x0007;
	pio_dispatch(0xcfc, 2, false, &v);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_COMMAND, 2), 0x0004);
	/* byte access to 0xcf8 is not mechanism #1 */
	v = 0x80000000;
	pio_dispatch(0xcf8, 4, false, &v);
	v = 0;
	assert_int_equal(pio_dispatch(0xcf8, 1, true, &v), PIO_OK);
	assert_int_equal(v, 0xff);
	v = 0x00;
	pio_dispatch(0xcf8, 1, false, &v);
	v = 0;
	pio_dispatch(0xcf8, 4, true, &v);
	assert_int_equal(v, 0x80000000);
}

static void test_ecam(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(BUILD("0,hostbridge", "1:2,amd_hostbridge"), 0);
	v = 0;
	assert_int_equal(mmio_dispatch(PCI_ECAM_BASE, 4, false, &v), MMIO_OK);
	assert_int_equal(v, 0x12751275);
	v = 0;
	assert_int_equal(mmio_dispatch(PCI_ECAM_BASE + (1 << 15) + (2 << 12),
	    2, false, &v), MMIO_OK);
	assert_int_equal(v, 0x1022);
	assert_int_equal(mmio_dispatch(PCI_ECAM_BASE + (1 << 15) + (2 << 12) + 2,
	    2, false, &v), MMIO_OK);
	assert_int_equal(v, 0x7432);
	/* 8-byte read: two dwords */
	assert_int_equal(mmio_dispatch(PCI_ECAM_BASE + 8, 8, false, &v), MMIO_OK);
	assert_int_equal(v & 0xffffffff, pci_cfg_read(0, 0, 0, 8, 4));
	assert_int_equal(v >> 32, pci_cfg_read(0, 0, 0, 12, 4));
	/* absent bus */
	assert_int_equal(mmio_dispatch(PCI_ECAM_BASE + (5ULL << 20), 4, false,
	    &v), MMIO_OK);
	assert_int_equal(v, 0xffffffff);
	/* last byte of the window */
	assert_int_equal(mmio_dispatch(PCI_ECAM_BASE + PCI_ECAM_SIZE - 1, 1,
	    false, &v), MMIO_OK);
	assert_int_equal(v, 0xff);
	/* writes */
	v = 0x0006;
	assert_int_equal(mmio_dispatch(PCI_ECAM_BASE + 4, 2, true, &v), MMIO_OK);
	assert_int_equal(pci_cfg_read(0, 0, 0, PCIR_COMMAND, 2), 0x0006);
	/* outside the window */
	assert_int_equal(mmio_dispatch(PCI_ECAM_BASE + PCI_ECAM_SIZE, 4, false,
	    &v), MMIO_UNHANDLED);
}

static void test_unimplemented_device(void **state)
{
	(void)state;
	assert_int_equal(pci_parse_slot("0,hostbridge"), 0);
	assert_int_equal(pci_parse_slot("3,hda"), 0);
	assert_int_equal(config_freeze(), 0);
	clear_error();
	assert_int_equal(pci_init(NULL), -1);
	assert_non_null(strstr(last_error(), "not implemented"));
	assert_non_null(strstr(last_error(), "hda"));
	assert_non_null(strstr(last_error(), "pci.0.3.0"));
}

static void test_bad_tree(void **state)
{
	(void)state;
	/* lpc only on bus 0 (checked before its init opens anything) */
	assert_int_equal(pci_parse_slot("1:31:0,lpc"), 0);
	assert_int_equal(config_freeze(), 0);
	assert_int_equal(pci_init(NULL), -1);
	assert_non_null(strstr(last_error(), "bus 0"));

	/* trees written with -o rather than -s */
	unit_reset_globals();
	assert_int_equal(config_set("pci.0.40.0.device", "hostbridge"), 0);
	assert_int_equal(pci_init(NULL), -1);
	unit_reset_globals();
	assert_int_equal(config_set("pci.0.1.8.device", "hostbridge"), 0);
	assert_int_equal(pci_init(NULL), -1);
	unit_reset_globals();
	assert_int_equal(config_set("pci.x.1.0.device", "hostbridge"), 0);
	assert_int_equal(pci_init(NULL), -1);
	unit_reset_globals();
	assert_int_equal(config_set("pci.0.1.0.path", "/x"), 0);
	assert_int_equal(pci_init(NULL), -1);
	assert_non_null(strstr(last_error(), "device"));
	unit_reset_globals();
	assert_int_equal(config_set("pci.0.1.0.device", "frob"), 0);
	assert_int_equal(pci_init(NULL), -1);
	assert_non_null(strstr(last_error(), "frob"));
	/* and an empty tree is fine */
	unit_reset_globals();
	assert_int_equal(pci_init(NULL), 0);
	assert_int_equal(cf8_read(0x80000000, 0xcfc, 4), 0xffffffff);
}

int run_pci_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parse_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_slot_conf_with_double_colon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_slot_leading_colon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostbridge_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_cap_fills_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_and_misaligned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multifunction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mechanism1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecam, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unimplemented_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tree, setup, teardown),
	};
	return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
