/* A KVM virtual machine: memory, vCPU threads, interrupts, exit dispatch.
 * One VM per process. */
#ifndef BHYVE_VM_H
#define BHYVE_VM_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/cpuid.h"
#include "vmm/mem.h"

/* Compile-time bound on vCPUs: KVM_MAX_VCPUS of x86 Linux since 5.16.
 * The run-time limit is KVM_CAP_MAX_VCPUS (checked in vm_open); more than
 * 255 vCPUs also need x2APIC (-x) and no MP table (-Y). */
#define VM_MAXCPU 1024

/* Exit statuses of bhyve(8). */
enum vm_exitcode {
	VM_EXIT_REBOOT = 0,
	VM_EXIT_POWEROFF = 1,
	VM_EXIT_HALT = 2,
	VM_EXIT_TRIPLEFAULT = 3,
	VM_EXIT_ERROR = 4,
};

/* Register state the loader hands to the boot vCPU. */
enum boot_mode { BOOT_PROT32, BOOT_LONG64 };
struct boot_state {
	enum boot_mode mode;
	uint64_t rip, rsi, rbx;
	uint64_t gdt_base;	/* GDT with flat code 0x10, data 0x18 */
	uint64_t cr3;		/* BOOT_LONG64: identity-mapped tables */
	uint64_t rsdp;		/* ACPI RSDP for the boot structures, 0: none */
};

struct vm;
struct kvm_coalesced_mmio_ring;

struct vcpu {
	struct vm *vm;
	unsigned index;
	uint32_t apic_id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	bool pinned;
	cpu_set_t cpuset;	/* host CPUs this vCPU may run on (-p) */
	_Atomic pid_t tid;	/* the thread's id, for /proc (halt check) */
	atomic_bool probe;	/* halt check: report MP state and RFLAGS.IF */
	atomic_bool dump_req;	/* SIGUSR2: print registers, LAPIC, events */
	atomic_uint dumps_asked, dumps_done;
	/* Exit statistics: counts by reason, always kept (written by the
	 * vCPU thread only; read racily by the SIGUSR2 dump); per-port
	 * counts only with BHYVE_TRACE (see util.h). */
	uint64_t exits[64];
	uint64_t kicked;	/* KVM_RUN returns with EINTR (kicks) */
	uint32_t *pio_exits;	/* [port * 2 + is_out] */
	bool in_run;		/* inside KVM_RUN (else handling an exit) */
	uint16_t last_port;	/* port of the last I/O exit */
};

struct vm {
	int kvm_fd, vm_fd;
	const char *name;
	struct guest_mem mem;
	struct cpu_topology topo;
	struct vcpu *vcpus;	/* topo.cpus entries, allocated by vm_open */
	uint32_t cpuid1_eax, cpuid1_edx;	/* vCPU 0's CPUID leaf 1 */
	struct boot_state boot;

	bool strictio;		/* -e: unhandled port access is fatal */
	bool strictmsr;		/* inject #GP on unknown MSRs (else ignore) */
	bool x2apic;
	bool vmexit_on_hlt;	/* -H: HLT exits to KVM (else stays in the guest) */
	bool vmexit_on_pause;	/* -P: PAUSE exits (else stays in the guest) */
	bool wired, guest_in_core;
	uint32_t tsc_khz;

	atomic_int exitcode;	/* -1 while running */
	atomic_bool stopping;
	char exitmsg[256];
	int stop_efd;		/* eventfd the event loop waits on */
	pthread_mutex_t exitlock;

	/* Coalesced writes (KVM_CAP_COALESCED_PIO): KVM queues guest
	 * writes to registered ports in this ring, shared with us, instead
	 * of exiting.  They are replayed in order before any exit is
	 * handled, and from a timer in the event loop. */
	struct kvm_coalesced_mmio_ring *ring;
	uint32_t ring_max;	/* entries in the ring */
	pthread_mutex_t ring_lock;
	struct ev *flush_timer;	/* the event loop's periodic flush */
	atomic_long flush_period_ms;	/* its current period */

	/* Halt detection (vm_check_halt): vCPUs still to answer the current
	 * probe, and how many of those that answered are halted for good. */
	atomic_int probe_left, probe_halted;
	unsigned halt_streak;	/* checks in a row that found all asleep */
};

/* Open /dev/kvm and create an empty VM; -1 with a message on failure. */
int vm_open(struct vm *vm);
int vm_setup_memory(struct vm *vm, uint64_t size);
/* -S: fail clearly when RLIMIT_MEMLOCK cannot cover `size` bytes. */
int vm_check_wired(uint64_t size);
int vm_create_vcpus(struct vm *vm);
int vm_start_vcpus(struct vm *vm);
/* Ask the VM to stop with a status (first request wins). */
void vm_request_exit(struct vm *vm, enum vm_exitcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Stop and join the vCPU threads. */
void vm_stop_vcpus(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Queue (on) or stop queueing (off) the guest's writes of `len` bytes at
 * `port` in the coalesced ring, for ports whose writes need no immediate
 * answer.  Returns 0, or -1 when KVM cannot (the writes then exit as
 * usual; callers need not care). */
int vm_coalesce_pio(struct vm *vm, uint16_t port, uint16_t len, bool on);
/* Map / unmap the ring page (vm_create_vcpus, vm_destroy). */
void vm_map_coalesced_ring(struct vm *vm);
void vm_unmap_coalesced_ring(struct vm *vm);
/* Replay the queued writes through the port/MMIO tables, in order; at
 * most the ring's size per call. */
void vm_flush_coalesced(struct vm *vm);
/* Whether there is anything queued (cheap, lock-free). */
bool vm_coalesced_pending(const struct vm *vm);
/* How often the event loop flushes the ring, in milliseconds: every
 * FLUSH_MS while it finds writes or the device behind a queued port is
 * busy (vm_coalesced_wake), backing off to FLUSH_MAX_MS when idle. */
#define VM_COALESCED_FLUSH_MS 20
#define VM_COALESCED_FLUSH_MAX_MS 1000
/* Start / stop the flush timer (after evloop_init; main thread). */
int vm_coalesced_timer_start(struct vm *vm);
void vm_coalesced_timer_stop(struct vm *vm);
/* The device behind a queued port is in use (a register access that
 * exited, input arrived): flush within FLUSH_MS from now on, so output
 * the guest queues next (an echo) shows at once even after a long idle
 * stretch.  Any thread; a timer re-arm only on the idle-to-busy edge. */
void vm_coalesced_wake(struct vm *vm);

/* Status 2 (halted) detection, called about once a second from the event
 * loop: when two calls in a row find every vCPU thread asleep in KVM_RUN
 * (KVM blocks halted vCPUs in the kernel), kick them to report their MP state and RFLAGS.IF; when all are
 * halted with interrupts disabled (or were never started by an INIT/SIPI),
 * the VM ends with VM_EXIT_HALT.  Never blocks. */
void vm_check_halt(struct vm *vm);
/* bhyve's state dump (SIGUSR2, event loop thread): per-vCPU exit counts,
 * the coalesced ring, the in-kernel PIC and IOAPIC (KVM_GET_IRQCHIP), on
 * stderr without blocking.  vmm/dump.c */
void vm_dump_state(struct vm *vm);
/* Make a vCPU's KVM_RUN return (now, or at once if it is outside it). */
void vcpu_kick(struct vcpu *v);
/* On the vCPU thread, asked by vm_dump_state: print its own state. */
void vcpu_dump_self(struct vcpu *v);

/* Drive an ISA interrupt line (0..15) of the in-kernel PIC/IOAPIC. */
int vm_isa_irq(struct vm *vm, unsigned irq, bool level);

/* Probe whether a usable /dev/kvm exists (for tests and messages). */
int kvm_probe(void);

#endif
