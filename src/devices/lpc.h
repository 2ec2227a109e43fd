/* The LPC PCI-ISA bridge and the devices behind it (-l). */
#ifndef BHYVE_LPC_H
#define BHYVE_LPC_H

/* Parse one -l argument into the config tree ("help" is handled by the
 * caller with lpc_print_help). */
int lpc_device_parse(const char *opt);
void lpc_print_help(void);
/* The boot ROM and its variables file: lpc.bootrom / lpc.bootvars (-l
 * bootrom,...) or the newer machine-independent bootrom / bootvars (-o);
 * NULL when unset. */
const char *lpc_bootrom(void);
const char *lpc_bootvars(void);
/* Check LPC variables that need the bridge; called after pci_init. */
int lpc_check(void);
/* Close the UARTs and their backends: the "uart" platform device's
 * teardown (the same device starts them on the event loop and prints
 * their registers in the SIGUSR2 dump). */
void lpc_fini(void);

#endif
