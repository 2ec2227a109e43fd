#include "options.h"
#include "bus/pci.h"
#include "config.h"
#include "devices/lpc.h"
#include "platform/numa.h"
#include "util.h"
#include "vmm/vm.h"

#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void options_usage(void)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
	    "Usage: bhyve [-AaCDeHhMPSuWwxY]\n"
	    "       %*s [-c [[cpus=]numcpus][,sockets=n][,cores=n][,threads=n]]\n"
	    "       %*s [-G port] [-k config_file] [-l lpc] [-m mem] [-o var=value]\n"
	    "       %*s [-n id=N,size=S,cpus=LIST] [-p vcpu:hostcpu] [-r file]\n"
	    "       %*s [-s pci] [-U uuid] vmname\n"
	    "       bhyve -l help\n"
	    "       bhyve -s help\n"
	    "       -A: create ACPI tables\n"
	    "       -a: local apic is in xAPIC mode (deprecated)\n"
	    "       -C: include guest memory in core file\n"
	    "       -c: number of CPUs and/or topology specification\n"
	    "       -D: destroy on power-off\n"
	    "       -e: exit on unhandled I/O access\n"
	    "       -G: start a debug server\n"
	    "       -H: vmexit from the guest on HLT\n"
	    "       -h: help\n"
	    "       -k: key=value flat config file\n"
	    "       -l: LPC device configuration\n"
	    "       -m: memory size\n"
	    "       -M: monitor mode: restart the VM when the guest reboots\n"
	    "       -n: NUMA domain (repeatable)\n"
	    "       -o: set config 'var' to 'value'\n"
	    "       -P: vmexit from the guest on pause\n"
	    "       -p: pin 'vcpu' to 'hostcpu'\n"
	    "       -r: resume from a snapshot file\n"
	    "       -S: guest memory cannot be swapped\n"
	    "       -s: <slot,driver,configinfo> PCI slot config\n"
	    "       -U: UUID\n"
	    "       -u: RTC keeps UTC time\n"
	    "       -W: force virtio to use single-vector MSI\n"
	    "       -w: ignore unimplemented MSRs\n"
	    "       -x: local APIC is in x2APIC mode\n"
	    "       -Y: disable MPtable generation\n"
	    "Direct kernel boot (this implementation):\n"
	    "       -o boot.kernel=PATH -o boot.initrd=PATH -o boot.cmdline=STRING\n",
	    5, "", 5, "", 5, "", 5, "");
	stderr_write(buf, 1000);
}

int options_defaults(void)
{
	if (config_set("memory.size", "256M") != 0 ||
	    config_set("acpi_tables", "true") != 0 ||
	    config_set("x86.strictmsr", "true") != 0)
		return -1;
	return 0;
}

static int set_topo_value(const char *key, const char *val, unsigned *out)
{
	if (parse_uint_range(val, 1, 65535, out) != 0)
		return fail("invalid cpu topology: bad %s '%s'", key, val);
	return 0;
}

int topology_parse(const char *opt)
{
	unsigned cpus = 0, sockets = 0, cores = 0, threads = 0;
	char *copy = strdup(opt), *save = NULL, *tok;
	bool first = true;
	char v[16];
	int r = 0;

	if (copy == NULL)
		return fail("out of memory");
	if (*opt == '\0')
		r = fail("invalid cpu topology ''");
	for (tok = strtok_r(copy, ",", &save); tok && r == 0;
	    tok = strtok_r(NULL, ",", &save), first = false) {
		if (strncmp(tok, "cpus=", 5) == 0)
			r = set_topo_value("cpus", tok + 5, &cpus);
		else if (strncmp(tok, "sockets=", 8) == 0)
			r = set_topo_value("sockets", tok + 8, &sockets);
		else if (strncmp(tok, "cores=", 6) == 0)
			r = set_topo_value("cores", tok + 6, &cores);
		else if (strncmp(tok, "threads=", 8) == 0)
			r = set_topo_value("threads", tok + 8, &threads);
		else if (first && strchr(tok, '=') == NULL)
			r = set_topo_value("cpus", tok, &cpus);
		else
			r = fail("invalid cpu topology setting '%s'", tok);
	}
	free(copy);
	if (r != 0)
		return -1;
	/* Only a CPU count: that many single-core sockets, as bhyve does. */
	if (cpus != 0 && sockets == 0 && cores == 0 && threads == 0)
		sockets = cpus;
	sockets = sockets ? sockets : 1;
	cores = cores ? cores : 1;
	threads = threads ? threads : 1;
	{
		struct cpu_topology t = { cpus, sockets, cores, threads };
		if (t.cpus == 0)
			t.cpus = sockets * cores * threads;
		if (topology_check(&t, VM_MAXCPU) != 0)
			return -1;
		cpus = t.cpus;
	}
	snprintf(v, sizeof(v), "%u", cpus);
	if (config_set("cpus", v) != 0)
		return -1;
	snprintf(v, sizeof(v), "%u", sockets);
	if (config_set("sockets", v) != 0)
		return -1;
	snprintf(v, sizeof(v), "%u", cores);
	if (config_set("cores", v) != 0)
		return -1;
	snprintf(v, sizeof(v), "%u", threads);
	return config_set("threads", v);
}

int cpuset_parse(const char *s, unsigned char *bits, unsigned nbits)
{
	char *copy = strdup(s), *save = NULL, *tok;
	int r = 0;

	if (copy == NULL)
		return fail("out of memory");
	memset(bits, 0, (nbits + 7) / 8);
	if (*s == '\0')
		r = fail("empty CPU list");
	for (tok = strtok_r(copy, ",", &save); tok && r == 0;
	    tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		unsigned lo, hi;
		if (dash) {
			*dash = '\0';
			if (parse_uint_range(tok, 0, nbits - 1, &lo) != 0 ||
			    parse_uint_range(dash + 1, 0, nbits - 1, &hi) != 0 ||
			    hi < lo) {
				r = fail("invalid host CPU range in '%s'", s);
				break;
			}
		} else if (parse_uint_range(tok, 0, nbits - 1, &lo) != 0) {
			r = fail("invalid host CPU '%s' in '%s'", tok, s);
			break;
		} else {
			hi = lo;
		}
		for (unsigned c = lo; c <= hi; c++)
			bits[c / 8] |= (unsigned char)(1u << (c % 8));
	}
	free(copy);
	return r;
}

int pincpu_parse(const char *opt)
{
	unsigned vcpu, host;
	const char *colon = strchr(opt, ':');
	char num[16], name[32], *val;
	const char *old;
	int r;

	if (colon == NULL || colon == opt || (size_t)(colon - opt) >= sizeof(num))
		return fail("invalid format '%s' for -p (expected vcpu:hostcpu)",
		    opt);
	memcpy(num, opt, (size_t)(colon - opt));
	num[colon - opt] = '\0';
	if (parse_uint_range(num, 0, VM_MAXCPU - 1, &vcpu) != 0)
		return fail("invalid vcpu '%s' in -p %s (0 to %d)", num, opt,
		    VM_MAXCPU - 1);
	if (parse_uint_range(colon + 1, 0, CPU_SETSIZE - 1, &host) != 0)
		return fail("invalid host cpu '%s' in -p %s (0 to %d)",
		    colon + 1, opt, CPU_SETSIZE - 1);
	/* Every -p for a vCPU adds a host CPU to its list, as bhyve does;
	 * the list grows without bound (no fixed-size buffer). */
	snprintf(name, sizeof(name), "vcpu.%u.cpuset", vcpu);
	old = config_get_raw(name);
	if (old)
		r = asprintf(&val, "%s,%u", old, host);
	else
		r = asprintf(&val, "%u", host);
	if (r < 0)
		return fail("out of memory");
	r = config_set(name, val);
	free(val);
	return r;
}

int gdb_parse(const char *opt)
{
	const char *p = opt, *colon;
	unsigned port;

	if (*p == 'w') {
		if (config_set("gdb.wait", "true") != 0)
			return -1;
		p++;
	}
	colon = strrchr(p, ':');
	if (colon) {
		char addr[256];
		if ((size_t)(colon - p) >= sizeof(addr) || colon == p)
			return fail("invalid debug server address '%s'", opt);
		memcpy(addr, p, (size_t)(colon - p));
		addr[colon - p] = '\0';
		if (config_set("gdb.address", addr) != 0)
			return -1;
		p = colon + 1;
	}
	if (parse_uint_range(p, 1, 65535, &port) != 0)
		return fail("invalid debug server port '%s'", opt);
	return config_set("gdb.port", p);
}

static int set_flag(const char *name, const char *val)
{
	return config_set(name, val);
}

int options_parse(int argc, char **argv)
{
	int c;
	uint64_t sz;

	optind = 0;	/* glibc: 0 fully resets getopt's state */
	opterr = 0;
	while ((c = getopt(argc, argv, "+:aAc:CDeG:hHIk:K:l:m:Mn:o:p:Pr:s:SuU:wWxY"))
	    != -1) {
		int r = 0;
		switch (c) {
		case 'a': r = set_flag("x86.x2apic", "false"); break;
		case 'A': r = set_flag("acpi_tables", "true"); break;
		case 'C': r = set_flag("memory.guest_in_core", "true"); break;
		case 'c':
			if (topology_parse(optarg) != 0)
				return fail_prefix("invalid cpu topology '%s'",
				    optarg), EXIT_EX_USAGE;
			break;
		case 'D': r = set_flag("destroy_on_poweroff", "true"); break;
		case 'e': r = set_flag("x86.strictio", "true"); break;
		case 'G':
			if (gdb_parse(optarg) != 0)
				return EXIT_EX_USAGE;
			break;
		case 'h':
			options_usage();
			return 0;
		case 'H': r = set_flag("x86.vmexit_on_hlt", "true"); break;
		case 'I':
			/* bhyve's old "add an I/O APIC" flag: there always is
			 * one; FreeBSD accepts and ignores it (libvirt). */
			break;
		case 'K': r = config_set("keyboard.layout", optarg); break;
		case 'k':
			if (config_parse_file(optarg) != 0)
				return EXIT_EX_USAGE;
			break;
		case 'l':
			if (strcmp(optarg, "help") == 0) {
				lpc_print_help();
				return 0;
			}
			if (lpc_device_parse(optarg) != 0)
				return EXIT_EX_USAGE;
			break;
		case 'm':
			if (parse_memsize(optarg, &sz) != 0)
				return fail("invalid memsize '%s'", optarg),
				    EXIT_EX_USAGE;
			r = config_set("memory.size", optarg);
			break;
		case 'n': {
			bool acpi;
			if (numa_parse_option(optarg) != 0)
				return EXIT_EX_USAGE;
			if (config_get_bool("acpi_tables", true, &acpi) != 0)
				return EXIT_EX_USAGE;
			if (!acpi)
				return fail("NUMA emulation (-n) requires ACPI "
				    "tables (acpi_tables=true)"),
				    EXIT_EX_USAGE;
			break;
		}
		case 'o':
			if (config_parse_assignment(optarg) != 0)
				return fail_prefix("invalid -o '%s'", optarg),
				    EXIT_EX_USAGE;
			break;
		case 'p':
			if (pincpu_parse(optarg) != 0)
				return EXIT_EX_USAGE;
			break;
		case 'M': r = set_flag("monitor", "true"); break;
		case 'P': r = set_flag("x86.vmexit_on_pause", "true"); break;
		case 'r': r = config_set("restore.file", optarg); break;
		case 's':
			if (strcmp(optarg, "help") == 0) {
				pci_emul_print_help();
				return 0;
			}
			if (pci_parse_slot(optarg) != 0)
				return EXIT_VMERROR;
			break;
		case 'S': r = set_flag("memory.wired", "true"); break;
		case 'u': r = set_flag("rtc.use_localtime", "false"); break;
		case 'U': r = config_set("uuid", optarg); break;
		case 'w': r = set_flag("x86.strictmsr", "false"); break;
		case 'W': r = set_flag("virtio_msix", "false"); break;
		case 'x': r = set_flag("x86.x2apic", "true"); break;
		case 'Y': r = set_flag("x86.mptable", "false"); break;
		case ':':
			fail("option -%c requires an argument", optopt);
			return EXIT_USAGE;
		case '?':
		default:
			fail("unknown option -%c", optopt ? optopt : '?');
			return EXIT_USAGE;
		}
		if (r != 0)
			return EXIT_EX_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		return fail("unexpected arguments after the VM name '%s': '%s'",
		    argv[0], argv[1]), EXIT_USAGE;
	if (argc == 1 && config_set("name", argv[0]) != 0)
		return EXIT_USAGE;
	if (config_get_raw("name") == NULL)
		return fail("missing vmname"), EXIT_USAGE;
	return -1;
}
