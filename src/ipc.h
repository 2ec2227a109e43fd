/* The control socket of FreeBSD's bhyve ("IPC COMMANDS" in its bhyve(8);
 * bhyvectl(8) is its client): a Unix stream socket named after the VM in
 * the run directory, `rundir` (-o rundir=DIR), by default /var/run/bhyve.
 * A client sends one request, a libnv list (nvlist.h) whose string "cmd"
 * names the command; bhyve answers with one list, which carries a string
 * "error" when the command failed, and closes the connection.
 *
 * FreeBSD's commands are pci_add and pci_remove (PCI hot-plug) and
 * checkpoint (snapshots).  Neither feature exists here yet, so every
 * command is answered as FreeBSD answers a command it does not have:
 * error "command 'NAME' not found".  Malformed or oversized requests are
 * answered with an error too; a client that has not sent its request
 * within IPC_TIMEOUT_S is disconnected.  One client at a time, as in
 * FreeBSD (a second one is closed at once).
 *
 * Where: with -o rundir=DIR the socket must be created (a missing
 * directory, a socket in use by another bhyve or a file that is not a
 * socket there is an error before the VM starts).  Without it,
 * /var/run/bhyve is used when that directory exists and is writable, and
 * otherwise no socket is made.  The socket is removed on every exit
 * (sock.c).  Under -M each VM process makes its own, so it is there again
 * after a guest reboot.
 *
 * Threads: everything runs on the event-loop thread. */
#ifndef BHYVE_IPC_H
#define BHYVE_IPC_H

#define IPC_DEFAULT_RUNDIR	"/var/run/bhyve"
#define IPC_TIMEOUT_S		10
#define IPC_MAX_REQUEST		65536

/* Decide the socket's path and check it can be made (before the VM). */
int ipc_check(const char *vmname);
/* Listen (after evloop_init). */
int ipc_start(void);
/* Close and remove the socket. */
void ipc_stop(void);

#endif
