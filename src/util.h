/* Small shared helpers: error messages that travel up as return values,
 * number and size parsing, logging. */
#ifndef BHYVE_UTIL_H
#define BHYVE_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* Round x up to a multiple of a (a power of two), in x's type. */
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))

/* Record an error message (printf format) and return -1.  The message is
 * kept per thread; main() prints it once and exits. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, with ": strerror(errno)" appended. */
int fail_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Put "prefix: " in front of the current message; returns -1. */
int fail_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *last_error(void);
void clear_error(void);

/* pthread_create for bhyve's helper threads (I/O threads, block
 * workers): a 256 KiB stack instead of glibc's 8 MiB default, which the
 * kernel may back with a 2 MiB transparent huge page on first touch (that
 * counted as 2 MiB of VMM memory per thread).  Returns 0 or an errno. */
int thread_create(pthread_t *t, void *(*fn)(void *), void *arg);

/* Write a message to stderr, never blocking for longer than wait_ms
 * (stderr may be a pipe or terminal nobody reads; then the message is
 * dropped): through a non-blocking description of our own for pipes and
 * terminals, MSG_DONTWAIT for sockets, fd 2 itself for regular files.
 * Any thread; not from signal handlers.  Only the main thread before the
 * vCPUs start and after they stop passes a wait (at most a second). */
void stderr_write(const char *msg, int wait_ms);
/* While the VM runs, messages never wait (set by the vCPU start/stop). */
void stderr_set_running(bool running);
/* The bounded wait for the main thread's messages: 1000 ms, 0 while the
 * VM runs. */
int stderr_wait_ms(void);

/* Rate-limited log line for guest-triggered oddities (never fatal). */
void guest_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Informational message on stderr (the terminal may be raw: uses \r\n). */
void warnx_raw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Before a message about the guest's end (a triple fault's state dump):
 * let the consoles' writers catch up, waiting at most wait_ms, so the
 * guest's last output comes before the message when both go to one file.
 * The console backend registers the hook. */
void console_sync(unsigned wait_ms);
void console_sync_hook(void (*fn)(unsigned wait_ms));

/* Developer tracing, on when the environment has BHYVE_TRACE set: stderr
 * lines "bhyve-trace: <ms since start> <what>" at boot milestones, and exit
 * statistics when the VM stops.  Costs nothing when off. */
extern bool trace_on;
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t monotonic_ns(void);

void trace_init(void);
void trace_point(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse a decimal/hex (0x) unsigned integer, whole string, no sign. */
int parse_u64(const char *s, uint64_t *out);
int parse_uint_range(const char *s, unsigned lo, unsigned hi, unsigned *out);
/* Parse bhyve's memory size: digits with optional K/M/G/T suffix (either
 * case); no suffix means MiB.  Result in bytes; rejects overflow. */
int parse_memsize(const char *s, uint64_t *bytes);
/* true/on/yes/1 and false/off/no/0 */
int parse_bool(const char *s, bool *out);

/* Copy between scatter-gather segments (a virtqueue chain, a frame) and a
 * flat buffer, starting `skip` bytes into the segments; return the bytes
 * copied (short when the segments end first).  E.g. the device-readable header of a request:
 * iov_to_buf(iov, c.nout, 0, &hdr, sizeof(hdr)); its status byte at the
 * end of the writable part: iov_from_buf(iov + c.nout, c.nin,
 * c.inlen - 1, &st, 1). */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip,
    void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip,
    const void *buf, size_t len);

#endif
