/* The one event loop (epoll) that serves every backend: terminals,
 * sockets, timers, signals, asynchronous I/O completions.  It runs in the
 * main thread; vCPU threads never wait on host I/O.
 *
 * Threads: evloop_run() runs on the main thread only.  ev_enable(),
 * ev_set_events(), ev_timer_arm(), ev_call() and evloop_quit() may be
 * called from any thread.  ev_add()/ev_timer_add()/ev_del() may be called
 * from any thread too; an entry deleted while the loop is dispatching a
 * batch of events is freed only after that batch, so a callback never runs
 * on freed memory, and ev_enable() on an entry already deleted is a no-op
 * (the entry stays valid until the batch ends).  After ev_del() returns,
 * its callback is not called again.  The owner of an entry must not use
 * the pointer once the current batch has ended.
 * Lock: one mutex (evloop.c's `lock`) guards the entry list, the deferred
 * frees and the call queue; callbacks run without it held. */
#ifndef BHYVE_EVLOOP_H
#define BHYVE_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ev;
typedef void (*ev_cb_t)(int fd, uint32_t events, void *arg);
typedef void (*ev_timer_cb_t)(void *arg);

/* Idempotent: a device may call it before main does. */
int evloop_init(void);
void evloop_fini(void);
/* Watch fd for EPOLLIN (and EPOLLOUT when `out`). */
struct ev *ev_add(int fd, bool out, ev_cb_t cb, void *arg);
/* Watch for input, output, both or neither (any thread). */
int ev_set_events(struct ev *e, bool in, bool out);
/* Enable/disable a watch with the events it was added with (any thread). */
int ev_enable(struct ev *e, bool on);
/* Stop watching and free (deferred past the current batch). */
void ev_del(struct ev *e);

/* A timer (timerfd): cb runs on the loop thread.  Arm with the first
 * expiry after first_ns and then every period_ns (0: one-shot);
 * first_ns == 0 disarms.  Any thread. */
struct ev *ev_timer_add(ev_timer_cb_t cb, void *arg);
int ev_timer_arm(struct ev *e, uint64_t first_ns, uint64_t period_ns);

/* Run fn(arg) on the loop thread soon (any thread; in order). */
int ev_call(void (*fn)(void *), void *arg);

/* Run until evloop_quit() is called (from a callback or any thread). */
int evloop_run(void);
void evloop_quit(void);

#endif
