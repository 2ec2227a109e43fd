/* ACPI fixed hardware: src/platform/pm.c */
#include "unit.h"

#include "platform/layout.h"
#include "platform/platform.h"
#include "platform/pm.h"

#include <string.h>

static uint64_t fake_ns;
static uint64_t fake_now(void) { return fake_ns; }
static int sci_level = -1, sci_changes, poweroffs;
static void fake_sci(void *ctx, bool level)
{
	(void)ctx;
	sci_level = level;
	sci_changes++;
}
static void fake_poweroff(void *ctx) { (void)ctx; poweroffs++; }

static struct pm p;

static int setup(void **state)
{
	(void)state;
	fake_ns = 5000000000ull;
	sci_level = -1;
	sci_changes = poweroffs = 0;
	pm_setup(&p, fake_now, fake_sci, fake_poweroff, NULL);
	return 0;
}

static uint32_t in(uint16_t port, int size)
{
	uint32_t v = 0x12345678;

	pm_access(&p, port, size, true, &v);
	return v;
}

static void out(uint16_t port, int size, uint32_t v)
{
	pm_access(&p, port, size, false, &v);
}

static void test_acpi_enable(void **state)
{
	(void)state;
	assert_int_equal(in(PM1A_CNT_PORT, 2) & PM1_SCI_EN, 0);
	assert_int_equal(pm_press_power_button(&p), PM_BUTTON_NO_ACPI);
	assert_int_equal(in(PM1A_EVT_PORT, 2) & PM1_PWRBTN_STS, 0);
	out(SMI_CMD_PORT, 1, ACPI_ENABLE_CMD);
	assert_int_equal(in(PM1A_CNT_PORT, 2) & PM1_SCI_EN, PM1_SCI_EN);
	/* OSPM cannot clear SCI_EN through PM1 control */
	out(PM1A_CNT_PORT, 2, 0);
	assert_int_equal(in(PM1A_CNT_PORT, 2), PM1_SCI_EN);
	/* other commands and wrong widths do nothing */
	out(SMI_CMD_PORT, 1, 0x55);
	out(SMI_CMD_PORT, 2, ACPI_DISABLE_CMD);
	assert_int_equal(in(PM1A_CNT_PORT, 2), PM1_SCI_EN);
	out(SMI_CMD_PORT, 1, ACPI_DISABLE_CMD);
	assert_int_equal(in(PM1A_CNT_PORT, 2), 0);
	assert_int_equal(poweroffs, 0);
}

static void test_pm1_rw1c_and_sci(void **state)
{
	(void)state;
	out(SMI_CMD_PORT, 1, ACPI_ENABLE_CMD);
	assert_int_equal(pm_press_power_button(&p), PM_BUTTON_PRESSED);
	assert_int_equal(in(PM1A_EVT_PORT, 2) & PM1_PWRBTN_STS,
	    PM1_PWRBTN_STS);
	/* not enabled: no SCI yet */
	assert_int_equal(sci_changes, 0);
	assert_int_equal(pm_press_power_button(&p), PM_BUTTON_PENDING);
	/* only permitted enable bits stick */
	out(PM1A_EVT_PORT + 2, 2, 0xffff);
	assert_int_equal(in(PM1A_EVT_PORT + 2, 2),
	    PM1_PWRBTN_EN | PM1_RTC_EN | PM1_GBL_EN);
	assert_int_equal(sci_level, 1);
	/* writing 0 clears nothing; writing the bit clears it */
	out(PM1A_EVT_PORT, 2, 0);
	assert_int_equal(in(PM1A_EVT_PORT, 2) & PM1_PWRBTN_STS,
	    PM1_PWRBTN_STS);
	assert_int_equal(sci_level, 1);
	out(PM1A_EVT_PORT, 2, PM1_PWRBTN_STS);
	assert_int_equal(in(PM1A_EVT_PORT, 2) & PM1_PWRBTN_STS, 0);
	assert_int_equal(sci_level, 0);
	/* a press with the event disabled sets status but raises nothing */
	out(PM1A_EVT_PORT + 2, 2, 0);
	assert_int_equal(pm_press_power_button(&p), PM_BUTTON_PRESSED);
	assert_int_equal(sci_level, 0);
	/* enabling it raises the SCI; disabling ACPI drops it */
	out(PM1A_EVT_PORT + 2, 2, PM1_PWRBTN_EN);
	assert_int_equal(sci_level, 1);
	out(SMI_CMD_PORT, 1, ACPI_DISABLE_CMD);
	assert_int_equal(sci_level, 0);
	out(SMI_CMD_PORT, 1, ACPI_ENABLE_CMD);
	assert_int_equal(sci_level, 1);
	assert_int_equal(sci_changes, 5);
	/* wrong widths are ignored; reads are all ones */
	out(PM1A_EVT_PORT, 1, 0xff);
	out(PM1A_EVT_PORT, 4, 0xffffffff);
	assert_int_equal(sci_level, 1);
	assert_int_equal(in(PM1A_EVT_PORT, 1), 0xff);
	assert_int_equal(in(PM1A_EVT_PORT + 1, 1), 0xff);
	assert_int_equal(in(PM1A_EVT_PORT, 4), 0xffffffff);
}

static void test_gpe0(void **state)
{
	(void)state;
	assert_int_equal(in(GPE0_PORT, 1), 0);
	out(GPE0_PORT + 1, 1, 0xff);
	assert_int_equal(in(GPE0_PORT + 1, 1), 0x01);
	assert_int_equal(in(GPE0_PORT, 2), 0xffff);
	out(GPE0_PORT, 1, 0xff);
	assert_int_equal(in(GPE0_PORT, 1), 0);
	assert_int_equal(sci_changes, 0);
}

static void test_sleep(void **state)
{
	(void)state;
	/* S1 (type 1) and S3 are ignored */
	out(PM1A_CNT_PORT, 2, (1 << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN);
	out(PM1A_CNT_PORT, 2, (3 << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN);
	assert_int_equal(poweroffs, 0);
	/* SLP_TYP 5 without SLP_EN only stores the type */
	out(PM1A_CNT_PORT, 2, 5 << PM1_SLP_TYP_SHIFT);
	assert_int_equal(poweroffs, 0);
	assert_int_equal(in(PM1A_CNT_PORT, 2), 5 << PM1_SLP_TYP_SHIFT);
	/* a byte write is ignored */
	out(PM1A_CNT_PORT + 1, 1, (5 << 2) | 0x20);
	assert_int_equal(poweroffs, 0);
	out(PM1A_CNT_PORT, 2, (5 << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN);
	assert_int_equal(poweroffs, 1);
	/* SLP_EN reads back 0 */
	assert_int_equal(in(PM1A_CNT_PORT, 2) & PM1_SLP_EN, 0);
}

static void test_pm_timer(void **state)
{
	uint32_t a, b;

	(void)state;
	a = in(PM_TMR_PORT, 4);
	assert_int_equal(a, 0);
	fake_ns += 1000000000ull;		/* one second */
	b = in(PM_TMR_PORT, 4);
	assert_int_equal(b - a, PM_TMR_HZ);
	fake_ns += 1000;			/* 1 us: 3.58 ticks */
	assert_int_equal(in(PM_TMR_PORT, 4) - b, 3);
	/* writes and narrow reads do not disturb it */
	out(PM_TMR_PORT, 4, 0);
	assert_int_equal(in(PM_TMR_PORT, 2), 0xffff);
	assert_int_equal(in(PM_TMR_PORT, 4) - b, 3);
	/* it wraps at 32 bits; TMR_STS follows bit 31 */
	assert_int_equal(in(PM1A_EVT_PORT, 2) & PM1_TMR_STS, 0);
	fake_ns += 600ull * 1000000000u;	/* 2^31 ticks: 599.9 s */
	assert_int_equal(in(PM1A_EVT_PORT, 2) & PM1_TMR_STS, PM1_TMR_STS);
	out(PM1A_EVT_PORT, 2, PM1_TMR_STS);
	assert_int_equal(in(PM1A_EVT_PORT, 2) & PM1_TMR_STS, 0);
	fake_ns += 700ull * 1000000000u;
	a = in(PM_TMR_PORT, 4);
	/* wrapped: the 64-bit count is above 2^32 */
	assert_int_equal(a, (uint32_t)((1301000001000ull * PM_TMR_HZ) /
	    1000000000u));
}

/* The platform devices register themselves; the registry brings them up
 * in their order (teardown in reverse), whatever the link order. */
static void test_platform_registry(void **state)
{
	static const char *const want[] = { "rtc", "reset", "acpi-pm", "hpet",
	    "uart" };
	const struct platform_dev *d;
	unsigned n = 0;

	(void)state;
	for (; (d = platform_dev_at(n)) != NULL; n++) {
		assert_true(n < sizeof(want) / sizeof(want[0]));
		assert_string_equal(d->name, want[n]);
		assert_true(d->init != NULL || d->start != NULL);
	}
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	/* every exit path tears down, even when nothing was set up */
	platform_fini();
}

int run_pm_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_acpi_enable, setup),
		cmocka_unit_test_setup(test_pm1_rw1c_and_sci, setup),
		cmocka_unit_test_setup(test_gpe0, setup),
		cmocka_unit_test_setup(test_sleep, setup),
		cmocka_unit_test_setup(test_pm_timer, setup),
		cmocka_unit_test(test_platform_registry),
	};
	return cmocka_run_group_tests_name("pm", tests, NULL, NULL);
}
