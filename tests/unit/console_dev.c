/* virtio-console as a whole (src/devices/virtio_console.c) on the real
 * virtio transport and socket backend, driven by a fake driver through the
 * modern BAR on fake guest RAM, with socket clients on a temp dir: the
 * control handshake, PORT_OPEN on connect/disconnect, data held until the
 * guest opens the port, output bounded while the client does not read,
 * and hostile buffers (too small, wrong direction). */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backends/evloop.h"
#include "bus/mmio.h"
#include "bus/pci.h"
#include "config.h"
#include "devices/vtcon_ctrl.h"
#include "virtio/virtio.h"
#include "vmm/vm.h"

#define RAM	(4u << 20)
#define M64	(32ULL << 30)	/* pci_mem64_base(0): BAR 4 */
#define QSZ	8u
#define QBASE(q)	(0x10000u + 0x4000u * (q))
#define BUFS	0x100000u	/* buffers from 1 MiB */

static struct vm fakevm;
static uint8_t *ram;
static char dir[64], pa[128], pb[128];
static uint32_t bufnext;
static uint16_t avail_idx[8], used_seen[8], next_desc[8];

static void mwr(uint64_t gpa, int size, uint64_t v)
{
	assert_int_equal(mmio_dispatch(gpa, size, true, &v), MMIO_OK);
}

static uint64_t mrd(uint64_t gpa, int size)
{
	uint64_t v = 0;
	assert_int_equal(mmio_dispatch(gpa, size, false, &v), MMIO_OK);
	return v;
}

static uint16_t rd16(uint64_t a) { uint16_t v; memcpy(&v, ram + a, 2); return v; }
static uint32_t rd32(uint64_t a) { uint32_t v; memcpy(&v, ram + a, 4); return v; }

/* Post one buffer (device-writable or -readable) on queue q; returns its
 * guest address. */
static uint32_t post(unsigned q, const void *data, uint32_t len, bool writable)
{
	uint32_t addr = bufnext;
	uint16_t d = next_desc[q]++ % QSZ, flags = writable ? 2 : 0;
	uint8_t *desc = ram + QBASE(q) + 16u * d;
	uint64_t a64 = addr;
	uint16_t zero = 0;

	bufnext += (len + 63) & ~63u;
	if (data)
		memcpy(ram + addr, data, len);
	memcpy(desc, &a64, 8);
	memcpy(desc + 8, &len, 4);
	memcpy(desc + 12, &flags, 2);
	memcpy(desc + 14, &zero, 2);
	memcpy(ram + QBASE(q) + 0x1000 + 4 + 2u * (avail_idx[q] % QSZ), &d, 2);
	avail_idx[q]++;
	memcpy(ram + QBASE(q) + 0x1000 + 2, &avail_idx[q], 2);
	return addr;
}

static void notify(unsigned q)
{
	mwr(M64 + 0x3000 + 4u * q, 2, q);
}

/* Next used entry of queue q: its buffer's address and length; false when
 * there is none. */
static bool used(unsigned q, uint32_t *addr, uint32_t *len)
{
	uint16_t idx = rd16(QBASE(q) + 0x2000 + 2);
	uint32_t id;
	uint64_t a;

	if (used_seen[q] == idx)
		return false;
	id = rd32(QBASE(q) + 0x2000 + 4 + 8u * (used_seen[q] % QSZ));
	*len = rd32(QBASE(q) + 0x2000 + 8 + 8u * (used_seen[q] % QSZ));
	memcpy(&a, ram + QBASE(q) + 16u * id, 8);
	*addr = (uint32_t)a;
	used_seen[q]++;
	return true;
}

static void send_ctrl(uint32_t id, uint16_t ev, uint16_t val)
{
	struct vtcon_msg m = { id, ev, val };
	uint8_t b[VTCON_MSG_SIZE];

	vtcon_msg_encode(&m, b);
	post(3, b, sizeof(b), false);
	notify(3);
	unit_pump(20);
}

/* The next control message the device sent. */
static void expect_ctrl(uint32_t id, uint16_t ev, uint16_t val,
    const char *name)
{
	uint32_t addr, len;
	struct vtcon_msg m;

	assert_true(used(2, &addr, &len));
	assert_true(vtcon_msg_decode(ram + addr, len, &m));
	assert_int_equal(m.id, id);
	assert_int_equal(m.event, ev);
	assert_int_equal(m.value, val);
	assert_int_equal(len, VTCON_MSG_SIZE + (name ? strlen(name) : 0));
	if (name)
		assert_memory_equal(ram + addr + 8, name, strlen(name));
}

static int setup(void **state)
{
	char opt[512];

	(void)state;
	unit_reset_globals();
	ram = calloc(1, RAM);
	memset(&fakevm, 0, sizeof(fakevm));
	fakevm.vm_fd = fakevm.kvm_fd = -1;
	fakevm.mem.r[0] = (struct mem_region){ 0, RAM, ram };
	fakevm.mem.nr = 1;
	fakevm.mem.lowmem = RAM;
	memset(avail_idx, 0, sizeof(avail_idx));
	memset(used_seen, 0, sizeof(used_seen));
	memset(next_desc, 0, sizeof(next_desc));
	bufnext = BUFS;
	strcpy(dir, "/tmp/bhyve-unit-vtcon-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(pa, sizeof(pa), "%s/a.sock", dir);
	snprintf(pb, sizeof(pb), "%s/b.sock", dir);
	snprintf(opt, sizeof(opt), "4,virtio-console,alpha=%s,beta=%s", pa, pb);
	if (pci_parse_slot(opt) != 0 || config_freeze() != 0 ||
	    pci_check() != 0 || pci_init(&fakevm) != 0) {
		fprintf(stderr, "setup: %s\n", last_error());
		return -1;
	}
	return unit_pump_init();
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	unit_pump_fini();
	unit_reset_globals();	/* pci_fini: the device closes its sockets */
	evloop_fini();
	free(ram);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The driver's side of initialisation: features, queues 0-5, DRIVER_OK. */
static void driver_init(void)
{
	pci_cfg_write(0, 4, 0, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	mwr(M64 + 0x14, 1, 1 | 2);
	mwr(M64 + 0x00, 4, 0);
	assert_true(mrd(M64 + 0x04, 4) & (1u << VTCON_F_MULTIPORT));
	mwr(M64 + 0x08, 4, 0);
	mwr(M64 + 0x0c, 4, 1u << VTCON_F_MULTIPORT);
	mwr(M64 + 0x08, 4, 1);
	mwr(M64 + 0x0c, 4, 1);		/* VERSION_1 */
	mwr(M64 + 0x14, 1, 1 | 2 | 8);
	assert_int_equal(mrd(M64 + 0x14, 1), 1 | 2 | 8);
	/* device config: cols 80, rows 25, max_nr_ports 16 */
	assert_int_equal(mrd(M64 + 0x2000, 2), 80);
	assert_int_equal(mrd(M64 + 0x2002, 2), 25);
	assert_int_equal(mrd(M64 + 0x2004, 4), 16);
	for (unsigned q = 0; q < 6; q++) {
		mwr(M64 + 0x16, 2, q);
		mwr(M64 + 0x18, 2, QSZ);
		mwr(M64 + 0x20, 8, QBASE(q));
		mwr(M64 + 0x28, 8, QBASE(q) + 0x1000);
		mwr(M64 + 0x30, 8, QBASE(q) + 0x2000);
		mwr(M64 + 0x1c, 2, 1);
	}
	mwr(M64 + 0x14, 1, 1 | 2 | 4 | 8);
	unit_pump(20);
}

static void test_device_end_to_end(void **state)
{
	uint32_t addr, len;
	char buf[64];
	int a;
	ssize_t n;

	(void)state;
	driver_init();
	/* Handshake: the ports and their names. */
	for (int i = 0; i < 4; i++)
		post(2, NULL, 64, true);
	notify(2);
	send_ctrl(0xffffffff, VTCON_DEVICE_READY, 1);
	expect_ctrl(0, VTCON_DEVICE_ADD, 1, NULL);
	expect_ctrl(0, VTCON_PORT_NAME, 1, "alpha");
	expect_ctrl(1, VTCON_DEVICE_ADD, 1, NULL);
	expect_ctrl(1, VTCON_PORT_NAME, 1, "beta");
	assert_false(used(2, &addr, &len));
	send_ctrl(0, VTCON_PORT_READY, 1);
	send_ctrl(1, VTCON_PORT_READY, 1);
	assert_false(used(2, &addr, &len));	/* no client: nothing */

	/* A client: PORT_OPEN 1, sent once the driver gives a buffer. */
	a = unit_unix_client(pa);
	assert_true(a >= 0);
	unit_pump(20);
	assert_false(used(2, &addr, &len));
	post(2, NULL, 64, true);
	notify(2);
	unit_pump(20);
	expect_ctrl(0, VTCON_PORT_OPEN, 1, NULL);

	/* Client data waits until a guest process opens the port. */
	assert_int_equal(send(a, "hello", 5, 0), 5);
	post(0, NULL, 64, true);
	notify(0);
	unit_pump(30);
	assert_false(used(0, &addr, &len));
	send_ctrl(0, VTCON_PORT_OPEN, 1);
	unit_pump(30);
	assert_true(used(0, &addr, &len));
	assert_int_equal(len, 5);
	assert_memory_equal(ram + addr, "hello", 5);

	/* Guest output reaches the client. */
	post(1, "world", 5, false);
	notify(1);
	unit_pump(20);
	assert_true(used(1, &addr, &len));
	n = recv(a, buf, sizeof(buf), MSG_DONTWAIT);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "world", 5);

	/* Hostile buffers: a tx buffer the device would write, an rx buffer
	 * it could only read: consumed, nothing written, nothing sent. */
	post(1, NULL, 16, true);
	notify(1);
	post(0, "xxxx", 4, false);
	notify(0);
	unit_pump(20);
	assert_true(used(1, &addr, &len));
	assert_int_equal(len, 0);
	assert_int_equal(recv(a, buf, sizeof(buf), MSG_DONTWAIT), -1);

	/* The client leaves: PORT_OPEN 0, into a buffer too small for it
	 * (the driver gets what fits). */
	post(2, NULL, 4, true);
	notify(2);
	close(a);
	unit_pump(30);
	assert_true(used(2, &addr, &len));
	assert_int_equal(len, 4);
	assert_int_equal(rd32(addr), 0);	/* id 0 */
	/* The device keeps working: a new client, PORT_OPEN 1. */
	post(2, NULL, 64, true);
	notify(2);
	a = unit_unix_client(pa);
	assert_true(a >= 0);
	unit_pump(30);
	expect_ctrl(0, VTCON_PORT_OPEN, 1, NULL);
	close(a);
	unit_pump(20);
	assert_int_equal(mrd(M64 + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

/* A client that does not read: the device takes guest output only while
 * the socket and its 64 KiB buffer have room; the rest stays queued in
 * the guest; reading lets it all through. */
static void test_device_stalled_client(void **state)
{
	static uint8_t chunk[65536];
	uint32_t addr, len;
	size_t total = 0, want;
	unsigned taken = 0;
	int b;

	(void)state;
	driver_init();
	for (int i = 0; i < 4; i++)
		post(2, NULL, 64, true);
	notify(2);
	send_ctrl(0, VTCON_DEVICE_READY, 1);
	send_ctrl(1, VTCON_PORT_READY, 1);
	b = unit_unix_client(pb);
	assert_true(b >= 0);
	unit_pump(20);
	memset(chunk, 'q', sizeof(chunk));
	/* 8 x 64 KiB = 512 KiB offered (port 1 transmits on queue 5). */
	for (unsigned i = 0; i < QSZ; i++)
		post(5, chunk, sizeof(chunk), false);
	notify(5);
	unit_pump(50);
	while (used(5, &addr, &len))
		taken++;
	assert_true(taken < QSZ);	/* some wait in the guest's queue */
	want = (size_t)QSZ * sizeof(chunk);
	for (int round = 0; round < 2000 && total < want; round++) {
		char sink[65536];
		ssize_t n = recv(b, sink, sizeof(sink), MSG_DONTWAIT);
		if (n > 0) {
			for (ssize_t k = 0; k < n; k++)
				assert_int_equal(sink[k], 'q');
			total += (size_t)n;
		}
		unit_pump(2);
	}
	assert_int_equal(total, want);
	while (used(5, &addr, &len))
		taken++;
	assert_int_equal(taken, QSZ);
	close(b);
}

int run_console_dev_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_device_end_to_end, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_device_stalled_client,
		    setup, teardown),
	};
	return cmocka_run_group_tests_name("console_dev", tests, NULL, NULL);
}
