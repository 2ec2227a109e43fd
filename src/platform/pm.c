/* ACPI fixed hardware: SMI command, PM1a event/control, GPE0, PM timer,
 * SCI.  See pm.h for the behaviour. */
#include "platform/pm.h"
#include "bus/pio.h"
#include "platform/layout.h"
#include "platform/platform.h"
#include "util.h"
#include "vmm/vm.h"

#include <string.h>
#include <time.h>

/* Status bits the guest clears by writing 1, and enable bits it may set
 * (ACPICA insists on GBL_EN even though nothing uses the global lock). */
#define PM1_STS_W1C	(PM1_WAK_STS | PM1_RTC_STS | PM1_SLPBTN_STS | \
			 PM1_PWRBTN_STS | PM1_BM_STS | PM1_TMR_STS)
#define PM1_EN_RW	(PM1_RTC_EN | PM1_PWRBTN_EN | PM1_GBL_EN)
/* Status bits that raise the SCI when their enable bit (same position)
 * is set. */
#define PM1_STS_SCI	(PM1_TMR_STS | PM1_GBL_STS | PM1_PWRBTN_STS | \
			 PM1_SLPBTN_STS | PM1_RTC_STS)
/* PM1 control bits that always read 0: SLP_EN (write-only) and the
 * reserved/ignored ones (BM_RLD, GBL_RLS are not offered; 14-15 reserved). */
#define PM1_CNT_ZERO	(PM1_SLP_EN | 0xc006)
/* GPE0 bits that exist (bhyve: bit 0, the VM generation counter). */
#define GPE0_VALID	0x01

static uint64_t pm_ticks(struct pm *pm)
{
	uint64_t d = pm->now_ns() - pm->base_ns;

	return (uint64_t)((unsigned __int128)d * PM_TMR_HZ / 1000000000u);
}

uint32_t pm_timer_read(struct pm *pm)
{
	return (uint32_t)pm_ticks(pm);
}

void pm_setup(struct pm *pm, uint64_t (*now_ns)(void),
    void (*set_sci)(void *, bool), void (*poweroff)(void *), void *ctx)
{
	memset(pm, 0, sizeof(*pm));
	pthread_mutex_init(&pm->lock, NULL);
	pm->now_ns = now_ns;
	pm->set_sci = set_sci;
	pm->poweroff = poweroff;
	pm->ctx = ctx;
	pm->base_ns = now_ns();
}

/* TMR_STS follows bit 31 of the timer: set once the timer has crossed
 * a 2^31 boundary since the guest last cleared it.  Computed when read. */
static void update_tmr_sts(struct pm *pm)
{
	if ((pm_ticks(pm) >> 31) != pm->tmr_epoch)
		pm->sts |= PM1_TMR_STS;
}

static void sci_update(struct pm *pm)
{
	bool level = (pm->cnt & PM1_SCI_EN) &&
	    ((pm->sts & pm->en & PM1_STS_SCI) != 0 ||
	    (pm->gpe_sts & pm->gpe_en) != 0);

	if (level != pm->sci) {
		pm->sci = level;
		pm->set_sci(pm->ctx, level);
	}
}

static void write_cnt(struct pm *pm, uint16_t v)
{
	/* SCI_EN belongs to the SMI command port, not to the guest's OSPM. */
	pm->cnt = (uint16_t)((pm->cnt & PM1_SCI_EN) |
	    (v & ~(PM1_CNT_ZERO | PM1_SCI_EN)));
	if ((v & PM1_SLP_EN) && ((pm->cnt & PM1_SLP_TYP) >>
	    PM1_SLP_TYP_SHIFT) == PM_SLP_TYP_S5)
		pm->poweroff(pm->ctx);
	/* Other sleep states (S1-S4) are not offered: ignored, as in bhyve. */
}

static void smi_cmd(struct pm *pm, uint8_t cmd)
{
	if (cmd == ACPI_ENABLE_CMD)
		pm->cnt |= PM1_SCI_EN;
	else if (cmd == ACPI_DISABLE_CMD)
		pm->cnt &= (uint16_t)~PM1_SCI_EN;
	sci_update(pm);
}

void pm_access(struct pm *pm, uint16_t port, int size, bool in,
    uint32_t *val)
{
	uint32_t v = in ? 0 : *val;
	bool ok = true;

	if (port == PM_TMR_PORT) {
		/* Read-only, 32 bits; needs no lock. */
		if (in && size == 4)
			*val = pm_timer_read(pm);
		else if (in)
			*val = size == 1 ? 0xff : size == 2 ? 0xffff :
			    0xffffffff;
		return;
	}
	pthread_mutex_lock(&pm->lock);
	if (port == SMI_CMD_PORT && size == 1) {
		if (!in)
			smi_cmd(pm, (uint8_t)v);
		else
			v = 0;
	} else if (port == PM1A_EVT_PORT && size == 2) {
		update_tmr_sts(pm);
		if (in) {
			v = pm->sts;
		} else {
			if (v & PM1_TMR_STS)
				pm->tmr_epoch = pm_ticks(pm) >> 31;
			pm->sts &= (uint16_t)~(v & PM1_STS_W1C);
			sci_update(pm);
		}
	} else if (port == PM1A_EVT_PORT + 2 && size == 2) {
		if (in) {
			v = pm->en;
		} else {
			pm->en = (uint16_t)(v & PM1_EN_RW);
			sci_update(pm);
		}
	} else if (port == PM1A_CNT_PORT && size == 2) {
		if (in)
			v = pm->cnt;
		else
			write_cnt(pm, (uint16_t)v);
	} else if (port == GPE0_PORT && size == 1) {
		if (in) {
			v = pm->gpe_sts;
		} else {
			pm->gpe_sts &= (uint8_t)~(v & GPE0_VALID);
			sci_update(pm);
		}
	} else if (port == GPE0_PORT + 1 && size == 1) {
		if (in) {
			v = pm->gpe_en;
		} else {
			pm->gpe_en = (uint8_t)(v & GPE0_VALID);
			sci_update(pm);
		}
	} else {
		ok = false;
	}
	pthread_mutex_unlock(&pm->lock);
	if (!ok) {
		guest_log("ACPI PM: ignored %u-byte %s of port 0x%x", size,
		    in ? "read" : "write", port);
		v = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
	}
	if (in)
		*val = v;
}

enum pm_button pm_press_power_button(struct pm *pm)
{
	enum pm_button r;

	pthread_mutex_lock(&pm->lock);
	if (!(pm->cnt & PM1_SCI_EN)) {
		r = PM_BUTTON_NO_ACPI;
	} else if (pm->sts & PM1_PWRBTN_STS) {
		r = PM_BUTTON_PENDING;
	} else {
		pm->sts |= PM1_PWRBTN_STS;
		sci_update(pm);
		r = PM_BUTTON_PRESSED;
	}
	pthread_mutex_unlock(&pm->lock);
	return r;
}

/* ---- the VM-wide instance ---- */

static struct pm the_pm;
static bool the_pm_live;

static void vm_set_sci(void *ctx, bool level)
{
	/* IRQ 9 is level-triggered, active low in the MADT/MP table; KVM's
	 * line level is the logical (asserted) level. */
	vm_isa_irq(ctx, SCI_IRQ_LINE, level);
}

static void vm_poweroff(void *ctx)
{
	vm_request_exit(ctx, VM_EXIT_POWEROFF, NULL);
}

static int pm_pio(void *arg, uint16_t port, int size, bool in,
    uint32_t *val)
{
	pm_access(arg, port, size, in, val);
	return 0;
}

int pm_init(struct vm *vm)
{
	struct pm *pm = &the_pm;

	pm_setup(pm, monotonic_ns, vm_set_sci, vm_poweroff, vm);
	if (pio_register(SMI_CMD_PORT, 1, pm_pio, pm, "acpi-smi-cmd") != 0 ||
	    pio_register(PM1A_EVT_PORT, 6, pm_pio, pm, "acpi-pm1") != 0 ||
	    pio_register(PM_TMR_PORT, 4, pm_pio, pm, "acpi-pm-timer") != 0 ||
	    pio_register(GPE0_PORT, 2, pm_pio, pm, "acpi-gpe0") != 0)
		return -1;
	the_pm_live = true;
	return 0;
}

enum pm_button pm_power_button(void)
{
	if (!the_pm_live)
		return PM_BUTTON_NO_ACPI;
	return pm_press_power_button(&the_pm);
}

static const struct platform_dev pm_dev = {
	.name = "acpi-pm", .order = 30, .init = pm_init,
};
PLATFORM_DEV_SET(pm_dev);
