/* HPET model; see hpet.h for the behaviour. */
#include "platform/hpet.h"
#include "vmm/irq.h"
#include "backends/evloop.h"
#include "bus/mmio.h"
#include "platform/layout.h"
#include "platform/platform.h"
#include "platform/pm.h"
#include "util.h"
#include "vmm/vm.h"

#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#define NS_PER_S 1000000000ull
/* Host timers are armed at most this far ahead and re-armed on expiry,
 * so a far-away deadline never needs a huge timerfd value. */
#define MAX_ARM_NS (3600ull * NS_PER_S)

/* Timer configuration bits the guest may write. */
#define TN_CFG_RW (HPET_TN_LEVEL | HPET_TN_INT_ENB | HPET_TN_PERIODIC | \
		   HPET_TN_32BIT | HPET_TN_ROUTE)
#define TN_CFG_RO (HPET_TN_PER_CAP | HPET_TN_SIZE_CAP | \
		   ((uint64_t)HPET_GSI_MASK << 32))

static uint64_t ticks_of_ns(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * HPET_FREQ / NS_PER_S);
}

/* Nanoseconds until `ticks` ticks have passed (rounded up, saturating). */
static uint64_t ns_of_ticks(uint64_t ticks)
{
	unsigned __int128 ns = ((unsigned __int128)ticks * NS_PER_S +
	    HPET_FREQ - 1) / HPET_FREQ;

	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

static bool enabled(const struct hpet *h)
{
	return (h->cfg & HPET_CNF_ENABLE) != 0;
}

static uint64_t counter(const struct hpet *h, uint64_t now)
{
	if (!enabled(h))
		return h->count_base;
	return h->count_base + ticks_of_ns(now - h->base_ns);
}

static bool is32(const struct hpet_timer *t)
{
	return (t->cfg & HPET_TN_32BIT) != 0;
}

/* The interrupt line timer n drives now, or -1 when it drives none. */
static int timer_line(const struct hpet *h, unsigned n)
{
	unsigned route;

	if ((h->cfg & HPET_CNF_LEG_RT) && n < 2)
		return n == 0 ? 0 : 8;
	route = (unsigned)((h->t[n].cfg & HPET_TN_ROUTE) >>
	    HPET_TN_ROUTE_SHIFT);
	if (route == 0 || !(HPET_GSI_MASK & (1u << route)))
		return -1;
	return (int)route;
}

static void deassert(struct hpet *h, unsigned n)
{
	struct hpet_timer *t = &h->t[n];

	if (t->line >= 0)
		h->ops->set_irq(h->ctx, (unsigned)t->line, false);
	t->line = -1;
	h->isr &= ~(1ull << n);
}

static void interrupt(struct hpet *h, unsigned n)
{
	struct hpet_timer *t = &h->t[n];
	int line = timer_line(h, n);

	if (!(t->cfg & HPET_TN_INT_ENB) || line < 0)
		return;
	if (t->cfg & HPET_TN_LEVEL) {
		if (h->isr & (1ull << n))
			return;		/* already asserted */
		h->isr |= 1ull << n;
		t->line = line;
		h->ops->set_irq(h->ctx, (unsigned)line, true);
	} else {
		h->ops->set_irq(h->ctx, (unsigned)line, true);
		h->ops->set_irq(h->ctx, (unsigned)line, false);
	}
}

static void disarm(struct hpet *h, unsigned n)
{
	if (h->t[n].armed) {
		h->t[n].armed = false;
		h->ops->arm(h->ctx, n, 0);
	}
}

static void arm_until(struct hpet *h, unsigned n, uint64_t now)
{
	struct hpet_timer *t = &h->t[n];
	uint64_t d = t->deadline_ns > now ? t->deadline_ns - now : 1;

	t->armed = true;
	h->ops->arm(h->ctx, n, d > MAX_ARM_NS ? MAX_ARM_NS : d);
}

/* Work out when timer n next matches and arm the host timer.  `fired`:
 * the counter has just matched, so a distance of 0 means a full wrap. */
static void schedule(struct hpet *h, unsigned n, uint64_t now, bool fired)
{
	struct hpet_timer *t = &h->t[n];
	uint64_t c, delta;

	if (!enabled(h) || !(t->cfg & HPET_TN_INT_ENB)) {
		disarm(h, n);
		return;
	}
	c = counter(h, now);
	if (is32(t)) {
		delta = (uint32_t)((uint32_t)t->cmp - (uint32_t)c);
		if (delta == 0 && fired)
			delta = 1ull << 32;
	} else {
		delta = t->cmp - c;
		if (delta == 0 && fired) {
			disarm(h, n);	/* next match after 2^64 ticks */
			return;
		}
	}
	t->deadline_ns = now + ns_of_ticks(delta);
	if (t->deadline_ns < now)
		t->deadline_ns = UINT64_MAX;
	arm_until(h, n, now);
}

/* A periodic timer matched: move the comparator past the counter by
 * whole periods (missed periods give one interrupt). */
static void advance_periodic(struct hpet *h, unsigned n, uint64_t now)
{
	struct hpet_timer *t = &h->t[n];
	uint64_t c = counter(h, now), step = t->period, period, since;

	if (is32(t)) {
		step = (uint32_t)step;
		since = (uint32_t)((uint32_t)c - (uint32_t)t->cmp);
	} else {
		since = c - t->cmp;
	}
	if (step == 0)
		return;
	/* Never make the host timer fire faster than the minimum period. */
	for (period = step; ns_of_ticks(period) < HPET_MIN_PERIOD_NS;)
		period += step;
	t->cmp += (since / period + 1) * period;
	if (is32(t))
		t->cmp = (uint32_t)t->cmp;
}

void hpet_fire(struct hpet *h, unsigned n)
{
	struct hpet_timer *t;
	uint64_t now;

	if (n >= HPET_TIMERS)
		return;
	t = &h->t[n];
	pthread_mutex_lock(&h->lock);
	now = h->ops->now_ns();
	if (!t->armed || !enabled(h) || !(t->cfg & HPET_TN_INT_ENB)) {
		/* stale expiry of a timer reprogrammed meanwhile */
	} else if (now < t->deadline_ns) {
		arm_until(h, n, now);	/* far deadline: next leg */
	} else {
		t->armed = false;
		interrupt(h, n);
		if ((t->cfg & HPET_TN_PERIODIC) && t->period != 0)
			advance_periodic(h, n, now);
		schedule(h, n, now, true);
	}
	pthread_mutex_unlock(&h->lock);
}

void hpet_setup(struct hpet *h, const struct hpet_ops *ops, void *ctx)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->ops = ops;
	h->ctx = ctx;
	for (unsigned n = 0; n < HPET_TIMERS; n++) {
		h->t[n].cfg = TN_CFG_RO;
		h->t[n].cmp = UINT64_MAX;
		h->t[n].line = -1;
	}
}

uint32_t hpet_block_id(void)
{
	return (0x8086u << 16) | HPET_CAP_LEG_RT | HPET_CAP_COUNT_64 |
	    ((HPET_TIMERS - 1) << 8) | 0x01;
}

static uint64_t capabilities(void)
{
	return ((uint64_t)HPET_PERIOD_FS << 32) | hpet_block_id();
}

static uint64_t read_reg(struct hpet *h, uint64_t reg, uint64_t now)
{
	unsigned n;

	switch (reg) {
	case HPET_CAP:
		return capabilities();
	case HPET_CONFIG:
		return h->cfg;
	case HPET_ISR:
		return h->isr;
	case HPET_COUNTER:
		return counter(h, now);
	}
	if (reg < HPET_TN_CFG(0) || reg >= HPET_TN_CFG(HPET_TIMERS))
		return 0;
	n = (unsigned)((reg - HPET_TN_CFG(0)) / 0x20);
	if (reg == HPET_TN_CFG(n))
		return h->t[n].cfg;
	if (reg == HPET_TN_CMP(n))
		return is32(&h->t[n]) ? (uint32_t)h->t[n].cmp : h->t[n].cmp;
	return 0;	/* FSB route: not offered */
}

static void write_config(struct hpet *h, uint64_t v, uint64_t now)
{
	uint64_t old = h->cfg, c = counter(h, now);

	h->cfg = v & (HPET_CNF_ENABLE | HPET_CNF_LEG_RT);
	if ((old ^ h->cfg) & HPET_CNF_LEG_RT) {
		/* timers 0 and 1 change lines: drop what they assert */
		for (unsigned n = 0; n < 2; n++)
			if (h->isr & (1ull << n))
				deassert(h, n);
	}
	if (!((old ^ h->cfg) & HPET_CNF_ENABLE))
		return;
	/* Starting: count on from the frozen value; stopping: freeze. */
	h->count_base = c;
	h->base_ns = now;
	for (unsigned n = 0; n < HPET_TIMERS; n++)
		schedule(h, n, now, false);
}

static void write_timer_cfg(struct hpet *h, unsigned n, uint64_t v,
    uint64_t now)
{
	struct hpet_timer *t = &h->t[n];
	int old_line = timer_line(h, n);
	uint64_t route = (v & HPET_TN_ROUTE) >> HPET_TN_ROUTE_SHIFT;

	/* A route the capabilities do not allow is ignored. */
	if (route != 0 && !(HPET_GSI_MASK & (1u << route)))
		v = (v & ~(uint64_t)HPET_TN_ROUTE) | (t->cfg & HPET_TN_ROUTE);
	t->cfg = TN_CFG_RO | (v & (TN_CFG_RW | HPET_TN_VAL_SET));
	if (is32(t)) {
		t->cmp = (uint32_t)t->cmp;
		t->period = (uint32_t)t->period;
	}
	if (!(t->cfg & HPET_TN_PERIODIC))
		t->period = 0;
	if ((h->isr & (1ull << n)) && (!(t->cfg & HPET_TN_INT_ENB) ||
	    !(t->cfg & HPET_TN_LEVEL) || timer_line(h, n) != old_line))
		deassert(h, n);
	schedule(h, n, now, false);
}

static void write_timer_cmp(struct hpet *h, unsigned n, uint64_t v,
    uint64_t mask, uint64_t now)
{
	struct hpet_timer *t = &h->t[n];

	if (is32(t)) {
		mask &= 0xffffffffu;
		if (mask == 0)
			return;		/* upper half of a 32-bit timer */
	}
	if (t->cfg & HPET_TN_PERIODIC) {
		/* The write sets the period; with VAL_SET also the
		 * comparator (the next match). */
		t->period = (t->period & ~mask) | (v & mask);
		if (t->cfg & HPET_TN_VAL_SET)
			t->cmp = (t->cmp & ~mask) | (v & mask);
	} else {
		t->cmp = (t->cmp & ~mask) | (v & mask);
	}
	t->cfg &= ~(uint64_t)HPET_TN_VAL_SET;
	schedule(h, n, now, false);
}

static void write_reg(struct hpet *h, uint64_t reg, uint64_t v,
    uint64_t mask, uint64_t now)
{
	unsigned n;

	switch (reg) {
	case HPET_CAP:
		return;
	case HPET_CONFIG:
		write_config(h, (h->cfg & ~mask) | (v & mask), now);
		return;
	case HPET_ISR:
		for (n = 0; n < HPET_TIMERS; n++)
			if (h->isr & v & mask & (1ull << n))
				deassert(h, n);
		return;
	case HPET_COUNTER:
		h->count_base = (counter(h, now) & ~mask) | (v & mask);
		h->base_ns = now;
		for (n = 0; n < HPET_TIMERS; n++)
			schedule(h, n, now, false);
		return;
	}
	if (reg < HPET_TN_CFG(0) || reg >= HPET_TN_CFG(HPET_TIMERS))
		return;
	n = (unsigned)((reg - HPET_TN_CFG(0)) / 0x20);
	if (reg == HPET_TN_CFG(n))
		write_timer_cfg(h, n, (h->t[n].cfg & ~mask) | (v & mask), now);
	else if (reg == HPET_TN_CMP(n))
		write_timer_cmp(h, n, v, mask, now);
}

void hpet_access(struct hpet *h, uint64_t off, int size, bool write,
    uint64_t *val)
{
	uint64_t reg = off & ~7ull, mask, v, now;
	unsigned shift = (unsigned)(off & 4) * 8;

	if ((size != 4 && size != 8) || (off & (uint64_t)(size - 1)) ||
	    off >= HPET_SIZE) {
		guest_log("HPET: ignored %d-byte %s at offset 0x%llx", size,
		    write ? "write" : "read", (unsigned long long)off);
		if (!write)
			*val = 0;
		return;
	}
	mask = size == 8 ? UINT64_MAX : 0xffffffffull << shift;
	pthread_mutex_lock(&h->lock);
	now = h->ops->now_ns();
	if (write) {
		v = size == 8 ? *val : (*val & 0xffffffffu) << shift;
		write_reg(h, reg, v, mask, now);
	} else {
		v = read_reg(h, reg, now);
		*val = size == 8 ? v : (v >> shift) & 0xffffffffu;
	}
	pthread_mutex_unlock(&h->lock);
}

/* ---- the VM-wide instance ---- */

static struct hpet the_hpet;
static struct ev *the_timers[HPET_TIMERS];
static struct vm *the_vm;

static void vm_set_irq(void *ctx, unsigned gsi, bool level)
{
	(void)ctx;
	/* Shared with PCI INTx on GSIs 20-23: irq.c ORs the sources. */
	if (irq_set_level(gsi, level) != 0)
		guest_log("HPET: cannot drive GSI %u", gsi);
}

static void vm_arm(void *ctx, unsigned n, uint64_t delay_ns)
{
	(void)ctx;
	if (n < HPET_TIMERS && the_timers[n] != NULL)
		ev_timer_arm(the_timers[n], delay_ns, 0);
}

static void on_timer(void *arg)
{
	hpet_fire(&the_hpet, (unsigned)(uintptr_t)arg);
}

static int hpet_mmio(void *arg, uint64_t gpa, int size, bool write,
    uint64_t *val)
{
	hpet_access(arg, gpa - HPET_BASE, size, write, val);
	return 0;
}

static const struct hpet_ops vm_ops = {
	.now_ns = monotonic_ns, .set_irq = vm_set_irq, .arm = vm_arm,
};

int hpet_init(struct vm *vm)
{
	the_vm = vm;
	hpet_setup(&the_hpet, &vm_ops, vm);
	for (unsigned n = 0; n < HPET_TIMERS; n++) {
		the_timers[n] = ev_timer_add(on_timer, (void *)(uintptr_t)n);
		if (the_timers[n] == NULL)
			return -1;
	}
	return mmio_register(HPET_BASE, HPET_SIZE, hpet_mmio, &the_hpet,
	    "hpet");
}

void hpet_fini(void)
{
	for (unsigned n = 0; n < HPET_TIMERS; n++) {
		ev_del(the_timers[n]);
		the_timers[n] = NULL;
	}
}

static const struct platform_dev hpet_dev = {
	.name = "hpet", .order = 40, .start = hpet_init,
	.teardown = hpet_fini,
};
PLATFORM_DEV_SET(hpet_dev);
