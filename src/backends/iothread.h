/* I/O threads: a thread with its own epoll loop, for device work that may
 * block on host I/O (disk, network) and must never run on a vCPU thread or
 * the event loop.  Callbacks run on the I/O thread, one at a time.
 * iothread_add/iothread_del may be called from any thread; after
 * iothread_del returns, the callback is not running and will not run
 * again (unless iothread_del is called from that callback itself, which
 * is allowed).  Lock: `lock` in struct iothread guards the watch list. */
#ifndef BHYVE_IOTHREAD_H
#define BHYVE_IOTHREAD_H

#include <stdbool.h>
#include <stdint.h>

struct iothread;
struct iowatch;
typedef void (*iowatch_cb_t)(int fd, void *arg);

/* Start a thread named `name` (at most 15 characters are kept). */
struct iothread *iothread_create(const char *name);
/* Stop and join it, freeing its watches (not from its own thread). */
void iothread_destroy(struct iothread *it);
/* Call cb when fd becomes readable (level-triggered: read it). */
struct iowatch *iothread_add(struct iothread *it, int fd, iowatch_cb_t cb,
    void *arg);
void iothread_del(struct iothread *it, struct iowatch *w);

#endif
