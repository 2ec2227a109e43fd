/* LPC PCI-ISA bridge (an Intel 82371SB PIIX3 to the guest) with the legacy
 * COM1..COM4 16550 UARTs behind it. */
#include "devices/lpc.h"
#include "backends/tty.h"
#include "bus/pci.h"
#include "bus/pio.h"
#include "config.h"
#include "devices/uart16550.h"
#include "platform/aml.h"
#include "util.h"
#include "vmm/vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	uint16_t port;
	uint8_t irq;
} com[4] = {
	{ "com1", 0x3f8, 4 },
	{ "com2", 0x2f8, 3 },
	{ "com3", 0x3e8, 4 },
	{ "com4", 0x2e8, 3 },
};

static const char *const lpc_devices[] = {
	"bootrom", "com1", "com2", "com3", "com4", "fwcfg", "pc-testdev",
};

struct lpc_uart {
	struct uart uart;
	struct ttybe *be;
	struct vm *vm;
	uint8_t irq;
	uint16_t port;
	const char *name;
	/* THR writes are queued by KVM (coalesced) while they only
	 * transmit; see uart_tx_queueable(). */
	pthread_mutex_t qlock;
	bool queued;
};

static struct lpc_uart *uarts[4];
static bool lpc_present;

void lpc_print_help(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(lpc_devices); i++)
		printf("%s\n", lpc_devices[i]);
}

int lpc_device_parse(const char *opt)
{
	const char *comma = strchr(opt, ',');
	size_t n = comma ? (size_t)(comma - opt) : strlen(opt);
	const char *rest = comma ? comma + 1 : NULL;
	char name[16];

	if (n == 0 || n >= sizeof(name))
		return fail("invalid lpc device configuration '%s'", opt);
	memcpy(name, opt, n);
	name[n] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(com); i++)
		if (strcmp(name, com[i].name) == 0) {
			if (rest == NULL || *rest == '\0')
				return fail("lpc device %s needs a backend "
				    "(stdio or /dev/xxx)", name);
			return config_setf(rest, "lpc.%s.path", name);
		}
	if (strcmp(name, "bootrom") == 0) {
		const char *c2;
		if (rest == NULL || *rest == '\0')
			return fail("lpc device bootrom needs a ROM file");
		c2 = strchr(rest, ',');
		if (c2 == NULL)
			return config_set("lpc.bootrom", rest);
		{
			char rom[4096];
			if ((size_t)(c2 - rest) >= sizeof(rom))
				return fail("bootrom path too long");
			memcpy(rom, rest, (size_t)(c2 - rest));
			rom[c2 - rest] = '\0';
			if (config_set("lpc.bootrom", rom) != 0)
				return -1;
			return config_set("lpc.bootvars", c2 + 1);
		}
	}
	if (strcmp(name, "pc-testdev") == 0) {
		if (rest != NULL)
			return fail("lpc device pc-testdev takes no options");
		return config_set("lpc.pc-testdev", "true");
	}
	if (strcmp(name, "fwcfg") == 0) {
		if (rest == NULL || (strcmp(rest, "bhyve") != 0 &&
		    strcmp(rest, "qemu") != 0))
			return fail("lpc device fwcfg takes 'bhyve' or 'qemu'");
		return config_set("lpc.fwcfg", rest);
	}
	return fail("invalid lpc device configuration '%s' (see 'bhyve -l "
	    "help')", opt);
}

/* ---- UART glue: port I/O, interrupt line, backend ---- */

static void lpc_uart_irq(void *arg, bool level)
{
	struct lpc_uart *lu = arg;
	vm_isa_irq(lu->vm, lu->irq, level);
}

static void lpc_uart_tx(void *arg, uint8_t byte)
{
	struct lpc_uart *lu = arg;
	if (lu->be)
		ttybe_write(lu->be, byte);
}

static void lpc_uart_rx_room(void *arg)
{
	struct lpc_uart *lu = arg;
	if (lu->be)
		ttybe_rx_enable(lu->be, true);
}

static const struct uart_ops lpc_uart_ops = {
	.set_irq = lpc_uart_irq,
	.tx = lpc_uart_tx,
	.rx_room = lpc_uart_rx_room,
};

static void lpc_uart_readable(void *arg)
{
	struct lpc_uart *lu = arg;
	uint8_t buf[UART_FIFO_SIZE];
	unsigned space = uart_rx_space(&lu->uart);
	int n;

	if (space == 0) {
		/* Pause input until the guest drains the FIFO; re-check
		 * in case it just did. */
		ttybe_rx_enable(lu->be, false);
		if (uart_rx_space(&lu->uart) > 0)
			ttybe_rx_enable(lu->be, true);
		return;
	}
	if (space > sizeof(buf))
		space = sizeof(buf);
	n = ttybe_read(lu->be, buf, space);
	if (n > 0)
		uart_rx(&lu->uart, buf, (unsigned)n);
}

/* Called with qlock held after a register that decides it changed. */
static void lpc_uart_update_queueing(struct lpc_uart *lu)
{
	bool q = uart_tx_queueable(&lu->uart);

	if (q != lu->queued &&
	    vm_coalesce_pio(lu->vm, lu->port + UART_RBR_THR, 1, q) == 0)
		lu->queued = q;
}

static int lpc_uart_pio(void *arg, uint16_t port, int size, bool in,
    uint32_t *val)
{
	struct lpc_uart *lu = arg;
	if (size != 1) {
		/* The 16550 has byte registers only. */
		if (in)
			*val = size == 2 ? 0xffff : 0xffffffff;
		return 0;
	}
	if (in) {
		*val = uart_read(&lu->uart, port & 7);
		return 0;
	}
	pthread_mutex_lock(&lu->qlock);
	uart_write(&lu->uart, port & 7, (uint8_t)*val);
	if ((port & 7) == UART_IER || (port & 7) == UART_LCR ||
	    (port & 7) == UART_MCR)
		lpc_uart_update_queueing(lu);
	pthread_mutex_unlock(&lu->qlock);
	return 0;
}

static int lpc_uarts_init(struct vm *vm)
{
	for (size_t i = 0; i < ARRAY_SIZE(com); i++) {
		struct lpc_uart *lu = calloc(1, sizeof(*lu));
		const char *path = config_getf("lpc.%s.path", com[i].name);

		if (lu == NULL)
			return fail("out of memory");
		uarts[i] = lu;
		lu->vm = vm;
		lu->irq = com[i].irq;
		lu->port = com[i].port;
		lu->name = com[i].name;
		pthread_mutex_init(&lu->qlock, NULL);
		uart_init(&lu->uart, &lpc_uart_ops, lu);
		if (path != NULL && ttybe_open(&lu->be, path,
		    lpc_uart_readable, lu) != 0)
			return fail_prefix("%s", com[i].name);
		if (pio_register(com[i].port, 8, lpc_uart_pio, lu,
		    com[i].name) != 0)
			return -1;
		pthread_mutex_lock(&lu->qlock);
		lpc_uart_update_queueing(lu);
		pthread_mutex_unlock(&lu->qlock);
	}
	return 0;
}

/* Start the backends on the event loop (called once it exists). */
int lpc_start(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(com); i++)
		if (uarts[i] && uarts[i]->be && ttybe_start(uarts[i]->be) != 0)
			return -1;
	return 0;
}

void lpc_fini(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(com); i++) {
		if (uarts[i]) {
			ttybe_close(uarts[i]->be);
			free(uarts[i]);
		}
		uarts[i] = NULL;
	}
	lpc_present = false;
}

int lpc_check(void)
{
	bool b;

	if (!lpc_present) {
		for (size_t i = 0; i < ARRAY_SIZE(com); i++)
			if (config_getf("lpc.%s.path", com[i].name) != NULL)
				return fail("%s is configured but there is no "
				    "LPC bridge (add -s 31,lpc)", com[i].name);
	}
	if (config_get("lpc.bootrom") != NULL)
		return fail("lpc.bootrom: boot ROMs are not implemented yet "
		    "(use -o boot.kernel=... for direct kernel boot)");
	if (config_get_bool("lpc.pc-testdev", false, &b) != 0)
		return -1;
	if (b)
		return fail("lpc.pc-testdev: the debug/test device is not "
		    "implemented yet");
	return 0;
}

/* ---- the PCI function ---- */

#define LPC_PIRQ_FIRST	0x60	/* PIRQA..D routing */
#define LPC_PIRQ2_FIRST	0x68	/* PIRQE..H routing */

static int lpc_cfgwrite(struct pci_devinst *pi, unsigned off, unsigned size,
    uint32_t val)
{
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		if ((o >= LPC_PIRQ_FIRST && o < LPC_PIRQ_FIRST + 4) ||
		    (o >= LPC_PIRQ2_FIRST && o < LPC_PIRQ2_FIRST + 4))
			pi->cfg[o] = (uint8_t)(val >> (8 * i)) & 0x8f;
	}
	return off < 0x40 ? 1 : 0;
}

static int lpc_init(struct vm *vm, struct pci_devinst *pi, const char *node)
{
	(void)node;
	if (lpc_present)
		return fail("only one LPC bridge is allowed");
	lpc_present = true;
	pci_set_ids(pi, 0x8086, 0x7000, 0x06, 0x01, 0x00);	/* ISA bridge */
	for (unsigned i = 0; i < 4; i++) {
		pi->cfg[LPC_PIRQ_FIRST + i] = 0x80;	/* routing disabled */
		pi->cfg[LPC_PIRQ2_FIRST + i] = 0x80;
	}
	return lpc_uarts_init(vm);
}

/* ---- the DSDT: the ISA devices behind the bridge ---- */

static void isa_device(struct aml *a, const char *name, const char *hid,
    unsigned uid, const uint16_t *ports, const uint8_t *lens, unsigned n,
    int irq)
{
	struct aml_res r;

	aml_device(a, name);
	aml_name_eisaid(a, "_HID", hid);
	if (uid)
		aml_name_int(a, "_UID", uid);
	aml_name(a, "_CRS");
	aml_res_init(&r);
	for (unsigned i = 0; i < n; i++)
		aml_res_io(&r, ports[i], ports[i], 1, lens[i]);
	if (irq >= 0)
		aml_res_irq(&r, (unsigned)irq);
	aml_res_end(&r, a);
	aml_end(a);
}

/* All four UARTs exist whether or not a backend is attached (as in
 * bhyve), so all four are declared. */
static void lpc_write_dsdt(struct pci_devinst *pi, struct aml *a)
{
	static const uint16_t pic[] = { 0x20, 0xa0 }, pit[] = { 0x40 },
	    rtc[] = { 0x70 };
	static const uint8_t pic_len[] = { 2, 2 }, pit_len[] = { 4 },
	    rtc_len[] = { 2 }, com_len[] = { 8 };

	aml_device(a, "ISA");
	aml_name_int(a, "_ADR", (uint32_t)pi->slot << 16 | pi->func);
	for (unsigned i = 0; i < ARRAY_SIZE(com); i++) {
		char name[8];
		snprintf(name, sizeof(name), "COM%u", i + 1);
		isa_device(a, name, "PNP0501", i + 1, &com[i].port, com_len, 1,
		    com[i].irq);
	}
	isa_device(a, "RTC", "PNP0B00", 0, rtc, rtc_len, 1, 8);
	isa_device(a, "PIC", "PNP0000", 0, pic, pic_len, 2, 2);
	isa_device(a, "TIMR", "PNP0100", 0, pit, pit_len, 1, 0);
	aml_end(a);
}

static const struct pci_devemu lpc = {
	.name = "lpc",
	.help = "LPC PCI-ISA bridge with COM1-COM4 16550 serial ports",
	.init = lpc_init,
	.cfgwrite = lpc_cfgwrite,
	.lpc_only_bus0 = true,
	.write_dsdt = lpc_write_dsdt,
};
PCI_EMUL_SET(lpc);
