/* bhyve for Linux: options -> configuration tree -> VM -> exit status. */
#include "backends/evloop.h"
#include "backends/sock.h"
#include "backends/tty.h"
#include "bus/mmio.h"
#include "bus/pci.h"
#include "bus/pio.h"
#include "config.h"
#include "devices/lpc.h"
#include "ipc.h"
#include "monitor.h"
#include "options.h"
#include "platform/acpi.h"
#include "platform/layout.h"
#include "platform/loader.h"
#include "platform/mptable.h"
#include "platform/numa.h"
#include "platform/platform.h"
#include "platform/pm.h"
#include "platform/smbios.h"
#include "util.h"
#include "virtio/virtio.h"
#include "vmm/vm.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static struct vm the_vm;

/* The recorded error, once: never blocking for long (stderr may be a full
 * pipe nobody reads, with the console output), so a signal still ends
 * bhyve promptly. */
static void print_error(void)
{
	char msg[600];

	snprintf(msg, sizeof(msg), "bhyve: %s\n", last_error());
	stderr_write(msg, stderr_wait_ms());
}

static void fatal_signal(int sig)
{
	tty_restore_all();
	sock_cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_crash_handlers(void)
{
	/* Every other signal whose default action ends the process:
	 * terminals back first (SIGTERM/SIGINT/SIGHUP/SIGUSR2 go to the
	 * event loop; SIGUSR1 is the vCPU kick). */
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
	    SIGQUIT, SIGTRAP, SIGSYS, SIGXCPU, SIGXFSZ, SIGALRM, SIGVTALRM,
	    SIGPROF, SIGPWR, SIGSTKFLT };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fatal_signal;
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Features the manual has that are not built yet: using one is an error. */
static int check_unimplemented(void)
{
	if (config_get("gdb.port") != NULL)
		return fail("the debug server (-G, gdb.port) is not "
		    "implemented yet");
	if (config_get("restore.file") != NULL)
		return fail("resuming from a snapshot (-r) is not implemented "
		    "yet");
	return 0;
}

static int read_topology(struct cpu_topology *t)
{
	if (config_get_uint("sockets", 1, 1, 65535, &t->sockets) != 0 ||
	    config_get_uint("cores", 1, 1, 65535, &t->cores) != 0 ||
	    config_get_uint("threads", 1, 1, 65535, &t->threads) != 0)
		return -1;
	if (config_get_uint("cpus", t->sockets * t->cores * t->threads, 1,
	    65535, &t->cpus) != 0)
		return -1;
	if (topology_check(t, VM_MAXCPU) != 0)
		return fail_prefix("invalid cpu topology");
	return 0;
}

/* -p / vcpu.N.cpuset: every N must be a configured vCPU and every host
 * CPU must exist on this host. */
static int check_pinning(unsigned cpus)
{
	static char names[VM_MAXCPU + 1][32];
	long host = sysconf(_SC_NPROCESSORS_CONF);
	int n = config_children("vcpu", names, VM_MAXCPU + 1);

	for (int i = 0; i < n; i++) {
		unsigned char bits[CPU_SETSIZE / 8];
		const char *s;
		unsigned v;

		if (parse_uint_range(names[i], 0, UINT32_MAX, &v) != 0)
			return fail("vcpu.%s: not a vCPU number", names[i]);
		if (v >= cpus)
			return fail("vcpu.%u.cpuset (-p %u:...): vCPU %u does not "
			    "exist, the VM has %u (vCPUs 0 to %u)", v, v, v,
			    cpus, cpus - 1);
		s = config_getf("vcpu.%u.cpuset", v);
		if (s == NULL)
			continue;
		if (cpuset_parse(s, bits, CPU_SETSIZE) != 0)
			return fail_prefix("vcpu.%u.cpuset", v);
		for (unsigned c = 0; c < CPU_SETSIZE; c++)
			if ((bits[c / 8] & (1u << (c % 8))) && host > 0 &&
			    c >= (unsigned long)host)
				return fail("vcpu.%u.cpuset: host CPU %u does "
				    "not exist (this host has CPUs 0 to %ld)",
				    v, c, host - 1);
	}
	return 0;
}

static int read_pinning(struct vm *vm)
{
	for (unsigned i = 0; i < vm->topo.cpus; i++) {
		const char *s = config_getf("vcpu.%u.cpuset", i);
		unsigned char bits[CPU_SETSIZE / 8];
		struct vcpu *v = &vm->vcpus[i];

		if (s == NULL)
			continue;
		if (cpuset_parse(s, bits, CPU_SETSIZE) != 0)
			return fail_prefix("vcpu.%u.cpuset", i);
		CPU_ZERO(&v->cpuset);
		for (unsigned c = 0; c < CPU_SETSIZE; c++)
			if (bits[c / 8] & (1u << (c % 8)))
				CPU_SET(c, &v->cpuset);
		v->pinned = true;
	}
	return 0;
}

static int check_file(const char *var, const char *path)
{
	if (access(path, R_OK) != 0)
		return fail_errno("%s: cannot read '%s'", var, path);
	return 0;
}

static int check_vmname(const char *name)
{
	if (*name == '\0' || strlen(name) > 200)
		return fail("invalid vmname '%s'", name);
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.:+", *p))
			return fail("invalid vmname '%s': use letters, digits "
			    "and - _ . : +", name);
	return 0;
}

static void on_stop(int fd, uint32_t events, void *arg)
{
	uint64_t v;
	(void)events;
	(void)arg;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* spurious wakeup */
	}
	evloop_quit();
}

/* Halt (status 2) detection: about once a second; see vm_check_halt(). */
#define HALT_CHECK_NS 1000000000ull
static struct ev *halt_timer;

static void on_halt_timer(void *arg)
{
	vm_check_halt(arg);
}

static int pending_signal;
static int signal_fd = -1;
static struct ev *stop_ev, *signal_ev;

static void on_signal(int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;
	struct vm *vm = arg;
	(void)events;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		/* State dump for debugging a hung guest; the VM runs on. */
		vm_dump_state(vm);
		platform_dump();
		return;
	}
	if (si.ssi_signo == SIGTERM) {
		/* As bhyve: once the guest has enabled ACPI, SIGTERM presses
		 * the power button and the guest shuts down (S5, status 1).
		 * Before that (or without ACPI tables) it powers off at
		 * once; so does a SIGTERM while the last press is still
		 * unacknowledged (PWRBTN_STS set): a second SIGTERM is how a
		 * manager forces a guest that ignores the button off, with
		 * status 1 rather than by SIGKILL. */
		if (pm_power_button() != PM_BUTTON_PRESSED)
			vm_request_exit(vm, VM_EXIT_POWEROFF, NULL);
		return;
	}
	pending_signal = (int)si.ssi_signo;
	vm_request_exit(vm, VM_EXIT_ERROR, "terminated by signal %d",
	    pending_signal);
}

/* Build the VM from the frozen tree and run it; returns the exit status. */
static int run_vm(void)
{
	struct vm *vm = &the_vm;
	const char *kernel, *initrd, *cmdline;
	uint64_t memsize;
	bool mptable, decompress, acpi, b;
	unsigned u;
	static struct numa_config numa;
	sigset_t sigs;
	int sfd = -1, status;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = -1;
	vm->name = config_get("name");
	if (check_vmname(vm->name) != 0 || check_unimplemented() != 0 ||
	    read_topology(&vm->topo) != 0 || smbios_check_config(&vm->topo) != 0 ||
	    check_pinning(vm->topo.cpus) != 0)
		return -1;
	if (parse_memsize(config_get("memory.size"), &memsize) != 0)
		return fail("invalid memory.size '%s'",
		    config_get("memory.size"));
	if (memsize < 2 * MIB || (memsize & 0xfff))
		return fail("memory.size '%s' must be at least 2M and a "
		    "multiple of 4K", config_get("memory.size"));
	if (config_get_bool("x86.strictio", false, &vm->strictio) != 0 ||
	    config_get_bool("x86.strictmsr", true, &vm->strictmsr) != 0 ||
	    config_get_bool("x86.x2apic", false, &vm->x2apic) != 0 ||
	    config_get_bool("memory.wired", false, &vm->wired) != 0 ||
	    config_get_bool("memory.guest_in_core", false,
	    &vm->guest_in_core) != 0 ||
	    config_get_bool("x86.mptable", true, &mptable) != 0 ||
	    config_get_bool("x86.vmexit_on_hlt", false,
	    &vm->vmexit_on_hlt) != 0 ||
	    config_get_bool("x86.vmexit_on_pause", false,
	    &vm->vmexit_on_pause) != 0 ||
	    config_get_bool("destroy_on_poweroff", false, &b) != 0 ||
	    config_get_bool("virtio_msix", true, &b) != 0 ||
	    config_get_bool("virtio.pio_notify", false, &b) != 0 ||
	    config_get_uint("virtio.poll_us", 0, 0,
	    VIRTIO_POLL_US_MAX, &u) != 0 ||
	    config_get_bool("boot.decompress", false, &decompress) != 0 ||
	    config_get_bool("acpi_tables", true, &acpi) != 0 ||
	    numa_read(&numa, memsize, vm->topo.cpus) != 0)
		return -1;
	if (vm->wired && vm_check_wired(memsize) != 0)
		return -1;
	if (numa.n > 0 && !acpi)
		return fail("NUMA domains (-n, domains.N) need ACPI tables "
		    "(acpi_tables=true)");
	vm->boot.rsdp = acpi ? ACPI_RSDP_ADDR : 0;
	kernel = config_get("boot.kernel");
	initrd = config_get("boot.initrd");
	cmdline = config_get("boot.cmdline");
	if (kernel == NULL)
		return fail("nothing to boot: set boot.kernel (-o "
		    "boot.kernel=PATH; boot ROMs are not implemented yet)");
	if (check_file("boot.kernel", kernel) != 0 ||
	    (initrd && check_file("boot.initrd", initrd) != 0))
		return -1;
	for (unsigned i = 0; i < 4; i++) {
		const char *p = config_getf("lpc.com%u.path", i + 1);
		if (p && ttybe_check(p) != 0)
			return fail_prefix("lpc.com%u.path", i + 1);
	}
	if (pci_check() != 0 || ipc_check(vm->name) != 0)
		return -1;

	if (vm_open(vm) != 0 || vm_setup_memory(vm, memsize) != 0 ||
	    vm_create_vcpus(vm) != 0 || read_pinning(vm) != 0)
		return -1;
	trace_point("VM created, %llu MiB", (unsigned long long)(memsize >> 20));
	if (boot_load(vm, kernel, initrd, cmdline, decompress) != 0)
		return -1;
	trace_point("kernel and initrd loaded");
	if (platform_init(vm) != 0 || pci_init(vm) != 0 ||
	    lpc_check() != 0 || (acpi && acpi_init(vm, &numa) != 0))
		return -1;
	/* After pci_init: the MP table lists the devices' INTx routing. */
	if (mptable && mptable_init(vm) != 0)
		return -1;
	if (smbios_init(vm) != 0)
		return -1;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR2);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return fail_errno("signalfd");
	signal_fd = sfd;
	if (evloop_init() != 0 || platform_start(vm) != 0 || ipc_start() != 0 ||
	    (stop_ev = ev_add(vm->stop_efd, false, on_stop, vm)) == NULL ||
	    (signal_ev = ev_add(sfd, false, on_signal, vm)) == NULL ||
	    vm_coalesced_timer_start(vm) != 0 ||
	    (halt_timer = ev_timer_add(on_halt_timer, vm)) == NULL ||
	    ev_timer_arm(halt_timer, HALT_CHECK_NS, HALT_CHECK_NS) != 0)
		return -1;
	trace_point("starting vCPUs");
	if (vm_start_vcpus(vm) != 0) {
		vm_stop_vcpus(vm);
		return -1;
	}
	if (evloop_run() != 0)
		vm_request_exit(vm, VM_EXIT_ERROR, "event loop: %s",
		    last_error());
	trace_point("VM stopping");
	vm_stop_vcpus(vm);
	status = atomic_load(&vm->exitcode);
	if (status == VM_EXIT_ERROR)
		fail("%s", vm->exitmsg[0] ? vm->exitmsg : "VM error");
	return status;
}

/* Every exit path, after run_vm(): the event-loop entries and the
 * signalfd (vm_destroy() releases the KVM VM, its vCPUs and memory). */
static void release_loop_resources(void)
{
	ev_del(halt_timer);
	vm_coalesced_timer_stop(&the_vm);
	ev_del(stop_ev);
	ev_del(signal_ev);
	halt_timer = stop_ev = signal_ev = NULL;
	if (signal_fd >= 0)
		close(signal_fd);
	signal_fd = -1;
}

int main(int argc, char **argv)
{
	sigset_t block;
	int r;
	bool dump, mon;

	trace_init();
	install_crash_handlers();
	/* Signals are taken by the event loop (signalfd); the vCPU kick
	 * signal is unblocked only in vCPU threads. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);	/* state dump (on_signal) */
	pthread_sigmask(SIG_BLOCK, &block, NULL);

	config_init();
	if (options_defaults() != 0) {
		print_error();
		return EXIT_VMERROR;
	}
	r = options_parse(argc, argv);
	if (r >= 0) {
		if (r != 0) {
			print_error();
			if (r == EXIT_USAGE)
				options_usage();
		}
		return r;
	}
	if (config_freeze() != 0) {
		print_error();
		return EXIT_EX_USAGE;
	}
	if (config_get_bool("config.dump", false, &dump) != 0) {
		print_error();
		return EXIT_EX_USAGE;
	}
	if (dump) {
		config_dump(stdout);
		return 0;
	}
	if (config_get_bool("monitor", false, &mon) != 0 ||
	    (mon && monitor_check_config() != 0)) {
		print_error();
		return EXIT_VMERROR;
	}
	if (mon) {
		/* -M: this process stays the monitor; VM processes return
		 * here with -1 and go on below. */
		r = monitor_run();
		if (r >= 0) {
			if (r == VM_EXIT_ERROR &&
			    strcmp(last_error(), "unknown error") != 0)
				print_error();
			return r;
		}
	}

	r = run_vm();
	/* Devices (and their I/O threads) go before guest memory and the
	 * KVM descriptors they use. */
	vm_stop_vcpus(&the_vm);
	pci_fini();
	vm_destroy(&the_vm);
	release_loop_resources();
	ipc_stop();
	platform_fini();
	evloop_fini();
	tty_restore_all();
	sock_cleanup_all();
	if (r < 0 || r == VM_EXIT_ERROR) {
		print_error();
		r = VM_EXIT_ERROR;
	}
	if (pending_signal) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, pending_signal);
		signal(pending_signal, SIG_DFL);
		pthread_sigmask(SIG_UNBLOCK, &s, NULL);
		raise(pending_signal);
	}
	return r;
}
