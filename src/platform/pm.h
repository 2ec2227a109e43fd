/* ACPI fixed hardware, as bhyve lays it out (platform/layout.h, FADT):
 * the SMI command port that turns ACPI mode on and off, the PM1a event
 * block (status, enable: the power button), PM1a control (SCI_EN, sleep
 * requests: S5 powers off), GPE0 (status, enable; nothing raises a GPE
 * yet), the 32-bit ACPI PM timer at 3.579545 MHz, and the SCI on ISA IRQ 9
 * (level).
 *
 * Behaviour follows FreeBSD bhyve's pm.c and vpmtmr.c:
 *  - 0xB2 <- 0xA0 sets SCI_EN, 0xA1 clears it; the guest cannot change
 *    SCI_EN through PM1 control.  Other commands and reads do nothing.
 *  - PM1 status and enable are 16-bit registers, PM1 control too; GPE0
 *    status and enable are one byte each (0x40C, 0x40D); the PM timer is
 *    read 32 bits at a time.  Accesses of any other width are ignored
 *    (reads return all ones).
 *  - PM1 status bits are cleared by writing 1 (PWRBTN, SLPBTN, RTC, WAK,
 *    BM, TMR).  Only PWRBTN_EN, RTC_EN and GBL_EN can be enabled.
 *  - TMR_STS is set each time bit 31 of the PM timer changes (its
 *    interrupt, TMR_EN, is not offered, as in bhyve).
 *  - The SCI is asserted while SCI_EN is set and an enabled status bit
 *    (PM1 or GPE0) is set.
 *  - A write with SLP_EN and SLP_TYP 5 (the DSDT's _S5) powers the VM off
 *    (status 1).  Other sleep types are stored and ignored (bhyve does the
 *    same: no S1-S4).
 *
 * Lock: pm.lock guards every register; the port handlers run on vCPU
 * threads, pm_power_button() on the event loop. */
#ifndef BHYVE_PM_H
#define BHYVE_PM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define PM1_TMR_STS	0x0001
#define PM1_BM_STS	0x0010
#define PM1_GBL_STS	0x0020
#define PM1_PWRBTN_STS	0x0100
#define PM1_SLPBTN_STS	0x0200
#define PM1_RTC_STS	0x0400
#define PM1_WAK_STS	0x8000

#define PM1_TMR_EN	0x0001
#define PM1_GBL_EN	0x0020
#define PM1_PWRBTN_EN	0x0100
#define PM1_SLPBTN_EN	0x0200
#define PM1_RTC_EN	0x0400

#define PM1_SCI_EN	0x0001
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP	0x1c00
#define PM1_SLP_EN	0x2000

#define PM_SLP_TYP_S5	5
#define PM_TMR_HZ	3579545u

struct pm {
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	uint8_t gpe_sts, gpe_en;
	bool sci;		/* level last driven on the SCI line */
	uint64_t tmr_epoch;	/* PM timer bit-31 period TMR_STS was cleared in */
	uint64_t base_ns;	/* clock at PM timer 0 */
	/* Host monotonic clock in ns (replaceable for tests). */
	uint64_t (*now_ns)(void);
	/* Drive the SCI line; ask for power-off.  Replaceable for tests. */
	void (*set_sci)(void *ctx, bool level);
	void (*poweroff)(void *ctx);
	void *ctx;
};

/* Reset to power-on state with the given clock and sinks. */
void pm_setup(struct pm *pm, uint64_t (*now_ns)(void),
    void (*set_sci)(void *, bool), void (*poweroff)(void *), void *ctx);
/* One guest access of `size` bytes at `port` (0xB2, 0x400..0x40F). */
void pm_access(struct pm *pm, uint16_t port, int size, bool in,
    uint32_t *val);
/* The PM timer's current value (24/32-bit free-running counter). */
uint32_t pm_timer_read(struct pm *pm);

enum pm_button {
	PM_BUTTON_PRESSED,	/* PWRBTN_STS set, SCI raised if enabled */
	PM_BUTTON_PENDING,	/* the last press is not acknowledged yet */
	PM_BUTTON_NO_ACPI,	/* the guest has not enabled ACPI (SCI_EN) */
};
enum pm_button pm_press_power_button(struct pm *pm);

/* The VM-wide instance: registers the ports (SCI on IRQ 9, S5 ends the VM
 * with status 1).  Call after vm_open() and before the vCPUs start. */
struct vm;
int pm_init(struct vm *vm);
/* SIGTERM: press the VM-wide instance's power button (PM_BUTTON_NO_ACPI
 * when pm_init() was not called). */
enum pm_button pm_power_button(void);

#endif
