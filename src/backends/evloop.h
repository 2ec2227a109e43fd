/* The one event loop (epoll) that serves every backend: terminals,
 * sockets, timers, signals.  It runs in the main thread; vCPU threads never
 * wait on host I/O. */
#ifndef BHYVE_EVLOOP_H
#define BHYVE_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ev;
typedef void (*ev_cb_t)(int fd, uint32_t events, void *arg);

int evloop_init(void);
void evloop_fini(void);
/* Watch fd for EPOLLIN (and EPOLLOUT when `out`). */
struct ev *ev_add(int fd, bool out, ev_cb_t cb, void *arg);
/* Enable/disable a watch (safe from any thread). */
int ev_enable(struct ev *e, bool on);
void ev_del(struct ev *e);
/* Run until ev_loop_quit() is called from a callback. */
int evloop_run(void);
void evloop_quit(void);

#endif
