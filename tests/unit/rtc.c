/* MC146818 RTC and CMOS: src/platform/rtc.c */
#include "unit.h"

#include <string.h>
#include <time.h>

#include "bus/pio.h"
#include "config.h"
#include "platform/rtc.h"
#include "util.h"
#include "vmm/mem.h"

static time_t fake;
static time_t fake_now(void) { return fake; }

static struct rtc r;

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return timegm(&tm);
}

static uint8_t cmos(unsigned idx)
{
	rtc_write(&r, 0x70, (uint8_t)idx);
	return rtc_read(&r, 0x71);
}

static void cmos_set(unsigned idx, uint8_t v)
{
	rtc_write(&r, 0x70, (uint8_t)idx);
	rtc_write(&r, 0x71, v);
}

static int setup(void **state)
{
	(void)state;
	rtc_setup(&r, true, 256 * MIB, 0);
	r.now = fake_now;
	fake = utc(2024, 2, 29, 13, 45, 56);	/* a Thursday */
	return 0;
}

static void test_bcd_time(void **state)
{
	(void)state;
	assert_int_equal(cmos(0x0b) & 0x06, 0x02);	/* 24h, BCD */
	assert_int_equal(cmos(0x00), 0x56);
	assert_int_equal(cmos(0x02), 0x45);
	assert_int_equal(cmos(0x04), 0x13);
	assert_int_equal(cmos(0x06), 0x05);		/* Sunday = 1 */
	assert_int_equal(cmos(0x07), 0x29);
	assert_int_equal(cmos(0x08), 0x02);
	assert_int_equal(cmos(0x09), 0x24);
	assert_int_equal(cmos(0x32), 0x20);		/* century */
	/* the clock follows the host clock */
	fake += 10;
	assert_int_equal(cmos(0x00), 0x06);
	assert_int_equal(cmos(0x02), 0x46);
}

static void test_binary_mode(void **state)
{
	(void)state;
	cmos_set(0x0b, 0x02 | 0x04);
	assert_int_equal(cmos(0x0b), 0x06);
	assert_int_equal(cmos(0x00), 56);
	assert_int_equal(cmos(0x02), 45);
	assert_int_equal(cmos(0x04), 13);
	assert_int_equal(cmos(0x07), 29);
	assert_int_equal(cmos(0x08), 2);
	assert_int_equal(cmos(0x09), 24);
	assert_int_equal(cmos(0x32), 20);
}

static void test_12_hour(void **state)
{
	(void)state;
	cmos_set(0x0b, 0x00);			/* 12-hour, BCD */
	assert_int_equal(cmos(0x04), 0x80 | 0x01);	/* 1 PM */
	fake = utc(2024, 2, 29, 0, 30, 0);
	assert_int_equal(cmos(0x04), 0x12);		/* 12 AM */
	fake = utc(2024, 2, 29, 12, 5, 0);
	assert_int_equal(cmos(0x04), 0x80 | 0x12);	/* 12 PM */
	fake = utc(2024, 2, 29, 11, 5, 0);
	assert_int_equal(cmos(0x04), 0x11);
	fake = utc(2024, 2, 29, 23, 5, 0);
	cmos_set(0x0b, 0x04);			/* 12-hour, binary */
	assert_int_equal(cmos(0x04), 0x80 | 11);
}

static void test_guest_sets_time(void **state)
{
	(void)state;
	fake = utc(2023, 6, 15, 12, 34, 56);
	assert_int_equal(r.offset, 0);
	cmos_set(0x09, 0x24);			/* year 2024 (BCD) */
	assert_int_equal(cmos(0x09), 0x24);
	assert_int_equal(r.offset, 366 * 86400);
	assert_int_equal(cmos(0x08), 0x06);
	assert_int_equal(cmos(0x07), 0x15);
	/* the offset persists as the host clock moves */
	fake += 3600;
	assert_int_equal(cmos(0x04), 0x13);
	assert_int_equal(cmos(0x09), 0x24);

	/* hours in 12-hour mode: 3 PM */
	cmos_set(0x0b, 0x00);
	cmos_set(0x04, 0x80 | 0x03);
	cmos_set(0x0b, 0x02);
	assert_int_equal(cmos(0x04), 0x15);

	/* seconds in binary mode */
	cmos_set(0x0b, 0x06);
	cmos_set(0x00, 7);
	assert_int_equal(cmos(0x00), 7);
	assert_int_equal(cmos(0x09), 24);

	/* century */
	cmos_set(0x32, 21);
	assert_int_equal(cmos(0x32), 21);
	assert_int_equal(cmos(0x09), 24);
	assert_true(r.offset > (int64_t)100 * 365 * 86400);
}

static void test_memory_bytes(void **state)
{
	(void)state;
	/* 640 KiB base memory */
	assert_int_equal(cmos(0x15), 0x80);
	assert_int_equal(cmos(0x16), 0x02);
	/* 256 MiB: 1..64 MiB capped at 0xfc00 KiB, above 16 MiB 0x0f00 x 64K */
	assert_int_equal(cmos(0x17) | cmos(0x18) << 8, 0xfc00);
	assert_int_equal(cmos(0x30) | cmos(0x31) << 8, 0xfc00);
	assert_int_equal(cmos(0x34), 0x00);
	assert_int_equal(cmos(0x35), 0x0f);
	assert_int_equal(cmos(0x5b), 0);
	assert_int_equal(cmos(0x5c), 0);
	assert_int_equal(cmos(0x5d), 0);

	/* 5 GiB: 3 GiB low, 2 GiB high */
	rtc_setup(&r, true, 3 * GIB, 2 * GIB);
	assert_int_equal(cmos(0x34), 0x00);
	assert_int_equal(cmos(0x35), 0xbf);		/* (3G - 16M) / 64K */
	assert_int_equal(cmos(0x5b), 0x00);
	assert_int_equal(cmos(0x5c), 0x80);		/* 2G / 64K = 0x8000 */
	assert_int_equal(cmos(0x5d), 0x00);

	/* small memory */
	rtc_setup(&r, true, 8 * MIB, 0);
	assert_int_equal(cmos(0x17) | cmos(0x18) << 8, 7 * 1024);
	assert_int_equal(cmos(0x34), 0);
	assert_int_equal(cmos(0x35), 0);

	/* 1 TiB above 4G: 0x1000000 units, capped at 24 bits */
	rtc_setup(&r, true, 3 * GIB, 1ULL << 40);
	assert_int_equal(cmos(0x5b), 0xff);
	assert_int_equal(cmos(0x5c), 0xff);
	assert_int_equal(cmos(0x5d), 0xff);
	rtc_setup(&r, true, 3 * GIB, 64 * GIB + 3 * 65536);
	assert_int_equal(cmos(0x5b), 0x03);
	assert_int_equal(cmos(0x5c), 0x00);
	assert_int_equal(cmos(0x5d), 0x10);
}

static void test_status_registers(void **state)
{
	(void)state;
	assert_int_equal(cmos(0x0a), 0x26);
	assert_int_equal(cmos(0x0d), 0x80);		/* valid RAM and time */
	/* C is read-only and clears on read */
	r.nvram[0x0c] = 0xc0;
	cmos_set(0x0c, 0x00);
	assert_int_equal(cmos(0x0c), 0xc0);
	assert_int_equal(cmos(0x0c), 0x00);
	/* D is read-only */
	cmos_set(0x0d, 0x00);
	assert_int_equal(cmos(0x0d), 0x80);
	/* UIP (A bit 7) is read-only */
	cmos_set(0x0a, 0xa6);
	assert_int_equal(cmos(0x0a), 0x26);
}

static void test_index_and_nvram(void **state)
{
	(void)state;
	/* bit 7 of the index is the NMI mask, not part of the index */
	rtc_write(&r, 0x70, 0x80 | 0x0b);
	assert_int_equal(rtc_read(&r, 0x70), 0x0b);
	assert_int_equal(rtc_read(&r, 0x71), 0x02);
	rtc_write(&r, 0x70, 0x80 | 0x40);
	rtc_write(&r, 0x71, 0x5a);
	assert_int_equal(cmos(0x40), 0x5a);
	/* ordinary CMOS bytes are plain memory */
	for (unsigned i = 0x0e; i < 0x80; i++) {
		if (i == 0x32)
			continue;	/* century */
		cmos_set(i, (uint8_t)(i ^ 0xa5));
	}
	for (unsigned i = 0x0e; i < 0x80; i++) {
		if (i == 0x32)
			continue;
		assert_int_equal(cmos(i), (uint8_t)(i ^ 0xa5));
	}
}

static void test_pio(void **state)
{
	uint32_t v;
	(void)state;

	unit_reset_globals();
	assert_int_equal(config_set("rtc.use_localtime", "false"), 0);
	assert_int_equal(rtc_init(256 * MIB, 2 * GIB), 0);
	assert_string_equal(pio_owner(0x70), "rtc");
	assert_string_equal(pio_owner(0x71), "rtc");
	assert_null(pio_owner(0x72));
	v = 0x35;
	assert_int_equal(pio_dispatch(0x70, 1, false, &v), PIO_OK);
	assert_int_equal(pio_dispatch(0x71, 1, true, &v), PIO_OK);
	assert_int_equal(v, 0x0f);
	v = 0x5c;
	pio_dispatch(0x70, 1, false, &v);
	pio_dispatch(0x71, 1, true, &v);
	assert_int_equal(v, 0x80);
	/* wide accesses are not decoded */
	assert_int_equal(pio_dispatch(0x70, 2, true, &v), PIO_OK);
	assert_int_equal(v, 0xffffffff);
	/* a bad boolean is an error */
	unit_reset_globals();
	assert_int_equal(config_set("rtc.use_localtime", "maybe"), 0);
	assert_int_equal(rtc_init(256 * MIB, 0), -1);
	unit_reset_globals();
}

int run_rtc_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_bcd_time, setup),
		cmocka_unit_test_setup(test_binary_mode, setup),
		cmocka_unit_test_setup(test_12_hour, setup),
		cmocka_unit_test_setup(test_guest_sets_time, setup),
		cmocka_unit_test_setup(test_memory_bytes, setup),
		cmocka_unit_test_setup(test_status_registers, setup),
		cmocka_unit_test_setup(test_index_and_nvram, setup),
		cmocka_unit_test_setup(test_pio, setup),
	};
	return cmocka_run_group_tests_name("rtc", tests, NULL, NULL);
}
