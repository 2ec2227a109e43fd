#include "platform/reset.h"
#include "bus/pio.h"
#include "platform/platform.h"
#include "vmm/vm.h"

#include <stdatomic.h>

static struct vm *the_vm;
static _Atomic uint8_t cf9_val, port92_val = 0x02;

static void do_reset(void)
{
	vm_request_exit(the_vm, VM_EXIT_REBOOT, NULL);
}

static int cf9_pio(void *arg, uint16_t port, int size, bool in, uint32_t *val)
{
	(void)arg;
	(void)port;
	if (size != 1) {
		if (in)
			*val = 0xffffffff;
		return 0;
	}
	if (in) {
		*val = cf9_val;
		return 0;
	}
	cf9_val = (uint8_t)(*val & 0x0e);
	if (*val & 0x04)		/* reset CPU */
		do_reset();
	return 0;
}

/* Only the keyboard controller's reset line: the input buffer is never
 * busy, so the 0xFE command lands at once.  The output buffer reads as
 * stuck full, which guests' PS/2 probes recognise as "no controller"
 * without waiting for timeouts.  (The PS/2 keyboard and mouse come with
 * the atkbdc device.) */
static int kbc_pio(void *arg, uint16_t port, int size, bool in, uint32_t *val)
{
	(void)arg;
	if (in) {
		*val = port == 0x64 ? 0x01 : 0x00;
		return 0;
	}
	if (port == 0x64 && size == 1 && (*val & 0xff) == 0xfe)
		do_reset();
	return 0;
}

static int port92_pio(void *arg, uint16_t port, int size, bool in,
    uint32_t *val)
{
	uint8_t old;

	(void)arg;
	(void)port;
	(void)size;
	if (in) {
		*val = port92_val;
		return 0;
	}
	old = port92_val;
	port92_val = (uint8_t)(*val & 0x03);
	if (!(old & 1) && (*val & 1))	/* rising edge of fast reset */
		do_reset();
	return 0;
}

int reset_init(struct vm *vm)
{
	the_vm = vm;
	if (pio_register(0xcf9, 1, cf9_pio, NULL, "reset-cf9") != 0 ||
	    pio_register(0x60, 1, kbc_pio, NULL, "kbc-data") != 0 ||
	    pio_register(0x64, 1, kbc_pio, NULL, "kbc-cmd") != 0 ||
	    pio_register(0x92, 1, port92_pio, NULL, "port92") != 0)
		return -1;
	return 0;
}

static const struct platform_dev reset_dev = {
	.name = "reset", .order = 20, .init = reset_init,
};
PLATFORM_DEV_SET(reset_dev);
