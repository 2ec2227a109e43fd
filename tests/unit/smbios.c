/* SMBIOS tables: src/platform/smbios.c, parsed back the way a guest's DMI
 * decoder reads them. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "platform/smbios.h"

#define GPA 0xf1000u
static uint8_t buf[0x1400];

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

struct st {
	const uint8_t *p;	/* formatted area */
	const char *strs[16];
	unsigned nstrs;
	size_t size;		/* with strings */
};

static struct st found[1100];
static unsigned nfound;

static uint8_t big_copy[0x10000 + 0x20];

static void w32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Check the entry point and walk every structure into found[]. */
static void parse_at(const uint8_t *base, int len)
{
	const uint8_t *ep = base, *p, *end;
	unsigned maxsize = 0;

	assert_true(len > 0x1f);
	assert_memory_equal(ep, "_SM_", 4);
	assert_int_equal(ep[5], 0x1f);
	assert_int_equal(sum(ep, 0x1f), 0);
	assert_memory_equal(ep + 16, "_DMI_", 5);
	assert_int_equal(sum(ep + 16, 15), 0);
	assert_int_equal(ep[6], 2);
	assert_int_equal(ep[7], 8);
	assert_int_equal(ep[30], 0x28);
	assert_int_equal(rd32(ep + 24), GPA + 0x1f);
	assert_int_equal(rd16(ep + 22), len - 0x1f);
	p = base + 0x1f;
	end = p + rd16(ep + 22);
	nfound = 0;
	while (p < end) {
		struct st *s = &found[nfound];
		const uint8_t *q;

		assert_true(nfound < sizeof(found) / sizeof(found[0]));
		assert_true(p + 4 <= end && p[1] >= 4 && p + p[1] <= end);
		assert_int_equal(rd16(p + 2), nfound);	/* handles in order */
		memset(s, 0, sizeof(*s));
		s->p = p;
		q = p + p[1];
		if (q[0] == 0 && q[1] == 0) {
			q += 2;
		} else {
			while (*q) {
				assert_true(s->nstrs < 16);
				s->strs[s->nstrs++] = (const char *)q;
				q += strlen((const char *)q) + 1;
				assert_true(q < end);
			}
			q++;
		}
		s->size = (size_t)(q - p);
		if (s->size > maxsize)
			maxsize = (unsigned)s->size;
		nfound++;
		p = q;
		if (s->p[0] == 127)
			break;
	}
	assert_ptr_equal(p, end);
	assert_int_equal(found[nfound - 1].p[0], 127);
	assert_int_equal(rd16(ep + 28), nfound);
	assert_int_equal(rd16(ep + 8), maxsize);
}

static void parse(int len)
{
	parse_at(buf, len);
}

/* String `field` of structure s (NULL for string number 0). */
static const char *sget(const struct st *s, unsigned field)
{
	unsigned n = s->p[field];
	if (n == 0)
		return NULL;
	assert_true(n <= s->nstrs);
	return s->strs[n - 1];
}

static const struct st *find(uint8_t type, unsigned nth)
{
	for (unsigned i = 0; i < nfound; i++)
		if (found[i].p[0] == type && nth-- == 0)
			return &found[i];
	return NULL;
}

static unsigned count(uint8_t type)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nfound; i++)
		n += found[i].p[0] == type;
	return n;
}

static void defaults(struct smbios_info *in)
{
	memset(in, 0, sizeof(*in));
	for (unsigned i = 0; i < SMB_NSTR; i++)
		in->str[i] = smbios_vars[i].def;
	in->topo = (struct cpu_topology){ 8, 2, 2, 2 };
	in->cpu_signature = 0x00a00f11;
	in->cpu_features = 0x178bfbff;
	in->lowmem = 3ULL << 30;
	in->highmem = 2ULL << 30;
	assert_int_equal(smbios_uuid_parse(
	    "01234567-89ab-cdef-0011-223344556677", in->uuid), 0);
}

static void test_default_tables(void **state)
{
	struct smbios_info in;
	const struct st *s;
	static const uint8_t want_uuid[16] = {
		0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd,
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };
	int len;

	(void)state;
	defaults(&in);
	len = smbios_build(buf, sizeof(buf), GPA, &in);
	parse(len);
	/* type 0 */
	s = find(0, 0);
	assert_non_null(s);
	assert_string_equal(sget(s, 4), "BHYVE");
	assert_string_equal(sget(s, 5), "14.0");
	assert_string_equal(sget(s, 8), "10/17/2021");
	assert_int_equal(rd16(s->p + 6), 0xf000);
	assert_int_equal(s->p[19] & 0x10, 0x10);	/* virtual machine */
	/* type 1 */
	s = find(1, 0);
	assert_non_null(s);
	assert_int_equal(s->p[1], 0x1b);
	assert_string_equal(sget(s, 4), "FreeBSD");
	assert_string_equal(sget(s, 5), "BHYVE");
	assert_string_equal(sget(s, 6), "1.0");
	assert_string_equal(sget(s, 7), "None");
	assert_string_equal(sget(s, 25), "None");
	assert_string_equal(sget(s, 26), "Virtual Machine");
	assert_memory_equal(s->p + 8, want_uuid, 16);
	/* type 2 names the chassis */
	s = find(2, 0);
	assert_non_null(s);
	assert_string_equal(sget(s, 4), "FreeBSD");
	assert_string_equal(sget(s, 5), "BHYVE");
	assert_string_equal(sget(s, 10), "None");
	assert_int_equal(s->p[13], 0x0a);
	assert_int_equal(rd16(s->p + 11), rd16(find(3, 0)->p + 2));
	/* type 3 */
	s = find(3, 0);
	assert_string_equal(sget(s, 4), "FreeBSD");
	assert_string_equal(sget(s, 6), "1.0");
	assert_string_equal(sget(s, 21), "None");
	/* type 4: one per socket, with the topology and CPUID */
	assert_int_equal(count(4), 2);
	s = find(4, 1);
	assert_string_equal(sget(s, 4), "CPU #1");
	assert_int_equal(s->p[35], 2);		/* cores */
	assert_int_equal(s->p[37], 4);		/* threads per socket */
	assert_int_equal(rd32(s->p + 8), 0x00a00f11);
	assert_int_equal(rd32(s->p + 12), 0x178bfbff);
	/* memory: array, two devices, two mapped ranges */
	assert_int_equal(count(16), 1);
	s = find(16, 0);
	assert_int_equal(rd16(s->p + 13), 2);
	assert_int_equal(rd64(s->p + 15), 5ULL << 30);
	assert_int_equal(count(17), 2);
	assert_int_equal(rd16(find(17, 0)->p + 4), rd16(s->p + 2));
	assert_int_equal(rd32(find(17, 0)->p + 28), 3072);
	assert_int_equal(rd32(find(17, 1)->p + 28), 2048);
	assert_int_equal(count(19), 2);
	assert_int_equal(rd64(find(19, 0)->p + 15), 0);
	assert_int_equal(rd64(find(19, 0)->p + 23), (3ULL << 30) - 1);
	assert_int_equal(rd64(find(19, 1)->p + 15), 4ULL << 30);
	assert_int_equal(rd64(find(19, 1)->p + 23), (6ULL << 30) - 1);
	assert_int_equal(rd16(find(19, 1)->p + 12), rd16(s->p + 2));
	assert_int_equal(count(32), 1);
	assert_int_equal(found[nfound - 1].p[0], 127);
}

static void test_configured_strings(void **state)
{
	struct smbios_info in;
	const struct st *s;

	(void)state;
	defaults(&in);
	in.str[SMB_SYS_MANUFACTURER] = "Acme Corp";
	in.str[SMB_SYS_PRODUCT] = "Rocket";
	in.str[SMB_BIOS_VENDOR] = "MyBIOS";
	in.str[SMB_BOARD_MANUFACTURER] = "BoardCo";
	in.str[SMB_CHASSIS_MANUFACTURER] = "CaseCo";
	in.str[SMB_SYS_SERIAL] = "";		/* no string */
	in.highmem = 0;
	in.topo = (struct cpu_topology){ 1, 1, 1, 1 };
	parse(smbios_build(buf, sizeof(buf), GPA, &in));
	s = find(1, 0);
	assert_string_equal(sget(s, 4), "Acme Corp");
	assert_string_equal(sget(s, 5), "Rocket");
	assert_null(sget(s, 7));
	assert_string_equal(sget(s, 26), "Virtual Machine");
	assert_string_equal(sget(find(0, 0), 4), "MyBIOS");
	assert_string_equal(sget(find(2, 0), 4), "BoardCo");
	assert_string_equal(sget(find(3, 0), 4), "CaseCo");
	assert_int_equal(count(4), 1);
	assert_int_equal(count(17), 1);
	assert_int_equal(count(19), 1);
	assert_int_equal(rd16(find(16, 0)->p + 13), 1);
}

static void test_too_big(void **state)
{
	struct smbios_info in;
	static char long_str[3000];

	(void)state;
	defaults(&in);
	memset(long_str, 'x', sizeof(long_str) - 1);
	in.str[SMB_SYS_PRODUCT] = long_str;
	in.str[SMB_BOARD_PRODUCT] = long_str;
	assert_int_equal(smbios_build(buf, sizeof(buf), GPA, &in), -1);
	assert_non_null(strstr(last_error(), "do not fit"));
	/* Too small for even the entry point */
	assert_int_equal(smbios_build(buf, 16, GPA, &in), -1);
}

static void test_uuid_parse(void **state)
{
	uint8_t u[16];
	static const char *bad[] = {
		"", "1234", "01234567-89ab-cdef-0011-2233445566770",
		"0123456789ab-cdef-0011-2233-44556677",
		"01234567-89ab-cdef-0011_223344556677",
		"0123456g-89ab-cdef-0011-223344556677",
		"01234567-89ab-cdef-0011-22334455667 ",
	};

	(void)state;
	assert_int_equal(smbios_uuid_parse(
	    "DEADBEEF-0000-1111-2222-333344445555", u), 0);
	assert_int_equal(u[0], 0xef);
	assert_int_equal(u[3], 0xde);
	assert_int_equal(u[4], 0x00);
	assert_int_equal(u[7], 0x11);
	assert_int_equal(u[8], 0x22);
	assert_int_equal(u[15], 0x55);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_error();
		assert_int_equal(smbios_uuid_parse(bad[i], u), -1);
		assert_non_null(strstr(last_error(), bad[i]));
	}
}

static void test_uuid_default(void **state)
{
	uint8_t got[16], want[16], other[16];

	(void)state;
	/* MD5("vm1" + "host1" padded with NULs to 256 bytes), version 3 */
	smbios_uuid_default("vm1", "host1", got);
	assert_int_equal(smbios_uuid_parse(
	    "8fede05b-425c-34ce-a159-5a086153469a", want), 0);
	assert_memory_equal(got, want, 16);
	smbios_uuid_default("vm2", "host1", other);
	assert_memory_not_equal(got, other, 16);
	smbios_uuid_default("vm1", "host2", other);
	assert_memory_not_equal(got, other, 16);
}

static void test_check_config(void **state)
{
	struct cpu_topology t = { 4, 4, 1, 1 }, many = { 1024, 1024, 1, 1 };
	static char big[4001];

	(void)state;
	unit_reset_globals();
	assert_int_equal(config_set("name", "vm1"), 0);
	assert_int_equal(smbios_check_config(&t), 0);
	assert_int_equal(config_set("uuid", "not-a-uuid"), 0);
	assert_int_equal(smbios_check_config(&t), -1);
	assert_non_null(strstr(last_error(), "not-a-uuid"));
	assert_int_equal(config_set("uuid",
	    "01234567-89ab-cdef-0011-223344556677"), 0);
	assert_int_equal(smbios_check_config(&t), 0);
	/* 1024 single-CPU sockets fit (in the bigger area, compact) */
	assert_int_equal(smbios_check_config(&many), 0);
	/* every string 4000 bytes long: more than a table can hold */
	memset(big, 'y', sizeof(big) - 1);
	for (unsigned i = 0; i < SMB_NSTR; i++)
		assert_int_equal(config_set(smbios_vars[i].name, big), 0);
	assert_int_equal(smbios_check_config(&t), -1);
	assert_non_null(strstr(last_error(), "do not fit"));
	unit_reset_globals();
}

/* A table apart from its entry point (many sockets), compact processors */
static void test_split_compact(void **state)
{
	static uint8_t tbl[0x10000];
	struct smbios_info in;
	int n;

	(void)state;
	defaults(&in);
	in.topo = (struct cpu_topology){ 1024, 1024, 1, 1 };
	in.compact = true;
	n = smbios_build_split(buf, tbl, sizeof(tbl), 0xc0000, &in);
	assert_true(n > 0);
	assert_int_equal(rd32(buf + 24), 0xc0000);
	assert_int_equal(rd16(buf + 22), n);
	assert_int_equal(sum(buf, 0x1f), 0);
	/* parse() expects the table right after the entry point */
	memcpy(big_copy, buf, 0x1f);
	memcpy(big_copy + 0x1f, tbl, (size_t)n);
	w32le(big_copy + 24, GPA + 0x1f);
	big_copy[21] = 0;
	big_copy[21] = (uint8_t)-sum(big_copy + 16, 15);
	big_copy[4] = 0;
	big_copy[4] = (uint8_t)-sum(big_copy, 0x1f);
	parse_at(big_copy, n + 0x1f);
	assert_int_equal(count(4), 1024);
	assert_string_equal(sget(find(4, 1023), 4), "CPU #1023");
	assert_null(sget(find(4, 0), 7));
	/* without compaction 1024 sockets do not fit in 64 KiB */
	in.compact = false;
	assert_int_equal(smbios_build_split(buf, tbl, sizeof(tbl), 0xc0000,
	    &in), -1);
}

int run_smbios_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_tables),
		cmocka_unit_test(test_configured_strings),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_uuid_parse),
		cmocka_unit_test(test_uuid_default),
		cmocka_unit_test(test_check_config),
		cmocka_unit_test(test_split_compact),
	};
	return cmocka_run_group_tests_name("smbios", tests, NULL, NULL);
}
