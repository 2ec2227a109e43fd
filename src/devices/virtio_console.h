/* virtio-console (virtio_console.c). */
#ifndef BHYVE_VIRTIO_CONSOLE_H
#define BHYVE_VIRTIO_CONSOLE_H

/* Check every virtio-console's ports in the frozen tree (ids, names,
 * socket paths: directory exists, path absent or a stale socket, no path
 * twice) before anything is built; main() calls it early so bad input
 * fails at once, with nothing created. */
int vtcon_check_config(void);

#endif
