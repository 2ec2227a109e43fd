/* KVM's coalesced-write ring (KVM_CAP_COALESCED_PIO): guest writes to
 * registered ports are queued in a page shared with KVM instead of exiting;
 * they are replayed here, in order, before any exit is handled and from the
 * event loop's flush timer.  vm->ring_lock serialises replays. */
#include "vmm/vm.h"
#include "bus/mmio.h"
#include "bus/pio.h"
#include "util.h"
#include "backends/evloop.h"

#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* The coalesced ring is a page of the vCPU file at the offset
 * KVM_CAP_COALESCED_MMIO names.  Without it (or without port support)
 * every write exits, which is only slower. */
void vm_map_coalesced_ring(struct vm *vm)
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

/* Replays at most ring_max entries per call: everything queued before
 * the caller looked (the ring holds fewer), never an unbounded run while
 * other vCPUs keep queueing. */
void vm_flush_coalesced(struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *r = vm->ring;

	if (r == NULL)
		return;
	pthread_mutex_lock(&vm->ring_lock);
	for (uint32_t done = 0; done < vm->ring_max; done++) {
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


void vm_unmap_coalesced_ring(struct vm *vm)
{
	if (vm->ring)
		munmap(vm->ring, (size_t)sysconf(_SC_PAGESIZE));
	vm->ring = NULL;
}

/* ---- the event loop's flush timer ----
 * Queued writes reach their device at the next exit, or at the latest
 * from this timer.  It backs off while it finds nothing, so an idle VM
 * costs about one wakeup a second; vm_coalesced_wake() brings it back to
 * FLUSH_MS as soon as the device is used again.  The period changes only
 * by compare-and-swap, so a wake and the timer's own back-off cannot
 * leave a long period armed after a wake. */

static void arm_period(struct vm *vm, long ms)
{
	uint64_t ns = (uint64_t)ms * 1000000u;

	ev_timer_arm(vm->flush_timer, ns, ns);
}

static void on_flush_timer(void *arg)
{
	struct vm *vm = arg;
	long cur = atomic_load(&vm->flush_period_ms), next;

	if (vm_coalesced_pending(vm)) {
		vm_flush_coalesced(vm);
		next = VM_COALESCED_FLUSH_MS;
	} else {
		next = cur * 2;
		if (next > VM_COALESCED_FLUSH_MAX_MS)
			next = VM_COALESCED_FLUSH_MAX_MS;
	}
	if (next != cur &&
	    atomic_compare_exchange_strong(&vm->flush_period_ms, &cur, next))
		arm_period(vm, next);
}

int vm_coalesced_timer_start(struct vm *vm)
{
	if (vm->ring == NULL)
		return 0;
	vm->flush_timer = ev_timer_add(on_flush_timer, vm);
	if (vm->flush_timer == NULL)
		return -1;
	atomic_store(&vm->flush_period_ms, VM_COALESCED_FLUSH_MS);
	arm_period(vm, VM_COALESCED_FLUSH_MS);
	return 0;
}

void vm_coalesced_timer_stop(struct vm *vm)
{
	ev_del(vm->flush_timer);
	vm->flush_timer = NULL;
}

void vm_coalesced_wake(struct vm *vm)
{
	long cur = atomic_load(&vm->flush_period_ms);

	while (cur > VM_COALESCED_FLUSH_MS) {
		if (atomic_compare_exchange_weak(&vm->flush_period_ms, &cur,
		    VM_COALESCED_FLUSH_MS)) {
			if (vm->flush_timer != NULL)
				arm_period(vm, VM_COALESCED_FLUSH_MS);
			return;
		}
	}
}
