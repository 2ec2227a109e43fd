/* Replay of KVM's coalesced write ring: src/vmm/vm.c vm_flush_coalesced() */
#include "unit.h"

#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "bus/pio.h"
#include "devices/uart16550.h"
#include "vmm/vm.h"

static uint8_t seen[2048];
static unsigned nseen;
static uint16_t seen_port[2048];
static bool refill;		/* rec_pio queues another write each time */
static void kvm_push(uint16_t port, uint8_t b);
static bool pending_during_dispatch = true;
static struct vm vm;

static int rec_pio(void *arg, uint16_t port, int size, bool in, uint32_t *val)
{
	(void)arg;
	/* A vCPU checking the ring now must still see this write as
	 * pending, or it could act before the write took effect. */
	if (!vm_coalesced_pending(&vm))
		pending_during_dispatch = false;
	assert_false(in);
	assert_int_equal(size, 1);
	if (nseen < sizeof(seen)) {
		seen_port[nseen] = port;
		seen[nseen] = (uint8_t)*val;
	}
	nseen++;
	/* Another vCPU keeps queueing while we replay. */
	if (refill)
		kvm_push(0x3f8, 'r');
	return 0;
}

static struct kvm_coalesced_mmio_ring *ring;

static int setup(void **state)
{
	(void)state;
	unit_reset_globals();
	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.ring_lock, NULL);
	pthread_mutex_init(&vm.exitlock, NULL);
	atomic_store(&vm.exitcode, -1);
	vm.stop_efd = -1;
	ring = calloc(1, 4096);
	assert_non_null(ring);
	vm.ring = ring;
	vm.ring_max = (uint32_t)((4096 - sizeof(*ring)) /
	    sizeof(struct kvm_coalesced_mmio));
	nseen = 0;
	refill = false;
	assert_int_equal(pio_register(0x3f8, 8, rec_pio, NULL, "rec"), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ring);
	unit_reset_globals();
	return 0;
}

/* What KVM does for a queued write of one byte. */
static void kvm_push(uint16_t port, uint8_t b)
{
	struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[ring->last];

	memset(e, 0, sizeof(*e));
	e->phys_addr = port;
	e->len = 1;
	e->pio = 1;
	e->data[0] = b;
	ring->last = (ring->last + 1) % vm.ring_max;
}

static void test_replay_in_order_with_wrap(void **state)
{
	(void)state;
	assert_false(vm_coalesced_pending(&vm));
	/* Start near the end so the indices wrap. */
	ring->first = ring->last = vm.ring_max - 3;
	for (int i = 0; i < 10; i++)
		kvm_push(0x3f8, (uint8_t)('a' + i));
	assert_true(vm_coalesced_pending(&vm));
	vm_flush_coalesced(&vm);
	assert_false(vm_coalesced_pending(&vm));
	assert_int_equal(nseen, 10);
	assert_memory_equal(seen, "abcdefghij", 10);
	assert_int_equal(ring->first, ring->last);
	assert_int_equal(atomic_load(&vm.exitcode), -1);
	assert_true(pending_during_dispatch);
}

static void test_bad_entries_skipped(void **state)
{
	(void)state;
	kvm_push(0x3f8, 'x');
	ring->coalesced_mmio[ring->last - 1].len = 200;	/* nonsense */
	kvm_push(0x3f9, 'y');
	vm_flush_coalesced(&vm);
	assert_int_equal(nseen, 1);
	assert_int_equal(seen[0], 'y');
	assert_int_equal(seen_port[0], 0x3f9);
	assert_int_equal(ring->first, ring->last);
}

static void test_corrupt_index_stops_vm(void **state)
{
	(void)state;
	ring->first = 0;
	ring->last = vm.ring_max + 7;	/* out of the ring */
	vm_flush_coalesced(&vm);		/* must not read past the page */
	assert_int_equal(nseen, 0);
	assert_int_equal(atomic_load(&vm.exitcode), VM_EXIT_ERROR);
}

static void test_flush_bounded(void **state)
{
	(void)state;
	kvm_push(0x3f8, 'a');
	refill = true;
	vm_flush_coalesced(&vm);	/* must return */
	assert_int_equal(nseen, vm.ring_max);
	assert_true(vm_coalesced_pending(&vm));
	refill = false;
	vm_flush_coalesced(&vm);
	assert_false(vm_coalesced_pending(&vm));
	assert_int_equal(nseen, vm.ring_max + 1);
}

/* The real UART model behind the ring: THR writes queued with the THRE
 * interrupt enabled raise it when replayed, before the exit that replays
 * them is handled (here: the IIR read). */
static struct uart ru;
static bool ru_level;
static unsigned ru_tx;

static void ru_irq(void *arg, bool level)
{
	(void)arg;
	ru_level = level;
}

static void ru_txb(void *arg, uint8_t b)
{
	(void)arg;
	(void)b;
	ru_tx++;
}

static const struct uart_ops ru_ops = { .set_irq = ru_irq, .tx = ru_txb };

static int ru_pio(void *arg, uint16_t port, int size, bool in, uint32_t *val)
{
	(void)arg;
	(void)size;
	if (in)
		*val = uart_read(&ru, port & 7);
	else
		uart_write(&ru, port & 7, (uint8_t)*val);
	return 0;
}

static void test_uart_behind_ring(void **state)
{
	uint32_t v;

	(void)state;
	uart_init(&ru, &ru_ops, NULL);
	ru_level = false;
	ru_tx = 0;
	assert_int_equal(pio_register(0x2f8, 8, ru_pio, NULL, "com2"), 0);
	v = UART_IER_ETBEI;
	pio_dispatch(0x2f9, 1, false, &v);	/* IER: exits */
	pio_dispatch(0x2fa, 1, true, &v);	/* ISR reads IIR */
	assert_int_equal(v & 0x0f, UART_IIR_TXRDY);
	assert_false(ru_level);
	for (int i = 0; i < 16; i++)
		kvm_push(0x2f8, (uint8_t)i);	/* the burst, queued */
	assert_false(ru_level);
	/* The next exit (the ISR's second IIR read) replays first. */
	vm_flush_coalesced(&vm);
	assert_int_equal(ru_tx, 16);
	assert_true(ru_level);
	pio_dispatch(0x2fa, 1, true, &v);
	assert_int_equal(v & 0x0f, UART_IIR_TXRDY);
	assert_false(ru_level);
}

int run_coalesced_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replay_in_order_with_wrap,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_entries_skipped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_index_stops_vm,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_bounded,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_uart_behind_ring,
		    setup, teardown),
	};
	return cmocka_run_group_tests_name("coalesced", tests, NULL, NULL);
}
