/* Event loops (epoll).  The main loop serves every backend: terminals,
 * sockets, timers, signals, asynchronous I/O completions; it runs in the
 * main thread (evloop_run).  A device's I/O thread is a loop of its own
 * on a thread of its own (evloop_start): disk and network work, which
 * never runs on a vCPU thread or the main loop.  vCPU threads never wait
 * on host I/O.
 *
 * Threads: the calls without a loop argument (ev_add, ev_timer_add,
 * ev_call, evloop_quit) are the main loop's; the `_on` forms take a loop.
 * An entry remembers its loop.  ev_enable(), ev_set_events(),
 * ev_timer_arm(), ev_call*() and evloop_quit() may be called from any
 * thread.  ev_add*()/ev_timer_add*()/ev_del() may be called from any
 * thread too; an entry deleted while its loop is dispatching a batch of
 * events is freed only after that batch, so a callback never runs on
 * freed memory, and ev_enable() on an entry already deleted is a no-op
 * (the entry stays valid until the batch ends).  After ev_del() returns,
 * its callback is not called again; on a loop with its own thread,
 * ev_del() from another thread also waits until a running callback of
 * that entry has returned.  The owner of an entry must not use the
 * pointer once the current batch has ended.
 * Lock: each loop has one mutex (evloop.c's `lock` in struct evloop) over
 * its entries' state, deferred frees, call queue and running entry;
 * callbacks run without it held, and no other lock is taken under it. */
#ifndef BHYVE_EVLOOP_H
#define BHYVE_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ev;
struct evloop;
typedef void (*ev_cb_t)(int fd, uint32_t events, void *arg);
typedef void (*ev_timer_cb_t)(void *arg);

/* The main loop.  Idempotent: a device may call it before main does. */
int evloop_init(void);
void evloop_fini(void);
struct evloop *evloop_main(void);

/* A loop on a new thread named `name` (15 characters kept), running. */
struct evloop *evloop_start(const char *name);
/* Stop it and join its thread (not from that thread); its entries stay
 * valid, ev_del() then frees at once. */
void evloop_stop(struct evloop *l);
/* Stop it if running and free it; its owners have deleted its entries. */
void evloop_free(struct evloop *l);

/* Watch fd for EPOLLIN (and EPOLLOUT when `out`). */
struct ev *ev_add(int fd, bool out, ev_cb_t cb, void *arg);
struct ev *ev_add_on(struct evloop *l, int fd, bool out, ev_cb_t cb,
    void *arg);
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
struct ev *ev_timer_add_on(struct evloop *l, ev_timer_cb_t cb, void *arg);
int ev_timer_arm(struct ev *e, uint64_t first_ns, uint64_t period_ns);

/* Run fn(arg) on the loop thread soon (any thread; in order). */
int ev_call(void (*fn)(void *), void *arg);
int ev_call_on(struct evloop *l, void (*fn)(void *), void *arg);

/* Run the main loop until evloop_quit() is called (from a callback or
 * any thread). */
int evloop_run(void);
void evloop_quit(void);

#endif
