/* Unix socket backend: src/backends/sock.c, driven through the real event
 * loop on a temporary directory. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "backends/evloop.h"
#include "backends/sock.h"

struct rec {
	struct sockbe *s;
	int connected, disconnected, readable, writable;
	bool pause_reads;	/* readable: pause instead of reading */
	char in[256 * 1024];
	size_t nin;
	bool eof;
};

static struct rec rec;
static char dir[64], path[128];

static void on_connected(void *a) { ((struct rec *)a)->connected++; }
static void on_disconnected(void *a) { ((struct rec *)a)->disconnected++; }
static void on_writable(void *a) { ((struct rec *)a)->writable++; }

static void on_readable(void *a)
{
	struct rec *r = a;

	r->readable++;
	if (r->pause_reads) {
		sockbe_rx_enable(r->s, false);
		return;
	}
	for (;;) {
		struct iovec iov = { r->in + r->nin, sizeof(r->in) - r->nin };
		ssize_t n = sockbe_readv(r->s, &iov, 1);
		if (n < 0)
			r->eof = true;
		if (n <= 0)
			break;
		r->nin += (size_t)n;
	}
}

static const struct sockbe_ops ops = {
	on_connected, on_disconnected, on_readable, on_writable,
};

/* Run the loop for about ms milliseconds. */
/* Bytes waiting on fd without blocking (-1: closed by the other end). */
static ssize_t drain(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	return n;
}

static int setup(void **state)
{
	(void)state;
	memset(&rec, 0, sizeof(rec));
	strcpy(dir, "/tmp/bhyve-unit-sock-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/con.sock", dir);
	if (evloop_init() != 0)
		return -1;
	return unit_pump_init();
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	if (rec.s)
		sockbe_close(rec.s);
	rec.s = NULL;
	unit_pump_fini();
	evloop_fini();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

static bool is_socket(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void test_listen_accept_one_at_a_time(void **state)
{
	char buf[64];
	int c1, c2;
	(void)state;

	assert_int_equal(sockbe_listen(&rec.s, path, 4096, &ops, &rec), 0);
	assert_true(is_socket(path));
	assert_int_equal(sockbe_start(rec.s), 0);
	assert_false(sockbe_connected(rec.s));

	c1 = unit_unix_client(path);
	assert_true(c1 >= 0);
	unit_pump(30);
	assert_int_equal(rec.connected, 1);
	assert_true(sockbe_connected(rec.s));

	/* A second peer is accepted and closed at once. */
	c2 = unit_unix_client(path);
	assert_true(c2 >= 0);
	unit_pump(30);
	assert_int_equal(rec.connected, 1);
	assert_int_equal(drain(c2, buf, sizeof(buf)), -1);
	close(c2);

	/* Both directions on the first. */
	assert_int_equal(send(c1, "hello", 5, 0), 5);
	unit_pump(30);
	assert_true(rec.readable >= 1);
	assert_int_equal(rec.nin, 5);
	assert_memory_equal(rec.in, "hello", 5);
	assert_int_equal(sockbe_write(rec.s, "world", 5), 5);
	unit_pump(10);
	assert_int_equal(drain(c1, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(rec.disconnected, 0);
	close(c1);
}

static void test_reconnect(void **state)
{
	char buf[64];
	int c;
	(void)state;

	assert_int_equal(sockbe_listen(&rec.s, path, 4096, &ops, &rec), 0);
	assert_int_equal(sockbe_start(rec.s), 0);
	for (int round = 0; round < 3; round++) {
		c = unit_unix_client(path);
		assert_true(c >= 0);
		unit_pump(20);
		assert_int_equal(rec.connected, round + 1);
		assert_int_equal(sockbe_write(rec.s, "x", 1), 1);
		unit_pump(10);
		assert_int_equal(drain(c, buf, sizeof(buf)), 1);
		close(c);
		unit_pump(20);
		assert_int_equal(rec.disconnected, round + 1);
		assert_false(sockbe_connected(rec.s));
		/* Without a peer, output is discarded, accepted in full. */
		assert_int_equal(sockbe_write(rec.s, "lost", 4), 4);
		assert_true(sockbe_write_room(rec.s, 1) == SIZE_MAX);
	}
}

static void test_bounded_output(void **state)
{
	static char chunk[8192], sink[65536];
	size_t total = 0, acc, got = 0;
	int c, rounds = 0;
	ssize_t n;
	(void)state;

	memset(chunk, 'z', sizeof(chunk));
	assert_int_equal(sockbe_listen(&rec.s, path, 4096, &ops, &rec), 0);
	assert_int_equal(sockbe_start(rec.s), 0);
	c = unit_unix_client(path);
	unit_pump(20);
	assert_int_equal(rec.connected, 1);
	/* The peer does not read: the socket fills, then the 4 KiB buffer,
	 * then writes are refused (short) without blocking. */
	do {
		acc = sockbe_write(rec.s, chunk, sizeof(chunk));
		total += acc;
		assert_true(++rounds < 10000);
	} while (acc == sizeof(chunk));
	assert_true(acc < sizeof(chunk));
	assert_int_equal(sockbe_write(rec.s, chunk, sizeof(chunk)), 0);
	assert_int_equal(sockbe_write_room(rec.s, 1), 0);
	assert_int_equal(rec.writable, 0);
	/* The peer reads: everything accepted arrives, in full, and the
	 * producer hears there is room again. */
	while (got < total) {
		unit_pump(5);
		n = drain(c, sink, sizeof(sink));
		assert_true(n >= 0);
		for (ssize_t i = 0; i < n; i++)
			assert_int_equal(sink[i], 'z');
		got += (size_t)n;
		assert_true(++rounds < 20000);
	}
	assert_int_equal(got, total);
	assert_true(rec.writable >= 1);
	assert_int_equal(sockbe_write_room(rec.s, 1), 4096);
	close(c);
}

static void test_paused_input_then_hangup(void **state)
{
	int c;
	(void)state;

	assert_int_equal(sockbe_listen(&rec.s, path, 4096, &ops, &rec), 0);
	assert_int_equal(sockbe_start(rec.s), 0);
	c = unit_unix_client(path);
	unit_pump(20);
	rec.pause_reads = true;
	assert_int_equal(send(c, "tail", 4, 0), 4);
	close(c);
	unit_pump(30);
	/* Paused: the data and the hang-up wait; no busy loop on HUP. */
	assert_int_equal(rec.nin, 0);
	assert_int_equal(rec.disconnected, 0);
	assert_true(rec.readable <= 2);
	rec.pause_reads = false;
	sockbe_rx_enable(rec.s, true);
	unit_pump(30);
	assert_int_equal(rec.nin, 4);
	assert_memory_equal(rec.in, "tail", 4);
	assert_int_equal(rec.disconnected, 1);
	/* And the next peer is served. */
	c = unit_unix_client(path);
	unit_pump(20);
	assert_int_equal(rec.connected, 2);
	close(c);
}

/* A peer that leaves without unread data while input is paused: the
 * connection ends at once (the guest hears of it), the next peer is
 * served. */
static void test_paused_hangup_without_data(void **state)
{
	int c;
	(void)state;

	assert_int_equal(sockbe_listen(&rec.s, path, 4096, &ops, &rec), 0);
	assert_int_equal(sockbe_start(rec.s), 0);
	c = unit_unix_client(path);
	unit_pump(20);
	sockbe_rx_enable(rec.s, false);
	close(c);
	unit_pump(30);
	assert_int_equal(rec.disconnected, 1);
	assert_int_equal(rec.readable, 0);
	c = unit_unix_client(path);
	unit_pump(20);
	assert_int_equal(rec.connected, 2);
	close(c);
}

/* A peer that left unread data behind gives way to a new peer. */
static void test_lingering_peer_replaced(void **state)
{
	char buf[16];
	int c;
	(void)state;

	assert_int_equal(sockbe_listen(&rec.s, path, 4096, &ops, &rec), 0);
	assert_int_equal(sockbe_start(rec.s), 0);
	c = unit_unix_client(path);
	unit_pump(20);
	sockbe_rx_enable(rec.s, false);
	assert_int_equal(send(c, "old", 3, 0), 3);
	close(c);
	unit_pump(30);
	assert_int_equal(rec.disconnected, 0);
	c = unit_unix_client(path);
	unit_pump(30);
	assert_int_equal(rec.disconnected, 1);
	assert_int_equal(rec.connected, 2);
	assert_int_equal(sockbe_write(rec.s, "new", 3), 3);
	unit_pump(10);
	assert_int_equal(drain(c, buf, sizeof(buf)), 3);
	sockbe_rx_enable(rec.s, true);
	assert_int_equal(send(c, "fresh", 5, 0), 5);
	unit_pump(30);
	assert_int_equal(rec.nin, 5);
	assert_memory_equal(rec.in, "fresh", 5);
	close(c);
}

/* A TCP listener handed over: the same one-peer service. */
static void test_adopt_tcp(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	char buf[16];
	int l, c;
	(void)state;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	assert_int_equal(sockbe_adopt(&rec.s, l, "tcp", 256, &ops, &rec), 0);
	assert_int_equal(sockbe_start(rec.s), 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	unit_pump(30);
	assert_int_equal(rec.connected, 1);
	assert_int_equal(sockbe_write(rec.s, "tcp!", 4), 4);
	assert_int_equal(send(c, "in", 2, 0), 2);
	unit_pump(30);
	assert_int_equal(drain(c, buf, sizeof(buf)), 4);
	assert_int_equal(rec.nin, 2);
	close(c);
	unit_pump(30);
	assert_int_equal(rec.disconnected, 1);
}

static void test_check_paths(void **state)
{
	char p[256];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;
	(void)state;

	snprintf(p, sizeof(p), "%s/missing/x.sock", dir);
	assert_int_equal(sockbe_check(p), -1);
	assert_non_null(strstr(last_error(), "missing"));
	snprintf(p, sizeof(p), "%s/file", dir);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(sockbe_check(p), -1);
	assert_non_null(strstr(last_error(), "not a socket"));
	assert_int_equal(sockbe_listen(&rec.s, p, 4096, &ops, &rec), -1);
	assert_null(rec.s);
	assert_false(is_socket(p));
	assert_int_equal(sockbe_check(""), -1);

	/* A live socket is refused, a stale one replaced. */
	snprintf(p, sizeof(p), "%s/live.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sun.sun_path, p);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(sockbe_check(p), -1);
	assert_non_null(strstr(last_error(), "in use"));
	close(fd);		/* the file stays: stale now */
	assert_true(is_socket(p));
	assert_int_equal(sockbe_check(p), 0);
	assert_int_equal(sockbe_listen(&rec.s, p, 4096, &ops, &rec), 0);
	assert_int_equal(sockbe_start(rec.s), 0);
	fd = unit_unix_client(p);
	assert_true(fd >= 0);
	unit_pump(20);
	assert_int_equal(rec.connected, 1);
	close(fd);
}

static void test_long_path(void **state)
{
	char sub[PATH_MAX], p[PATH_MAX + 16];
	int n;
	(void)state;

	/* Longer than sun_path (108): bound through the directory. */
	n = snprintf(sub, sizeof(sub), "%s/%0100d", dir, 0);
	assert_true(n > 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(p, sizeof(p), "%s/port.sock", sub);
	assert_true(strlen(p) > 108);
	assert_int_equal(sockbe_listen(&rec.s, p, 64, &ops, &rec), 0);
	assert_true(is_socket(p));
	sockbe_close(rec.s);
	rec.s = NULL;
	assert_false(is_socket(p));
}

static void test_cleanup_all(void **state)
{
	struct sockbe *a, *b;
	char pa[256], pb[256];
	(void)state;

	snprintf(pa, sizeof(pa), "%s/a.sock", dir);
	snprintf(pb, sizeof(pb), "%s/b.sock", dir);
	assert_int_equal(sockbe_listen(&a, pa, 64, &ops, &rec), 0);
	assert_int_equal(sockbe_listen(&b, pb, 64, &ops, &rec), 0);
	assert_true(is_socket(pa) && is_socket(pb));
	/* Someone replaces b's file: cleanup leaves theirs alone. */
	assert_int_equal(unlink(pb), 0);
	close(open(pb, O_CREAT | O_WRONLY, 0600));
	sock_cleanup_all();
	assert_false(is_socket(pa));
	assert_int_equal(access(pa, F_OK), -1);
	assert_int_equal(access(pb, F_OK), 0);
	sockbe_close(a);
	sockbe_close(b);
	assert_int_equal(access(pb, F_OK), 0);
}

int run_sock_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_listen_accept_one_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounded_output, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_paused_input_then_hangup,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_paused_hangup_without_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lingering_peer_replaced,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_tcp, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_check_paths, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_path, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_all, setup,
		    teardown),
	};
	return cmocka_run_group_tests_name("sock", tests, NULL, NULL);
}
