/* bhyve's state dump on SIGUSR2: what a hung guest was doing, from the
 * event loop.  Reads counters the vCPU threads write (racy by design:
 * diagnostics only), each vCPU thread's scheduler state from /proc (asleep
 * or running, CPU time, where in the kernel it waits), and the in-kernel
 * interrupt controllers' state (VM ioctls).  Then it kicks every vCPU out
 * of KVM_RUN and each prints its own registers, LAPIC and pending events
 * (vCPU ioctls must come from the vCPU's thread: from here they would wait
 * for KVM_RUN to end).  A vCPU that never answers shows as "asked N,
 * answered M" in the next dump: its thread is stuck inside KVM_RUN. */
#include "backends/tty.h"
#include "util.h"
#include "vmm/vm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void out(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	stderr_write(line, 0);
}

static void dump_pic(const char *name, const struct kvm_pic_state *p)
{
	out("bhyve: PIC %s: IRR %02x ISR %02x IMR %02x base %02x, edge/level "
	    "%02x, last IRR %02x\n", name, p->irr, p->isr, p->imr,
	    p->irq_base, p->elcr, p->last_irr);
}

static void dump_ioapic(const struct kvm_ioapic_state *io)
{
	out("bhyve: IOAPIC: IRR %08x\n", io->irr);
	for (unsigned pin = 0; pin < 24; pin++) {
		uint64_t e = io->redirtbl[pin].bits;

		/* The COM ports' pins always; the others when unmasked. */
		if (pin != 3 && pin != 4 && (e & (1ull << 16)))
			continue;
		out("bhyve: IOAPIC pin %2u: vector %3u %s %s%s%s dest %02x\n",
		    pin, (unsigned)(e & 0xff), (e & (1ull << 15)) ? "level" :
		    "edge", (e & (1ull << 16)) ? "masked" : "unmasked",
		    (e & (1ull << 12)) ? ", delivery pending" : "",
		    (e & (1ull << 14)) ? ", remote IRR" : "",
		    (unsigned)(e >> 56));
	}
}

static ssize_t read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* State (R running, S asleep, D in uninterruptible wait), CPU time in
 * clock ticks, the kernel function it waits in and its kernel stack. */
static void dump_thread(unsigned index, pid_t tid)
{
	char path[64], stat[512], wchan[128], stack[1024];
	unsigned long ut = 0, st = 0;
	char state = '?';
	const char *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if (read_text(path, stat, sizeof(stat)) > 0 &&
	    (p = strrchr(stat, ')')) != NULL) {
		/* fields after ")": 3 state ... 14 utime 15 stime */
		sscanf(p + 2, "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %lu",
		    &state, &ut, &st);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int)tid);
	if (read_text(path, wchan, sizeof(wchan)) < 0)
		strcpy(wchan, "?");
	out("bhyve: vcpu %u thread %d: state %c, user %lu system %lu ticks, "
	    "waits in %s\n", index, (int)tid, state, ut, st,
	    wchan[0] ? wchan : "-");
	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", (int)tid);
	if (read_text(path, stack, sizeof(stack)) > 0) {
		char *save = NULL;

		for (char *l = strtok_r(stack, "\n", &save); l;
		    l = strtok_r(NULL, "\n", &save))
			out("bhyve: vcpu %u   %s\n", index, l);
	}
}

static uint32_t lapic_reg(const struct kvm_lapic_state *l, unsigned off)
{
	uint32_t v;

	memcpy(&v, l->regs + off, sizeof(v));
	return v;
}

/* The highest vector set in a 256-bit LAPIC register (ISR, IRR), or -1. */
static int lapic_top(const struct kvm_lapic_state *l, unsigned base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = lapic_reg(l, base + (unsigned)i * 16);
		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

void vcpu_dump_self(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_mp_state mp = { .mp_state = ~0u };
	struct kvm_vcpu_events ev;
	struct kvm_lapic_state l;

	atomic_store(&v->dump_req, false);
	atomic_fetch_add(&v->dumps_done, 1);
	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	memset(&ev, 0, sizeof(ev));
	memset(&l, 0, sizeof(l));
	(void)ioctl(v->fd, KVM_GET_REGS, &r);
	(void)ioctl(v->fd, KVM_GET_SREGS, &s);
	(void)ioctl(v->fd, KVM_GET_MP_STATE, &mp);
	(void)ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev);
	out("bhyve: vcpu %u: rip %llx rsp %llx rflags %llx (IF %u) cs %x cr0 "
	    "%llx cr2 %llx cr3 %llx cr4 %llx efer %llx mp_state %u\n",
	    v->index, (unsigned long long)r.rip, (unsigned long long)r.rsp,
	    (unsigned long long)r.rflags, (unsigned)(r.rflags >> 9) & 1,
	    s.cs.selector, (unsigned long long)s.cr0,
	    (unsigned long long)s.cr2, (unsigned long long)s.cr3,
	    (unsigned long long)s.cr4, (unsigned long long)s.efer,
	    mp.mp_state);
	out("bhyve: vcpu %u: events: exception injected %u pending %u nr %u "
	    "error code %x%s, interrupt injected %u nr %u shadow %u, nmi "
	    "injected %u pending %u masked %u\n", v->index,
	    ev.exception.injected, ev.exception.pending, ev.exception.nr,
	    ev.exception.error_code, ev.exception.has_error_code ? "" :
	    " (none)", ev.interrupt.injected, ev.interrupt.nr,
	    ev.interrupt.shadow, ev.nmi.injected, ev.nmi.pending,
	    ev.nmi.masked);
	if (ioctl(v->fd, KVM_GET_LAPIC, &l) == 0)
		out("bhyve: vcpu %u: LAPIC id %x TPR %x ISR top %d IRR top %d "
		    "SVR %x LVT timer %x initial %u current %u divide %x "
		    "LINT0 %x LINT1 %x\n", v->index,
		    lapic_reg(&l, 0x20) >> 24, lapic_reg(&l, 0x80),
		    lapic_top(&l, 0x100), lapic_top(&l, 0x200),
		    lapic_reg(&l, 0xf0), lapic_reg(&l, 0x320),
		    lapic_reg(&l, 0x380), lapic_reg(&l, 0x390),
		    lapic_reg(&l, 0x3e0), lapic_reg(&l, 0x350),
		    lapic_reg(&l, 0x360));
}

void vm_dump_state(struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *r = vm->ring;
	struct kvm_irqchip chip;

	out("bhyve: state dump (SIGUSR2) of VM %s, %u vCPUs\n",
	    vm->name ? vm->name : "?", vm->topo.cpus);
	for (unsigned i = 0; i < vm->topo.cpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];
		char line[400];
		int n = 0;
		uint64_t total = 0;

		for (size_t k = 0; k < ARRAY_SIZE(v->exits); k++) {
			uint64_t c = __atomic_load_n(&v->exits[k],
			    __ATOMIC_RELAXED);
			total += c;
			if (c && n < (int)sizeof(line) - 32)
				n += snprintf(line + n, sizeof(line) - (size_t)n,
				    " %zu:%llu", k, (unsigned long long)c);
		}
		out("bhyve: vcpu %u: %s, %llu exits, %llu kicks, last I/O port "
		    "0x%x; by reason:%s\n", i, __atomic_load_n(&v->in_run,
		    __ATOMIC_RELAXED) ? "in KVM_RUN" : "handling an exit",
		    (unsigned long long)total, (unsigned long long)
		    __atomic_load_n(&v->kicked, __ATOMIC_RELAXED), v->last_port,
		    n ? line : " none");
		if (v->started && atomic_load(&v->tid) != 0)
			dump_thread(i, atomic_load(&v->tid));
		if (v->started)
			out("bhyve: vcpu %u: register dumps asked %u, answered "
			    "%u\n", i, atomic_load(&v->dumps_asked),
			    atomic_load(&v->dumps_done));
	}
	if (r != NULL)
		out("bhyve: coalesced ring: first %u last %u (%u entries)\n",
		    __atomic_load_n(&r->first, __ATOMIC_RELAXED),
		    __atomic_load_n(&r->last, __ATOMIC_RELAXED), vm->ring_max);
	else
		out("bhyve: coalesced ring: none\n");
	for (unsigned id = 0; id < 3; id++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = id;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0) {
			out("bhyve: KVM_GET_IRQCHIP %u: failed\n", id);
			continue;
		}
		if (id == KVM_IRQCHIP_PIC_MASTER)
			dump_pic("master", &chip.chip.pic);
		else if (id == KVM_IRQCHIP_PIC_SLAVE)
			dump_pic("slave", &chip.chip.pic);
		else
			dump_ioapic(&chip.chip.ioapic);
	}
	/* Last: every vCPU prints its own registers once out of KVM_RUN. */
	for (unsigned i = 0; i < vm->topo.cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->started)
			continue;
		atomic_fetch_add(&v->dumps_asked, 1);
		atomic_store(&v->dump_req, true);
		vcpu_kick(v);
	}
}
