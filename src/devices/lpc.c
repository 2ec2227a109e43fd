/* LPC PCI-ISA bridge (an Intel 82371SB PIIX3 to the guest) with the legacy
 * COM1..COM4 16550 UARTs behind it. */
#include "devices/lpc.h"
#include "backends/tty.h"
#include "bus/pci.h"
#include "bus/pio.h"
#include "config.h"
#include "devices/uart16550.h"
#include "platform/aml.h"
#include "platform/platform.h"
#include "util.h"
#include "vmm/vm.h"

#include <ctype.h>
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
	"bootrom", "com1", "com2", "com3", "com4", "fwcfg", "pc-testdev", "tpm",
};

struct lpc_uart {
	struct uart uart;
	struct ttybe *be;
	struct vm *vm;
	uint8_t irq;
	uint16_t port;
	const char *name;
	/* THR writes are always queued by KVM (coalesced) when it can:
	 * they are replayed in order before the next exit of any vCPU
	 * (every read of a UART register exits) and from the event loop's
	 * flush timer, and the model raises THRE when a replayed write
	 * calls for it.  Registered once: changing KVM's I/O bus costs a
	 * grace period, which Linux's IER toggling around every burst
	 * would pay each time. */
	bool queued;
};

static struct lpc_uart *uarts[4];
static bool lpc_present;

void lpc_print_help(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(lpc_devices); i++)
		printf("%s\n", lpc_devices[i]);
}

/* As FreeBSD's lpc_device_parse: the device name is case-insensitive;
 * "comN,BACKEND" takes everything after the first comma as the backend;
 * "bootrom,ROM[,VARS][,key=value...]" takes a second field without '='
 * as lpc.bootvars and every key=value (fwcfg=qemu, as libvirt writes)
 * into the lpc node; "tpm,TYPE,PATH[,key=value...]" fills the tpm node
 * (version defaults to 2.0); "pc-testdev" ignores anything after it. */
int lpc_device_parse(const char *opt)
{
	const char *comma = strchr(opt, ',');
	size_t n = comma ? (size_t)(comma - opt) : strlen(opt);
	const char *rest = comma ? comma + 1 : NULL;
	char name[16];

	if (n == 0 || n >= sizeof(name))
		return fail("invalid lpc device configuration '%s'", opt);
	for (size_t i = 0; i < n; i++)
		name[i] = (char)tolower((unsigned char)opt[i]);
	name[n] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(com); i++)
		if (strcmp(name, com[i].name) == 0) {
			if (rest == NULL || *rest == '\0')
				return fail("lpc device %s needs a backend "
				    "(stdio or /dev/xxx)", name);
			return config_setf(rest, "lpc.%s.path", name);
		}
	if (strcmp(name, "bootrom") == 0) {
		const char *c2 = rest ? strchr(rest, ',') : NULL;
		char *rom;
		int r;

		if (rest == NULL || *rest == '\0' || c2 == rest)
			return fail("invalid bootrom option '%s' (expected "
			    "bootrom,romfile[,varfile])", opt);
		rom = strndup(rest, c2 ? (size_t)(c2 - rest) : strlen(rest));
		if (rom == NULL)
			return fail("out of memory");
		r = config_set("lpc.bootrom", rom);
		free(rom);
		if (r != 0 || c2 == NULL)
			return r;
		return pci_parse_legacy_first("lpc", c2 + 1, "bootvars");
	}
	if (strcmp(name, "tpm") == 0) {
		const char *c2 = rest ? strchr(rest, ',') : NULL;
		const char *c3 = c2 ? strchr(c2 + 1, ',') : NULL;
		char *type;
		int r;

		if (rest == NULL || c2 == NULL || c2 == rest || c2[1] == '\0' ||
		    c3 == c2 + 1)
			return fail("invalid tpm option '%s' (expected "
			    "tpm,type,path[,version=...])", opt);
		type = strndup(rest, (size_t)(c2 - rest));
		if (type == NULL)
			return fail("out of memory");
		r = config_set("tpm.type", type);
		free(type);
		if (r != 0)
			return r;
		{
			char *path = strndup(c2 + 1, c3 ? (size_t)(c3 - c2 - 1) :
			    strlen(c2 + 1));
			if (path == NULL)
				return fail("out of memory");
			r = config_set("tpm.path", path);
			free(path);
		}
		if (r == 0 && c3 != NULL)
			r = pci_parse_legacy_generic("tpm", c3 + 1);
		if (r == 0 && config_get_raw("tpm.version") == NULL)
			r = config_set("tpm.version", "2.0");
		return r;
	}
	if (strcmp(name, "pc-testdev") == 0)
		return config_set("lpc.pc-testdev", "true");
	if (strcmp(name, "fwcfg") == 0) {
		/* This implementation's shorthand for bootrom's fwcfg=. */
		if (rest == NULL || (strcmp(rest, "bhyve") != 0 &&
		    strcmp(rest, "qemu") != 0))
			return fail("lpc device fwcfg takes 'bhyve' or 'qemu'");
		return config_set("lpc.fwcfg", rest);
	}
	return fail("invalid lpc device configuration '%s' (see 'bhyve -l "
	    "help')", opt);
}

const char *lpc_bootrom(void)
{
	const char *r = config_get("lpc.bootrom");
	return r != NULL ? r : config_get("bootrom");
}

const char *lpc_bootvars(void)
{
	const char *r = config_get("lpc.bootvars");
	return r != NULL ? r : config_get("bootvars");
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
	if (n > 0) {
		uart_rx(&lu->uart, buf, (unsigned)n);
		if (lu->queued)
			vm_coalesced_wake(lu->vm);	/* an echo follows */
	}
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
	/* The driver is busy with this port: what it writes to THR next is
	 * queued by KVM and must not wait for an idle-length flush. */
	if (lu->queued)
		vm_coalesced_wake(lu->vm);
	if (in) {
		*val = uart_read(&lu->uart, port & 7);
		return 0;
	}
	uart_write(&lu->uart, port & 7, (uint8_t)*val);
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
		uart_init(&lu->uart, &lpc_uart_ops, lu);
		if (path != NULL && ttybe_open(&lu->be, path,
		    lpc_uart_readable, lu) != 0)
			return fail_prefix("%s", com[i].name);
		if (pio_register(com[i].port, 8, lpc_uart_pio, lu,
		    com[i].name) != 0)
			return -1;
		lu->queued = vm_coalesce_pio(vm, lu->port + UART_RBR_THR, 1,
		    true) == 0;
	}
	return 0;
}

/* Start the backends on the event loop (called once it exists). */
static int lpc_start(struct vm *vm)
{
	(void)vm;
	for (size_t i = 0; i < ARRAY_SIZE(com); i++)
		if (uarts[i] && uarts[i]->be && ttybe_start(uarts[i]->be) != 0)
			return -1;
	return 0;
}

/* Append to a line, never past its end. */
static size_t add(size_t size, size_t n, int r)
{
	if (r < 0)
		return n;
	n += (size_t)r;
	return n < size ? n : size - 1;
}

static void lpc_dump(void)
{
	char line[512];
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(com); i++) {
		struct lpc_uart *lu = uarts[i];

		if (lu == NULL)
			continue;
		n = add(sizeof(line), 0, snprintf(line, sizeof(line),
		    "bhyve: %s (port 0x%x, IRQ %u, THR writes %s): ",
		    lu->name, lu->port, lu->irq,
		    lu->queued ? "queued by KVM" : "exit"));
		n = add(sizeof(line), n, uart_describe(&lu->uart,
		    line + n, sizeof(line) - n));
		if (lu->be) {
			n = add(sizeof(line), n, snprintf(line + n,
			    sizeof(line) - n, "; backend "));
			n = add(sizeof(line), n, ttybe_describe(lu->be,
			    line + n, sizeof(line) - n));
		}
		snprintf(line + n, sizeof(line) - n, "\n");
		if (n == sizeof(line) - 1)
			line[n - 1] = '\n';
		stderr_write(line, 0);
	}
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

/* The UARTs are created with the LPC bridge (its PCI init, from the
 * lpc.comN variables); the registry starts, dumps and closes them. */
static const struct platform_dev uart_dev = {
	.name = "uart", .order = 50, .start = lpc_start, .dump = lpc_dump,
	.teardown = lpc_fini,
};
PLATFORM_DEV_SET(uart_dev);

int lpc_check(void)
{
	bool b;

	if (!lpc_present) {
		for (size_t i = 0; i < ARRAY_SIZE(com); i++)
			if (config_getf("lpc.%s.path", com[i].name) != NULL)
				return fail("%s is configured but there is no "
				    "LPC bridge (add -s 31,lpc)", com[i].name);
	}
	{
		const char *fw = config_get("lpc.fwcfg");
		if (fw != NULL && strcmp(fw, "bhyve") != 0 &&
		    strcmp(fw, "qemu") != 0)
			return fail("lpc.fwcfg: invalid value '%s' (bhyve or "
			    "qemu)", fw);
	}
	if (lpc_bootrom() != NULL)
		return fail("lpc.bootrom: boot ROMs are not implemented yet "
		    "(use -o boot.kernel=... for direct kernel boot)");
	if (config_get("tpm.type") != NULL)
		return fail("tpm.type: TPM devices are not implemented yet");
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
