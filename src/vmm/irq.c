/* GSI routing, irqfd, ioeventfd and IOAPIC lines (irq.h). */
#include "vmm/irq.h"
#include "vmm/vm.h"
#include "util.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int vm_fd = -1;
static bool have_ioeventfd;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct irq_msi *msis[IRQ_MAX_ROUTES];	/* by gsi - MSI base */
/* Sources asserting each IOAPIC pin.  KVM keeps one level for all of
 * user space (KVM_USERSPACE_IRQ_SOURCE_ID), so lines shared by several of
 * our devices (PCI INTx and HPET timers on GSIs 16-23) are ORed here: the
 * line is high while any source asserts it.  Guarded by line_lock. */
static unsigned line_count[IRQ_MSI_GSI_BASE];
static pthread_mutex_t line_lock = PTHREAD_MUTEX_INITIALIZER;

static int commit_locked(void);

int irq_init(struct vm *vm)
{
	int r;

	vm_fd = vm->vm_fd;
	if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING) <= 0 ||
	    ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0 ||
	    ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SIGNAL_MSI) <= 0) {
		vm_fd = -1;
		return fail("/dev/kvm lacks GSI routing, irqfd or MSI "
		    "signalling (needed by PCI devices)");
	}
	have_ioeventfd = ioctl(vm_fd, KVM_CHECK_EXTENSION,
	    KVM_CAP_IOEVENTFD) > 0;
	/* Our table replaces KVM's default one at once (IRQ 0 on pin 2),
	 * before any vCPU runs. */
	pthread_mutex_lock(&lock);
	r = commit_locked();
	pthread_mutex_unlock(&lock);
	return r;
}

void irq_fini(void)
{
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < IRQ_MAX_ROUTES; i++)
		if (msis[i] != NULL) {
			close(msis[i]->efd);
			free(msis[i]);
			msis[i] = NULL;
		}
	vm_fd = -1;
	have_ioeventfd = false;
	pthread_mutex_unlock(&lock);
	pthread_mutex_lock(&line_lock);
	memset(line_count, 0, sizeof(line_count));
	pthread_mutex_unlock(&line_lock);
}

bool irq_have_ioeventfd(void)
{
	return vm_fd >= 0 && have_ioeventfd;
}

int irq_set_level(unsigned gsi, bool level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level ? 1 : 0 };
	bool change;
	int r = 0;

	if (gsi >= IRQ_MSI_GSI_BASE)
		return fail("GSI %u is not an IOAPIC pin", gsi);
	pthread_mutex_lock(&line_lock);
	if (level)
		change = line_count[gsi]++ == 0;
	else
		change = line_count[gsi] > 0 && --line_count[gsi] == 0;
	/* Under the lock, so two sources cannot reorder a rise and a fall. */
	if (change && vm_fd >= 0 && ioctl(vm_fd, KVM_IRQ_LINE, &l) < 0)
		r = fail_errno("KVM_IRQ_LINE %u", gsi);
	pthread_mutex_unlock(&line_lock);
	return r;
}

bool irq_line_high(unsigned gsi)
{
	bool high;

	if (gsi >= IRQ_MSI_GSI_BASE)
		return false;
	pthread_mutex_lock(&line_lock);
	high = line_count[gsi] > 0;
	pthread_mutex_unlock(&line_lock);
	return high;
}

/* ---- routing table ---- */

static unsigned build_routes(struct irq_route *out, unsigned cap)
{
	unsigned n = 0;

#define PUT(...) do { if (n < cap) out[n] = (struct irq_route){ __VA_ARGS__ }; \
	n++; } while (0)
	/* ISA IRQs 0-15 on the PIC pair (pin 2 of the master is the
	 * cascade) and the IOAPIC, 16-23 on the IOAPIC.  IRQ 0 (the PIT,
	 * HPET legacy timer 0) is IOAPIC pin 2, as the MADT's interrupt
	 * source override and the MP table say; KVM's default table would
	 * put it on pin 0. */
	for (unsigned g = 0; g < 16; g++)
		if (g != 2)
			PUT(.gsi = g, .kind = g < 8 ? IRQ_ROUTE_PIC_MASTER :
			    IRQ_ROUTE_PIC_SLAVE, .pin = g & 7);
	for (unsigned g = 0; g < 24; g++)
		if (g != 2)
			PUT(.gsi = g, .kind = IRQ_ROUTE_IOAPIC,
			    .pin = g == 0 ? 2 : g);
	for (unsigned i = 0; i < IRQ_MAX_ROUTES; i++)
		if (msis[i] != NULL && msis[i]->routed)
			PUT(.gsi = msis[i]->gsi, .kind = IRQ_ROUTE_MSI,
			    .addr = msis[i]->addr, .data = msis[i]->data);
#undef PUT
	return n;
}

unsigned irq_routes(struct irq_route *out, unsigned cap)
{
	unsigned n;

	pthread_mutex_lock(&lock);
	n = build_routes(out, cap);
	pthread_mutex_unlock(&lock);
	return n;
}

/* Hand the table to KVM (lock held). */
static int commit_locked(void)
{
	enum { CAP = 40 + IRQ_MAX_ROUTES };
	struct irq_route *rt;
	struct kvm_irq_routing *kr;
	unsigned n;
	int r = 0;

	if (vm_fd < 0)
		return 0;
	rt = malloc(CAP * sizeof(*rt));
	kr = calloc(1, sizeof(*kr) + CAP * sizeof(kr->entries[0]));
	if (rt == NULL || kr == NULL) {
		free(rt);
		free(kr);
		return fail("out of memory");
	}
	n = build_routes(rt, CAP);
	for (unsigned i = 0; i < n && i < CAP; i++) {
		struct kvm_irq_routing_entry *e = &kr->entries[i];
		e->gsi = rt[i].gsi;
		switch (rt[i].kind) {
		case IRQ_ROUTE_PIC_MASTER:
		case IRQ_ROUTE_PIC_SLAVE:
		case IRQ_ROUTE_IOAPIC:
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip = rt[i].kind == IRQ_ROUTE_PIC_MASTER
			    ? KVM_IRQCHIP_PIC_MASTER : rt[i].kind ==
			    IRQ_ROUTE_PIC_SLAVE ? KVM_IRQCHIP_PIC_SLAVE :
			    KVM_IRQCHIP_IOAPIC;
			e->u.irqchip.pin = rt[i].pin;
			break;
		case IRQ_ROUTE_MSI:
			e->type = KVM_IRQ_ROUTING_MSI;
			e->u.msi.address_lo = (uint32_t)rt[i].addr;
			e->u.msi.address_hi = (uint32_t)(rt[i].addr >> 32);
			e->u.msi.data = rt[i].data;
			break;
		}
	}
	kr->nr = n < CAP ? n : CAP;
	if (ioctl(vm_fd, KVM_SET_GSI_ROUTING, kr) < 0)
		r = fail_errno("KVM_SET_GSI_ROUTING");
	free(rt);
	free(kr);
	return r;
}

struct irq_msi *irq_msi_alloc(void)
{
	struct irq_msi *m = calloc(1, sizeof(*m));
	unsigned i;

	if (m == NULL) {
		fail("out of memory");
		return NULL;
	}
	m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->efd < 0) {
		fail_errno("eventfd");
		free(m);
		return NULL;
	}
	pthread_mutex_lock(&lock);
	for (i = 0; i < IRQ_MAX_ROUTES && msis[i] != NULL; i++)
		;
	if (i == IRQ_MAX_ROUTES) {
		pthread_mutex_unlock(&lock);
		close(m->efd);
		free(m);
		fail("too many MSI vectors (at most %d)", IRQ_MAX_ROUTES);
		return NULL;
	}
	m->gsi = IRQ_MSI_GSI_BASE + i;
	msis[i] = m;
	if (vm_fd >= 0) {
		struct kvm_irqfd f = { .fd = (uint32_t)m->efd, .gsi = m->gsi };
		if (ioctl(vm_fd, KVM_IRQFD, &f) < 0) {
			fail_errno("KVM_IRQFD");
			msis[i] = NULL;
			pthread_mutex_unlock(&lock);
			close(m->efd);
			free(m);
			return NULL;
		}
	}
	pthread_mutex_unlock(&lock);
	return m;
}

void irq_msi_free(struct irq_msi *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&lock);
	if (vm_fd >= 0) {
		struct kvm_irqfd f = { .fd = (uint32_t)m->efd, .gsi = m->gsi,
		    .flags = KVM_IRQFD_FLAG_DEASSIGN };
		ioctl(vm_fd, KVM_IRQFD, &f);
	}
	msis[m->gsi - IRQ_MSI_GSI_BASE] = NULL;
	/* The table is not handed to KVM again: a removed vector's route
	 * is harmless (its irqfd is gone), and a failure here would
	 * replace the message of whatever ended the VM. */
	pthread_mutex_unlock(&lock);
	close(m->efd);
	free(m);
}

int irq_msi_route(struct irq_msi *m, uint64_t addr, uint32_t data)
{
	int r = 0;

	pthread_mutex_lock(&lock);
	if (!m->routed || m->addr != addr || m->data != data) {
		m->addr = addr;
		m->data = data;
		m->routed = true;
		r = commit_locked();
	}
	pthread_mutex_unlock(&lock);
	return r;
}

void irq_msi_fire(struct irq_msi *m)
{
	uint64_t one = 1;

	if (!m->routed)
		return;
	atomic_fetch_add(&m->fires, 1);
	/* EAGAIN means the counter is saturated: already pending. */
	if (write(m->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		trace_point("MSI gsi %u: %s", m->gsi, strerror(errno));
}

struct irq_msi *irq_msi_find(unsigned gsi)
{
	struct irq_msi *m = NULL;

	pthread_mutex_lock(&lock);
	if (gsi >= IRQ_MSI_GSI_BASE && gsi < IRQ_MSI_GSI_BASE + IRQ_MAX_ROUTES)
		m = msis[gsi - IRQ_MSI_GSI_BASE];
	pthread_mutex_unlock(&lock);
	return m;
}

int irq_ioeventfd(uint64_t addr, unsigned len, bool pio, bool match,
    uint64_t data, int efd, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = data, .addr = addr, .len = len, .fd = efd,
	};

	if (!irq_have_ioeventfd())
		return -1;
	if (pio)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (match)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (!assign)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(vm_fd, KVM_IOEVENTFD, &io) < 0) {
		/* Removal failures (teardown) must not replace the message
		 * of whatever ended the VM. */
		if (!assign)
			return -1;
		return fail_errno("KVM_IOEVENTFD 0x%llx",
		    (unsigned long long)addr);
	}
	return 0;
}
