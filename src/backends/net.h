/* The network backend shared by the network device models (virtio-net,
 * later e1000): a frame goes out as an iovec array and comes in through a
 * "frames may be waiting" callback plus non-blocking peek/receive calls.
 *
 * Backends, chosen by the config node's `backend` value as bhyve does
 * (by prefix, or by an explicit `type`):
 *   tapN, vmnetN   an existing Linux tap interface, opened through
 *                  /dev/net/tun (IFF_TAP|IFF_NO_PI, IFF_VNET_HDR when the
 *                  kernel has it, so checksum/TSO offloads can pass);
 *   slirp          user-mode networking through libslirp: guest network
 *                  10.0.2.0/24, gateway/host 10.0.2.2, DHCP from 10.0.2.15,
 *                  DNS 10.0.2.3; `hostfwd=proto:haddr:hport-gaddr:gport;...`;
 *                  `open=true` lets the guest connect out (by default the
 *                  guest is restricted to the virtual network, as in bhyve);
 *   netgraph, netmap, vale   FreeBSD only: a clear error.
 *
 * Frames as the frontend sees them: when the frontend has set a header
 * length (netbe_set_cap), every frame it sends and receives starts with a
 * virtio-net header of that length (10 or 12 bytes); this layer adds or
 * strips headers when the backend carries none (slirp) or the frontend
 * wants none (e1000 over tap).
 *
 * Threads: netbe_check() and netbe_open() run on the main thread while the
 * VM is built, netbe_close() after the frontend's loop has stopped.  The
 * frontend gives netbe_open() its loop (the device's I/O thread; unit
 * tests give the main loop): the backend's fds, timers and deferred calls
 * live there, and everything else (start, send, peek, recv, rx
 * enable/disable, set_cap) runs on that loop's thread only, so a backend
 * has no locks of its own and never does I/O on a vCPU thread or the main
 * loop; all file descriptors are non-blocking.  libslirp is not
 * thread-safe; after slirp_new() (on the main thread, before the loop
 * serves it) all its calls happen on that one thread. */
#ifndef BHYVE_NET_H
#define BHYVE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct netbe;
struct evloop;

/* Largest frame (without header) any backend passes: a 64 KiB TSO/GSO
 * frame plus its Ethernet/VLAN header.  Larger frames are dropped. */
#define NETBE_MAX_FRAME		(65536 + 64)
#define NETBE_MIN_FRAME		14	/* an Ethernet header */
#define NETBE_MAX_HDR		12	/* virtio_net_hdr_mrg_rxbuf */
#define NETBE_MAX_IOV		256

/* virtio-net feature bits a backend may offer through netbe_get_cap(). */
#define NETBE_F_CSUM		(1ULL << 0)	/* VIRTIO_NET_F_CSUM */
#define NETBE_F_GUEST_CSUM	(1ULL << 1)
#define NETBE_F_GUEST_TSO4	(1ULL << 7)
#define NETBE_F_GUEST_TSO6	(1ULL << 8)
#define NETBE_F_GUEST_ECN	(1ULL << 9)
#define NETBE_F_HOST_TSO4	(1ULL << 11)
#define NETBE_F_HOST_TSO6	(1ULL << 12)
#define NETBE_F_HOST_ECN	(1ULL << 13)

/* Called on the frontend's loop thread when frames may be waiting; the
 * frontend then calls netbe_peek_recvlen()/netbe_recv() until they return
 * 0 or it runs out of guest buffers (then netbe_rx_disable()). */
typedef void (*netbe_rx_cb_t)(void *arg);

/* Validate `node`'s backend settings without opening anything: backend
 * name and type, tap interface present, hostfwd rules.  Messages name the
 * variable and value. */
int netbe_check(const char *node);
/* Open the backend named by `node`.backend (`node`.type overrides the
 * prefix match).  Receive starts disabled. */
int netbe_open(struct netbe **out, const char *node, struct evloop *loop,
    netbe_rx_cb_t cb, void *arg);
void netbe_close(struct netbe *be);
/* Register with the frontend's loop (idempotent; on that loop's thread).
 * Slirp serves its sockets from then on. */
int netbe_start(struct netbe *be);
const char *netbe_name(const struct netbe *be);

/* Offload features the backend can carry (NETBE_F_*). */
uint64_t netbe_get_cap(struct netbe *be);
/* The frontend's choice: offloads the guest accepted and its header
 * length (0, 10 or 12).  -1 for a length or feature it cannot do. */
int netbe_set_cap(struct netbe *be, uint64_t features, unsigned hdr_len);

/* Send one frame (header included when set).  Returns the bytes taken,
 * or -1 when the frame was dropped (bad length, backend full or error). */
ssize_t netbe_send(struct netbe *be, const struct iovec *iov, int iovcnt);
/* Length of the next frame including the frontend's header, 0 when none
 * is waiting, -1 on a backend error. */
ssize_t netbe_peek_recvlen(struct netbe *be);
/* Receive the next frame into iov (header first); returns its length
 * (truncated to the iov's size), 0 when none, -1 on error. */
ssize_t netbe_recv(struct netbe *be, const struct iovec *iov, int iovcnt);
/* Drop the next frame; returns its length or 0. */
ssize_t netbe_rx_discard(struct netbe *be);
/* Room a frontend offers netbe_recv_direct: any frame a backend passes,
 * with the frontend's header, and one byte more (a giant reads longer). */
#define NETBE_DIRECT_ROOM	(NETBE_MAX_HDR + NETBE_MAX_FRAME + 1)
/* Whether netbe_recv_direct can be used: the backend reads whole frames
 * into a caller's buffers, with the frontend's header as it is. */
bool netbe_can_direct(const struct netbe *be);
/* Receive the next frame straight into iov (at least NETBE_DIRECT_ROOM
 * bytes): its length with the header, 0 when none is waiting (or the
 * backend failed), NETBE_DROPPED when one was dropped (runt or giant; iov
 * holds garbage), NETBE_USE_RECV when the next frame must be taken with
 * netbe_peek_recvlen/netbe_recv (one already waits in a bounce buffer). */
#define NETBE_DROPPED	(-1)
#define NETBE_USE_RECV	(-2)
ssize_t netbe_recv_direct(struct netbe *be, const struct iovec *iov,
    int iovcnt);
/* Backpressure: while disabled, the callback is not called and the
 * backend holds (tap: the kernel queue) or drops (slirp: beyond a bounded
 * queue) frames. Enabling calls the callback soon when frames wait. */
void netbe_rx_enable(struct netbe *be);
void netbe_rx_disable(struct netbe *be);

/* Helpers for the network frontends (bhyve's net_utils). */
/* "xx:xx:xx:xx:xx:xx" (1-2 hex digits each); unicast, not all zero. */
int net_parsemac(const char *s, uint8_t mac[6]);
/* The default address: OUI 58:9c:fc and the first three bytes of the MD5
 * of "<slot>-<func>-<vmname>". */
void net_genmac(unsigned slot, unsigned func, const char *vmname,
    uint8_t mac[6]);
/* An MTU in [lo, hi] (decimal or 0x hex). */
int net_parsemtu(const char *s, unsigned lo, unsigned hi, unsigned *mtu);

/* Slirp's port-forwarding rule "proto:haddr:hport-gaddr:gport" (proto tcp
 * or udp; an empty address means any, an empty port 0). Addresses and
 * ports in network byte order. */
struct net_hostfwd {
	bool udp;
	uint32_t haddr, gaddr;
	uint16_t hport, gport;
};
int net_parse_hostfwd(const char *rule, struct net_hostfwd *out);

#endif
