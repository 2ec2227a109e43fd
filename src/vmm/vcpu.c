/* vCPU threads: boot registers, KVM_RUN, the exit-dispatch table, exit
 * statistics (BHYVE_TRACE), start and stop. */
#include "vmm/vm.h"
#include "bus/mmio.h"
#include "bus/pio.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1

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
	/* Status 3 as in bhyve; the vCPU's state on stderr (never
	 * blocking), as KVM left it: on AMD, KVM has already reset the
	 * registers, and only the last exception still shows.  The guest's
	 * last console output first (bounded). */
	console_sync(100);
	warnx_raw("vcpu %u: triple fault; its state as KVM left it:",
	    v->index);
	vcpu_dump_self(v);
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

/* ---- exit statistics: counted always (the SIGUSR2 dump prints them);
 * BHYVE_TRACE adds per-port counts and milestones ---- */

static void trace_exit(struct vcpu *v, uint32_t reason)
{
	uint64_t total = 0;

	for (size_t i = 0; i < ARRAY_SIZE(v->exits); i++)
		total += v->exits[i];
	if (total == 1)
		trace_point("vcpu %u: first exit, reason %u", v->index, reason);
	else if ((total & 4095) == 0)
		trace_point("vcpu %u: %llu exits", v->index,
		    (unsigned long long)total);
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

/* The vCPU this thread runs (NULL on other threads).  The kick handler
 * sets its immediate_exit: a kick that lands while the thread is outside
 * KVM_RUN (handling an exit, or just about to enter) then still makes the
 * next KVM_RUN return at once, so no request is ever lost.  The thread
 * clears immediate_exit after every return, before it looks at the
 * request flags (which requesters set before kicking). */
static __thread struct vcpu *self_vcpu;

static void kick_handler(int sig)
{
	(void)sig;
	if (self_vcpu != NULL)
		self_vcpu->run->immediate_exit = 1;
}

void vcpu_kick(struct vcpu *v)
{
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

/* ---- halt detection ---- */

/* Whether a thread is asleep ('S' in /proc/self/task/TID/stat): KVM
 * blocks a halted vCPU in the kernel. */
static bool thread_sleeping(pid_t tid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* the name may hold spaces and parens */
	return p != NULL && p[1] == ' ' && p[2] == 'S';
}

void vm_check_halt(struct vm *vm)
{
	unsigned n = vm->topo.cpus;

	if (atomic_load(&vm->stopping) || atomic_load(&vm->probe_left) > 0)
		return;		/* stopping, or the last probe is unanswered */
	for (unsigned i = 0; i < n; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started || atomic_load(&v->tid) == 0 ||
		    !__atomic_load_n(&v->in_run, __ATOMIC_RELAXED) ||
		    !thread_sleeping(atomic_load(&v->tid))) {
			vm->halt_streak = 0;
			return;
		}
	}
	/* Kick only when every vCPU was found asleep in KVM_RUN by two
	 * checks in a row: a halt lasts, while a thread that sleeps for a
	 * moment (the host scheduling it out) is running again by the next
	 * check.  A running guest is then never interrupted by a probe. */
	if (++vm->halt_streak < 2)
		return;
	vm->halt_streak = 0;
	atomic_store(&vm->probe_halted, 0);
	atomic_store(&vm->probe_left, (int)n);
	for (unsigned i = 0; i < n; i++) {
		struct vcpu *v = &vm->vcpus[i];
		atomic_store(&v->probe, true);
		vcpu_kick(v);
	}
}

/* On the vCPU thread, after KVM_RUN returned: answer a halt probe. */
static void vcpu_probe(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_mp_state mp;
	struct kvm_regs r;
	bool halted = false;

	atomic_store(&v->probe, false);
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0) {
		if (mp.mp_state == KVM_MP_STATE_HALTED)
			halted = ioctl(v->fd, KVM_GET_REGS, &r) == 0 &&
			    !(r.rflags & 0x200);	/* IF */
		else if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
		    mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
			halted = true;	/* an AP nobody started */
	}
	if (halted)
		atomic_fetch_add(&vm->probe_halted, 1);
	if (atomic_fetch_sub(&vm->probe_left, 1) == 1 &&
	    atomic_load(&vm->probe_halted) == (int)vm->topo.cpus)
		vm_request_exit(vm, VM_EXIT_HALT, NULL);
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
	self_vcpu = v;		/* before a kick can arrive */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	atomic_store(&v->tid, gettid());

	while (!atomic_load(&vm->stopping)) {
		uint32_t reason;
		int rr, err;

		__atomic_store_n(&v->in_run, true, __ATOMIC_RELAXED);
		rr = ioctl(v->fd, KVM_RUN, 0);
		err = errno;
		__atomic_store_n(&v->in_run, false, __ATOMIC_RELAXED);
		/* Any kick is consumed by now; `stopping` is checked above. */
		v->run->immediate_exit = 0;
		if (atomic_load(&v->probe))
			vcpu_probe(v);
		if (atomic_load(&v->dump_req))
			vcpu_dump_self(v);
		if (rr < 0) {
			if (err == EINTR || err == EAGAIN) {
				v->kicked++;
				continue;
			}
			vm_request_exit(vm, VM_EXIT_ERROR, "vcpu %u: KVM_RUN: %s",
			    v->index, strerror(err));
			break;
		}
		reason = v->run->exit_reason;
		v->exits[reason < ARRAY_SIZE(v->exits) ? reason : 0]++;
		if (reason == KVM_EXIT_IO)
			v->last_port = v->run->io.port;
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
	stderr_set_running(true);	/* messages never wait from now */
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
	if (vm->vcpus == NULL)
		return;
	for (unsigned i = 0; i < vm->topo.cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		vcpu_kick(v);
	}
	for (unsigned i = 0; i < vm->topo.cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->started) {
			pthread_join(v->thread, NULL);
			v->started = false;
			joined = true;
		}
	}
	if (joined)
		stderr_set_running(false);
	if (joined && trace_on)
		trace_report(vm);
	/* The last queued writes (console output) are not lost. */
	if (joined)
		vm_flush_coalesced(vm);
}

