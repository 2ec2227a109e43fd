#include "platform/rtc.h"
#include "bus/pio.h"
#include "config.h"
#include "platform/platform.h"
#include "util.h"
#include "vmm/vm.h"

#include <string.h>

#define RTC_SEC		0x00
#define RTC_MIN		0x02
#define RTC_HRS		0x04
#define RTC_WDAY	0x06
#define RTC_DAY		0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_STATUSA	0x0a
#define RTC_STATUSB	0x0b
#define RTC_STATUSC	0x0c
#define RTC_STATUSD	0x0d
#define RTC_CENTURY	0x32

#define STATUSB_24HR	0x02
#define STATUSB_BIN	0x04
#define STATUSB_SET	0x80
#define STATUSD_VRT	0x80

static uint8_t to_bcd(unsigned v) { return (uint8_t)(((v / 10) << 4) | (v % 10)); }
static unsigned from_bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0xf); }

static time_t host_now(void)
{
	return time(NULL);
}

static bool is_time_reg(unsigned i)
{
	return i == RTC_SEC || i == RTC_MIN || i == RTC_HRS || i == RTC_WDAY ||
	    i == RTC_DAY || i == RTC_MONTH || i == RTC_YEAR || i == RTC_CENTURY;
}

static uint8_t enc(const struct rtc *r, unsigned v)
{
	return (r->nvram[RTC_STATUSB] & STATUSB_BIN) ? (uint8_t)v : to_bcd(v);
}

static unsigned dec(const struct rtc *r, uint8_t v)
{
	return (r->nvram[RTC_STATUSB] & STATUSB_BIN) ? v : from_bcd(v);
}

static void guest_tm(const struct rtc *r, struct tm *tm)
{
	time_t t = r->now() + r->offset;
	if (r->utc)
		gmtime_r(&t, tm);
	else
		localtime_r(&t, tm);
}

/* Time fields as the guest reads them now. */
static uint8_t time_field(const struct rtc *r, unsigned i)
{
	struct tm tm;
	unsigned h;

	guest_tm(r, &tm);
	switch (i) {
	case RTC_SEC: return enc(r, (unsigned)tm.tm_sec % 60);
	case RTC_MIN: return enc(r, (unsigned)tm.tm_min);
	case RTC_HRS:
		h = (unsigned)tm.tm_hour;
		if (r->nvram[RTC_STATUSB] & STATUSB_24HR)
			return enc(r, h);
		/* 12-hour mode: 1..12 with bit 7 for PM */
		return (uint8_t)(enc(r, h % 12 ? h % 12 : 12) |
		    (h >= 12 ? 0x80 : 0));
	case RTC_WDAY: return enc(r, (unsigned)tm.tm_wday + 1);
	case RTC_DAY: return enc(r, (unsigned)tm.tm_mday);
	case RTC_MONTH: return enc(r, (unsigned)tm.tm_mon + 1);
	case RTC_YEAR: return enc(r, (unsigned)(tm.tm_year + 1900) % 100);
	case RTC_CENTURY: return enc(r, (unsigned)(tm.tm_year + 1900) / 100);
	}
	return 0;
}

/* The guest set one time field: move the offset so the clock reads it. */
static void set_time_field(struct rtc *r, unsigned i, uint8_t val)
{
	struct tm tm;
	unsigned v;
	time_t t;

	guest_tm(r, &tm);
	if (i == RTC_HRS && !(r->nvram[RTC_STATUSB] & STATUSB_24HR)) {
		v = dec(r, val & 0x7f) % 12;
		if (val & 0x80)
			v += 12;
	} else {
		v = dec(r, val);
	}
	switch (i) {
	case RTC_SEC: tm.tm_sec = (int)v; break;
	case RTC_MIN: tm.tm_min = (int)v; break;
	case RTC_HRS: tm.tm_hour = (int)v; break;
	case RTC_WDAY: return;	/* derived from the date */
	case RTC_DAY: tm.tm_mday = (int)v; break;
	case RTC_MONTH: tm.tm_mon = (int)v - 1; break;
	case RTC_YEAR:
		tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + (int)v - 1900;
		break;
	case RTC_CENTURY:
		tm.tm_year = (int)v * 100 + (tm.tm_year + 1900) % 100 - 1900;
		break;
	}
	tm.tm_isdst = -1;
	t = r->utc ? timegm(&tm) : mktime(&tm);
	if (t != (time_t)-1)
		r->offset = (int64_t)t - (int64_t)r->now();
}

void rtc_setup(struct rtc *r, bool utc, uint64_t lowmem, uint64_t highmem)
{
	uint64_t v;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->utc = utc;
	r->now = host_now;
	r->nvram[RTC_STATUSA] = 0x26;	/* 32.768 kHz, 1024 Hz rate */
	r->nvram[RTC_STATUSB] = STATUSB_24HR;
	r->nvram[RTC_STATUSD] = STATUSD_VRT;
	/* Base memory: 640 KiB */
	r->nvram[0x15] = 0x80;
	r->nvram[0x16] = 0x02;
	/* Extended memory 1..64 MiB in KiB */
	v = lowmem > (1 << 20) ? (lowmem - (1 << 20)) >> 10 : 0;
	if (v > 0xfc00)
		v = 0xfc00;
	r->nvram[0x17] = r->nvram[0x30] = (uint8_t)v;
	r->nvram[0x18] = r->nvram[0x31] = (uint8_t)(v >> 8);
	/* Memory above 16 MiB in 64 KiB units */
	v = lowmem > (16 << 20) ? (lowmem - (16 << 20)) >> 16 : 0;
	if (v > 0xffff)
		v = 0xffff;
	r->nvram[0x34] = (uint8_t)v;
	r->nvram[0x35] = (uint8_t)(v >> 8);
	/* Memory above 4 GiB in 64 KiB units */
	v = highmem >> 16;
	if (v > 0xffffff)
		v = 0xffffff;
	r->nvram[0x5b] = (uint8_t)v;
	r->nvram[0x5c] = (uint8_t)(v >> 8);
	r->nvram[0x5d] = (uint8_t)(v >> 16);
}

uint8_t rtc_read(struct rtc *r, unsigned port)
{
	uint8_t v;

	pthread_mutex_lock(&r->lock);
	if (port == 0x70) {
		v = r->index;
	} else if (is_time_reg(r->index)) {
		v = time_field(r, r->index);
	} else if (r->index == RTC_STATUSC) {
		v = r->nvram[RTC_STATUSC];
		r->nvram[RTC_STATUSC] = 0;	/* read clears the flags */
	} else {
		v = r->nvram[r->index];
	}
	pthread_mutex_unlock(&r->lock);
	return v;
}

void rtc_write(struct rtc *r, unsigned port, uint8_t val)
{
	pthread_mutex_lock(&r->lock);
	if (port == 0x70) {
		r->index = val & 0x7f;	/* bit 7 masks NMIs */
	} else if (is_time_reg(r->index)) {
		set_time_field(r, r->index, val);
	} else if (r->index == RTC_STATUSA) {
		r->nvram[RTC_STATUSA] = val & 0x7f;	/* UIP is read-only */
	} else if (r->index == RTC_STATUSC || r->index == RTC_STATUSD) {
		/* read-only */
	} else {
		r->nvram[r->index] = val;
	}
	pthread_mutex_unlock(&r->lock);
}

static struct rtc the_rtc;

static int rtc_pio(void *arg, uint16_t port, int size, bool in, uint32_t *val)
{
	struct rtc *r = arg;

	if (size != 1) {
		if (in)
			*val = 0xffffffff;
		return 0;
	}
	if (in)
		*val = rtc_read(r, port);
	else
		rtc_write(r, port, (uint8_t)*val);
	return 0;
}

int rtc_init(uint64_t lowmem, uint64_t highmem)
{
	bool localtime;

	if (config_get_bool("rtc.use_localtime", true, &localtime) != 0)
		return -1;
	rtc_setup(&the_rtc, !localtime, lowmem, highmem);
	return pio_register(0x70, 2, rtc_pio, &the_rtc, "rtc");
}

static int rtc_dev_init(struct vm *vm)
{
	return rtc_init(vm->mem.lowmem, vm->mem.highmem);
}

static const struct platform_dev rtc_dev = {
	.name = "rtc", .order = 10, .init = rtc_dev_init,
};
PLATFORM_DEV_SET(rtc_dev);
