/* virtio-console's control protocol: src/devices/vtcon_ctrl.c, and the
 * legacy -s option syntax. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "bus/pci.h"
#include "config.h"
#include "devices/vtcon_ctrl.h"

static struct vtcon_ctrl c;

static int setup(void **state)
{
	(void)state;
	memset(&c, 0, sizeof(c));
	unit_reset_globals();
	return 0;
}

static void send_msg(uint32_t id, uint16_t ev, uint16_t val)
{
	struct vtcon_msg m = { id, ev, val };
	uint8_t b[VTCON_MSG_SIZE];

	vtcon_msg_encode(&m, b);
	vtcon_ctrl_input(&c, b, sizeof(b));
}

/* Pop the next message for the driver and check it. */
static void expect(uint32_t id, uint16_t ev, uint16_t val, const char *name)
{
	uint8_t b[VTCON_MSG_MAX];
	struct vtcon_msg m;
	size_t n = vtcon_ctrl_peek(&c, b);

	assert_true(n >= VTCON_MSG_SIZE);
	assert_true(vtcon_msg_decode(b, n, &m));
	assert_int_equal(m.id, id);
	assert_int_equal(m.event, ev);
	assert_int_equal(m.value, val);
	if (name) {
		assert_int_equal(n, VTCON_MSG_SIZE + strlen(name));
		assert_memory_equal(b + VTCON_MSG_SIZE, name, strlen(name));
	} else {
		assert_int_equal(n, VTCON_MSG_SIZE);
	}
	vtcon_ctrl_pop(&c);
}

static void test_encoding(void **state)
{
	struct vtcon_msg m = { 0x04030201, 0x0605, 0x0807 }, d;
	uint8_t b[VTCON_MSG_SIZE];
	(void)state;

	vtcon_msg_encode(&m, b);
	for (int i = 0; i < 8; i++)
		assert_int_equal(b[i], i + 1);	/* little-endian */
	assert_true(vtcon_msg_decode(b, 8, &d));
	assert_int_equal(d.id, m.id);
	assert_int_equal(d.event, m.event);
	assert_int_equal(d.value, m.value);
	assert_false(vtcon_msg_decode(b, 7, &d));
	assert_false(vtcon_msg_decode(b, 0, &d));
}

static void test_handshake(void **state)
{
	uint8_t b[VTCON_MSG_MAX];
	(void)state;

	assert_int_equal(vtcon_ctrl_add_port(&c, 0, "alpha"), 0);
	assert_int_equal(vtcon_ctrl_add_port(&c, 3, "beta"), 0);
	vtcon_ctrl_start(&c, true);
	assert_int_equal(vtcon_ctrl_peek(&c, b), 0);
	/* Linux's DEVICE_READY carries id 0xffffffff. */
	send_msg(0xffffffff, VTCON_DEVICE_READY, 1);
	expect(0, VTCON_DEVICE_ADD, 1, NULL);
	expect(0, VTCON_PORT_NAME, 1, "alpha");
	expect(3, VTCON_DEVICE_ADD, 1, NULL);
	expect(3, VTCON_PORT_NAME, 1, "beta");
	assert_int_equal(vtcon_ctrl_peek(&c, b), 0);

	/* Port 0 ready with no peer: nothing to say. */
	send_msg(0, VTCON_PORT_READY, 1);
	assert_int_equal(vtcon_ctrl_peek(&c, b), 0);
	vtcon_ctrl_host_open(&c, 0, true);
	expect(0, VTCON_PORT_OPEN, 1, NULL);
	/* A peer on port 3 before the guest has it: told at PORT_READY. */
	vtcon_ctrl_host_open(&c, 3, true);
	assert_int_equal(vtcon_ctrl_peek(&c, b), 0);
	send_msg(3, VTCON_PORT_READY, 1);
	expect(3, VTCON_PORT_OPEN, 1, NULL);

	/* Data flows only to ports a guest process has open. */
	assert_false(vtcon_ctrl_can_rx(&c, 0));
	send_msg(0, VTCON_PORT_OPEN, 1);
	assert_true(vtcon_ctrl_can_rx(&c, 0));
	assert_false(vtcon_ctrl_can_rx(&c, 3));
	send_msg(0, VTCON_PORT_OPEN, 0);
	assert_false(vtcon_ctrl_can_rx(&c, 0));

	/* Host side disconnect. */
	vtcon_ctrl_host_open(&c, 3, false);
	expect(3, VTCON_PORT_OPEN, 0, NULL);
	assert_int_equal(c.ignored, 0);

	/* A driver reset forgets the guest's side only. */
	vtcon_ctrl_reset(&c);
	assert_false(vtcon_ctrl_can_rx(&c, 0));
	assert_true(c.port[0].host_open);
	vtcon_ctrl_start(&c, true);
	send_msg(0xffffffff, VTCON_DEVICE_READY, 1);
	expect(0, VTCON_DEVICE_ADD, 1, NULL);
	expect(0, VTCON_PORT_NAME, 1, "alpha");
	expect(3, VTCON_DEVICE_ADD, 1, NULL);
	expect(3, VTCON_PORT_NAME, 1, "beta");
	send_msg(0, VTCON_PORT_READY, 1);
	expect(0, VTCON_PORT_OPEN, 1, NULL);
}

static void test_open_messages_merge(void **state)
{
	uint8_t b[VTCON_MSG_MAX];
	(void)state;

	assert_int_equal(vtcon_ctrl_add_port(&c, 1, "p"), 0);
	vtcon_ctrl_start(&c, true);
	send_msg(0, VTCON_DEVICE_READY, 1);
	expect(1, VTCON_DEVICE_ADD, 1, NULL);
	expect(1, VTCON_PORT_NAME, 1, "p");
	send_msg(1, VTCON_PORT_READY, 1);
	/* A peer that connects and leaves 1001 times while the driver
	 * posts no buffers: one pending message with the last state. */
	for (int i = 0; i < 1001; i++)
		vtcon_ctrl_host_open(&c, 1, i % 2 == 0);
	assert_int_equal(c.qlen, 1);
	expect(1, VTCON_PORT_OPEN, 1, NULL);
	assert_int_equal(vtcon_ctrl_peek(&c, b), 0);
	/* Repeated DEVICE_READY does not grow the queue. */
	for (int i = 0; i < 100; i++)
		send_msg(0, VTCON_DEVICE_READY, 1);
	assert_int_equal(c.qlen, 2);
}

static void test_hostile_messages(void **state)
{
	uint8_t b[VTCON_MSG_MAX];
	(void)state;

	assert_int_equal(vtcon_ctrl_add_port(&c, 0, "a"), 0);
	vtcon_ctrl_start(&c, true);
	/* Before DEVICE_READY, port messages are ignored. */
	send_msg(0, VTCON_PORT_READY, 1);
	send_msg(0, VTCON_PORT_OPEN, 1);
	assert_int_equal(c.ignored, 2);
	assert_false(c.port[0].guest_ready);
	send_msg(0, VTCON_DEVICE_READY, 1);
	expect(0, VTCON_DEVICE_ADD, 1, NULL);
	expect(0, VTCON_PORT_NAME, 1, "a");
	c.ignored = 0;
	/* Short, unknown ids, unconfigured ports, host-only events. */
	vtcon_ctrl_input(&c, b, 0);
	vtcon_ctrl_input(&c, (const uint8_t *)"\3\0\0\0\3\0", 6);
	send_msg(16, VTCON_PORT_READY, 1);
	send_msg(0xffffffff, VTCON_PORT_READY, 1);
	send_msg(1, VTCON_PORT_READY, 1);
	send_msg(0, VTCON_PORT_OPEN, 1);	/* not ready yet */
	send_msg(0, VTCON_DEVICE_ADD, 1);
	send_msg(0, VTCON_PORT_NAME, 1);
	send_msg(0, VTCON_CONSOLE_PORT, 1);
	send_msg(0, 0xffff, 0xffff);
	assert_int_equal(c.ignored, 10);
	assert_int_equal(vtcon_ctrl_peek(&c, b), 0);
	assert_false(c.port[0].guest_ready);
	assert_false(vtcon_ctrl_can_rx(&c, 0));
	/* A longer buffer is fine: the header counts. */
	{
		uint8_t big[64] = { 0, 0, 0, 0, VTCON_PORT_READY, 0, 1, 0 };
		vtcon_ctrl_input(&c, big, sizeof(big));
		assert_true(c.port[0].guest_ready);
	}
	/* DEVICE_READY 0: the driver failed; nothing more is accepted. */
	send_msg(0, VTCON_DEVICE_READY, 0);
	assert_false(c.ready);
	assert_int_equal(vtcon_ctrl_peek(&c, b), 0);
}

static void test_no_multiport(void **state)
{
	(void)state;
	assert_int_equal(vtcon_ctrl_add_port(&c, 0, "a"), 0);
	assert_int_equal(vtcon_ctrl_add_port(&c, 1, "b"), 0);
	vtcon_ctrl_start(&c, false);
	assert_true(vtcon_ctrl_can_rx(&c, 0));
	assert_false(vtcon_ctrl_can_rx(&c, 1));
	send_msg(0, VTCON_DEVICE_READY, 1);
	assert_int_equal(c.ignored, 1);
	assert_int_equal(c.qlen, 0);
	vtcon_ctrl_host_open(&c, 0, true);
	assert_int_equal(c.qlen, 0);
}

static void test_add_port_errors(void **state)
{
	char longname[VTCON_NAME_MAX + 2];
	(void)state;

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(vtcon_ctrl_add_port(&c, 16, "x"), -1);
	assert_non_null(strstr(last_error(), "16"));
	assert_int_equal(vtcon_ctrl_add_port(&c, 2, ""), -1);
	assert_int_equal(vtcon_ctrl_add_port(&c, 2, longname), -1);
	longname[VTCON_NAME_MAX] = '\0';
	assert_int_equal(vtcon_ctrl_add_port(&c, 2, longname), 0);
	assert_int_equal(vtcon_ctrl_add_port(&c, 2, "again"), -1);
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* A random, hostile driver against the invariants. */
static void test_random_driver(void **state)
{
	static const char *names[] = { "a", "port.one", "x" };
	static const unsigned ids[] = { 0, 5, 15 };
	uint8_t b[VTCON_MSG_MAX + 8];
	unsigned sent = 0;
	(void)state;

	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(vtcon_ctrl_add_port(&c, ids[i], names[i]), 0);
	vtcon_ctrl_start(&c, true);
	for (int step = 0; step < 200000; step++) {
		uint32_t r = rnd() % 100;
		if (r < 50) {
			size_t len = rnd() % 14;
			for (size_t k = 0; k < len; k++)
				b[k] = (uint8_t)rnd();
			if (len >= 8 && rnd() % 2) {
				/* plausible: small id and event */
				b[0] = (uint8_t)(rnd() % 18);
				b[1] = b[2] = b[3] = 0;
				b[4] = (uint8_t)(rnd() % 9);
				b[5] = 0;
				b[6] = (uint8_t)(rnd() % 3);
				b[7] = 0;
			}
			vtcon_ctrl_input(&c, b, len);
		} else if (r < 70) {
			vtcon_ctrl_host_open(&c, rnd() % 18, rnd() % 2);
		} else if (r < 97) {
			size_t n = vtcon_ctrl_peek(&c, b);
			struct vtcon_msg m;
			if (n == 0) {
				assert_int_equal(c.qlen, 0);
				continue;
			}
			assert_true(n <= VTCON_MSG_MAX);
			assert_true(vtcon_msg_decode(b, n, &m));
			assert_true(m.id < VTCON_MAXPORTS);
			assert_true(c.port[m.id].enabled);
			assert_true(m.event == VTCON_DEVICE_ADD ||
			    m.event == VTCON_PORT_NAME ||
			    m.event == VTCON_PORT_OPEN);
			if (m.event == VTCON_PORT_NAME) {
				const char *nm = c.port[m.id].name;
				assert_int_equal(n, VTCON_MSG_SIZE + strlen(nm));
				assert_memory_equal(b + 8, nm, strlen(nm));
			} else {
				assert_int_equal(n, VTCON_MSG_SIZE);
			}
			assert_true(m.value <= 1);
			vtcon_ctrl_pop(&c);
			sent++;
		} else if (r < 99) {
			vtcon_ctrl_reset(&c);
			vtcon_ctrl_start(&c, true);
		} else {
			vtcon_ctrl_pop(&c);
		}
		assert_true(c.qlen <= VTCON_CTRLQ_MAX);
		for (unsigned p = 0; p < VTCON_MAXPORTS; p++) {
			if (vtcon_ctrl_can_rx(&c, p))
				assert_true(c.port[p].enabled &&
				    c.port[p].guest_ready);
			if (!c.port[p].enabled)
				assert_false(c.port[p].guest_ready ||
				    c.port[p].host_open);
		}
	}
	/* The driver did get through the handshake many times. */
	assert_true(sent > 1000);
}

/* The legacy "-s slot,virtio-console,name=/path,..." syntax. */
static void test_legacy_syntax(void **state)
{
	char opt[2048];
	int n;
	(void)state;

	assert_int_equal(pci_parse_slot("4,virtio-console,a=/tmp/a.sock,"
	    "b.c=/tmp/b.sock"), 0);
	assert_string_equal(config_get("pci.0.4.0.port.0.name"), "a");
	assert_string_equal(config_get("pci.0.4.0.port.0.path"),
	    "/tmp/a.sock");
	assert_string_equal(config_get("pci.0.4.0.port.1.name"), "b.c");
	assert_string_equal(config_get("pci.0.4.0.port.1.path"),
	    "/tmp/b.sock");
	assert_null(config_get("pci.0.4.0.port.2.name"));

	/* A name without a path. */
	assert_int_equal(pci_parse_slot("5,virtio-console,a"), -1);
	assert_non_null(strstr(last_error(), "'a'"));
	assert_int_equal(pci_parse_slot("6,virtio-console,a=/x,,b=/y"), -1);
	/* 16 ports fit, 17 do not. */
	n = snprintf(opt, sizeof(opt), "7,virtio-console");
	for (int i = 0; i < 16; i++)
		n += snprintf(opt + n, sizeof(opt) - (size_t)n, ",p%d=/s%d",
		    i, i);
	assert_int_equal(pci_parse_slot(opt), 0);
	assert_string_equal(config_get("pci.0.7.0.port.15.name"), "p15");
	snprintf(opt + n, sizeof(opt) - (size_t)n, ",p16=/s16");
	opt[0] = '8';
	assert_int_equal(pci_parse_slot(opt), -1);
	assert_non_null(strstr(last_error(), "16"));
}

int run_console_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_encoding, setup),
		cmocka_unit_test_setup(test_handshake, setup),
		cmocka_unit_test_setup(test_open_messages_merge, setup),
		cmocka_unit_test_setup(test_hostile_messages, setup),
		cmocka_unit_test_setup(test_no_multiport, setup),
		cmocka_unit_test_setup(test_add_port_errors, setup),
		cmocka_unit_test_setup(test_random_driver, setup),
		cmocka_unit_test_setup(test_legacy_syntax, setup),
	};
	return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
