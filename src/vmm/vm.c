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
#include <unistd.h>

/* Addresses KVM needs for its own use (real-mode TSS, identity map); kept
 * just below the 16 MiB reserved for a boot ROM and marked reserved in the
 * e820 map. */
#define KVM_IDENT_MAP_ADDR	0xfeffc000ULL
#define KVM_TSS_ADDR		0xfeffd000ULL

#define VCPU_KICK_SIGNAL SIGUSR1

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
	for (int i = 0; i < VM_MAXCPU; i++)
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
	return 0;
}

/* The coalesced ring is a page of the vCPU file at the offset
 * KVM_CAP_COALESCED_MMIO names.  Without it (or without port support)
 * every write exits, which is only slower. */
static void map_coalesced_ring(struct vm *vm)
{
	long page = sysconf(_SC_PAGESIZE);
	int off = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
	void *p;

	if (off <= 0 || page <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0)
		return;
	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED,
	    vm->vcpus[0].fd, (off_t)off * page);
	if (p == MAP_FAILED)
		return;
	vm->ring = p;
	vm->ring_max = (uint32_t)(((size_t)page -
	    sizeof(struct kvm_coalesced_mmio_ring)) /
	    sizeof(struct kvm_coalesced_mmio));
}

int vm_coalesce_pio(struct vm *vm, uint16_t port, uint16_t len, bool on)
{
	struct kvm_coalesced_mmio_zone z = {
		.addr = port, .size = len, .pio = 1,
	};

	if (vm->ring == NULL)
		return -1;
	return ioctl(vm->vm_fd, on ? KVM_REGISTER_COALESCED_MMIO :
	    KVM_UNREGISTER_COALESCED_MMIO, &z) < 0 ? -1 : 0;
}

bool vm_coalesced_pending(const struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *r = vm->ring;

	return r != NULL && __atomic_load_n(&r->first, __ATOMIC_RELAXED) !=
	    __atomic_load_n(&r->last, __ATOMIC_RELAXED);
}

static void replay_write(struct vm *vm, const struct kvm_coalesced_mmio *e)
{
	uint64_t val = 0;
	uint32_t v32;

	memcpy(&val, e->data, e->len);
	if (!e->pio) {
		if (mmio_dispatch(e->phys_addr, (int)e->len, true, &val) ==
		    MMIO_ERROR)
			vm_request_exit(vm, VM_EXIT_ERROR, "MMIO 0x%llx: %s",
			    (unsigned long long)e->phys_addr, last_error());
		return;
	}
	v32 = (uint32_t)val;
	if (e->len <= 4 && e->phys_addr <= 0xffff &&
	    pio_dispatch((uint16_t)e->phys_addr, (int)e->len, false, &v32) ==
	    PIO_ERROR)
		vm_request_exit(vm, VM_EXIT_ERROR, "port 0x%x: %s",
		    (unsigned)e->phys_addr, last_error());
}

void vm_flush_coalesced(struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *r = vm->ring;

	if (r == NULL)
		return;
	pthread_mutex_lock(&vm->ring_lock);
	for (;;) {
		uint32_t first = __atomic_load_n(&r->first, __ATOMIC_RELAXED);
		uint32_t last = __atomic_load_n(&r->last, __ATOMIC_ACQUIRE);
		struct kvm_coalesced_mmio e;

		if (first == last)
			break;
		if (first >= vm->ring_max || last >= vm->ring_max) {
			/* Only KVM writes the ring; never index past it. */
			vm_request_exit(vm, VM_EXIT_ERROR, "coalesced write "
			    "ring corrupt (first %u, last %u)", first, last);
			break;
		}
		e = r->coalesced_mmio[first];
		/* Other lengths are nothing KVM could have queued: dropped. */
		if (e.len >= 1 && e.len <= sizeof(e.data))
			replay_write(vm, &e);
		/* Consumed only once handled: a vCPU that sees the ring
		 * empty knows every queued write has taken effect. */
		__atomic_store_n(&r->first, (first + 1) % vm->ring_max,
		    __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vm->ring_lock);
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
	map_coalesced_ring(vm);
	{
		int khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
		vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	}
	for (unsigned i = 0; i < vm->topo.cpus; i++)
		if (vcpu_set_cpuid(vm, &vm->vcpus[i]) != 0)
			return -1;
	return 0;
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
    bool code64)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = code64 ? 0 : 1, .s = 1,
		.l = code64 ? 1 : 0, .g = 1,
	};
}

static int vcpu_boot_regs(struct vcpu *v, const struct boot_state *b)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	bool lm = b->mode == BOOT_LONG64;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return fail_errno("KVM_GET_SREGS");
	flat_seg(&s.cs, 0x10, 0xb, lm);
	flat_seg(&s.ds, 0x18, 0x3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.gdt.base = b->gdt_base;
	s.gdt.limit = 4 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = 0x11;			/* PE | ET */
	s.cr4 = 0;
	s.efer = 0;
	if (lm) {
		s.cr3 = b->cr3;
		s.cr4 = 0x20;		/* PAE */
		s.cr0 |= 0x80000000u;	/* PG */
		s.efer = 0x500;		/* LME | LMA */
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return fail_errno("KVM_SET_SREGS");
	memset(&r, 0, sizeof(r));
	r.rflags = 2;
	r.rip = b->rip;
	r.rsi = b->rsi;
	r.rbx = b->rbx;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return fail_errno("KVM_SET_REGS");
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

/* ---- exit dispatch ---- */

/* Each handler returns 0 to keep running, 1 when the VM is to stop. */
typedef int (*exit_handler_t)(struct vcpu *v);

static int exit_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	int size = run->io.size;
	bool in = run->io.direction == KVM_EXIT_IO_IN;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	if ((size != 1 && size != 2 && size != 4) ||
	    run->io.data_offset + (uint64_t)run->io.count * (uint64_t)size >
	    v->run_size) {
		vm_request_exit(v->vm, VM_EXIT_ERROR,
		    "vcpu %u: malformed I/O exit", v->index);
		return 1;
	}
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint32_t val = 0;
		enum pio_result r;

		if (!in)
			memcpy(&val, data, (size_t)size);
		r = pio_dispatch(run->io.port, size, in, &val);
		if (r == PIO_ERROR) {
			vm_request_exit(v->vm, VM_EXIT_ERROR, "vcpu %u: port "
			    "0x%x: %s", v->index, run->io.port, last_error());
			return 1;
		}
		if (r == PIO_UNHANDLED && v->vm->strictio) {
			vm_request_exit(v->vm, VM_EXIT_ERROR, "vcpu %u: "
			    "unhandled %s%c of port 0x%04x (-e)", v->index,
			    in ? "in" : "out",
			    size == 1 ? 'b' : size == 2 ? 'w' : 'l',
			    run->io.port);
			return 1;
		}
		if (in)
			memcpy(data, &val, (size_t)size);
	}
	return 0;
}

static int exit_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t val = 0;
	int len = (int)run->mmio.len;
	enum mmio_result r;

	if (len < 1 || len > 8) {
		vm_request_exit(v->vm, VM_EXIT_ERROR,
		    "vcpu %u: malformed MMIO exit", v->index);
		return 1;
	}
	if (run->mmio.is_write)
		memcpy(&val, run->mmio.data, (size_t)len);
	r = mmio_dispatch(run->mmio.phys_addr, len, run->mmio.is_write, &val);
	if (r == MMIO_ERROR) {
		vm_request_exit(v->vm, VM_EXIT_ERROR, "vcpu %u: MMIO 0x%llx: %s",
		    v->index, (unsigned long long)run->mmio.phys_addr,
		    last_error());
		return 1;
	}
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &val, (size_t)len);
	return 0;
}

static int exit_shutdown(struct vcpu *v)
{
	vm_request_exit(v->vm, VM_EXIT_TRIPLEFAULT, "vcpu %u: triple fault",
	    v->index);
	return 1;
}

static int exit_internal(struct vcpu *v)
{
	vm_request_exit(v->vm, VM_EXIT_ERROR, "vcpu %u: KVM internal error, "
	    "suberror %u", v->index, v->run->internal.suberror);
	return 1;
}

static int exit_fail_entry(struct vcpu *v)
{
	vm_request_exit(v->vm, VM_EXIT_ERROR, "vcpu %u: VM entry failed, "
	    "hardware reason 0x%llx", v->index, (unsigned long long)
	    v->run->fail_entry.hardware_entry_failure_reason);
	return 1;
}

static int exit_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_exit(v->vm, VM_EXIT_POWEROFF, NULL);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_exit(v->vm, VM_EXIT_REBOOT, NULL);
		break;
	default:
		vm_request_exit(v->vm, VM_EXIT_ERROR, "vcpu %u: system event "
		    "%u", v->index, v->run->system_event.type);
		break;
	}
	return 1;
}

static int exit_rdmsr(struct vcpu *v)
{
	/* Only reached with x86.strictmsr=false: unknown MSRs read as 0. */
	v->run->msr.error = 0;
	v->run->msr.data = 0;
	return 0;
}

static int exit_wrmsr(struct vcpu *v)
{
	v->run->msr.error = 0;
	return 0;
}

static int exit_intr(struct vcpu *v)
{
	(void)v;
	return 0;
}

static const exit_handler_t exit_handlers[] = {
	[KVM_EXIT_IO] = exit_io,
	[KVM_EXIT_MMIO] = exit_mmio,
	[KVM_EXIT_SHUTDOWN] = exit_shutdown,
	[KVM_EXIT_INTERNAL_ERROR] = exit_internal,
	[KVM_EXIT_FAIL_ENTRY] = exit_fail_entry,
	[KVM_EXIT_SYSTEM_EVENT] = exit_system_event,
	[KVM_EXIT_X86_RDMSR] = exit_rdmsr,
	[KVM_EXIT_X86_WRMSR] = exit_wrmsr,
	[KVM_EXIT_INTR] = exit_intr,
};

/* ---- exit statistics (BHYVE_TRACE) ---- */

static void trace_exit(struct vcpu *v, uint32_t reason)
{
	uint64_t total = 0;

	for (size_t i = 0; i < ARRAY_SIZE(v->exits); i++)
		total += v->exits[i];
	if (total == 0)
		trace_point("vcpu %u: first exit, reason %u", v->index, reason);
	else if ((total & 4095) == 0)
		trace_point("vcpu %u: %llu exits", v->index,
		    (unsigned long long)total);
	v->exits[reason < ARRAY_SIZE(v->exits) ? reason : 0]++;
	if (reason == KVM_EXIT_IO && v->pio_exits != NULL)
		v->pio_exits[v->run->io.port * 2u +
		    (v->run->io.direction == KVM_EXIT_IO_OUT)]++;
}

static void trace_report(struct vm *vm)
{
	for (unsigned i = 0; i < vm->topo.cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		char line[200];
		int n = 0;

		for (size_t r = 0; r < ARRAY_SIZE(v->exits); r++)
			if (v->exits[r] && n < (int)sizeof(line) - 24)
				n += snprintf(line + n, sizeof(line) - (size_t)n,
				    " %zu:%llu", r,
				    (unsigned long long)v->exits[r]);
		trace_point("vcpu %u exits by reason:%s", i, n ? line : " none");
		if (v->pio_exits == NULL)
			continue;
		/* The busiest ports, most first. */
		for (int k = 0; k < 8; k++) {
			uint32_t best = 0, at = 0;
			for (uint32_t j = 0; j < 65536 * 2; j++)
				if (v->pio_exits[j] > best)
					best = v->pio_exits[at = j];
			if (best == 0)
				break;
			trace_point("vcpu %u  %s 0x%04x: %u", i,
			    (at & 1) ? "out" : "in ", at / 2, best);
			v->pio_exits[at] = 0;
		}
		free(v->pio_exits);
		v->pio_exits = NULL;
	}
}

static void kick_handler(int sig)
{
	(void)sig;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;
	char name[16];

	snprintf(name, sizeof(name), "vcpu %u", v->index);
	pthread_setname_np(pthread_self(), name);
	if (v->pinned && pthread_setaffinity_np(pthread_self(),
	    sizeof(v->cpuset), &v->cpuset) != 0) {
		vm_request_exit(vm, VM_EXIT_ERROR, "vcpu %u: cannot pin to the "
		    "host CPUs of vcpu.%u.cpuset", v->index, v->index);
		return NULL;
	}
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!atomic_load(&vm->stopping)) {
		uint32_t reason;

		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_request_exit(vm, VM_EXIT_ERROR, "vcpu %u: KVM_RUN: %s",
			    v->index, strerror(errno));
			break;
		}
		reason = v->run->exit_reason;
		if (trace_on)
			trace_exit(v, reason);
		/* Writes the guest queued before this exit happened first. */
		if (vm_coalesced_pending(vm))
			vm_flush_coalesced(vm);
		if (reason >= ARRAY_SIZE(exit_handlers) ||
		    exit_handlers[reason] == NULL) {
			vm_request_exit(vm, VM_EXIT_ERROR, "vcpu %u: unhandled "
			    "KVM exit reason %u", v->index, reason);
			break;
		}
		if (exit_handlers[reason](v) != 0)
			break;
	}
	return NULL;
}

#define VCPU_STACK_SIZE (512u << 10)

int vm_start_vcpus(struct vm *vm)
{
	struct sigaction sa;
	pthread_attr_t attr;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) != 0)
		return fail_errno("sigaction");
	if (vcpu_boot_regs(&vm->vcpus[0], &vm->boot) != 0)
		return -1;
	/* A vCPU thread needs little stack; glibc's default 8 MiB mapping
	 * can also be backed by a 2 MiB transparent huge page on first
	 * touch, which would count as VMM memory for nothing. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, VCPU_STACK_SIZE);
	for (unsigned i = 0; i < vm->topo.cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int e;

		if (trace_on)
			v->pio_exits = calloc(65536 * 2, sizeof(uint32_t));
		e = pthread_create(&v->thread, &attr, vcpu_thread, v);
		if (e != 0) {
			pthread_attr_destroy(&attr);
			errno = e;
			return fail_errno("cannot start vcpu thread %u", i);
		}
		v->started = true;
	}
	pthread_attr_destroy(&attr);
	return 0;
}

void vm_stop_vcpus(struct vm *vm)
{
	bool joined = false;

	atomic_store(&vm->stopping, true);
	for (unsigned i = 0; i < vm->topo.cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
	for (unsigned i = 0; i < vm->topo.cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->started) {
			pthread_join(v->thread, NULL);
			v->started = false;
			joined = true;
		}
	}
	if (joined && trace_on)
		trace_report(vm);
	/* The last queued writes (console output) are not lost. */
	if (joined)
		vm_flush_coalesced(vm);
}

void vm_destroy(struct vm *vm)
{
	vm_stop_vcpus(vm);
	for (unsigned i = 0; i < VM_MAXCPU; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->run)
			munmap(v->run, v->run_size);
		if (v->fd >= 0)
			close(v->fd);
		v->run = NULL;
		v->fd = -1;
	}
	if (vm->ring)
		munmap(vm->ring, (size_t)sysconf(_SC_PAGESIZE));
	vm->ring = NULL;
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
}
