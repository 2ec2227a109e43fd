#include "devices/uart16550.h"

#include <stdio.h>
#include <string.h>

static unsigned fifo_cap(const struct uart *u)
{
	/* With the FIFO disabled the receiver holds one byte. */
	return (u->fcr & 1) ? UART_FIFO_SIZE : 1;
}

static void fifo_reset(struct uart *u)
{
	u->fifo_head = u->fifo_count = 0;
}

static bool fifo_put(struct uart *u, uint8_t b)
{
	if (u->fifo_count >= fifo_cap(u)) {
		u->lsr |= UART_LSR_OE;
		return false;
	}
	u->fifo[(u->fifo_head + u->fifo_count) % UART_FIFO_SIZE] = b;
	u->fifo_count++;
	return true;
}

static int fifo_get(struct uart *u)
{
	uint8_t b;

	if (u->fifo_count == 0)
		return -1;
	b = u->fifo[u->fifo_head];
	u->fifo_head = (u->fifo_head + 1) % UART_FIFO_SIZE;
	u->fifo_count--;
	return b;
}

/* Modem status as seen by the guest: loopback reflects MCR, otherwise a
 * connected line (carrier, data set ready, clear to send). */
static uint8_t modem_lines(const struct uart *u)
{
	uint8_t m = 0;

	if (u->mcr & UART_MCR_LOOP) {
		if (u->mcr & UART_MCR_RTS)
			m |= UART_MSR_CTS;
		if (u->mcr & UART_MCR_DTR)
			m |= UART_MSR_DSR;
		if (u->mcr & UART_MCR_OUT1)
			m |= UART_MSR_RI;
		if (u->mcr & UART_MCR_OUT2)
			m |= UART_MSR_DCD;
	} else {
		m = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	}
	return m;
}

static void update_msr(struct uart *u)
{
	uint8_t old = u->msr & 0xf0, now = modem_lines(u);
	uint8_t delta = u->msr & 0x0f;

	if ((old ^ now) & UART_MSR_CTS)
		delta |= UART_MSR_DCTS;
	if ((old ^ now) & UART_MSR_DSR)
		delta |= UART_MSR_DDSR;
	if ((old ^ now) & UART_MSR_DCD)
		delta |= UART_MSR_DDCD;
	if ((old & UART_MSR_RI) && !(now & UART_MSR_RI))
		delta |= UART_MSR_TERI;
	u->msr = now | delta;
}

static uint8_t intr_reason(const struct uart *u)
{
	if ((u->ier & UART_IER_ELSI) && (u->lsr & UART_LSR_OE))
		return UART_IIR_RLS;
	if ((u->ier & UART_IER_ERBFI) && u->fifo_count > 0)
		return UART_IIR_RXRDY;
	if ((u->ier & UART_IER_ETBEI) && u->thre_pending)
		return UART_IIR_TXRDY;
	if ((u->ier & UART_IER_EDSSI) && (u->msr & 0x0f))
		return UART_IIR_MLSC;
	return UART_IIR_NOPEND;
}

static void update_irq(struct uart *u)
{
	bool level = intr_reason(u) != UART_IIR_NOPEND;

	if (level != u->irq_level) {
		u->irq_level = level;
		if (level)
			u->irq_raises++;
		if (u->ops && u->ops->set_irq)
			u->ops->set_irq(u->arg, level);
	}
}

void uart_init(struct uart *u, const struct uart_ops *ops, void *arg)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->ops = ops;
	u->arg = arg;
	u->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	u->dll = 12;		/* 9600 baud */
	u->msr = modem_lines(u);
}

uint8_t uart_read(struct uart *u, unsigned offset)
{
	uint8_t v = 0xff;
	bool room = false;

	pthread_mutex_lock(&u->lock);
	switch (offset & 7) {
	case UART_RBR_THR:
		if (u->lcr & UART_LCR_DLAB) {
			v = u->dll;
		} else {
			int b = fifo_get(u);
			v = b < 0 ? 0 : (uint8_t)b;
			room = b >= 0 && !(u->mcr & UART_MCR_LOOP);
		}
		break;
	case UART_IER:
		v = (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR_FCR:
		v = intr_reason(u);
		if (v == UART_IIR_TXRDY)
			u->thre_pending = false;
		if (u->fcr & 1)
			v |= UART_IIR_FIFO;
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = u->lsr | (u->fifo_count ? UART_LSR_DR : 0);
		u->lsr &= (uint8_t)~UART_LSR_OE;
		break;
	case UART_MSR:
		v = u->msr;
		u->msr &= 0xf0;
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	if (room && u->ops && u->ops->rx_room)
		u->ops->rx_room(u->arg);
	return v;
}

void uart_write(struct uart *u, unsigned offset, uint8_t val)
{
	bool room = false;

	pthread_mutex_lock(&u->lock);
	switch (offset & 7) {
	case UART_RBR_THR:
		if (u->lcr & UART_LCR_DLAB) {
			u->dll = val;
			break;
		}
		if (u->mcr & UART_MCR_LOOP)
			fifo_put(u, val);
		else if (u->ops && u->ops->tx)
			u->ops->tx(u->arg, val);
		u->tx_count++;
		u->thre_pending = true;
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB) {
			u->dlm = val;
			break;
		}
		/* Enabling the THRE interrupt while THR is empty raises it. */
		if (!(u->ier & UART_IER_ETBEI) && (val & UART_IER_ETBEI))
			u->thre_pending = true;
		u->ier = val & 0x0f;
		break;
	case UART_IIR_FCR:
		if ((val & 1) != (u->fcr & 1) || (val & 2)) {
			fifo_reset(u);
			room = true;
		}
		u->fcr = val & 0xc1;
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		if ((u->mcr & UART_MCR_LOOP) && !(val & UART_MCR_LOOP))
			room = true;
		u->mcr = val & 0x1f;
		update_msr(u);
		break;
	case UART_LSR:
	case UART_MSR:
		break;		/* read-only (factory test) */
	case UART_SCR:
		u->scr = val;
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	if (room && u->ops && u->ops->rx_room)
		u->ops->rx_room(u->arg);
}

unsigned uart_rx(struct uart *u, const uint8_t *buf, unsigned len)
{
	unsigned n = 0;

	pthread_mutex_lock(&u->lock);
	/* In loopback the line is disconnected from the backend. */
	if (!(u->mcr & UART_MCR_LOOP))
		while (n < len && u->fifo_count < fifo_cap(u))
			fifo_put(u, buf[n++]);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

unsigned uart_rx_space(struct uart *u)
{
	unsigned s;

	pthread_mutex_lock(&u->lock);
	s = (u->mcr & UART_MCR_LOOP) ? 0 : fifo_cap(u) - u->fifo_count;
	pthread_mutex_unlock(&u->lock);
	return s;
}

int uart_describe(struct uart *u, char *buf, size_t len)
{
	int n;

	pthread_mutex_lock(&u->lock);
	n = snprintf(buf, len, "IER %02x IIR %02x LCR %02x MCR %02x LSR %02x "
	    "MSR %02x FCR %02x RX FIFO %u, THRE pending %d, IRQ line %s, "
	    "%llu bytes sent, %llu interrupts raised", u->ier,
	    intr_reason(u) | ((u->fcr & 1) ? UART_IIR_FIFO : 0), u->lcr,
	    u->mcr, u->lsr | (u->fifo_count ? UART_LSR_DR : 0), u->msr,
	    u->fcr, u->fifo_count, u->thre_pending,
	    u->irq_level ? "high" : "low", (unsigned long long)u->tx_count,
	    (unsigned long long)u->irq_raises);
	pthread_mutex_unlock(&u->lock);
	return n;
}
