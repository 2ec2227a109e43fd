/* The control socket (src/ipc.c) and libnv's wire format (src/nvlist.c):
 * lists built by hand byte by byte (as libnv lays them out), malformed
 * ones, and requests to a real socket served by the event loop. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backends/evloop.h"
#include "config.h"
#include "ipc.h"
#include "nvlist.h"

/* A libnv list as FreeBSD's bhyvectl sends it for `--pci-remove=0:3:0`:
 * {"cmd": "pci_remove", "slot": "0:3:0"}, little-endian, no descriptors. */
static size_t sample(uint8_t *b, bool big_endian)
{
	static const struct { const char *n, *v; } kv[] = {
		{ "cmd", "pci_remove" }, { "slot", "0:3:0" },
	};
	size_t len = NVL_HDR_SIZE;

	for (unsigned i = 0; i < 2; i++) {
		size_t ns = strlen(kv[i].n) + 1, ds = strlen(kv[i].v) + 1;
		uint8_t *p = b + len;

		memset(p, 0, NVL_PAIR_HDR);
		p[0] = NV_TYPE_STRING;
		if (big_endian) {
			p[2] = (uint8_t)ns;
			p[10] = (uint8_t)ds;
		} else {
			p[1] = (uint8_t)ns;
			p[3] = (uint8_t)ds;
		}
		memcpy(p + NVL_PAIR_HDR, kv[i].n, ns);
		memcpy(p + NVL_PAIR_HDR + ns, kv[i].v, ds);
		len += NVL_PAIR_HDR + ns + ds;
	}
	memset(b, 0, NVL_HDR_SIZE);
	b[0] = 0x6c;
	b[2] = big_endian ? 0x80 : 0;
	if (big_endian)
		b[18] = (uint8_t)(len - NVL_HDR_SIZE);
	else
		b[11] = (uint8_t)(len - NVL_HDR_SIZE);
	return len;
}

static void test_nvlist_unpack(void **state)
{
	uint8_t b[256];
	struct nvl l;
	size_t len;
	(void)state;

	for (int be = 0; be < 2; be++) {
		len = sample(b, be);
		assert_int_equal(nvl_unpack(b, len, &l), 0);
		assert_int_equal(l.n, 2);
		assert_string_equal(nvl_get_string(&l, "cmd"), "pci_remove");
		assert_string_equal(nvl_get_string(&l, "slot"), "0:3:0");
		assert_null(nvl_get_string(&l, "device"));
	}
	/* Every cut of the list is refused (the size no longer matches). */
	len = sample(b, false);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(nvl_unpack(b, cut, &l), -1);
}

static void test_nvlist_malformed(void **state)
{
	uint8_t b[256], c[256];
	struct nvl l;
	size_t len = sample(b, false);
	size_t p1 = NVL_HDR_SIZE;		/* first pair */
	size_t v1 = p1 + NVL_PAIR_HDR + 4;	/* its value "pci_remove" */
	(void)state;

#define BAD(stmt) do { memcpy(c, b, len); stmt; \
	assert_int_equal(nvl_unpack(c, len, &l), -1); } while (0)
	BAD(c[0] = 0x6d);			/* magic */
	BAD(c[1] = 1);				/* version */
	BAD(c[2] = 0x40);			/* unknown flag */
	BAD(c[11]++);				/* body size */
	BAD(c[p1 + 1] = 0);			/* empty name */
	BAD(c[p1 + 1] = 3);			/* name without its NUL */
	BAD(c[p1 + NVL_PAIR_HDR + 1] = 0);	/* NUL inside the name */
	BAD(c[p1 + 3] = 0xff);			/* data beyond the list */
	BAD(c[p1 + 10] = 0x80);			/* huge data size */
	BAD(c[p1 + 11] = 1);			/* item count on a scalar */
	BAD(c[v1 + 10] = 'x');			/* string without its NUL */
	BAD(c[v1 + 3] = 0);			/* NUL inside the string */
	BAD(c[p1] = NV_TYPE_NVLIST);		/* nested lists: refused */
	BAD(c[p1] = 9);				/* arrays: refused */
	BAD(c[p1] = 200);			/* unknown type */
	BAD(c[p1] = NV_TYPE_BOOL);		/* 11 bytes for a bool */
	BAD(c[p1] = NV_TYPE_NUMBER);		/* 11 bytes for a number */
	BAD(c[p1] = NV_TYPE_DESCRIPTOR);	/* idem, and no descriptors */
#undef BAD
}

static void test_nvlist_build(void **state)
{
	uint8_t b[128], tiny[40];
	struct nvl_out o;
	struct nvl l;
	size_t len;
	(void)state;

	nvl_out_init(&o, b, sizeof(b));
	nvl_add_string(&o, "error", "command 'x' not found");
	nvl_add_bool(&o, "ok", true);
	nvl_add_number(&o, "n", 0x0102030405060708ull);
	len = nvl_out_finish(&o);
	assert_int_equal(len, NVL_HDR_SIZE + (19 + 6 + 22) + (19 + 3 + 1) +
	    (19 + 2 + 8));
	assert_int_equal(b[0], 0x6c);
	assert_int_equal(b[11], len - NVL_HDR_SIZE);
	assert_int_equal(nvl_unpack(b, len, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(nvl_get_string(&l, "error"),
	    "command 'x' not found");
	assert_int_equal(l.it[1].type, NV_TYPE_BOOL);
	assert_int_equal(l.it[1].num, 1);
	assert_int_equal(l.it[2].num, 0x0102030405060708ull);
	/* Too small a buffer: nothing, never an overrun. */
	nvl_out_init(&o, tiny, sizeof(tiny));
	nvl_add_string(&o, "error", "command 'x' not found");
	assert_int_equal(nvl_out_finish(&o), 0);
}

/* ---- the socket ---- */

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/bhyve-unit-ipc-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/vm1", dir);
	unit_reset_globals();
	config_set("rundir", dir);
	if (evloop_init() != 0)
		return -1;
	return unit_pump_init();
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	ipc_stop();
	unit_pump_fini();
	evloop_fini();
	unit_reset_globals();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Send `req`, let the loop answer, read the reply's "error" into err
 * (empty when none); returns 1 when the server then closed. */
static int ask(const uint8_t *req, size_t len, char *err, size_t errlen)
{
	uint8_t buf[1024];
	size_t have = 0;
	struct nvl l;
	const char *e;
	int fd = unit_unix_client(path), closed = 0;

	assert_true(fd >= 0);
	if (len > 0)
		assert_int_equal(send(fd, req, len, 0), (ssize_t)len);
	for (int i = 0; i < 20 && !closed; i++) {
		ssize_t n;

		unit_pump(20);
		while ((n = recv(fd, buf + have, sizeof(buf) - have,
		    MSG_DONTWAIT)) > 0)
			have += (size_t)n;
		if (n == 0)
			closed = 1;
	}
	close(fd);
	err[0] = '\0';
	if (have > 0) {
		assert_int_equal(nvl_unpack(buf, have, &l), 0);
		e = nvl_get_string(&l, "error");
		if (e)
			snprintf(err, errlen, "%s", e);
	}
	return closed;
}

static void test_ipc_socket(void **state)
{
	uint8_t req[256];
	char err[200];
	struct stat st;
	size_t len;
	(void)state;

	assert_int_equal(ipc_check("vm1"), 0);
	assert_int_equal(ipc_start(), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));

	/* A command this bhyve does not have: FreeBSD's answer. */
	len = sample(req, false);
	assert_int_equal(ask(req, len, err, sizeof(err)), 1);
	assert_string_equal(err, "command 'pci_remove' not found");
	/* Served again (one client at a time, then the next). */
	len = sample(req, true);
	assert_int_equal(ask(req, len, err, sizeof(err)), 1);
	assert_string_equal(err, "command 'pci_remove' not found");
	/* No "cmd". */
	req[NVL_HDR_SIZE + NVL_PAIR_HDR] = 'x';
	assert_int_equal(ask(req, len, err, sizeof(err)), 1);
	assert_string_equal(err, "missing command name");
	/* Not a list. */
	assert_int_equal(ask((const uint8_t *)"GET / HTTP/1.0\r\nA: b\r\n\r\n", 24,
	    err, sizeof(err)), 1);
	assert_string_equal(err, "malformed request");
	/* A header announcing more than the limit. */
	len = sample(req, false);
	req[13] = 0x10;		/* body size 1 MiB and a bit */
	assert_int_equal(ask(req, NVL_HDR_SIZE, err, sizeof(err)), 1);
	assert_string_equal(err, "request too large");

	/* A client that keeps sending after its request: answered, then cut
	 * off (nothing more is read), and the next one is served. */
	{
		static uint8_t junk[4096];
		uint8_t buf[512];
		size_t have = 0;
		int fd = unit_unix_client(path), closed = 0;
		struct nvl l;

		assert_true(fd >= 0);
		len = sample(req, false);
		assert_int_equal(send(fd, req, len, 0), (ssize_t)len);
		for (int i = 0; i < 64; i++)
			(void)send(fd, junk, sizeof(junk),
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		for (int i = 0; i < 20 && !closed; i++) {
			ssize_t n;

			unit_pump(20);
			(void)send(fd, junk, sizeof(junk),
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			while ((n = recv(fd, buf + have, sizeof(buf) - have,
			    MSG_DONTWAIT)) > 0)
				have += (size_t)n;
			if (n == 0 || (n < 0 && errno == ECONNRESET))
				closed = 1;
		}
		close(fd);
		assert_true(closed);
		assert_int_equal(nvl_unpack(buf, have, &l), 0);
		assert_string_equal(nvl_get_string(&l, "error"),
		    "command 'pci_remove' not found");
	}
	assert_int_equal(ask(req, len, err, sizeof(err)), 1);
	assert_string_equal(err, "command 'pci_remove' not found");

	/* A second bhyve with the same name and run directory: refused. */
	assert_int_equal(ipc_check("vm1"), -1);
	assert_non_null(strstr(last_error(), "in use"));
	ipc_check("vm1-other");	/* restore a path for ipc_stop's sake */

	ipc_stop();
	assert_int_not_equal(lstat(path, &st), 0);
}

static void test_ipc_where(void **state)
{
	char file[160];
	FILE *f;
	(void)state;

	/* An explicit run directory that is missing: an error. */
	config_set("rundir", "/nonexistent/run");
	assert_int_equal(ipc_check("vm1"), -1);
	assert_non_null(strstr(last_error(), "/nonexistent/run"));
	/* A file that is not a socket is never replaced. */
	config_set("rundir", dir);
	snprintf(file, sizeof(file), "%s/vm2", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("keep me", f);
	fclose(f);
	assert_int_equal(ipc_check("vm2"), -1);
	assert_int_equal(access(file, F_OK), 0);
	/* Without rundir: /var/run/bhyve if it is there, else no socket. */
	config_unset("rundir");
	assert_int_equal(ipc_check("vm1"), 0);
}

int run_ipc_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nvlist_unpack),
		cmocka_unit_test(test_nvlist_malformed),
		cmocka_unit_test(test_nvlist_build),
		cmocka_unit_test_setup_teardown(test_ipc_socket, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ipc_where, setup,
		    teardown),
	};
	return cmocka_run_group_tests_name("ipc", tests, NULL, NULL);
}
