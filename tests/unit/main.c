/* Runs every unit test group; the exit status is the number of failures. */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backends/evloop.h"
#include "bus/mmio.h"
#include "bus/pci.h"
#include "bus/pio.h"
#include "config.h"
#include "util.h"

void unit_reset_globals(void)
{
	config_reset();
	pci_fini();
	pio_reset();
	mmio_reset();
	clear_error();
}

char *unit_write_temp(const char *text)
{
	char *path = strdup("/tmp/bhyve-unit-XXXXXX");
	int fd;
	size_t n = strlen(text);

	if (path == NULL)
		return NULL;
	fd = mkstemp(path);
	if (fd < 0) {
		free(path);
		return NULL;
	}
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		unlink(path);
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

static int saved_out = -1, saved_err = -1;

void unit_mute(void)
{
	int null = open("/dev/null", O_WRONLY);

	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	if (null >= 0) {
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
}

void unit_unmute(void)
{
	fflush(stdout);
	fflush(stderr);
	if (saved_out >= 0) {
		dup2(saved_out, 1);
		close(saved_out);
		saved_out = -1;
	}
	if (saved_err >= 0) {
		dup2(saved_err, 2);
		close(saved_err);
		saved_err = -1;
	}
}

/* Driving the real event loop from a test: unit_pump_init() in the
 * group's setup (after evloop_init), unit_pump_fini() in its teardown. */
static struct ev *pump_timer;

static void pump_quit(void *arg)
{
	(void)arg;
	evloop_quit();
}

int unit_pump_init(void)
{
	pump_timer = ev_timer_add(pump_quit, NULL);
	return pump_timer ? 0 : -1;
}

void unit_pump_fini(void)
{
	ev_del(pump_timer);
	pump_timer = NULL;
}

void unit_pump(unsigned ms)
{
	ev_timer_arm(pump_timer, (uint64_t)ms * 1000000u, 0);
	evloop_run();
}

int unit_unix_client(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(void)
{
	int failed = 0;

	failed += run_config_tests();
	failed += run_options_tests();
	failed += run_util_tests();
	failed += run_e820_tests();
	failed += run_cpuid_tests();
	failed += run_uart_tests();
	failed += run_mptable_tests();
	failed += run_loader_tests();
	failed += run_mem_tests();
	failed += run_pci_tests();
	failed += run_rtc_tests();
	failed += run_decompress_tests();
	failed += run_coalesced_tests();
	failed += run_smbios_tests();
	failed += run_monitor_tests();
	failed += run_sock_tests();
	failed += run_console_tests();
	failed += run_console_dev_tests();
	failed += run_block_tests();
	failed += run_virtio_blk_tests();
	failed += run_vq_tests();
	failed += run_pcidev_tests();
	failed += run_pm_tests();
	failed += run_hpet_tests();
	failed += run_acpi_tests();
	failed += run_net_tests();
	failed += run_vtnet_tests();
	failed += run_tty_tests();
	failed += run_ipc_tests();
	unit_reset_globals();
	if (failed)
		fprintf(stderr, "unit tests: %d failed\n", failed);
	return failed > 255 ? 255 : failed;
}
