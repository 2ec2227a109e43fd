/* HPET model: src/platform/hpet.c, with an injected clock, interrupt lines
 * and host timers. */
#include "unit.h"

#include <string.h>

#include "platform/hpet.h"

static uint64_t fake_ns;
static uint64_t fake_now(void) { return fake_ns; }

#define MAXEV 64
static struct { unsigned gsi; bool level; } irqs[MAXEV];
static int nirqs;
static uint64_t armed[HPET_TIMERS];	/* last delay asked for; 0: cancelled */
static int arms[HPET_TIMERS];

static void fake_irq(void *ctx, unsigned gsi, bool level)
{
	(void)ctx;
	if (nirqs < MAXEV) {
		irqs[nirqs].gsi = gsi;
		irqs[nirqs].level = level;
	}
	nirqs++;
}

static void fake_arm(void *ctx, unsigned n, uint64_t delay)
{
	(void)ctx;
	armed[n] = delay;
	arms[n]++;
}

static const struct hpet_ops ops = {
	.now_ns = fake_now, .set_irq = fake_irq, .arm = fake_arm,
};
static struct hpet h;

static int setup(void **state)
{
	(void)state;
	fake_ns = 1000000000ull;
	nirqs = 0;
	memset(armed, 0, sizeof(armed));
	memset(arms, 0, sizeof(arms));
	hpet_setup(&h, &ops, NULL);
	return 0;
}

static uint64_t rd(uint64_t off, int size)
{
	uint64_t v = 0xdeadbeefdeadbeefull;

	hpet_access(&h, off, size, false, &v);
	return v;
}

static void wr(uint64_t off, int size, uint64_t v)
{
	hpet_access(&h, off, size, true, &v);
}

/* Advance the clock to the armed deadline of timer n and let it fire. */
static void run_timer(unsigned n)
{
	assert_true(armed[n] != 0);
	fake_ns += armed[n];
	armed[n] = 0;		/* a one-shot host timer disarms itself */
	hpet_fire(&h, n);
}

static void test_registers(void **state)
{
	uint64_t cap;

	(void)state;
	cap = rd(HPET_CAP, 8);
	assert_int_equal(cap & 0xff, 1);			/* revision */
	assert_int_equal((cap >> 8) & 0x1f, HPET_TIMERS - 1);
	assert_true(cap & HPET_CAP_COUNT_64);
	assert_true(cap & HPET_CAP_LEG_RT);
	assert_int_equal((cap >> 16) & 0xffff, 0x8086);
	assert_int_equal(cap >> 32, HPET_PERIOD_FS);
	/* 4-byte halves */
	assert_int_equal(rd(HPET_CAP, 4), cap & 0xffffffff);
	assert_int_equal(rd(HPET_CAP + 4, 4), HPET_PERIOD_FS);
	/* read-only */
	wr(HPET_CAP, 8, 0);
	assert_int_equal(rd(HPET_CAP, 8), cap);
	/* configuration: only ENABLE and LEG_RT */
	wr(HPET_CONFIG, 8, ~0ull);
	assert_int_equal(rd(HPET_CONFIG, 8), 3);
	wr(HPET_CONFIG, 4, 0);
	assert_int_equal(rd(HPET_CONFIG, 8), 0);
	/* timer configuration: capabilities stay, reserved bits read 0 */
	for (unsigned n = 0; n < HPET_TIMERS; n++) {
		uint64_t c = rd(HPET_TN_CFG(n), 8);
		assert_int_equal(c >> 32, HPET_GSI_MASK);
		assert_true(c & HPET_TN_PER_CAP);
		assert_true(c & HPET_TN_SIZE_CAP);
		assert_int_equal(c & 0xffff & ~(HPET_TN_PER_CAP |
		    HPET_TN_SIZE_CAP), 0);
		assert_int_equal(rd(HPET_TN_CMP(n), 8), UINT64_MAX);
	}
	wr(HPET_TN_CFG(3), 8, ~0ull);
	assert_int_equal(rd(HPET_TN_CFG(3), 8),
	    ((uint64_t)HPET_GSI_MASK << 32) | HPET_TN_PER_CAP |
	    HPET_TN_SIZE_CAP | HPET_TN_LEVEL | HPET_TN_INT_ENB |
	    HPET_TN_PERIODIC | HPET_TN_VAL_SET | HPET_TN_32BIT);
	/* an interrupt route the capabilities lack is not taken */
	wr(HPET_TN_CFG(2), 4, 21u << HPET_TN_ROUTE_SHIFT);
	assert_int_equal((rd(HPET_TN_CFG(2), 4) & HPET_TN_ROUTE) >>
	    HPET_TN_ROUTE_SHIFT, 21);
	wr(HPET_TN_CFG(2), 4, 5u << HPET_TN_ROUTE_SHIFT);
	assert_int_equal((rd(HPET_TN_CFG(2), 4) & HPET_TN_ROUTE) >>
	    HPET_TN_ROUTE_SHIFT, 21);
	/* bad sizes, misaligned and unknown offsets: ignored, read 0 */
	assert_int_equal(rd(HPET_CAP, 2), 0);
	assert_int_equal(rd(HPET_CAP, 1), 0);
	assert_int_equal(rd(HPET_CAP + 2, 4), 0);
	assert_int_equal(rd(HPET_CAP + 4, 8), 0);
	assert_int_equal(rd(0x030, 8), 0);
	assert_int_equal(rd(HPET_TN_FSB(0), 8), 0);
	assert_int_equal(rd(HPET_TN_CFG(HPET_TIMERS), 8), 0);
	assert_int_equal(rd(0x3f8, 8), 0);
	assert_int_equal(rd(0x400, 8), 0);
	wr(HPET_CONFIG, 1, 1);
	wr(HPET_CONFIG, 2, 1);
	wr(HPET_CONFIG + 1, 4, 1);
	assert_int_equal(rd(HPET_CONFIG, 8), 0);
	wr(HPET_TN_FSB(0), 8, ~0ull);
	assert_int_equal(rd(HPET_TN_FSB(0), 8), 0);
	assert_int_equal(nirqs, 0);
}

static void test_counter_rate(void **state)
{
	uint64_t c;

	(void)state;
	assert_int_equal(rd(HPET_COUNTER, 8), 0);
	fake_ns += 1000000000ull;
	assert_int_equal(rd(HPET_COUNTER, 8), 0);	/* halted */
	wr(HPET_CONFIG, 4, HPET_CNF_ENABLE);
	fake_ns += 1000000000ull;
	assert_int_equal(rd(HPET_COUNTER, 8), HPET_FREQ);
	fake_ns += 500000000ull;
	assert_int_equal(rd(HPET_COUNTER, 8), HPET_FREQ + HPET_FREQ / 2);
	/* stopping freezes it; starting continues from there */
	wr(HPET_CONFIG, 4, 0);
	c = rd(HPET_COUNTER, 8);
	fake_ns += 7000000000ull;
	assert_int_equal(rd(HPET_COUNTER, 8), c);
	wr(HPET_CONFIG, 4, HPET_CNF_ENABLE);
	fake_ns += 1000;
	assert_int_equal(rd(HPET_COUNTER, 8), c + 16);	/* 16.77 ticks/us */
	/* 64 bits: writes of each half, read of the high half */
	wr(HPET_CONFIG, 4, 0);
	wr(HPET_COUNTER + 4, 4, 0x12);
	wr(HPET_COUNTER, 4, 0x345);
	assert_int_equal(rd(HPET_COUNTER, 8), 0x1200000345ull);
	assert_int_equal(rd(HPET_COUNTER + 4, 4), 0x12);
}

static void test_one_shot(void **state)
{
	uint64_t c, first;

	(void)state;
	wr(HPET_CONFIG, 4, HPET_CNF_ENABLE);
	wr(HPET_TN_CFG(2), 4, HPET_TN_INT_ENB | (20u << HPET_TN_ROUTE_SHIFT));
	/* comparator at all ones: far away, armed at most an hour ahead */
	assert_int_equal(armed[2], 3600ull * 1000000000u);
	c = rd(HPET_COUNTER, 8);
	wr(HPET_TN_CMP(2), 8, c + HPET_FREQ / 1000);	/* 1 ms */
	first = (HPET_FREQ / 1000 * 1000000000ull + HPET_FREQ - 1) / HPET_FREQ;
	assert_int_equal(armed[2], first);
	assert_true(first > 999900 && first <= 1000000);
	/* an early (stale) expiry does nothing but re-arm */
	fake_ns += 400000;
	armed[2] = 0;
	hpet_fire(&h, 2);
	assert_int_equal(nirqs, 0);
	assert_int_equal(armed[2], first - 400000);
	run_timer(2);
	assert_int_equal(nirqs, 2);		/* edge: a pulse on GSI 20 */
	assert_int_equal(irqs[0].gsi, 20);
	assert_true(irqs[0].level);
	assert_false(irqs[1].level);
	assert_int_equal(rd(HPET_ISR, 8), 0);	/* edge: no status */
	/* 64-bit one-shot: no further match */
	assert_int_equal(armed[2], 0);
	hpet_fire(&h, 2);
	assert_int_equal(nirqs, 2);
	/* interrupts disabled: the timer is not armed at all */
	wr(HPET_TN_CFG(2), 4, 20u << HPET_TN_ROUTE_SHIFT);
	c = rd(HPET_COUNTER, 8);
	wr(HPET_TN_CMP(2), 8, c + 100);
	assert_int_equal(armed[2], 0);
	/* halting the counter disarms; no route: no interrupt */
	wr(HPET_TN_CFG(4), 4, HPET_TN_INT_ENB);
	wr(HPET_TN_CMP(4), 8, c + 100);
	assert_true(armed[4] != 0);
	run_timer(4);
	assert_int_equal(nirqs, 2);
	wr(HPET_TN_CMP(4), 8, c + 1000000);
	wr(HPET_CONFIG, 4, 0);
	assert_int_equal(armed[4], 0);
}

static void test_periodic(void **state)
{
	const uint64_t p = HPET_FREQ / 100;	/* 10 ms */
	uint64_t c;

	(void)state;
	wr(HPET_CONFIG, 4, HPET_CNF_ENABLE);
	c = rd(HPET_COUNTER, 8);
	/* Linux's sequence: VAL_SET, comparator, then the period */
	wr(HPET_TN_CFG(0), 4, HPET_TN_INT_ENB | HPET_TN_PERIODIC |
	    HPET_TN_VAL_SET | (22u << HPET_TN_ROUTE_SHIFT));
	wr(HPET_TN_CMP(0), 8, c + p);
	assert_int_equal(rd(HPET_TN_CFG(0), 4) & HPET_TN_VAL_SET, 0);
	wr(HPET_TN_CMP(0), 8, p);
	assert_int_equal(rd(HPET_TN_CMP(0), 8), c + p);
	for (int i = 1; i <= 3; i++) {
		run_timer(0);
		assert_int_equal(nirqs, 2 * i);
		assert_int_equal(irqs[2 * i - 2].gsi, 22);
		assert_int_equal(rd(HPET_TN_CMP(0), 8), c + (uint64_t)(i + 1) * p);
	}
	/* 3.5 periods late: one interrupt, the comparator moves past */
	fake_ns += armed[0] + 35000000;
	armed[0] = 0;
	hpet_fire(&h, 0);
	assert_int_equal(nirqs, 8);
	assert_int_equal(rd(HPET_TN_CMP(0), 8), c + 8 * p);
	assert_true(rd(HPET_COUNTER, 8) < c + 8 * p);
	/* a tiny period is not run faster than the minimum host period */
	wr(HPET_TN_CFG(0), 4, HPET_TN_INT_ENB | HPET_TN_PERIODIC |
	    HPET_TN_VAL_SET | (22u << HPET_TN_ROUTE_SHIFT));
	c = rd(HPET_COUNTER, 8);
	wr(HPET_TN_CMP(0), 8, c + 1);
	wr(HPET_TN_CMP(0), 8, 1);
	run_timer(0);
	assert_true(armed[0] >= HPET_MIN_PERIOD_NS - 100);
}

static void test_32bit_wrap(void **state)
{
	(void)state;
	wr(HPET_COUNTER, 8, 0x1ffffff00ull);
	wr(HPET_TN_CFG(1), 4, HPET_TN_INT_ENB | HPET_TN_32BIT |
	    (23u << HPET_TN_ROUTE_SHIFT));
	wr(HPET_TN_CMP(1), 8, 0xabcd00000100ull);	/* upper half dropped */
	assert_int_equal(rd(HPET_TN_CMP(1), 8), 0x100);
	wr(HPET_TN_CMP(1) + 4, 4, 0x5);
	assert_int_equal(rd(HPET_TN_CMP(1), 8), 0x100);
	wr(HPET_CONFIG, 4, HPET_CNF_ENABLE);
	/* 0x200 ticks to the match, across the 32-bit wrap */
	assert_int_equal(armed[1], (0x200ull * 1000000000u + HPET_FREQ - 1) /
	    HPET_FREQ);
	run_timer(1);
	assert_int_equal(nirqs, 2);
	assert_int_equal(irqs[0].gsi, 23);
	/* the next match is a full 32-bit wrap later: 256 s */
	assert_int_equal(armed[1], 256ull * 1000000000u);
	/* leaving 32-bit mode: the 64-bit comparator is far away */
	wr(HPET_TN_CFG(1), 4, HPET_TN_INT_ENB | (23u << HPET_TN_ROUTE_SHIFT));
	wr(HPET_TN_CMP(1), 8, 0x100);
	assert_int_equal(armed[1], 3600ull * 1000000000u);
}

static void test_legacy_and_level(void **state)
{
	uint64_t c;

	(void)state;
	wr(HPET_CONFIG, 4, HPET_CNF_ENABLE | HPET_CNF_LEG_RT);
	c = rd(HPET_COUNTER, 8);
	/* timer 0 -> IRQ 0 whatever its route field; timer 1 -> IRQ 8 */
	wr(HPET_TN_CFG(0), 4, HPET_TN_INT_ENB | (20u << HPET_TN_ROUTE_SHIFT));
	wr(HPET_TN_CMP(0), 8, c + 1000);
	run_timer(0);
	assert_int_equal(nirqs, 2);
	assert_int_equal(irqs[0].gsi, 0);
	wr(HPET_TN_CFG(1), 4, HPET_TN_INT_ENB | HPET_TN_LEVEL);
	wr(HPET_TN_CMP(1), 8, rd(HPET_COUNTER, 8) + 1000);
	run_timer(1);
	assert_int_equal(nirqs, 3);		/* level: asserted, held */
	assert_int_equal(irqs[2].gsi, 8);
	assert_true(irqs[2].level);
	assert_int_equal(rd(HPET_ISR, 8), 2);
	/* writing 0 or another bit clears nothing */
	wr(HPET_ISR, 8, 1);
	assert_int_equal(rd(HPET_ISR, 8), 2);
	wr(HPET_ISR, 4, 2);
	assert_int_equal(rd(HPET_ISR, 8), 0);
	assert_int_equal(nirqs, 4);
	assert_int_equal(irqs[3].gsi, 8);
	assert_false(irqs[3].level);
	/* leaving legacy mode drops the asserted line; timer 1 then uses
	 * its own route (none: no interrupt) */
	wr(HPET_TN_CMP(1), 8, rd(HPET_COUNTER, 8) + 1000);
	run_timer(1);
	assert_int_equal(rd(HPET_ISR, 8), 2);
	wr(HPET_CONFIG, 4, HPET_CNF_ENABLE);
	assert_int_equal(rd(HPET_ISR, 8), 0);
	assert_false(irqs[5].level);
	assert_int_equal(irqs[5].gsi, 8);
	wr(HPET_TN_CMP(1), 8, rd(HPET_COUNTER, 8) + 1000);
	run_timer(1);
	assert_int_equal(nirqs, 6);
	/* a level interrupt is dropped when the timer turns to edge */
	wr(HPET_TN_CFG(1), 4, HPET_TN_INT_ENB | HPET_TN_LEVEL |
	    (21u << HPET_TN_ROUTE_SHIFT));
	wr(HPET_TN_CMP(1), 8, rd(HPET_COUNTER, 8) + 1000);
	run_timer(1);
	assert_int_equal(nirqs, 7);
	assert_int_equal(irqs[6].gsi, 21);
	wr(HPET_TN_CFG(1), 4, HPET_TN_INT_ENB | (21u << HPET_TN_ROUTE_SHIFT));
	assert_int_equal(nirqs, 8);
	assert_false(irqs[7].level);
	assert_int_equal(rd(HPET_ISR, 8), 0);
}

int run_hpet_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_registers, setup),
		cmocka_unit_test_setup(test_counter_rate, setup),
		cmocka_unit_test_setup(test_one_shot, setup),
		cmocka_unit_test_setup(test_periodic, setup),
		cmocka_unit_test_setup(test_32bit_wrap, setup),
		cmocka_unit_test_setup(test_legacy_and_level, setup),
	};
	return cmocka_run_group_tests_name("hpet", tests, NULL, NULL);
}
