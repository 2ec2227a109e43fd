/* The ways a PC guest resets itself: the reset control register (0xCF9),
 * the keyboard controller's pulse-reset command (0xFE to port 0x64) and
 * port 0x92's fast reset.  Each ends the VM with status 0, as bhyve does
 * (it does not restart the guest). */
#ifndef BHYVE_RESET_H
#define BHYVE_RESET_H

struct vm;
int reset_init(struct vm *vm);

#endif
