/* NS16550A UART model: registers, 16-byte receive FIFO, interrupt
 * identification and priorities, loopback.  Transmission is instant, so the
 * transmit holding register is always empty.  A THR write may be handled
 * late (KVM queues it in the coalesced ring and it is replayed before the
 * next exit): the model raises THRE then, if IER asks for it, so the
 * result is the same as if it had been handled at once for a guest that
 * reads any UART register before relying on it.  Independent of KVM and of the
 * I/O port bus: the LPC and PCI serial devices wrap it. */
#ifndef BHYVE_UART16550_H
#define BHYVE_UART16550_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART_FIFO_SIZE 16

/* Register offsets */
#define UART_RBR_THR	0
#define UART_IER	1
#define UART_IIR_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_IER_ERBFI	0x01
#define UART_IER_ETBEI	0x02
#define UART_IER_ELSI	0x04
#define UART_IER_EDSSI	0x08

#define UART_IIR_NOPEND	0x01
#define UART_IIR_MLSC	0x00
#define UART_IIR_TXRDY	0x02
#define UART_IIR_RXRDY	0x04
#define UART_IIR_RLS	0x06
#define UART_IIR_FIFO	0xc0

#define UART_LSR_DR	0x01
#define UART_LSR_OE	0x02
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40

#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT1	0x04
#define UART_MCR_OUT2	0x08
#define UART_MCR_LOOP	0x10

#define UART_MSR_DCTS	0x01
#define UART_MSR_DDSR	0x02
#define UART_MSR_TERI	0x04
#define UART_MSR_DDCD	0x08
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

#define UART_LCR_DLAB	0x80

struct uart_ops {
	/* Interrupt line changed level. */
	void (*set_irq)(void *arg, bool level);
	/* A byte to transmit. */
	void (*tx)(void *arg, uint8_t byte);
	/* The receive FIFO has room again (the backend may read more). */
	void (*rx_room)(void *arg);
};

struct uart {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, lsr, msr, fcr, scr, dll, dlm;
	bool thre_pending;
	bool irq_level;
	uint64_t tx_count, irq_raises;	/* statistics for uart_describe() */
	uint8_t fifo[UART_FIFO_SIZE];
	unsigned fifo_head, fifo_count;
	const struct uart_ops *ops;
	void *arg;
};

void uart_init(struct uart *u, const struct uart_ops *ops, void *arg);
uint8_t uart_read(struct uart *u, unsigned offset);
void uart_write(struct uart *u, unsigned offset, uint8_t val);
/* Deliver received bytes; returns how many fitted in the FIFO. */
unsigned uart_rx(struct uart *u, const uint8_t *buf, unsigned len);
unsigned uart_rx_space(struct uart *u);
/* One line describing the registers and interrupt state (diagnostics);
 * no side effects on the guest-visible state.  Returns snprintf's value. */
int uart_describe(struct uart *u, char *buf, size_t len);

#endif
