/* Character backends for serial ports: "stdio" (the bhyve process's own
 * standard input and output, put in raw mode) and a host terminal device
 * path such as /dev/pts/N.  Terminals are restored on every exit path. */
#ifndef BHYVE_TTY_H
#define BHYVE_TTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ttybe;

/* Called from the event loop when input is ready; it should call
 * ttybe_read().  */
typedef void (*ttybe_readable_t)(void *arg);

/* Check a backend name without opening it (for early validation). */
int ttybe_check(const char *path);
int ttybe_open(struct ttybe **out, const char *path, ttybe_readable_t cb,
    void *arg);
/* Register with the event loop (after evloop_init). */
int ttybe_start(struct ttybe *t);
/* Read up to len bytes; 0 when none available or at end of input. */
int ttybe_read(struct ttybe *t, uint8_t *buf, unsigned len);
/* Queue a byte for output; never blocks (any thread).  Bytes that do not
 * fit the bounded buffer are dropped and counted; ttybe_close() drains
 * for a bounded time and reports the count on stderr. */
void ttybe_write(struct ttybe *t, uint8_t byte);
/* One line of output state for diagnostics (SIGUSR2 dump). */
int ttybe_describe(struct ttybe *t, char *buf, size_t len);
/* Pause/resume input (flow control from the device's FIFO). */
void ttybe_rx_enable(struct ttybe *t, bool on);
void ttybe_close(struct ttybe *t);

/* Put every terminal we changed back as it was (and the file status flags
 * of any description we made non-blocking); async-signal-safe. */
void tty_restore_all(void);

#endif
