/* The configuration tree: src/config.c */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

static int setup(void **state)
{
	(void)state;
	unit_reset_globals();
	return 0;
}

static void test_set_get(void **state)
{
	(void)state;
	assert_null(config_get("a.b"));
	assert_int_equal(config_set("a.b", "1"), 0);
	assert_string_equal(config_get("a.b"), "1");
	assert_string_equal(config_get_raw("a.b"), "1");
	assert_int_equal(config_setf("x", "pci.%u.%u.%u.device", 0, 3, 0), 0);
	assert_string_equal(config_get("pci.0.3.0.device"), "x");
	assert_string_equal(config_getf("pci.%d.%d.%d.device", 0, 3, 0), "x");
	assert_null(config_get("pci.0.3.0"));	/* a node, not a variable */
	assert_true(config_is_node("pci.0.3.0"));
	assert_true(config_is_node("pci"));
	assert_false(config_is_node("pci.0.3.0.device"));
	assert_false(config_is_node("pc"));
	/* empty values are values */
	assert_int_equal(config_set("empty", ""), 0);
	assert_non_null(config_get("empty"));
	assert_string_equal(config_get("empty"), "");
}

static void test_later_wins(void **state)
{
	(void)state;
	assert_int_equal(config_set("memory.size", "256M"), 0);
	assert_int_equal(config_set("memory.size", "1G"), 0);
	assert_string_equal(config_get("memory.size"), "1G");
	assert_int_equal(config_parse_assignment("memory.size=2G"), 0);
	assert_string_equal(config_get("memory.size"), "2G");
}

static void test_unset(void **state)
{
	(void)state;
	assert_int_equal(config_set("a", "1"), 0);
	assert_int_equal(config_set("b", "2"), 0);
	config_unset("a");
	assert_null(config_get("a"));
	assert_string_equal(config_get("b"), "2");
	config_unset("nothing");	/* harmless */
	/* once unset, the name can become a node */
	assert_int_equal(config_set("a.c", "3"), 0);
}

static void test_node_leaf_conflict(void **state)
{
	(void)state;
	assert_int_equal(config_set("a.b", "1"), 0);
	assert_int_equal(config_set("a.b.c", "2"), -1);
	assert_non_null(strstr(last_error(), "a.b"));
	assert_null(config_get("a.b.c"));
	assert_int_equal(config_set("a.b.c.d", "2"), -1);
	/* a sibling sharing a string prefix is not a conflict */
	assert_int_equal(config_set("a.bc", "3"), 0);
	assert_int_equal(config_set("a.bc2.x", "3"), 0);

	assert_int_equal(config_set("x.y.z", "1"), 0);
	assert_int_equal(config_set("x.y", "2"), -1);
	assert_int_equal(config_set("x", "2"), -1);
	assert_null(config_get("x.y"));
	assert_string_equal(config_get("x.y.z"), "1");
}

static void test_invalid_names(void **state)
{
	static const char *const bad[] = {
		"", ".a", "a.", "a..b", "a b", "a=b", "a%b", "a\tb", "\n",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(config_set(bad[i], "v"), -1);
		assert_null(config_get(bad[i]));
	}
	assert_int_equal(config_set("ok-name_1.x", "v"), 0);
}

static void test_expansion(void **state)
{
	(void)state;
	assert_int_equal(config_set("x", "hello"), 0);
	assert_int_equal(config_set("y", "%(x) world"), 0);
	assert_int_equal(config_set("z", "[%(y)|%(x)]"), 0);
	assert_string_equal(config_get("y"), "hello world");
	assert_string_equal(config_get("z"), "[hello world|hello]");
	assert_string_equal(config_get_raw("z"), "[%(y)|%(x)]");
	/* expansion follows later settings */
	assert_int_equal(config_set("x", "bye"), 0);
	assert_string_equal(config_get("z"), "[bye world|bye]");
	/* a lone '%' or '(' is literal */
	assert_int_equal(config_set("p", "100% (sure)"), 0);
	assert_string_equal(config_get("p"), "100% (sure)");
	/* dotted references */
	assert_int_equal(config_set("pci.0.3.0.path", "/img"), 0);
	assert_int_equal(config_set("disk", "%(pci.0.3.0.path).bak"), 0);
	assert_string_equal(config_get("disk"), "/img.bak");
	assert_int_equal(config_freeze(), 0);
	assert_true(config_frozen());
	assert_string_equal(config_get("z"), "[bye world|bye]");
}

static void test_undefined_reference(void **state)
{
	(void)state;
	assert_int_equal(config_set("a", "x%(nope)y"), 0);
	assert_null(config_get("a"));
	assert_non_null(strstr(last_error(), "nope"));
	assert_int_equal(config_freeze(), -1);
	assert_false(config_frozen());
	/* defining the target fixes it */
	assert_int_equal(config_set("nope", "-"), 0);
	assert_string_equal(config_get("a"), "x-y");
	assert_int_equal(config_freeze(), 0);
}

static void test_bad_reference_syntax(void **state)
{
	(void)state;
	assert_int_equal(config_set("a", "%(unterminated"), 0);
	assert_null(config_get("a"));
	assert_int_equal(config_freeze(), -1);
	config_reset();
	assert_int_equal(config_set("a", "%()"), 0);
	assert_null(config_get("a"));
	assert_int_equal(config_freeze(), -1);
}

static void test_reference_loops(void **state)
{
	(void)state;
	assert_int_equal(config_set("self", "%(self)"), 0);
	assert_null(config_get("self"));
	assert_int_equal(config_freeze(), -1);
	assert_false(config_frozen());

	config_reset();
	assert_int_equal(config_set("a", "1%(b)"), 0);
	assert_int_equal(config_set("b", "2%(c)"), 0);
	assert_int_equal(config_set("c", "3%(a)"), 0);
	assert_null(config_get("b"));
	assert_int_equal(config_freeze(), -1);

	/* a deep but finite chain is fine */
	config_reset();
	assert_int_equal(config_set("v0", "end"), 0);
	for (int i = 1; i <= 10; i++) {
		char name[16], val[32];
		snprintf(name, sizeof(name), "v%d", i);
		snprintf(val, sizeof(val), "%%(v%d)", i - 1);
		assert_int_equal(config_set(name, val), 0);
	}
	assert_string_equal(config_get("v10"), "end");
	assert_int_equal(config_freeze(), 0);
}

static void test_freeze_read_only(void **state)
{
	(void)state;
	assert_int_equal(config_set("a", "1"), 0);
	assert_int_equal(config_freeze(), 0);
	assert_true(config_frozen());
	assert_int_equal(config_set("a", "2"), -1);
	assert_int_equal(config_set("b", "2"), -1);
	config_unset("a");
	assert_string_equal(config_get("a"), "1");
	assert_null(config_get("b"));
	config_reset();
	assert_false(config_frozen());
	assert_null(config_get("a"));
}

static void test_get_bool(void **state)
{
	static const char *const yes[] = { "true", "on", "yes", "1", "TRUE",
	    "On" };
	static const char *const no[] = { "false", "off", "no", "0", "NO",
	    "Off" };
	static const char *const bad[] = { "", "2", "maybe", "tru", "yes ",
	    "10", "y", "n" };
	bool b;
	(void)state;

	b = false;
	assert_int_equal(config_get_bool("unset", true, &b), 0);
	assert_true(b);
	assert_int_equal(config_get_bool("unset", false, &b), 0);
	assert_false(b);
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		assert_int_equal(config_set("v", yes[i]), 0);
		b = false;
		assert_int_equal(config_get_bool("v", false, &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		assert_int_equal(config_set("v", no[i]), 0);
		b = true;
		assert_int_equal(config_get_bool("v", true, &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(config_set("v", bad[i]), 0);
		clear_error();
		assert_int_equal(config_get_bool("v", false, &b), -1);
		assert_non_null(strstr(last_error(), "'v'"));
	}
	/* references are expanded before parsing */
	assert_int_equal(config_set("t", "yes"), 0);
	assert_int_equal(config_set("v", "%(t)"), 0);
	b = false;
	assert_int_equal(config_get_bool("v", false, &b), 0);
	assert_true(b);
}

static void test_get_uint(void **state)
{
	unsigned u = 0;
	(void)state;

	assert_int_equal(config_get_uint("cpus", 7, 1, 16, &u), 0);
	assert_int_equal(u, 7);
	assert_int_equal(config_set("cpus", "16"), 0);
	assert_int_equal(config_get_uint("cpus", 1, 1, 16, &u), 0);
	assert_int_equal(u, 16);
	assert_int_equal(config_set("cpus", "1"), 0);
	assert_int_equal(config_get_uint("cpus", 7, 1, 16, &u), 0);
	assert_int_equal(u, 1);
	assert_int_equal(config_set("cpus", "0x10"), 0);
	assert_int_equal(config_get_uint("cpus", 1, 1, 16, &u), 0);
	assert_int_equal(u, 16);
	u = 99;
	assert_int_equal(config_set("cpus", "17"), 0);
	assert_int_equal(config_get_uint("cpus", 1, 1, 16, &u), -1);
	assert_int_equal(config_set("cpus", "0"), 0);
	assert_int_equal(config_get_uint("cpus", 1, 1, 16, &u), -1);
	assert_int_equal(config_set("cpus", "-1"), 0);
	assert_int_equal(config_get_uint("cpus", 1, 1, 16, &u), -1);
	assert_int_equal(config_set("cpus", "4x"), 0);
	assert_int_equal(config_get_uint("cpus", 1, 1, 16, &u), -1);
	assert_int_equal(config_set("cpus", ""), 0);
	assert_int_equal(config_get_uint("cpus", 1, 1, 16, &u), -1);
	assert_int_equal(config_set("cpus", "4294967296"), 0);
	assert_int_equal(config_get_uint("cpus", 1, 0, 0xffffffffu, &u), -1);
	assert_int_equal(u, 99);	/* untouched on error */
	assert_int_equal(config_set("cpus", "4294967295"), 0);
	assert_int_equal(config_get_uint("cpus", 1, 0, 0xffffffffu, &u), 0);
	assert_int_equal(u, 0xffffffffu);
}

static void test_parse_assignment(void **state)
{
	(void)state;
	assert_int_equal(config_parse_assignment("a.b=c"), 0);
	assert_string_equal(config_get("a.b"), "c");
	assert_int_equal(config_parse_assignment("k=v=w"), 0);
	assert_string_equal(config_get("k"), "v=w");
	assert_int_equal(config_parse_assignment("e="), 0);
	assert_string_equal(config_get("e"), "");
	assert_int_equal(config_parse_assignment("=c"), -1);
	assert_int_equal(config_parse_assignment("novalue"), -1);
	assert_int_equal(config_parse_assignment(""), -1);
	assert_int_equal(config_parse_assignment("a.b.c=1"), -1);	/* node conflict */
}

static void test_parse_file(void **state)
{
	char *path;
	(void)state;

	path = unit_write_temp(
	    "# a comment\n"
	    "\n"
	    "name=vm1\n"
	    "memory.size=1G\n"
	    "#memory.size=2G\n"
	    "pci.0.0.0.device=hostbridge\r\n"
	    "boot.cmdline=console=ttyS0 root=/dev/vda\n"
	    "memory.size=%(msize)\n"
	    "msize=512M");
	assert_non_null(path);
	assert_int_equal(config_parse_file(path), 0);
	assert_string_equal(config_get("name"), "vm1");
	assert_string_equal(config_get("pci.0.0.0.device"), "hostbridge");
	assert_string_equal(config_get("boot.cmdline"), "console=ttyS0 root=/dev/vda");
	assert_string_equal(config_get_raw("memory.size"), "%(msize)");
	assert_string_equal(config_get("memory.size"), "512M");
	assert_int_equal(config_freeze(), 0);
	unlink(path);
	free(path);
}

static void expect_file_error(const char *text, const char *where)
{
	char *path = unit_write_temp(text);
	char want[256];

	assert_non_null(path);
	config_reset();
	clear_error();
	assert_int_equal(config_parse_file(path), -1);
	snprintf(want, sizeof(want), "%s:%s", path, where);
	if (strstr(last_error(), want) == NULL)
		fail_msg("error '%s' does not name '%s'", last_error(), want);
	unlink(path);
	free(path);
}

static void test_parse_file_errors(void **state)
{
	(void)state;
	expect_file_error("a=1\nb = 2\n", "2");
	expect_file_error("a=1\n\n# c\nb =2\n", "4");
	expect_file_error("b= 2\n", "1");
	expect_file_error("b\t=2\n", "1");
	expect_file_error("ok=1\nnoequals\n", "2");
	expect_file_error("=value\n", "1");
	expect_file_error(" a=1\n", "1");
	expect_file_error("a.b=1\na.b.c=2\n", "2");	/* conflict in file */
	expect_file_error("bad name=1\n", "1");

	clear_error();
	assert_int_equal(config_parse_file("/nonexistent/bhyve-unit.conf"), -1);
	assert_non_null(strstr(last_error(), "/nonexistent/bhyve-unit.conf"));
}

static void test_dump_sorted(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;

	assert_int_equal(config_set("x86.strictmsr", "true"), 0);
	assert_int_equal(config_set("acpi_tables", "false"), 0);
	assert_int_equal(config_set("name", "vm"), 0);
	assert_int_equal(config_set("memory.size", "%(name)"), 0);
	assert_int_equal(config_set("cpus", "2"), 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	config_dump(f);
	fclose(f);
	assert_string_equal(buf,
	    "acpi_tables=false\n"
	    "cpus=2\n"
	    "memory.size=%(name)\n"
	    "name=vm\n"
	    "x86.strictmsr=true\n");
	free(buf);
	/* the tree still works after dumping */
	assert_string_equal(config_get("memory.size"), "vm");
	assert_string_equal(config_get("cpus"), "2");
}

static void test_children(void **state)
{
	char names[8][32];
	int n;
	(void)state;

	assert_int_equal(config_set("pci.0.10.0.device", "a"), 0);
	assert_int_equal(config_set("pci.0.2.0.device", "b"), 0);
	assert_int_equal(config_set("pci.0.31.0.device", "c"), 0);
	assert_int_equal(config_set("pci.0.3.0.device", "d"), 0);
	assert_int_equal(config_set("pci.0.3.1.device", "e"), 0);
	assert_int_equal(config_set("pci.0.3.1.path", "f"), 0);
	assert_int_equal(config_set("pci.1.0.0.device", "g"), 0);
	assert_int_equal(config_set("pcix", "h"), 0);

	n = config_children("pci.0", names, 8);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "2");
	assert_string_equal(names[1], "3");
	assert_string_equal(names[2], "10");
	assert_string_equal(names[3], "31");

	n = config_children("pci", names, 8);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "0");
	assert_string_equal(names[1], "1");

	n = config_children("pci.0.3", names, 8);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "0");
	assert_string_equal(names[1], "1");

	n = config_children("pci.0.3.1", names, 8);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "device");
	assert_string_equal(names[1], "path");

	assert_int_equal(config_children("nothing", names, 8), 0);
	assert_int_equal(config_children("pcix", names, 8), 0);	/* a leaf */
	assert_int_equal(config_children("pci.0", names, 2), 2);	/* max */
}

int run_config_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_set_get, setup),
		cmocka_unit_test_setup(test_later_wins, setup),
		cmocka_unit_test_setup(test_unset, setup),
		cmocka_unit_test_setup(test_node_leaf_conflict, setup),
		cmocka_unit_test_setup(test_invalid_names, setup),
		cmocka_unit_test_setup(test_expansion, setup),
		cmocka_unit_test_setup(test_undefined_reference, setup),
		cmocka_unit_test_setup(test_bad_reference_syntax, setup),
		cmocka_unit_test_setup(test_reference_loops, setup),
		cmocka_unit_test_setup(test_freeze_read_only, setup),
		cmocka_unit_test_setup(test_get_bool, setup),
		cmocka_unit_test_setup(test_get_uint, setup),
		cmocka_unit_test_setup(test_parse_assignment, setup),
		cmocka_unit_test_setup(test_parse_file, setup),
		cmocka_unit_test_setup(test_parse_file_errors, setup),
		cmocka_unit_test_setup(test_dump_sorted, setup),
		cmocka_unit_test_setup(test_children, setup),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, setup);
}
