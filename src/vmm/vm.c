/* The KVM VM: /dev/kvm, capabilities, in-kernel interrupt controllers,
 * guest RAM slots, vCPU creation and CPUID, the stop request, ISA IRQ lines.
 * vCPU threads and the exit table are in vcpu.c, the coalesced ring in
 * ring.c. */
#include "vmm/vm.h"
#include "bus/mmio.h"
#include "bus/pio.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* Addresses KVM needs for its own use (real-mode TSS, identity map); kept
 * just below the 16 MiB reserved for a boot ROM and marked reserved in the
 * e820 map. */
#define KVM_IDENT_MAP_ADDR	0xfeffc000ULL
#define KVM_TSS_ADDR		0xfeffd000ULL

int kvm_probe(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int r;

	if (fd < 0)
		return fail_errno("cannot open /dev/kvm");
	r = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (r != KVM_API_VERSION)
		return fail("/dev/kvm: unsupported KVM API version %d", r);
	return 0;
}

/* The host's limits on vCPUs: KVM_CAP_MAX_VCPUS (KVM_CAP_NR_VCPUS on
 * kernels without it) and the highest vCPU (APIC) id. */
static int check_vcpu_limits(struct vm *vm)
{
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	int maxid = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
	    KVM_CAP_MAX_VCPU_ID);
	uint32_t top;

	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;	/* KVM's documented minimum */
	if (vm->topo.cpus > (unsigned)max)
		return fail("cpus=%u: this host's KVM allows at most %d vCPUs "
		    "per VM (KVM_CAP_MAX_VCPUS)", vm->topo.cpus, max);
	top = topology_apic_id(&vm->topo, vm->topo.cpus - 1);
	if (maxid <= 0)
		maxid = max;
	if (top >= (unsigned)maxid)
		return fail("cpu topology sockets=%u cores=%u threads=%u needs "
		    "APIC id %u; this host's KVM allows ids below %d",
		    vm->topo.sockets, vm->topo.cores, vm->topo.threads, top,
		    maxid);
	if (top > 254 && !vm->x2apic)
		return fail("cpu topology needs APIC id %u: more than 255 APIC "
		    "ids need x2APIC mode (-x)", top);
	return 0;
}

/* -H and -P as in bhyve: without -H a HLT does not leave the guest (the
 * vCPU's host thread shows as 100% busy, and a halt cannot be detected:
 * status 2 needs -H, as in bhyve); without -P neither does PAUSE.  With
 * them KVM intercepts both (HLT sleeps in the kernel, PAUSE loops yield).
 * Must be set before any vCPU exists.  A host KVM that cannot pass them
 * through keeps the exits, as with -H/-P, and says so. */
static int set_guest_exits(struct vm *vm)
{
	uint64_t want = (vm->vmexit_on_hlt ? 0 : KVM_X86_DISABLE_EXITS_HLT) |
	    (vm->vmexit_on_pause ? 0 : KVM_X86_DISABLE_EXITS_PAUSE);
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_DISABLE_EXITS };
	int have;

	if (want == 0)
		return 0;
	have = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
	    KVM_CAP_X86_DISABLE_EXITS);
	if (have <= 0 || ((uint64_t)have & want) != want) {
		warnx_raw("this host's KVM cannot leave %s to the guest; they "
		    "exit as with %s", want == KVM_X86_DISABLE_EXITS_HLT ?
		    "HLT" : want == KVM_X86_DISABLE_EXITS_PAUSE ? "PAUSE" :
		    "HLT and PAUSE", want == KVM_X86_DISABLE_EXITS_HLT ? "-H" :
		    want == KVM_X86_DISABLE_EXITS_PAUSE ? "-P" : "-H -P");
		return 0;
	}
	cap.args[0] = want;
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return fail_errno("KVM_CAP_X86_DISABLE_EXITS");
	return 0;
}

int vm_open(struct vm *vm)
{
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_IRQCHIP, "in-kernel interrupt controllers" },
		{ KVM_CAP_USER_MEMORY, "user memory" },
		{ KVM_CAP_SET_TSS_ADDR, "TSS address" },
		{ KVM_CAP_PIT2, "in-kernel PIT" },
		{ KVM_CAP_EXT_CPUID, "CPUID setting" },
		{ KVM_CAP_IMMEDIATE_EXIT, "immediate exit" },
	};
	uint64_t ident = KVM_IDENT_MAP_ADDR;
	struct kvm_pit_config pit = { .flags = 0 };

	vm->vm_fd = -1;
	vm->stop_efd = -1;
	atomic_store(&vm->exitcode, -1);
	atomic_store(&vm->stopping, false);
	pthread_mutex_init(&vm->exitlock, NULL);
	pthread_mutex_init(&vm->ring_lock, NULL);
	vm->ring = NULL;
	if (vm->topo.cpus == 0 || vm->topo.cpus > VM_MAXCPU)
		return fail("%u vCPUs, at most %u supported", vm->topo.cpus,
		    VM_MAXCPU);
	vm->vcpus = calloc(vm->topo.cpus, sizeof(*vm->vcpus));
	if (vm->vcpus == NULL)
		return fail("out of memory for %u vCPUs", vm->topo.cpus);
	for (unsigned i = 0; i < vm->topo.cpus; i++)
		vm->vcpus[i].fd = -1;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return fail_errno("cannot open /dev/kvm (is the kvm module "
		    "loaded and are you allowed to use it?)");
	{
		int v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
		if (v < 0)
			return fail_errno("/dev/kvm is not a KVM device "
			    "(KVM_GET_API_VERSION)");
		if (v != KVM_API_VERSION)
			return fail("/dev/kvm: unsupported KVM API version %d",
			    v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0)
			return fail("/dev/kvm lacks %s (KVM_CAP %d)",
			    caps[i].name, caps[i].cap);
	if (check_vcpu_limits(vm) != 0)
		return -1;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail_errno("KVM_CREATE_VM");
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		return fail_errno("KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return fail_errno("KVM_SET_TSS_ADDR");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail_errno("KVM_CREATE_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return fail_errno("KVM_CREATE_PIT2");
	if (!vm->strictmsr) {
		/* -w: unknown MSRs come to us and are ignored. */
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_X86_USER_SPACE_MSR,
			.args[0] = KVM_MSR_EXIT_REASON_UNKNOWN,
		};
		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
			return fail_errno("x86.strictmsr=false needs "
			    "KVM_CAP_X86_USER_SPACE_MSR");
	}
	if (set_guest_exits(vm) != 0)
		return -1;
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0)
		return fail_errno("eventfd");
	return 0;
}

/*
 * Guest RAM is anonymous memory aligned to 2 MiB and marked for transparent
 * huge pages.  Every region starts at a 2 MiB-aligned guest address, so with
 * the host address aligned too KVM can map the guest with 2 MiB (nested)
 * page-table entries: a first touch of guest memory then faults once per
 * 2 MiB instead of once per 4 KiB, which is most of the cost of a boot
 * under nested virtualisation.
 */
#define GUEST_RAM_ALIGN (2ULL << 20)

static void *map_guest_ram(uint64_t size)
{
	uint64_t span = size + GUEST_RAM_ALIGN;
	uint8_t *raw, *p;

	raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	p = (uint8_t *)ALIGN_UP((uintptr_t)raw, GUEST_RAM_ALIGN);
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (p + size < raw + span)
		munmap(p + size, (size_t)(raw + span - (p + size)));
	/* Advice only: without THP the guest still runs, on 4 KiB pages. */
	madvise(p, size, MADV_HUGEPAGE);
	return p;
}

static int add_region(struct vm *vm, int slot, uint64_t gpa, uint64_t size)
{
	struct kvm_userspace_memory_region r;
	void *p;

	p = map_guest_ram(size);
	if (p == NULL)
		return fail_errno("cannot map %llu MiB of guest memory",
		    (unsigned long long)(size >> 20));
	if (!vm->guest_in_core)
		madvise(p, size, MADV_DONTDUMP);
	if (vm->wired && mlock(p, size) != 0) {
		munmap(p, size);
		return fail_errno("cannot wire guest memory (-S)");
	}
	vm->mem.r[vm->mem.nr++] = (struct mem_region){ gpa, size, p };
	r = (struct kvm_userspace_memory_region){
		.slot = (uint32_t)slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)p,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return fail_errno("KVM_SET_USER_MEMORY_REGION");
	return 0;
}

/* Whether this process may lock memory beyond RLIMIT_MEMLOCK
 * (CAP_IPC_LOCK in its effective set, bit 14). */
static bool have_ipc_lock(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	bool r = false;

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long caps;
		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			r = (caps >> 14) & 1;
			break;
		}
	}
	fclose(f);
	return r;
}

/* -S: check the locked-memory limit before mapping anything, so a too
 * small limit is one clear message instead of a failed mlock. */
int vm_check_wired(uint64_t size)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return fail_errno("getrlimit(RLIMIT_MEMLOCK)");
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= size ||
	    have_ipc_lock())
		return 0;
	return fail("wired guest memory (-S, memory.wired) needs %llu KiB "
	    "locked, but the locked-memory limit (RLIMIT_MEMLOCK, ulimit -l) "
	    "is %llu KiB: raise it or run with CAP_IPC_LOCK",
	    (unsigned long long)(size >> 10),
	    (unsigned long long)(rl.rlim_cur >> 10));
}

int vm_setup_memory(struct vm *vm, uint64_t size)
{
	mem_layout(size, &vm->mem.lowmem, &vm->mem.highmem);
	if (add_region(vm, 0, 0, vm->mem.lowmem) != 0)
		return -1;
	if (vm->mem.highmem && add_region(vm, 1, HIGHMEM_BASE,
	    vm->mem.highmem) != 0)
		return -1;
	return 0;
}

static int vcpu_set_cpuid(struct vm *vm, struct vcpu *v)
{
	struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 e[CPUID_MAX_ENTRIES];
	} c;
	struct cpuid_opts o = {
		.x2apic = vm->x2apic,
		.tsc_khz = vm->tsc_khz,
		.tsc_deadline = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		    KVM_CAP_TSC_DEADLINE_TIMER) > 0,
	};

	memset(&c, 0, sizeof(c));
	c.hdr.nent = CPUID_MAX_ENTRIES - 1;	/* room for the timing leaf */
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &c) < 0)
		return fail_errno("KVM_GET_SUPPORTED_CPUID");
	c.hdr.nent = (uint32_t)cpuid_build(c.e, (int)c.hdr.nent,
	    CPUID_MAX_ENTRIES, &vm->topo, v->index, &o);
	if (ioctl(v->fd, KVM_SET_CPUID2, &c) < 0)
		return fail_errno("vcpu %u: KVM_SET_CPUID2", v->index);
	if (v->index == 0) {
		struct kvm_cpuid_entry2 *l1 = cpuid_find(c.e, (int)c.hdr.nent,
		    1, 0);
		if (l1 != NULL) {
			vm->cpuid1_eax = l1->eax;
			vm->cpuid1_edx = l1->edx;
		}
	}
	return 0;
}

int vm_create_vcpus(struct vm *vm)
{
	int mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	if (mmap_size <= 0)
		return fail_errno("KVM_GET_VCPU_MMAP_SIZE");
	for (unsigned i = 0; i < vm->topo.cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		v->vm = vm;
		v->index = i;
		v->apic_id = topology_apic_id(&vm->topo, i);
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->apic_id);
		if (v->fd < 0)
			return fail_errno("KVM_CREATE_VCPU %u", i);
		v->run_size = (size_t)mmap_size;
		v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			return fail_errno("mmap kvm_run");
		}
	}
	vm_map_coalesced_ring(vm);
	{
		int khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
		vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	}
	for (unsigned i = 0; i < vm->topo.cpus; i++)
		if (vcpu_set_cpuid(vm, &vm->vcpus[i]) != 0)
			return -1;
	return 0;
}

void vm_request_exit(struct vm *vm, enum vm_exitcode code, const char *fmt, ...)
{
	int expected = -1;
	uint64_t one = 1;

	pthread_mutex_lock(&vm->exitlock);
	if (atomic_compare_exchange_strong(&vm->exitcode, &expected,
	    (int)code) && fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(vm->exitmsg, sizeof(vm->exitmsg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vm->exitlock);
	if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
		/* counter saturated: a stop is already pending */
	}
}

int vm_isa_irq(struct vm *vm, unsigned irq, bool level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level ? 1 : 0 };

	if (irq >= 16)
		return -1;
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

void vm_destroy(struct vm *vm)
{
	vm_stop_vcpus(vm);
	for (unsigned i = 0; vm->vcpus != NULL && i < vm->topo.cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->run)
			munmap(v->run, v->run_size);
		if (v->fd >= 0)
			close(v->fd);
		v->run = NULL;
		v->fd = -1;
	}
	vm_unmap_coalesced_ring(vm);
	for (int i = 0; i < vm->mem.nr; i++)
		munmap(vm->mem.r[i].hva, vm->mem.r[i].size);
	vm->mem.nr = 0;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	vm->vm_fd = vm->kvm_fd = vm->stop_efd = -1;
	free(vm->vcpus);
	vm->vcpus = NULL;
}

