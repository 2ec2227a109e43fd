/* bhyve(8) command line to configuration: src/options.c */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "options.h"
#include "util.h"

static int setup(void **state)
{
	(void)state;
	unit_reset_globals();
	assert_int_equal(options_defaults(), 0);
	return 0;
}

/* options_parse("bhyve", args..., NULL) */
static int run_argv(int argc, const char *const *args)
{
	char *argv[64];
	int r;

	argv[0] = (char *)"bhyve";
	for (int i = 0; i < argc; i++)
		argv[i + 1] = (char *)args[i];
	argv[argc + 1] = NULL;
	clear_error();
	unit_mute();
	r = options_parse(argc + 1, argv);
	unit_unmute();
	return r;
}

#define RUN(...) ({ \
	static const char *const _a[] = { __VA_ARGS__ }; \
	run_argv((int)ARRAY_SIZE(_a), _a); })

#define assert_config(name, value) do { \
	const char *_v = config_get(name); \
	if (_v == NULL) \
		fail_msg("%s is unset, expected '%s'", name, value); \
	assert_string_equal(_v, value); \
} while (0)

static void test_defaults(void **state)
{
	(void)state;
	assert_config("memory.size", "256M");
	assert_config("acpi_tables", "true");
	assert_config("x86.strictmsr", "true");
	assert_int_equal(RUN("vm0"), -1);
	assert_config("name", "vm0");
	assert_config("memory.size", "256M");
}

static void test_flags(void **state)
{
	static const struct {
		const char *opt, *var, *val;
	} map[] = {
		{ "-A", "acpi_tables", "true" },
		{ "-C", "memory.guest_in_core", "true" },
		{ "-D", "destroy_on_poweroff", "true" },
		{ "-e", "x86.strictio", "true" },
		{ "-H", "x86.vmexit_on_hlt", "true" },
		{ "-P", "x86.vmexit_on_pause", "true" },
		{ "-S", "memory.wired", "true" },
		{ "-u", "rtc.use_localtime", "false" },
		{ "-W", "virtio_msix", "false" },
		{ "-w", "x86.strictmsr", "false" },
		{ "-x", "x86.x2apic", "true" },
		{ "-a", "x86.x2apic", "false" },
		{ "-Y", "x86.mptable", "false" },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		const char *args[] = { map[i].opt, "vm" };
		bool b;
		setup(NULL);
		assert_int_equal(run_argv(2, args), -1);
		assert_config(map[i].var, map[i].val);
		/* every value is a valid boolean */
		assert_int_equal(config_get_bool(map[i].var, false, &b), 0);
	}
	/* clustered flags */
	setup(NULL);
	assert_int_equal(RUN("-AHPw", "vm"), -1);
	assert_config("acpi_tables", "true");
	assert_config("x86.vmexit_on_hlt", "true");
	assert_config("x86.vmexit_on_pause", "true");
	assert_config("x86.strictmsr", "false");
	/* later wins: -x then -a */
	setup(NULL);
	assert_int_equal(RUN("-x", "-a", "vm"), -1);
	assert_config("x86.x2apic", "false");
}

static void test_simple_values(void **state)
{
	(void)state;
	assert_int_equal(RUN("-U", "6e2b5a2c-1f2e-11ee-be56-0242ac120002",
	    "-r", "/tmp/snap", "vm"), -1);
	assert_config("uuid", "6e2b5a2c-1f2e-11ee-be56-0242ac120002");
	assert_config("restore.file", "/tmp/snap");
	assert_config("name", "vm");
}

static void test_gdb(void **state)
{
	(void)state;
	assert_int_equal(RUN("-G", "w127.0.0.1:1234", "vm"), -1);
	assert_config("gdb.wait", "true");
	assert_config("gdb.address", "127.0.0.1");
	assert_config("gdb.port", "1234");

	setup(NULL);
	assert_int_equal(RUN("-G", "5555", "vm"), -1);
	assert_config("gdb.port", "5555");
	assert_null(config_get("gdb.wait"));
	assert_null(config_get("gdb.address"));

	setup(NULL);
	assert_int_equal(RUN("-G", "localhost:22", "vm"), -1);
	assert_config("gdb.address", "localhost");
	assert_config("gdb.port", "22");

	setup(NULL);
	assert_int_equal(RUN("-G", "0", "vm"), EXIT_EX_USAGE);
	setup(NULL);
	assert_int_equal(RUN("-G", "65536", "vm"), EXIT_EX_USAGE);
	setup(NULL);
	assert_int_equal(RUN("-G", "w", "vm"), EXIT_EX_USAGE);
	setup(NULL);
	assert_int_equal(RUN("-G", "host:", "vm"), EXIT_EX_USAGE);
	setup(NULL);
	assert_int_equal(RUN("-G", ":1234", "vm"), EXIT_EX_USAGE);
}

static void test_pin(void **state)
{
	(void)state;
	assert_int_equal(RUN("-p", "1:3", "-p", "1:5", "-p", "0:2", "vm"), -1);
	assert_config("vcpu.1.cpuset", "3,5");
	assert_config("vcpu.0.cpuset", "2");

	setup(NULL);
	assert_int_equal(RUN("-p", "1:3", "-p", "1:3", "vm"), -1);
	assert_config("vcpu.1.cpuset", "3,3");

	setup(NULL);
	assert_int_equal(RUN("-p", "13", "vm"), EXIT_EX_USAGE);
	setup(NULL);
	assert_int_equal(RUN("-p", "16:0", "vm"), EXIT_EX_USAGE);
	setup(NULL);
	assert_int_equal(RUN("-p", "0:x", "vm"), EXIT_EX_USAGE);
}

static void test_pincpu_parse(void **state)
{
	unsigned char bits[128];
	(void)state;
	assert_int_equal(pincpu_parse("15:1023"), 0);
	assert_config("vcpu.15.cpuset", "1023");
	assert_int_equal(pincpu_parse("15:0"), 0);
	assert_config("vcpu.15.cpuset", "1023,0");
	assert_int_equal(cpuset_parse(config_get("vcpu.15.cpuset"), bits, 1024), 0);
	assert_int_equal(bits[0], 0x01);
	assert_int_equal(bits[127], 0x80);

	assert_int_equal(pincpu_parse("16:0"), -1);
	assert_int_equal(pincpu_parse("0:1024"), -1);
	assert_int_equal(pincpu_parse(":3"), -1);
	assert_int_equal(pincpu_parse("1:"), -1);
	assert_int_equal(pincpu_parse("x:1"), -1);
	assert_int_equal(pincpu_parse("1:-1"), -1);
	assert_int_equal(pincpu_parse("13"), -1);
	assert_null(config_get("vcpu.16.cpuset"));
	assert_null(config_get("vcpu.0.cpuset"));
}

static void test_cpuset_parse(void **state)
{
	unsigned char bits[128];
	(void)state;

	memset(bits, 0xaa, sizeof(bits));
	assert_int_equal(cpuset_parse("0,2-3", bits, 1024), 0);
	assert_int_equal(bits[0], 0x0d);
	for (size_t i = 1; i < sizeof(bits); i++)
		assert_int_equal(bits[i], 0);

	assert_int_equal(cpuset_parse("7-9,1023", bits, 1024), 0);
	assert_int_equal(bits[0], 0x80);
	assert_int_equal(bits[1], 0x03);
	assert_int_equal(bits[127], 0x80);

	assert_int_equal(cpuset_parse("5-5", bits, 1024), 0);
	assert_int_equal(bits[0], 0x20);

	assert_int_equal(cpuset_parse("", bits, 1024), -1);
	assert_int_equal(cpuset_parse("3-2", bits, 1024), -1);
	assert_int_equal(cpuset_parse("0-1024", bits, 1024), -1);
	assert_int_equal(cpuset_parse("1024", bits, 1024), -1);
	assert_int_equal(cpuset_parse("-1", bits, 1024), -1);
	assert_int_equal(cpuset_parse("1-", bits, 1024), -1);
	assert_int_equal(cpuset_parse("1-2-3", bits, 1024), -1);
	assert_int_equal(cpuset_parse("a", bits, 1024), -1);
	assert_int_equal(cpuset_parse("1,x", bits, 1024), -1);
	assert_int_equal(cpuset_parse("8", bits, 8), -1);
	assert_int_equal(cpuset_parse("7", bits, 8), 0);
	assert_int_equal(bits[0], 0x80);
}

static void test_memsize(void **state)
{
	static const char *const good[] = { "512", "512M", "512m", "2G", "2g",
	    "1024K", "1024k", "1T", "1t", "1k", "16777215T" };
	static const char *const bad[] = { "0", "0G", "12Q", "abc", "",
	    "99999999999T", "-1", "1.5G", "G", "1GB", "0x10", " 1G", "1G ",
	    "16777216T" };
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		const char *args[] = { "-m", good[i], "vm" };
		int r;
		setup(NULL);
		r = run_argv(3, args);
		if (r != -1)
			fail_msg("-m '%s' rejected", good[i]);
		assert_config("memory.size", good[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *args[] = { "-m", bad[i], "vm" };
		setup(NULL);
		if (run_argv(3, args) != EXIT_EX_USAGE)
			fail_msg("-m '%s' accepted", bad[i]);
		assert_config("memory.size", "256M");
	}
	/* later wins */
	setup(NULL);
	assert_int_equal(RUN("-m", "1G", "-m", "3G", "vm"), -1);
	assert_config("memory.size", "3G");
	setup(NULL);
	assert_int_equal(RUN("-m", "1G", "-o", "memory.size=5G", "vm"), -1);
	assert_config("memory.size", "5G");
}

static void expect_topology(const char *arg, const char *cpus,
    const char *sockets, const char *cores, const char *threads)
{
	const char *args[] = { "-c", arg, "vm" };

	setup(NULL);
	if (run_argv(3, args) != -1)
		fail_msg("-c %s rejected: %s", arg, last_error());
	assert_config("cpus", cpus);
	assert_config("sockets", sockets);
	assert_config("cores", cores);
	assert_config("threads", threads);
}

static void test_cpus(void **state)
{
	static const char *const bad[] = { "17", "0", "cpus=4,sockets=2",
	    "cpus=4,sockets=2,cores=2,threads=2", "sockets=17", "x",
	    "cpus=", "sockets=2,cores=x", "bogus=1", "4,8", "",
	    "sockets=4,cores=4,threads=2", "cpus=-1" };
	(void)state;

	expect_topology("4", "4", "4", "1", "1");
	expect_topology("cpus=4", "4", "4", "1", "1");
	expect_topology("sockets=2,cores=2", "4", "2", "2", "1");
	expect_topology("cpus=4,sockets=2,cores=2", "4", "2", "2", "1");
	expect_topology("sockets=1,cores=2,threads=2", "4", "1", "2", "2");
	expect_topology("16", "16", "16", "1", "1");
	expect_topology("cores=16", "16", "1", "16", "1");
	expect_topology("8,sockets=2,cores=4", "8", "2", "4", "1");
	/* a repeated setting: the last one counts */
	expect_topology("cpus=2,cpus=4", "4", "4", "1", "1");

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *args[] = { "-c", bad[i], "vm" };
		setup(NULL);
		if (run_argv(3, args) != EXIT_EX_USAGE)
			fail_msg("-c '%s' accepted", bad[i]);
		assert_null(config_get("cpus"));
	}
}

static void test_topology_parse(void **state)
{
	(void)state;
	assert_int_equal(topology_parse("threads=2"), 0);
	assert_config("cpus", "2");
	assert_config("sockets", "1");
	assert_config("cores", "1");
	assert_config("threads", "2");
	assert_int_equal(topology_parse("cpus=3,sockets=2"), -1);
	assert_non_null(strstr(last_error(), "3"));
	/* a failed -c leaves the previous topology alone */
	assert_config("cpus", "2");
	assert_int_equal(topology_parse("sockets=0"), -1);
	assert_int_equal(topology_parse("cpus=32"), -1);
	assert_config("threads", "2");
}

static void test_slots(void **state)
{
	(void)state;
	assert_int_equal(RUN("-s", "0,hostbridge", "-s", "3:1,amd_hostbridge",
	    "-s", "1:3:1,hostbridge", "-s", "31,lpc", "vm"), -1);
	assert_config("pci.0.0.0.device", "hostbridge");
	assert_config("pci.0.3.1.device", "amd_hostbridge");
	assert_config("pci.1.3.1.device", "hostbridge");
	assert_config("pci.0.31.0.device", "lpc");

	setup(NULL);
	assert_int_equal(RUN("-s", "31:7,hostbridge", "-s", "255:31:7,hostbridge",
	    "vm"), -1);
	assert_config("pci.0.31.7.device", "hostbridge");
	assert_config("pci.255.31.7.device", "hostbridge");
}

static void test_slot_errors(void **state)
{
	static const char *const bad[] = {
		"32,hostbridge", "3:8,hostbridge", "256:0:0,hostbridge",
		"3,nosuchdevice", "x,hostbridge", "1:2:3:4,hostbridge",
		"3::1,hostbridge", ",hostbridge", "3,", "3", "-1,hostbridge",
		"3:x,hostbridge",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *args[] = { "-s", bad[i], "vm" };
		setup(NULL);
		if (run_argv(3, args) != EXIT_VMERROR)
			fail_msg("-s '%s' not rejected with 4", bad[i]);
		assert_false(config_is_node("pci"));
	}
	/* duplicates, in any spelling */
	setup(NULL);
	assert_int_equal(RUN("-s", "3,hostbridge", "-s", "3,hostbridge", "vm"),
	    EXIT_VMERROR);
	assert_non_null(strstr(last_error(), "occupied"));
	setup(NULL);
	assert_int_equal(RUN("-s", "3,hostbridge", "-s", "0:3:0,virtio-rnd",
	    "vm"), EXIT_VMERROR);
	assert_config("pci.0.3.0.device", "hostbridge");
	setup(NULL);
	assert_int_equal(RUN("-s", "3:0,hostbridge", "-s", "3,hostbridge",
	    "vm"), EXIT_VMERROR);
	/* an unknown device names itself */
	setup(NULL);
	assert_int_equal(RUN("-s", "3,frobnicator", "vm"), EXIT_VMERROR);
	assert_non_null(strstr(last_error(), "frobnicator"));
}

static void test_slot_legacy_config(void **state)
{
	(void)state;
	assert_int_equal(RUN("-s", "2,virtio-blk,/img,ro", "-s",
	    "3,virtio-net,tap0,mac=00:a0:98:12:34:56", "-s",
	    "4,ahci,hd:/a.img,cd:/b.iso", "-s", "5,virtio-rnd,foo=bar,flag",
	    "-s", "6,nvme,/dev/nvd0,maxq=4", "-s", "7,virtio-9p,share=/srv,ro",
	    "-s", "8,virtio-console,c1=/tmp/c1.sock", "-s", "9,xhci,tablet",
	    "-s", "10,passthru,1/2/3", "vm"), -1);
	assert_config("pci.0.2.0.device", "virtio-blk");
	assert_config("pci.0.2.0.path", "/img");
	assert_config("pci.0.2.0.ro", "true");
	assert_config("pci.0.3.0.device", "virtio-net");
	assert_config("pci.0.3.0.backend", "tap0");
	assert_config("pci.0.3.0.mac", "00:a0:98:12:34:56");
	assert_config("pci.0.4.0.port.0.type", "hd");
	assert_config("pci.0.4.0.port.0.path", "/a.img");
	assert_config("pci.0.4.0.port.1.type", "cd");
	assert_config("pci.0.4.0.port.1.path", "/b.iso");
	assert_config("pci.0.5.0.foo", "bar");
	assert_config("pci.0.5.0.flag", "true");
	assert_config("pci.0.6.0.devpath", "/dev/nvd0");
	assert_config("pci.0.6.0.maxq", "4");
	assert_config("pci.0.7.0.sharename", "share");
	assert_config("pci.0.7.0.path", "/srv");
	assert_config("pci.0.7.0.ro", "true");
	assert_config("pci.0.8.0.port.0.name", "c1");
	assert_config("pci.0.8.0.port.0.path", "/tmp/c1.sock");
	assert_config("pci.0.9.0.slot.1.device", "tablet");
	assert_config("pci.0.10.0.bus", "1");
	assert_config("pci.0.10.0.slot", "2");
	assert_config("pci.0.10.0.func", "3");
}

static void test_lpc(void **state)
{
	(void)state;
	assert_int_equal(RUN("-l", "com1,stdio", "-l", "com2,/dev/nmdm0A",
	    "-l", "bootrom,/usr/share/uefi.fd,/vm/vars.fd", "vm"), -1);
	assert_config("lpc.com1.path", "stdio");
	assert_config("lpc.com2.path", "/dev/nmdm0A");
	assert_config("lpc.bootrom", "/usr/share/uefi.fd");
	assert_config("lpc.bootvars", "/vm/vars.fd");

	setup(NULL);
	assert_int_equal(RUN("-l", "bootrom,/rom.fd", "-l", "pc-testdev", "vm"),
	    -1);
	assert_config("lpc.bootrom", "/rom.fd");
	assert_null(config_get("lpc.bootvars"));
	assert_config("lpc.pc-testdev", "true");

	static const char *const bad[] = { "bogus", "com1", "com1,", "com5,stdio",
	    "bootrom", "", ",stdio", "pc-testdev,x", "fwcfg,other" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *args[] = { "-l", bad[i], "vm" };
		setup(NULL);
		if (run_argv(3, args) != EXIT_EX_USAGE)
			fail_msg("-l '%s' not rejected with 64", bad[i]);
	}
}

static void test_o_and_k(void **state)
{
	char *path = unit_write_temp("memory.size=1G\nname=fromfile\nx.y=%(name)\n");
	(void)state;

	assert_non_null(path);
	assert_int_equal(RUN("-o", "a.b=c", "-o", "d=", "vm"), -1);
	assert_config("a.b", "c");
	assert_config("d", "");

	setup(NULL);
	assert_int_equal(RUN("-o", "nonsense", "vm"), EXIT_EX_USAGE);
	setup(NULL);
	assert_int_equal(RUN("-o", "a.b=1", "-o", "a.b.c=2", "vm"),
	    EXIT_EX_USAGE);

	/* -k, then command-line settings after it win */
	setup(NULL);
	{
		const char *args[] = { "-k", path, "-m", "2G" };
		assert_int_equal(run_argv(4, args), -1);
	}
	assert_config("memory.size", "2G");
	assert_config("name", "fromfile");	/* vmname from the file */
	assert_config("x.y", "fromfile");

	/* a later -k wins over earlier options; the vmname argument wins */
	setup(NULL);
	{
		const char *args[] = { "-m", "2G", "-k", path, "vm" };
		assert_int_equal(run_argv(5, args), -1);
	}
	assert_config("memory.size", "1G");
	assert_config("name", "vm");

	setup(NULL);
	assert_int_equal(RUN("-k", "/nonexistent/bhyve.conf", "vm"),
	    EXIT_EX_USAGE);
	unlink(path);
	free(path);
}

static void test_usage_errors(void **state)
{
	(void)state;
	assert_int_equal(RUN("-A"), EXIT_USAGE);		/* no vmname */
	assert_non_null(strstr(last_error(), "vmname"));
	setup(NULL);
	assert_int_equal(RUN("vm", "extra"), EXIT_USAGE);
	setup(NULL);
	assert_int_equal(RUN("-q", "vm"), EXIT_USAGE);
	setup(NULL);
	assert_int_equal(RUN("vm", "-m"), EXIT_USAGE);
	setup(NULL);
	assert_int_equal(RUN("-m"), EXIT_USAGE);		/* missing argument */
	setup(NULL);
	/* options stop at the vmname (bhyve uses "+" getopt semantics) */
	assert_int_equal(RUN("vm", "-A"), EXIT_USAGE);
}

static void test_help(void **state)
{
	(void)state;
	assert_int_equal(RUN("-h"), 0);
	setup(NULL);
	assert_int_equal(RUN("-s", "help"), 0);
	setup(NULL);
	assert_int_equal(RUN("-l", "help"), 0);
	setup(NULL);
	assert_int_equal(RUN("-A", "-h", "vm"), 0);
}

/* getopt state must not leak from one options_parse call to the next. */
static void test_reparse(void **state)
{
	(void)state;
	assert_int_equal(RUN("-m", "1G", "vm"), -1);
	setup(NULL);
	assert_int_equal(RUN("-Y", "vm2"), -1);
	assert_config("x86.mptable", "false");
	assert_config("memory.size", "256M");
	assert_config("name", "vm2");
}

/* An options_parse that stopped inside a cluster of flags ("-hY" returns
 * at -h) must not leave getopt state behind: the next parse of a fresh
 * argv must not see the stale "Y" (nor read the old argv at all). */
static void test_reparse_after_early_return(void **state)
{
	static char cluster[] = "-hY";
	char *first[] = { (char *)"bhyve", cluster, NULL };
	int r;
	(void)state;

	unit_mute();
	assert_int_equal(options_parse(2, first), 0);
	unit_unmute();

	setup(NULL);
	r = RUN("vm");
	memset(cluster, 0, sizeof(cluster));	/* kept alive until here */
	assert_int_equal(r, -1);
	assert_config("name", "vm");
	assert_null(config_get_raw("x86.mptable"));
}

int run_options_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_flags, setup),
		cmocka_unit_test_setup(test_simple_values, setup),
		cmocka_unit_test_setup(test_gdb, setup),
		cmocka_unit_test_setup(test_pin, setup),
		cmocka_unit_test_setup(test_pincpu_parse, setup),
		cmocka_unit_test_setup(test_cpuset_parse, setup),
		cmocka_unit_test_setup(test_memsize, setup),
		cmocka_unit_test_setup(test_cpus, setup),
		cmocka_unit_test_setup(test_topology_parse, setup),
		cmocka_unit_test_setup(test_slots, setup),
		cmocka_unit_test_setup(test_slot_errors, setup),
		cmocka_unit_test_setup(test_slot_legacy_config, setup),
		cmocka_unit_test_setup(test_lpc, setup),
		cmocka_unit_test_setup(test_o_and_k, setup),
		cmocka_unit_test_setup(test_usage_errors, setup),
		cmocka_unit_test_setup(test_help, setup),
		cmocka_unit_test_setup(test_reparse, setup),
		cmocka_unit_test_setup(test_reparse_after_early_return, setup),
	};
	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
