/* Network backend and virtio-net: src/backends/net.c (MAC derivation and
 * parsing, MTU, hostfwd rules, backend selection, header conversion and
 * length bounds), net_slirp.c (an ARP exchange with libslirp), and the
 * virtio-net receive/transmit paths under a hostile driver (net_vtnet.c in
 * this directory). */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "backends/evloop.h"
#include "backends/net.h"
#include "backends/net_priv.h"
#include "bus/pci.h"
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

static void mac_is(const uint8_t *m, const char *want)
{
	char s[32];

	snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
	    m[2], m[3], m[4], m[5]);
	assert_string_equal(s, want);
}

/* Expected values: printf '4-0-e2evm' | md5sum -> 4f3343..., i.e. what
 * FreeBSD's net_genmac() hashes ("%d-%d-%s" of slot, function, VM name). */
static void test_genmac(void **state)
{
	uint8_t m[6];

	(void)state;
	net_genmac(4, 0, "e2evm", m);
	mac_is(m, "58:9c:fc:4f:33:43");
	net_genmac(2, 0, "vm1", m);
	mac_is(m, "58:9c:fc:27:a7:18");
	net_genmac(3, 1, "testvm", m);
	mac_is(m, "58:9c:fc:90:84:37");
	net_genmac(31, 7, "a.b:c", m);
	mac_is(m, "58:9c:fc:fc:24:8c");
}

static void test_parsemac(void **state)
{
	static const char *const bad[] = {
		"", "00:11:22:33:44", "00:11:22:33:44:55:66", "001:1:2:3:4:5",
		"zz:11:22:33:44:55", "00-11-22-33-44-55", "00:11:22:33:44:55 ",
		"01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00",
		"00::22:33:44:55", ":00:11:22:33:44",
	};
	uint8_t m[6];

	(void)state;
	assert_int_equal(net_parsemac("00:be:fa:76:45:00", m), 0);
	mac_is(m, "00:be:fa:76:45:00");
	assert_int_equal(net_parsemac("2:A:b:3:4:5", m), 0);
	mac_is(m, "02:0a:0b:03:04:05");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(m, 0xee, 6);
		if (net_parsemac(bad[i], m) == 0)
			fail_msg("MAC '%s' accepted", bad[i]);
		assert_non_null(strstr(last_error(), bad[i]));
		mac_is(m, "ee:ee:ee:ee:ee:ee");
	}
}

static void test_parsemtu(void **state)
{
	static const char *const bad[] = {
		"45", "65536", "-1", "", "abc", "1500x", "0", "99999999999",
	};
	unsigned mtu = 0;

	(void)state;
	assert_int_equal(net_parsemtu("46", 46, 65535, &mtu), 0);
	assert_int_equal(mtu, 46);
	assert_int_equal(net_parsemtu("65535", 46, 65535, &mtu), 0);
	assert_int_equal(mtu, 65535);
	assert_int_equal(net_parsemtu("0x5dc", 46, 65535, &mtu), 0);
	assert_int_equal(mtu, 1500);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		mtu = 7;
		if (net_parsemtu(bad[i], 46, 65535, &mtu) == 0)
			fail_msg("MTU '%s' accepted", bad[i]);
		assert_int_equal(mtu, 7);
		assert_non_null(strstr(last_error(), "invalid MTU"));
	}
}

static void test_hostfwd(void **state)
{
	static const char *const bad[] = {
		"", "tcp", "sctp::1-:2", "tcp:8080-:80", "tcp::70000-:80",
		"tcp::80", "tcp:1.2.3:80-:80", "tcp::8a-:80", "tcp::80-:+1",
		"TCP::80-:80", "tcp::80-10.0.2.15", "tcp::-1-:80",
	};
	struct net_hostfwd h;

	(void)state;
	assert_int_equal(net_parse_hostfwd("tcp::8080-:80", &h), 0);
	assert_false(h.udp);
	assert_int_equal(h.haddr, htonl(INADDR_ANY));
	assert_int_equal(ntohs(h.hport), 8080);
	assert_int_equal(h.gaddr, htonl(INADDR_ANY));
	assert_int_equal(ntohs(h.gport), 80);
	assert_int_equal(net_parse_hostfwd("udp:127.0.0.1:5353-10.0.2.15:53",
	    &h), 0);
	assert_true(h.udp);
	assert_int_equal(h.haddr, htonl(0x7f000001));
	assert_int_equal(ntohs(h.hport), 5353);
	assert_int_equal(h.gaddr, htonl(0x0a00020f));
	assert_int_equal(ntohs(h.gport), 53);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (net_parse_hostfwd(bad[i], &h) == 0)
			fail_msg("rule '%s' accepted", bad[i]);
		assert_non_null(strstr(last_error(), "invalid hostfwd rule"));
	}
}

static void check_msg(const char *backend, const char *type,
    const char *want)
{
	config_reset();
	assert_int_equal(config_set("pci.0.4.0.backend", backend), 0);
	if (type)
		assert_int_equal(config_set("pci.0.4.0.type", type), 0);
	if (netbe_check("pci.0.4.0") == 0)
		fail_msg("backend '%s' accepted", backend);
	if (strstr(last_error(), want) == NULL)
		fail_msg("backend '%s': message '%s' lacks '%s'", backend,
		    last_error(), want);
}

static void test_backend_select(void **state)
{
	(void)state;
	check_msg("netgraph", NULL,
	    "pci.0.4.0.backend: network backend 'netgraph' is not available "
	    "on Linux");
	check_msg("netmap:em0", NULL, "not available on Linux");
	check_msg("vale0:1", NULL, "not available on Linux");
	check_msg("foo0", NULL, "unknown network backend 'foo0'");
	check_msg("tap0", "bogus", "pci.0.4.0.type: unknown network backend");
	check_msg("tapnosuch97", NULL,
	    "tap interface 'tapnosuch97' does not exist");
	check_msg("vmnetnosuch9", NULL, "'vmnetnosuch9' does not exist");
	check_msg("tap0/../x", NULL, "invalid tap interface name");
	config_reset();
	config_set("pci.0.4.0.backend", "slirp");
	config_set("pci.0.4.0.hostfwd", "tcp::2222-:22;udp::80");
	assert_int_equal(netbe_check("pci.0.4.0"), -1);
	assert_non_null(strstr(last_error(),
	    "pci.0.4.0.hostfwd: invalid hostfwd rule 'udp::80'"));
	config_set("pci.0.4.0.hostfwd", "tcp::2222-:22;udp::5353-:53");
	assert_int_equal(netbe_check("pci.0.4.0"), 0);
	config_set("pci.0.4.0.open", "perhaps");
	assert_int_equal(netbe_check("pci.0.4.0"), -1);
	assert_non_null(strstr(last_error(), "perhaps"));
}

/* The virtio-net model's check hook, through pci_check(): bad values are
 * found before any VM exists. */
static void test_device_check(void **state)
{
	(void)state;
	assert_int_equal(pci_parse_slot(
	    "4,virtio-net,slirp,mac=00:00:00:00:00:00"), 0);
	assert_int_equal(pci_check(), -1);
	assert_non_null(strstr(last_error(),
	    "pci.0.4.0.mac: invalid MAC address '00:00:00:00:00:00'"));
	unit_reset_globals();
	assert_int_equal(pci_parse_slot("4:1,virtio-net,slirp,mtu=70000"), 0);
	assert_int_equal(pci_check(), -1);
	assert_non_null(strstr(last_error(), "pci.0.4.1.mtu: invalid MTU"));
	unit_reset_globals();
	assert_int_equal(pci_parse_slot("2:3:1,virtio-net,netgraph,path=a:,"
	    "peerhook=b"), 0);
	assert_int_equal(pci_check(), -1);
	assert_non_null(strstr(last_error(), "pci.2.3.1.backend"));
	unit_reset_globals();
	assert_int_equal(pci_parse_slot("4,virtio-net,slirp,mtu=9000,"
	    "mac=02:01:02:03:04:05,hostfwd=tcp::2222-:22"), 0);
	assert_int_equal(pci_parse_slot("5,virtio-net"), 0);
	assert_int_equal(pci_check(), 0);
}

/* ---- header conversion with a fake backend ---- */

static struct {
	uint8_t sent[NETBE_MAX_HDR + NETBE_MAX_FRAME + 64];
	size_t sent_len;
	int sends;
	uint8_t rx[NETBE_MAX_HDR + NETBE_MAX_FRAME + 64];
	size_t rx_len;
	unsigned hdr;
	bool bounced;		/* a frame waits in a "bounce buffer" */
} fake;

static int fake_open(struct netbe *be, const char *node, const char *dev)
{
	(void)node;
	(void)dev;
	be->be_hdr_len = fake.hdr;
	return 0;
}

static void fake_close(struct netbe *be)
{
	(void)be;
}

static ssize_t fake_send(struct netbe *be, const struct iovec *iov, int n)
{
	(void)be;
	fake.sent_len = 0;
	fake.sends++;
	for (int i = 0; i < n; i++) {
		memcpy(fake.sent + fake.sent_len, iov[i].iov_base,
		    iov[i].iov_len);
		fake.sent_len += iov[i].iov_len;
	}
	return (ssize_t)fake.sent_len;
}

static ssize_t fake_peek(struct netbe *be, const uint8_t **f)
{
	(void)be;
	*f = fake.rx;
	return (ssize_t)fake.rx_len;
}

static void fake_consume(struct netbe *be)
{
	(void)be;
	fake.rx_len = 0;
}

/* As a tap's readv: what fits, and the frame's whole length. */
static ssize_t fake_recv_direct(struct netbe *be, const struct iovec *iov,
    int n)
{
	size_t off = 0, len = fake.rx_len;

	(void)be;
	if (fake.bounced)
		return -2;
	for (int i = 0; i < n && off < len; i++) {
		size_t k = len - off < iov[i].iov_len ? len - off :
		    iov[i].iov_len;
		memcpy(iov[i].iov_base, fake.rx + off, k);
		off += k;
	}
	fake.rx_len = 0;
	return (ssize_t)len;
}

static void fake_rx_enable(struct netbe *be, bool on)
{
	(void)be;
	(void)on;
}

static uint64_t fake_get_cap(struct netbe *be)
{
	return be->be_hdr_len ? NETBE_F_CSUM : 0;
}

static int fake_set_cap(struct netbe *be, uint64_t f, unsigned hdr_len)
{
	(void)f;
	if (be->be_hdr_len)
		be->be_hdr_len = hdr_len;
	return 0;
}

static const struct netbe_ops fake_ops = {
	.prefix = "fake", .open = fake_open, .close = fake_close,
	.send = fake_send, .peek = fake_peek, .consume = fake_consume,
	.recv_direct = fake_recv_direct, .rx_enable = fake_rx_enable,
	.get_cap = fake_get_cap, .set_cap = fake_set_cap,
};

static struct netbe *fake_be(unsigned be_hdr, unsigned fe_hdr)
{
	struct netbe *be;

	memset(&fake, 0, sizeof(fake));
	fake.hdr = be_hdr;
	assert_int_equal(netbe_open_ops(&be, &fake_ops, "n", "fake0", evloop_main(), NULL,
	    NULL), 0);
	assert_int_equal(netbe_set_cap(be, 0, fe_hdr), 0);
	return be;
}

static void test_send_headers(void **state)
{
	uint8_t frame[12 + 60];
	struct iovec iov[3];
	struct netbe *be;

	(void)state;
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i + 1);
	/* frontend 12, backend none: the header is stripped, even when
	 * split over iovecs */
	be = fake_be(0, 12);
	iov[0] = (struct iovec){ frame, 5 };
	iov[1] = (struct iovec){ frame + 5, 10 };
	iov[2] = (struct iovec){ frame + 15, sizeof(frame) - 15 };
	assert_int_equal(netbe_send(be, iov, 3), sizeof(frame));
	assert_int_equal(fake.sent_len, 60);
	assert_memory_equal(fake.sent, frame + 12, 60);
	netbe_close(be);
	/* frontend 12, backend 12: passed through */
	be = fake_be(10, 12);
	assert_int_equal(netbe_send(be, iov, 3), sizeof(frame));
	assert_int_equal(fake.sent_len, sizeof(frame));
	assert_memory_equal(fake.sent, frame, sizeof(frame));
	netbe_close(be);
	/* frontend none (e1000), backend 10: a zero header is added */
	be = fake_be(10, 0);
	iov[0] = (struct iovec){ frame, 60 };
	assert_int_equal(netbe_send(be, iov, 1), 60);
	assert_int_equal(fake.sent_len, 70);
	assert_memory_equal(fake.sent + 10, frame, 60);
	for (int i = 0; i < 10; i++)
		assert_int_equal(fake.sent[i], 0);
	/* runts and giants are dropped before the backend sees them */
	fake.sends = 0;
	iov[0] = (struct iovec){ frame, 13 };
	assert_int_equal(netbe_send(be, iov, 1), -1);
	iov[0] = (struct iovec){ fake.rx, NETBE_MAX_FRAME + 1 };
	assert_int_equal(netbe_send(be, iov, 1), -1);
	assert_int_equal(netbe_send(be, iov, -1), -1);
	assert_int_equal(netbe_send(be, iov, NETBE_MAX_IOV + 1), -1);
	assert_int_equal(fake.sends, 0);
	iov[0] = (struct iovec){ fake.rx, NETBE_MAX_FRAME };
	assert_int_equal(netbe_send(be, iov, 1), NETBE_MAX_FRAME);
	netbe_close(be);
	/* frontend 12 over a headerless backend: header plus a runt */
	be = fake_be(0, 12);
	iov[0] = (struct iovec){ frame, 12 + 13 };
	assert_int_equal(netbe_send(be, iov, 1), -1);
	netbe_close(be);
	/* bad header lengths are refused */
	be = fake_be(0, 0);
	assert_int_equal(netbe_set_cap(be, 0, 11), -1);
	assert_int_equal(netbe_set_cap(be, NETBE_F_CSUM, 12), -1);
	netbe_close(be);
}

static void test_recv_headers(void **state)
{
	uint8_t out[200], *f;
	struct iovec iov[3];
	struct netbe *be;

	(void)state;
	/* backend without header, frontend 12: zero header prepended,
	 * split across iovecs */
	be = fake_be(0, 12);
	fake.rx_len = 60;
	for (int i = 0; i < 60; i++)
		fake.rx[i] = (uint8_t)(0x80 + i);
	assert_int_equal(netbe_peek_recvlen(be), 72);
	memset(out, 0xee, sizeof(out));
	iov[0] = (struct iovec){ out, 7 };
	iov[1] = (struct iovec){ out + 7, 20 };
	iov[2] = (struct iovec){ out + 27, 100 };
	assert_int_equal(netbe_recv(be, iov, 3), 72);
	for (int i = 0; i < 12; i++)
		assert_int_equal(out[i], 0);
	assert_memory_equal(out + 12, fake.rx, 60);
	assert_int_equal(out[72], 0xee);
	assert_int_equal(netbe_peek_recvlen(be), 0);
	assert_int_equal(netbe_recv(be, iov, 3), 0);
	netbe_close(be);
	/* backend 10 (a tap), frontend none: the header is stripped */
	be = fake_be(10, 0);
	fake.rx_len = 70;
	f = fake.rx;
	memset(f, 0x11, 10);
	memset(f + 10, 0x22, 60);
	iov[0] = (struct iovec){ out, sizeof(out) };
	assert_int_equal(netbe_recv(be, iov, 1), 60);
	assert_int_equal(out[0], 0x22);
	assert_int_equal(out[59], 0x22);
	/* a too-small buffer gets what fits */
	fake.rx_len = 70;
	iov[0] = (struct iovec){ out, 20 };
	assert_int_equal(netbe_recv(be, iov, 1), 20);
	assert_int_equal(netbe_peek_recvlen(be), 0);
	/* runt and giant frames from the backend are dropped */
	fake.rx_len = 10 + 13;
	assert_int_equal(netbe_peek_recvlen(be), 0);
	fake.rx_len = 10 + NETBE_MAX_FRAME + 1;
	assert_int_equal(netbe_peek_recvlen(be), 0);
	assert_int_equal(be->stat_rx_drop, 2);
	netbe_close(be);
	/* an unconnected interface: sends vanish, nothing arrives */
	iov[0] = (struct iovec){ out, 60 };
	assert_int_equal(netbe_send(NULL, iov, 1), 60);
	assert_int_equal(netbe_peek_recvlen(NULL), 0);
	assert_int_equal(netbe_recv(NULL, iov, 1), 0);
}

/* ---- slirp: the guest asks for the gateway's MAC ---- */

static void test_slirp_arp(void **state)
{
	static const uint8_t guest[6] = { 0x58, 0x9c, 0xfc, 1, 2, 3 };
	uint8_t req[42] = { 0 }, *p = req, out[128];
	struct iovec iov = { req, sizeof(req) };
	struct netbe *be;
	ssize_t n;

	(void)state;
	config_set("pci.0.4.0.backend", "slirp");
	config_set("pci.0.4.0.hostfwd", "tcp:127.0.0.1:0-:22");
	assert_int_equal(netbe_open(&be, "pci.0.4.0", evloop_main(), NULL, NULL), 0);
	memset(p, 0xff, 6);			/* broadcast */
	memcpy(p + 6, guest, 6);
	p[12] = 0x08; p[13] = 0x06;		/* ARP */
	p += 14;
	p[1] = 1; p[2] = 0x08; p[4] = 6; p[5] = 4; p[7] = 1; /* request */
	memcpy(p + 8, guest, 6);
	p[14] = 10; p[15] = 0; p[16] = 2; p[17] = 15;	/* 10.0.2.15 */
	p[24] = 10; p[25] = 0; p[26] = 2; p[27] = 2;	/* who has .2 */
	assert_int_equal(netbe_set_cap(be, 0, 12), 0);
	assert_int_equal(netbe_peek_recvlen(be), 0);
	{
		uint8_t with_hdr[12 + 42] = { 0 };
		struct iovec v = { with_hdr, sizeof(with_hdr) };
		memcpy(with_hdr + 12, req, 42);
		assert_int_equal(netbe_send(be, &v, 1), sizeof(with_hdr));
	}
	n = netbe_peek_recvlen(be);
	assert_true(n >= 12 + 42);
	iov = (struct iovec){ out, sizeof(out) };
	assert_int_equal(netbe_recv(be, &iov, 1), n);
	assert_memory_equal(out + 12, guest, 6);	/* to the guest */
	assert_int_equal(out[12 + 12], 0x08);
	assert_int_equal(out[12 + 13], 0x06);
	assert_int_equal(out[12 + 14 + 7], 2);		/* a reply */
	assert_int_equal(out[12 + 14 + 14 + 3], 2);	/* from 10.0.2.2 */
	netbe_close(be);
	/* a port already taken is a clear error naming the rule */
	{
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof(a);
		char rule[64];
		int s = socket(AF_INET, SOCK_STREAM, 0);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_true(s >= 0);
		assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(listen(s, 1), 0);
		assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
		snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%u-:22",
		    ntohs(a.sin_port));
		unit_reset_globals();
		config_set("pci.0.4.0.backend", "slirp");
		config_set("pci.0.4.0.hostfwd", rule);
		assert_int_equal(netbe_open(&be, "pci.0.4.0", evloop_main(), NULL, NULL), -1);
		if (strstr(last_error(), rule) == NULL)
			fail_msg("message '%s' lacks '%s'", last_error(), rule);
		close(s);
	}
}

/* Direct receive: only with the frontend's header as the backend's and
 * room for the largest frame; runts and giants are dropped, counted. */
static void test_recv_direct(void **state)
{
	static uint8_t buf[NETBE_DIRECT_ROOM + 100];
	struct iovec iov[3];
	struct netbe *be;

	(void)state;
	iov[0] = (struct iovec){ buf, 5 };	/* the header split */
	iov[1] = (struct iovec){ buf + 5, 1000 };
	iov[2] = (struct iovec){ buf + 1005, NETBE_DIRECT_ROOM - 1005 };
	/* header lengths differ (a backend without one, a frontend
	 * without one): not direct */
	be = fake_be(0, 12);
	assert_false(netbe_can_direct(be));
	fake.rx_len = 70;
	assert_int_equal(netbe_recv_direct(be, iov, 3), NETBE_USE_RECV);
	assert_int_equal(fake.rx_len, 70);
	netbe_close(be);
	be = fake_be(10, 0);
	assert_false(netbe_can_direct(be));
	netbe_close(be);
	be = fake_be(12, 12);
	assert_true(netbe_can_direct(be));
	/* none waiting */
	assert_int_equal(netbe_recv_direct(be, iov, 3), 0);
	/* a frame: as read, header and all */
	for (int i = 0; i < 12 + 1500; i++)
		fake.rx[i] = (uint8_t)(i * 7);
	fake.rx_len = 12 + 1500;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(netbe_recv_direct(be, iov, 3), 12 + 1500);
	assert_memory_equal(buf, fake.rx, 12 + 1500);
	assert_int_equal(buf[12 + 1500], 0xee);
	/* the largest frame fits */
	fake.rx_len = 12 + NETBE_MAX_FRAME;
	assert_int_equal(netbe_recv_direct(be, iov, 3), 12 + NETBE_MAX_FRAME);
	/* too little room offered, or a frame in the bounce buffer: the
	 * other way, and the frame stays */
	fake.rx_len = 100;
	iov[2].iov_len--;
	assert_int_equal(netbe_recv_direct(be, iov, 3), NETBE_USE_RECV);
	iov[2].iov_len++;
	fake.bounced = true;
	assert_int_equal(netbe_recv_direct(be, iov, 3), NETBE_USE_RECV);
	assert_int_equal(fake.rx_len, 100);
	fake.bounced = false;
	assert_int_equal(netbe_recv_direct(be, iov, -1), NETBE_USE_RECV);
	assert_int_equal(netbe_recv_direct(be, iov, NETBE_MAX_IOV + 1),
	    NETBE_USE_RECV);
	/* a runt and a giant (readv reports the whole length): dropped */
	assert_int_equal(be->stat_rx_drop, 0);
	fake.rx_len = 12 + 13;
	assert_int_equal(netbe_recv_direct(be, iov, 3), NETBE_DROPPED);
	fake.rx_len = 12 + NETBE_MAX_FRAME + 1;
	assert_int_equal(netbe_recv_direct(be, iov, 3), NETBE_DROPPED);
	assert_int_equal(be->stat_rx_drop, 2);
	netbe_close(be);
	assert_false(netbe_can_direct(NULL));
	assert_int_equal(netbe_recv_direct(NULL, iov, 3), NETBE_USE_RECV);
}

int run_net_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_genmac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parsemac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parsemtu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostfwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_select, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_device_check, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_send_headers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recv_direct, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recv_headers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_slirp_arp, setup, teardown),
	};
	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
