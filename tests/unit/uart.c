/* NS16550A model: src/devices/uart16550.c */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "devices/uart16550.h"

struct rec {
	bool level;
	int irq_calls;
	uint8_t tx[64];
	unsigned ntx;
	int rx_room;
};

static void rec_irq(void *arg, bool level)
{
	struct rec *r = arg;
	r->level = level;
	r->irq_calls++;
}

static void rec_tx(void *arg, uint8_t b)
{
	struct rec *r = arg;
	if (r->ntx < sizeof(r->tx))
		r->tx[r->ntx] = b;
	r->ntx++;
}

static void rec_rx_room(void *arg)
{
	struct rec *r = arg;
	r->rx_room++;
}

static const struct uart_ops ops = { rec_irq, rec_tx, rec_rx_room };

static struct uart u;
static struct rec rec;

static int setup(void **state)
{
	(void)state;
	memset(&rec, 0, sizeof(rec));
	uart_init(&u, &ops, &rec);
	return 0;
}

#define IIR() uart_read(&u, UART_IIR_FCR)
#define LSR() uart_read(&u, UART_LSR)

static void test_reset_state(void **state)
{
	(void)state;
	assert_int_equal(LSR(), UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(IIR(), UART_IIR_NOPEND);
	assert_int_equal(uart_read(&u, UART_IER), 0);
	assert_int_equal(uart_read(&u, UART_LCR), 0);
	assert_int_equal(uart_read(&u, UART_MCR), 0);
	/* a connected line: carrier, data set ready, clear to send */
	assert_int_equal(uart_read(&u, UART_MSR),
	    UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	assert_int_equal(uart_read(&u, UART_RBR_THR), 0);	/* empty */
	assert_false(rec.level);
	assert_int_equal(rec.irq_calls, 0);
	assert_int_equal(rec.rx_room, 0);
	assert_int_equal(uart_rx_space(&u), 1);
}

static void test_tx(void **state)
{
	(void)state;
	uart_write(&u, UART_RBR_THR, 'h');
	uart_write(&u, UART_RBR_THR, 'i');
	assert_int_equal(rec.ntx, 2);
	assert_int_equal(rec.tx[0], 'h');
	assert_int_equal(rec.tx[1], 'i');
	/* transmission is instant */
	assert_int_equal(LSR() & (UART_LSR_THRE | UART_LSR_TEMT),
	    UART_LSR_THRE | UART_LSR_TEMT);
	/* no interrupt without ETBEI */
	assert_int_equal(IIR(), UART_IIR_NOPEND);
	assert_false(rec.level);
	/* the register offset wraps at 8 */
	uart_write(&u, 8 + UART_RBR_THR, '!');
	assert_int_equal(rec.tx[2], '!');
}

static void test_thre_interrupt(void **state)
{
	(void)state;
	uart_write(&u, UART_IER, UART_IER_ETBEI);
	assert_true(rec.level);
	assert_int_equal(rec.irq_calls, 1);
	assert_int_equal(uart_read(&u, UART_IER), UART_IER_ETBEI);
	assert_int_equal(IIR(), UART_IIR_TXRDY);
	/* reading IIR acknowledged it */
	assert_false(rec.level);
	assert_int_equal(rec.irq_calls, 2);
	assert_int_equal(IIR(), UART_IIR_NOPEND);

	/* each transmitted byte empties THR again */
	uart_write(&u, UART_RBR_THR, 'x');
	assert_true(rec.level);
	assert_int_equal(IIR(), UART_IIR_TXRDY);
	assert_false(rec.level);

	/* rewriting IER with ETBEI already set does not re-raise */
	uart_write(&u, UART_IER, UART_IER_ETBEI);
	assert_false(rec.level);
	/* but disabling and enabling does */
	uart_write(&u, UART_IER, 0);
	uart_write(&u, UART_IER, UART_IER_ETBEI);
	assert_true(rec.level);
	/* disabling ETBEI drops the line */
	uart_write(&u, UART_IER, 0);
	assert_false(rec.level);
	/* IER keeps only its four bits */
	uart_write(&u, UART_IER, 0xf0);
	assert_int_equal(uart_read(&u, UART_IER), 0);
}

static void test_rx_no_fifo(void **state)
{
	static const uint8_t data[] = "ab";
	(void)state;

	assert_int_equal(uart_rx(&u, data, 2), 1);	/* one-byte holding */
	assert_int_equal(uart_rx_space(&u), 0);
	assert_int_equal(LSR() & UART_LSR_DR, UART_LSR_DR);
	assert_int_equal(LSR() & UART_LSR_OE, 0);	/* no overrun: refused */
	assert_false(rec.level);			/* ERBFI off */
	assert_int_equal(IIR(), UART_IIR_NOPEND);
	uart_write(&u, UART_IER, UART_IER_ERBFI);
	assert_true(rec.level);
	assert_int_equal(IIR(), UART_IIR_RXRDY);
	assert_int_equal(IIR(), UART_IIR_RXRDY);	/* IIR read doesn't ack */
	assert_int_equal(rec.rx_room, 0);
	assert_int_equal(uart_read(&u, UART_RBR_THR), 'a');
	assert_int_equal(rec.rx_room, 1);
	assert_false(rec.level);
	assert_int_equal(LSR() & UART_LSR_DR, 0);
	assert_int_equal(IIR(), UART_IIR_NOPEND);
	/* reading an empty receiver asks for nothing */
	assert_int_equal(uart_read(&u, UART_RBR_THR), 0);
	assert_int_equal(rec.rx_room, 1);
	assert_int_equal(uart_rx(&u, data + 1, 1), 1);
	assert_int_equal(uart_read(&u, UART_RBR_THR), 'b');
	assert_int_equal(rec.rx_room, 2);
}

static void test_rx_fifo(void **state)
{
	uint8_t data[20];
	(void)state;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0x30 + i);
	uart_write(&u, UART_IIR_FCR, 0x01);
	rec.rx_room = 0;
	assert_int_equal(uart_rx_space(&u), UART_FIFO_SIZE);
	assert_int_equal(uart_rx(&u, data, 5), 5);
	assert_int_equal(uart_rx_space(&u), 11);
	assert_int_equal(uart_rx(&u, data + 5, 15), 11);
	assert_int_equal(uart_rx_space(&u), 0);
	assert_int_equal(uart_rx(&u, data, 1), 0);
	uart_write(&u, UART_IER, UART_IER_ERBFI);
	assert_true(rec.level);
	assert_int_equal(IIR(), UART_IIR_FIFO | UART_IIR_RXRDY);
	for (unsigned i = 0; i < UART_FIFO_SIZE; i++) {
		assert_int_equal(LSR() & UART_LSR_DR, UART_LSR_DR);
		assert_int_equal(uart_read(&u, UART_RBR_THR), 0x30 + i);
	}
	assert_int_equal(rec.rx_room, UART_FIFO_SIZE);
	assert_int_equal(LSR() & UART_LSR_DR, 0);
	assert_false(rec.level);
	assert_int_equal(IIR(), UART_IIR_FIFO | UART_IIR_NOPEND);
	/* the ring wraps around */
	assert_int_equal(uart_rx(&u, data, 10), 10);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(uart_read(&u, UART_RBR_THR), 0x30 + i);
}

static void test_fcr_clear(void **state)
{
	static const uint8_t data[] = "xyz";
	(void)state;

	uart_write(&u, UART_IIR_FCR, 0x01);
	assert_int_equal(uart_rx(&u, data, 3), 3);
	rec.rx_room = 0;
	/* writing FCR without a change keeps the data */
	uart_write(&u, UART_IIR_FCR, 0x01);
	assert_int_equal(LSR() & UART_LSR_DR, UART_LSR_DR);
	/* RX FIFO reset */
	uart_write(&u, UART_IIR_FCR, 0x03);
	assert_int_equal(LSR() & UART_LSR_DR, 0);
	assert_int_equal(uart_rx_space(&u), UART_FIFO_SIZE);
	assert_true(rec.rx_room >= 1);
	assert_int_equal(IIR() & UART_IIR_FIFO, UART_IIR_FIFO);	/* still on */
	/* turning the FIFO off discards it too */
	assert_int_equal(uart_rx(&u, data, 3), 3);
	uart_write(&u, UART_IIR_FCR, 0x00);
	assert_int_equal(LSR() & UART_LSR_DR, 0);
	assert_int_equal(uart_rx_space(&u), 1);
	assert_int_equal(IIR() & UART_IIR_FIFO, 0);
}

static void test_overrun(void **state)
{
	(void)state;
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	uart_write(&u, UART_RBR_THR, 'a');
	uart_write(&u, UART_RBR_THR, 'b');	/* holding register full */
	assert_int_equal(rec.ntx, 0);
	uart_write(&u, UART_IER, UART_IER_ELSI | UART_IER_ERBFI);
	assert_true(rec.level);
	assert_int_equal(IIR(), UART_IIR_RLS);	/* highest priority */
	assert_int_equal(LSR(), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_OE |
	    UART_LSR_DR);
	/* reading LSR cleared OE */
	assert_int_equal(LSR() & UART_LSR_OE, 0);
	assert_int_equal(IIR(), UART_IIR_RXRDY);
	assert_int_equal(uart_read(&u, UART_RBR_THR), 'a');	/* first kept */
	assert_int_equal(IIR(), UART_IIR_NOPEND);
	assert_false(rec.level);

	/* 16 bytes fit with the FIFO on; the 17th overruns */
	uart_write(&u, UART_IIR_FCR, 0x01);
	for (int i = 0; i < 16; i++)
		uart_write(&u, UART_RBR_THR, (uint8_t)i);
	assert_int_equal(LSR() & UART_LSR_OE, 0);
	uart_write(&u, UART_RBR_THR, 16);
	assert_int_equal(IIR(), UART_IIR_FIFO | UART_IIR_RLS);
	assert_int_equal(LSR() & UART_LSR_OE, UART_LSR_OE);
	for (int i = 0; i < 16; i++)
		assert_int_equal(uart_read(&u, UART_RBR_THR), i);
	/* without ELSI, OE does not interrupt */
	uart_write(&u, UART_IIR_FCR, 0x00);
	uart_write(&u, UART_IER, 0);
	uart_write(&u, UART_RBR_THR, 1);
	uart_write(&u, UART_RBR_THR, 2);
	assert_int_equal(IIR(), UART_IIR_NOPEND);
	assert_int_equal(LSR() & UART_LSR_OE, UART_LSR_OE);
}

static void test_priorities(void **state)
{
	(void)state;
	uart_write(&u, UART_IER, UART_IER_ETBEI | UART_IER_ERBFI);
	assert_int_equal(uart_rx(&u, (const uint8_t *)"q", 1), 1);
	/* RX data outranks THR empty */
	assert_int_equal(IIR(), UART_IIR_RXRDY);
	assert_int_equal(uart_read(&u, UART_RBR_THR), 'q');
	/* the THRE interrupt was not lost by the IIR read above */
	assert_true(rec.level);
	assert_int_equal(IIR(), UART_IIR_TXRDY);
	assert_int_equal(IIR(), UART_IIR_NOPEND);
}

static void test_dlab(void **state)
{
	(void)state;
	uart_write(&u, UART_IER, UART_IER_ERBFI);
	uart_write(&u, UART_LCR, UART_LCR_DLAB | 0x03);
	assert_int_equal(uart_read(&u, UART_LCR), UART_LCR_DLAB | 0x03);
	assert_int_equal(uart_read(&u, UART_RBR_THR), 12);	/* 9600 baud */
	assert_int_equal(uart_read(&u, UART_IER), 0);
	uart_write(&u, UART_RBR_THR, 0x01);	/* DLL, not THR */
	uart_write(&u, UART_IER, 0x02);		/* DLM, not IER */
	assert_int_equal(rec.ntx, 0);
	assert_int_equal(uart_read(&u, UART_RBR_THR), 0x01);
	assert_int_equal(uart_read(&u, UART_IER), 0x02);
	assert_int_equal(u.dll, 0x01);
	assert_int_equal(u.dlm, 0x02);
	uart_write(&u, UART_LCR, 0x03);
	assert_int_equal(uart_read(&u, UART_IER), UART_IER_ERBFI);
	assert_false(rec.level);		/* ETBEI was never set */
	uart_write(&u, UART_RBR_THR, 'z');
	assert_int_equal(rec.ntx, 1);
	assert_int_equal(rec.tx[0], 'z');
}

static void test_loopback(void **state)
{
	uint8_t msr;
	(void)state;

	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(uart_read(&u, UART_MCR), UART_MCR_LOOP);
	msr = uart_read(&u, UART_MSR);
	assert_int_equal(msr & 0xf0, 0);
	/* CTS, DSR, DCD dropped: their deltas are set once */
	assert_int_equal(msr & 0x0f, UART_MSR_DCTS | UART_MSR_DDSR |
	    UART_MSR_DDCD);
	assert_int_equal(uart_read(&u, UART_MSR) & 0x0f, 0);

	uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_RTS |
	    UART_MCR_OUT1 | UART_MCR_OUT2);
	msr = uart_read(&u, UART_MSR);
	assert_int_equal(msr & 0xf0, UART_MSR_CTS | UART_MSR_DSR | UART_MSR_RI |
	    UART_MSR_DCD);
	uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	msr = uart_read(&u, UART_MSR);
	assert_int_equal(msr & 0xf0, UART_MSR_CTS);
	/* RI falling edge */
	assert_int_equal(msr & UART_MSR_TERI, UART_MSR_TERI);
	uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
	assert_int_equal(uart_read(&u, UART_MSR) & 0xf0, UART_MSR_DSR);
	uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	assert_int_equal(uart_read(&u, UART_MSR) & 0xf0, UART_MSR_RI);
	uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	assert_int_equal(uart_read(&u, UART_MSR) & 0xf0, UART_MSR_DCD);

	/* THR goes to the receiver, not to the backend */
	uart_write(&u, UART_RBR_THR, 'L');
	assert_int_equal(rec.ntx, 0);
	assert_int_equal(LSR() & UART_LSR_DR, UART_LSR_DR);
	/* the backend is disconnected */
	assert_int_equal(uart_rx_space(&u), 0);
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(uart_rx(&u, (const uint8_t *)"X", 1), 0);
	rec.rx_room = 0;
	assert_int_equal(uart_read(&u, UART_RBR_THR), 'L');
	assert_int_equal(rec.rx_room, 0);	/* nothing to ask the backend */

	/* leaving loopback reconnects the line and asks for input */
	uart_write(&u, UART_MCR, 0);
	assert_int_equal(rec.rx_room, 1);
	assert_int_equal(uart_read(&u, UART_MSR) & 0xf0,
	    UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	assert_int_equal(uart_rx(&u, (const uint8_t *)"X", 1), 1);
	uart_write(&u, UART_RBR_THR, 'T');
	assert_int_equal(rec.ntx, 1);
	assert_int_equal(rec.tx[0], 'T');
	/* MCR keeps its five bits */
	uart_write(&u, UART_MCR, 0xff);
	assert_int_equal(uart_read(&u, UART_MCR), 0x1f);
}

static void test_modem_status_interrupt(void **state)
{
	(void)state;
	uart_write(&u, UART_IER, UART_IER_EDSSI);
	assert_false(rec.level);
	uart_write(&u, UART_MCR, UART_MCR_LOOP);	/* lines drop */
	assert_true(rec.level);
	assert_int_equal(IIR(), UART_IIR_MLSC);
	assert_true(rec.level);			/* IIR read doesn't ack it */
	uart_read(&u, UART_MSR);
	assert_false(rec.level);
	assert_int_equal(IIR(), UART_IIR_NOPEND);
}

static void test_scratch_and_readonly(void **state)
{
	(void)state;
	uart_write(&u, UART_SCR, 0x5a);
	assert_int_equal(uart_read(&u, UART_SCR), 0x5a);
	uart_write(&u, UART_SCR, 0xa5);
	assert_int_equal(uart_read(&u, UART_SCR), 0xa5);
	/* LSR and MSR ignore writes */
	uart_write(&u, UART_LSR, 0x00);
	assert_int_equal(LSR(), UART_LSR_THRE | UART_LSR_TEMT);
	uart_write(&u, UART_MSR, 0x00);
	assert_int_equal(uart_read(&u, UART_MSR),
	    UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}

static void test_null_ops(void **state)
{
	(void)state;
	/* a UART without a backend must not crash */
	uart_init(&u, NULL, NULL);
	uart_write(&u, UART_IER, 0x0f);
	uart_write(&u, UART_RBR_THR, 'a');
	assert_int_equal(uart_rx(&u, (const uint8_t *)"b", 1), 1);
	assert_int_equal(uart_read(&u, UART_RBR_THR), 'b');
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	uart_write(&u, UART_MCR, 0);
	assert_true(u.irq_level);		/* THRE still pending */
}

static void test_describe(void **state)
{
	char buf[300];
	unsigned ier, iir, lcr, mcr, lsr, msr, fcr, fifo, thre;
	char line[8];
	unsigned long long sent, raised;

	(void)state;
	uart_write(&u, UART_IIR_FCR, 1);
	uart_write(&u, UART_LCR, 3);
	uart_write(&u, UART_IER, UART_IER_ETBEI);
	uart_write(&u, UART_RBR_THR, 'x');
	assert_int_equal(uart_rx(&u, (const uint8_t *)"ab", 2), 2);
	assert_true(uart_describe(&u, buf, sizeof(buf)) < (int)sizeof(buf));
	assert_int_equal(sscanf(buf, "IER %x IIR %x LCR %x MCR %x LSR %x "
	    "MSR %x FCR %x RX FIFO %u, THRE pending %u, IRQ line %7[a-z], "
	    "%llu bytes sent, %llu interrupts raised", &ier, &iir, &lcr, &mcr,
	    &lsr, &msr, &fcr, &fifo, &thre, line, &sent, &raised), 12);
	assert_int_equal(ier, UART_IER_ETBEI);
	assert_int_equal(iir, UART_IIR_TXRDY | UART_IIR_FIFO);
	assert_int_equal(lcr, 3);
	assert_int_equal(lsr, UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR);
	assert_int_equal(fcr, 1);
	assert_int_equal(fifo, 2);
	assert_int_equal(thre, 1);
	assert_string_equal(line, "high");
	assert_int_equal(sent, 1);
	assert_int_equal(raised, 1);
	/* Describing has no side effect: the THRE interrupt is still
	 * pending for the guest's own IIR read. */
	assert_int_equal(IIR() & 0x0f, UART_IIR_TXRDY);
}

/* THR writes replayed late (KVM's coalesced ring), in the order the
 * guest made them, whatever IER/LCR/MCR said when they were queued: the
 * model decides what each write does when it is replayed. */
static void test_late_thr_writes(void **state)
{
	(void)state;
	/* Linux's 8250 interrupt path: IER enables THRE (an exit: raised
	 * at once), the ISR reads IIR and writes a burst (queued), then
	 * re-reads IIR (an exit, which replays the burst first). */
	uart_write(&u, UART_IER, UART_IER_ETBEI);
	assert_true(rec.level);
	assert_int_equal(IIR(), UART_IIR_TXRDY);
	assert_false(rec.level);
	for (int i = 0; i < 16; i++)
		uart_write(&u, UART_RBR_THR, (uint8_t)('a' + i));
	assert_true(rec.level);		/* replayed: THRE again */
	assert_int_equal(IIR(), UART_IIR_TXRDY);
	/* __stop_tx: IER off; a write replayed later raises nothing. */
	uart_write(&u, UART_IER, 0);
	uart_write(&u, UART_RBR_THR, 'z');
	assert_false(rec.level);
	assert_int_equal(IIR(), UART_IIR_NOPEND);
	assert_int_equal(rec.ntx, 17);
	/* A write queued while DLAB was set is a divisor write when
	 * replayed (the LCR change is an exit: replayed after it). */
	uart_write(&u, UART_LCR, UART_LCR_DLAB);
	uart_write(&u, UART_RBR_THR, 0x21);
	uart_write(&u, UART_LCR, 3);
	assert_int_equal(rec.ntx, 17);
	uart_write(&u, UART_LCR, UART_LCR_DLAB);
	assert_int_equal(uart_read(&u, UART_RBR_THR), 0x21);
	uart_write(&u, UART_LCR, 3);
}

int run_uart_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_state, setup),
		cmocka_unit_test_setup(test_tx, setup),
		cmocka_unit_test_setup(test_thre_interrupt, setup),
		cmocka_unit_test_setup(test_rx_no_fifo, setup),
		cmocka_unit_test_setup(test_rx_fifo, setup),
		cmocka_unit_test_setup(test_fcr_clear, setup),
		cmocka_unit_test_setup(test_overrun, setup),
		cmocka_unit_test_setup(test_priorities, setup),
		cmocka_unit_test_setup(test_dlab, setup),
		cmocka_unit_test_setup(test_loopback, setup),
		cmocka_unit_test_setup(test_modem_status_interrupt, setup),
		cmocka_unit_test_setup(test_scratch_and_readonly, setup),
		cmocka_unit_test_setup(test_null_ops, setup),
		cmocka_unit_test_setup(test_describe, setup),
		cmocka_unit_test_setup(test_late_thr_writes, setup),
	};
	return cmocka_run_group_tests_name("uart", tests, NULL, NULL);
}
