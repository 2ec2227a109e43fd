/* Number, size and boolean parsing and the error helpers: src/util.c */
#include "unit.h"

#include <errno.h>
#include <string.h>

#include "util.h"

static void expect_memsize(const char *s, uint64_t want)
{
	uint64_t v = 0;
	if (parse_memsize(s, &v) != 0)
		fail_msg("parse_memsize(\"%s\") failed", s);
	assert_int_equal(v, want);
}

static void test_memsize(void **state)
{
	static const char *const bad[] = {
		"0", "0K", "0m", "12Q", "99999999999T", "16777216T",
		"17592186044416", "", "K", "-1", "+1", "1.5G", "1GB", "0x10",
		" 1", "1 ", "1 G", "G1", "123456789012345678901234567890123",
	};
	uint64_t v;
	(void)state;

	expect_memsize("1", 1ULL << 20);		/* no suffix: MiB */
	expect_memsize("256", 256ULL << 20);
	expect_memsize("1k", 1024);
	expect_memsize("1K", 1024);
	expect_memsize("4096k", 4ULL << 20);
	expect_memsize("512m", 512ULL << 20);
	expect_memsize("512M", 512ULL << 20);
	expect_memsize("3g", 3ULL << 30);
	expect_memsize("3G", 3ULL << 30);
	expect_memsize("2t", 2ULL << 40);
	expect_memsize("2T", 2ULL << 40);
	expect_memsize("007G", 7ULL << 30);
	expect_memsize("16777215T", 16777215ULL << 40);	/* largest T */
	expect_memsize("17592186044415", 17592186044415ULL << 20);
	expect_memsize("18014398509481983K", 18014398509481983ULL << 10);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 12345;
		if (parse_memsize(bad[i], &v) == 0)
			fail_msg("parse_memsize(\"%s\") accepted", bad[i]);
		assert_int_equal(v, 12345);
	}
	assert_int_equal(parse_memsize(NULL, &v), -1);
}

static void test_u64(void **state)
{
	static const char *const bad[] = {
		"", "0x", "0X", "-1", "+1", " 1", "1 ", "12a", "0x1g", "x10",
		"18446744073709551616", "0x10000000000000000",
		"99999999999999999999", "1.0",
	};
	uint64_t v;
	(void)state;

	assert_int_equal(parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("1234567890", &v), 0);
	assert_int_equal(v, 1234567890);
	assert_int_equal(parse_u64("0x10", &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(parse_u64("0XfF", &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(parse_u64("0xDeadBeef", &v), 0);
	assert_int_equal(v, 0xdeadbeef);
	assert_int_equal(parse_u64("010", &v), 0);	/* decimal, not octal */
	assert_int_equal(v, 10);
	assert_int_equal(parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64("0xffffffffffffffff", &v), 0);
	assert_true(v == UINT64_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 7;
		if (parse_u64(bad[i], &v) == 0)
			fail_msg("parse_u64(\"%s\") accepted", bad[i]);
		assert_int_equal(v, 7);
	}
	assert_int_equal(parse_u64(NULL, &v), -1);
}

static void test_uint_range(void **state)
{
	unsigned u = 0;
	(void)state;
	assert_int_equal(parse_uint_range("5", 5, 10, &u), 0);
	assert_int_equal(u, 5);
	assert_int_equal(parse_uint_range("10", 5, 10, &u), 0);
	assert_int_equal(u, 10);
	assert_int_equal(parse_uint_range("4", 5, 10, &u), -1);
	assert_int_equal(parse_uint_range("11", 5, 10, &u), -1);
	/* no truncation to 32 bits before the range check */
	assert_int_equal(parse_uint_range("4294967301", 0, 10, &u), -1);
	assert_int_equal(u, 10);
}

static void test_bool(void **state)
{
	static const char *const yes[] = { "true", "on", "yes", "1", "True",
	    "ON", "Yes" };
	static const char *const no[] = { "false", "off", "no", "0", "FALSE",
	    "Off", "nO" };
	static const char *const bad[] = { "", "2", "01", "y", "n", "t", "f",
	    "enable", "truex", " true", "true " };
	bool b;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		b = false;
		assert_int_equal(parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		b = true;
		assert_int_equal(parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		b = true;
		if (parse_bool(bad[i], &b) == 0)
			fail_msg("parse_bool(\"%s\") accepted", bad[i]);
		assert_true(b);
	}
	assert_int_equal(parse_bool(NULL, &b), -1);
}

static void test_errors(void **state)
{
	(void)state;
	clear_error();
	assert_string_equal(last_error(), "unknown error");
	assert_int_equal((fail)("bad %s %d", "thing", 42), -1);
	assert_string_equal(last_error(), "bad thing 42");
	assert_int_equal(fail_prefix("ctx %u", 7u), -1);
	assert_string_equal(last_error(), "ctx 7: bad thing 42");
	errno = ENOENT;
	assert_int_equal(fail_errno("open %s", "x"), -1);
	assert_string_equal(last_error(), "open x: No such file or directory");
	clear_error();
	assert_string_equal(last_error(), "unknown error");
}

int run_util_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memsize),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_uint_range),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
