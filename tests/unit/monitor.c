/* Monitor mode: src/monitor.c, with forked "VM processes" that end with
 * chosen statuses. */
#include "unit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "monitor.h"

static char counter[64];

/* How many VM processes have started (each child appends a byte). */
static long starts(void)
{
	FILE *f = fopen(counter, "r");
	long n;

	if (f == NULL)
		return 0;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return n;
}

static void child_started(void)
{
	FILE *f = fopen(counter, "a");
	if (f != NULL) {
		fputc('x', f);
		fclose(f);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(counter, sizeof(counter), "/tmp/bhyve-unit-mon-%d", getpid());
	unlink(counter);
	return 0;
}

static int teardown(void **state)
{
	sigset_t s;

	(void)state;
	unlink(counter);
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	return 0;
}

/* Reboot, reboot, then a triple fault: three VM processes, status 3. */
static void test_restart_until_final(void **state)
{
	int r;

	(void)state;
	r = monitor_run();
	if (r == -1) {
		long n;
		child_started();
		n = starts();
		_exit(n < 3 ? 0 : 3);
	}
	assert_int_equal(r, 3);
	assert_int_equal(starts(), 3);
}

/* SIGTERM to the monitor reaches the VM process, whose power-off status
 * (1) is the monitor's. */
static void test_sigterm_forwarded(void **state)
{
	int r;

	(void)state;
	r = monitor_run();
	if (r == -1) {
		sigset_t s;
		int sig = 0;

		child_started();
		sigemptyset(&s);
		sigaddset(&s, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &s, NULL);
		kill(getppid(), SIGTERM);
		alarm(10);
		sigwait(&s, &sig);
		_exit(sig == SIGTERM ? 1 : 4);
	}
	assert_int_equal(r, 1);
	assert_int_equal(starts(), 1);
}

/* A VM process that dies of a signal other than SIGINT/SIGHUP: status 4
 * and a message naming the signal. */
static void test_crash_is_error(void **state)
{
	int r;

	(void)state;
	clear_error();
	r = monitor_run();
	if (r == -1) {
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	assert_int_equal(r, 4);
	assert_non_null(strstr(last_error(), "signal 6"));
}

static void test_rundir(void **state)
{
	(void)state;
	unit_reset_globals();
	assert_int_equal(monitor_check_config(), 0);
	assert_int_equal(config_set("rundir", "/tmp"), 0);
	assert_int_equal(monitor_check_config(), 0);
	assert_int_equal(config_set("rundir", "/nonexistent/run"), 0);
	assert_int_equal(monitor_check_config(), -1);
	assert_non_null(strstr(last_error(), "/nonexistent/run"));
	assert_int_equal(config_set("rundir", "/etc/hostname"), 0);
	assert_int_equal(monitor_check_config(), -1);
	assert_non_null(strstr(last_error(), "not a directory"));
	unit_reset_globals();
}

int run_monitor_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restart_until_final, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_forwarded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crash_is_error, setup,
		    teardown),
		cmocka_unit_test(test_rundir),
	};
	return cmocka_run_group_tests_name("monitor", tests, NULL, NULL);
}
