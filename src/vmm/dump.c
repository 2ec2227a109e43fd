/* bhyve's state dump on SIGUSR2: what a hung guest was doing, from the
 * event loop, without stopping anything.  Reads counters the vCPU threads
 * write (racy by design: diagnostics only) and asks KVM for the in-kernel
 * interrupt controllers' state (VM ioctls only: a vCPU ioctl would wait
 * for a vCPU busy in KVM_RUN). */
#include "backends/tty.h"
#include "util.h"
#include "vmm/vm.h"

#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void out(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	tty_stderr(line);
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
		out("bhyve: vcpu %u: %s, %llu exits, last I/O port 0x%x; by "
		    "reason:%s\n", i, __atomic_load_n(&v->in_run,
		    __ATOMIC_RELAXED) ? "in KVM_RUN" : "handling an exit",
		    (unsigned long long)total, v->last_port,
		    n ? line : " none");
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
}
