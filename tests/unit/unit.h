/* Unit test tier: one cmocka group per area, run by main.c. */
#ifndef BHYVE_UNIT_H
#define BHYVE_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* src/util.h declares fail(); cmocka defines a fail() macro.  Declare the
 * project's first; call it as (fail)(...) in tests. */
#include "util.h"
#include <cmocka.h>

int run_config_tests(void);
int run_options_tests(void);
int run_util_tests(void);
int run_e820_tests(void);
int run_cpuid_tests(void);
int run_uart_tests(void);
int run_mptable_tests(void);
int run_loader_tests(void);
int run_mem_tests(void);
int run_pci_tests(void);
int run_rtc_tests(void);
int run_decompress_tests(void);
int run_coalesced_tests(void);
int run_smbios_tests(void);
int run_monitor_tests(void);
int run_sock_tests(void);
int run_console_tests(void);
int run_console_dev_tests(void);
int run_block_tests(void);
int run_virtio_blk_tests(void);
int run_vq_tests(void);
int run_pcidev_tests(void);
int run_pm_tests(void);
int run_hpet_tests(void);
int run_acpi_tests(void);
int run_net_tests(void);
int run_vtnet_tests(void);
int run_tty_tests(void);
int run_ipc_tests(void);

/* Helpers (main.c) */

/* Reset every piece of global state the tests touch: config tree, PCI
 * instances, port and MMIO tables, error message. */
void unit_reset_globals(void);
/* Write `text` to a new temporary file; returns its malloc'd path. */
char *unit_write_temp(const char *text);
/* Silence stdout and stderr (help and usage texts) until unit_unmute(). */
void unit_mute(void);
void unit_unmute(void);
/* The real event loop in tests: a quit timer made by unit_pump_init()
 * (after evloop_init) and freed by unit_pump_fini(); unit_pump(ms) runs
 * the loop for about ms milliseconds. */
int unit_pump_init(void);
void unit_pump_fini(void);
void unit_pump(unsigned ms);
/* A connected Unix stream socket to path, or -1. */
int unit_unix_client(const char *path);

#endif
