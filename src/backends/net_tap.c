/* The tap backend: an existing Linux tap interface (`tapN`, or a bhyve
 * `vmnetN` name), attached through /dev/net/tun with IFF_TAP|IFF_NO_PI and,
 * when the kernel offers it, IFF_VNET_HDR so checksum and TSO offloads can
 * pass in both directions.  The interface must exist (`ip tuntap add dev
 * tap0 mode tap [user U]`): a tap bhyve created itself would vanish with the
 * VM and have nobody on the host side.  The fd is non-blocking; receive
 * reads a frame straight into guest buffers when the frontend has taken
 * room for the largest (recv_direct), otherwise into a bounce buffer so
 * its length is known before guest buffers are taken. */
#include "backends/net_priv.h"
#include "backends/evloop.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct tap {
	int fd;
	struct ev *ev;
	bool vnet;		/* IFF_VNET_HDR in use */
	ssize_t blen;		/* bytes of the frame in buf, 0 when empty */
	/* +1: a frame longer than any allowed reads as too long (dropped)
	 * instead of silently truncated */
	uint8_t buf[NETBE_MAX_HDR + NETBE_MAX_FRAME + 1];
};

static int tap_check(const char *node, const char *dev)
{
	if (strlen(dev) >= IFNAMSIZ || strchr(dev, '/') != NULL)
		return fail("%s.backend: invalid tap interface name '%s'",
		    node, dev);
	if (if_nametoindex(dev) == 0)
		return fail("%s.backend: tap interface '%s' does not exist "
		    "(create it with: ip tuntap add dev %s mode tap)", node,
		    dev, dev);
	return 0;
}

/* Bring the interface up as bhyve does; needs CAP_NET_ADMIN, so an
 * unprivileged user's tap (already up) is left as it is. */
static void tap_up(const char *dev)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		(void)ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

static int tap_open(struct netbe *be, const char *node, const char *dev)
{
	struct tap *t = calloc(1, sizeof(*t));
	struct ifreq ifr;
	unsigned feat = 0;

	if (t == NULL)
		return fail("out of memory");
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		fail_errno("%s.backend: tap '%s': cannot open /dev/net/tun",
		    node, dev);
		free(t);
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(t->fd, TUNGETFEATURES, &feat) == 0 &&
	    (feat & IFF_VNET_HDR))
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (ioctl(t->fd, TUNSETIFF, &ifr) != 0) {
		int e = errno;
		close(t->fd);
		free(t);
		errno = e;
		if (e == EINVAL || e == EBUSY)
			return fail("%s.backend: cannot attach to '%s': not a "
			    "tap interface, or in use by another process",
			    node, dev);
		return fail_errno("%s.backend: cannot attach to tap '%s'",
		    node, dev);
	}
	t->vnet = (ifr.ifr_flags & IFF_VNET_HDR) != 0;
	if (t->vnet) {
		int len = 10;
		/* Offloads stay off until the frontend asks for them. */
		if (ioctl(t->fd, TUNSETVNETHDRSZ, &len) != 0 ||
		    ioctl(t->fd, TUNSETOFFLOAD, 0) != 0)
			t->vnet = false;
	}
	be->be_hdr_len = t->vnet ? 10 : 0;
	be->priv = t;
	tap_up(dev);
	return 0;
}

static void tap_close(struct netbe *be)
{
	struct tap *t = be->priv;

	ev_del(t->ev);
	close(t->fd);
	free(t);
}

static void tap_readable(int fd, uint32_t events, void *arg)
{
	struct netbe *be = arg;

	(void)fd;
	(void)events;
	netbe_notify_rx(be);
}

static int tap_start(struct netbe *be)
{
	struct tap *t = be->priv;

	t->ev = ev_add_on(be->loop, t->fd, false, tap_readable, be);
	if (t->ev == NULL)
		return -1;
	return ev_enable(t->ev, false);
}

static ssize_t tap_send(struct netbe *be, const struct iovec *iov,
    int iovcnt)
{
	struct tap *t = be->priv;
	ssize_t r;

	do
		r = writev(t->fd, iov, iovcnt);
	while (r < 0 && errno == EINTR);
	return r;	/* EAGAIN: the interface queue is full; dropped */
}

static ssize_t tap_peek(struct netbe *be, const uint8_t **frame)
{
	struct tap *t = be->priv;
	ssize_t r;

	if (t->blen == 0) {
		do
			r = read(t->fd, t->buf, sizeof(t->buf));
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 :
			    -1;
		t->blen = r;
	}
	*frame = t->buf;
	return t->blen;
}

static ssize_t tap_recv_direct(struct netbe *be, const struct iovec *iov,
    int iovcnt)
{
	struct tap *t = be->priv;
	ssize_t r;

	if (t->blen > 0)
		return -2;
	/* A frame longer than iov is cut short, and readv still returns
	 * its whole length (tun_put_user): the caller drops it. */
	do
		r = readv(t->fd, iov, iovcnt);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	return r;
}

static void tap_consume(struct netbe *be)
{
	struct tap *t = be->priv;

	t->blen = 0;
}

static void notify_call(void *arg)
{
	netbe_notify_rx(arg);
}

static void tap_rx_enable(struct netbe *be, bool on)
{
	struct tap *t = be->priv;

	if (t->ev)
		ev_enable(t->ev, on);
	/* A frame already in the bounce buffer raises no fd event. */
	if (on && t->blen > 0)
		ev_call_on(be->loop, notify_call, be);
}

static uint64_t tap_get_cap(struct netbe *be)
{
	struct tap *t = be->priv;

	if (!t->vnet)
		return 0;
	return NETBE_F_CSUM | NETBE_F_GUEST_CSUM | NETBE_F_HOST_TSO4 |
	    NETBE_F_HOST_TSO6 | NETBE_F_HOST_ECN | NETBE_F_GUEST_TSO4 |
	    NETBE_F_GUEST_TSO6 | NETBE_F_GUEST_ECN;
}

static int tap_set_cap(struct netbe *be, uint64_t features, unsigned hdr_len)
{
	struct tap *t = be->priv;
	unsigned long off = 0;
	int len = (int)hdr_len;

	if (!t->vnet)
		return features ? -1 : 0;
	/* What the kernel may hand us (and so the guest) unfinished. */
	if (features & NETBE_F_GUEST_CSUM) {
		off |= TUN_F_CSUM;
		if (features & NETBE_F_GUEST_TSO4)
			off |= TUN_F_TSO4;
		if (features & NETBE_F_GUEST_TSO6)
			off |= TUN_F_TSO6;
		if ((features & NETBE_F_GUEST_ECN) &&
		    (off & (TUN_F_TSO4 | TUN_F_TSO6)))
			off |= TUN_F_TSO_ECN;
	}
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &len) != 0 ||
	    ioctl(t->fd, TUNSETOFFLOAD, off) != 0)
		return -1;
	be->be_hdr_len = hdr_len;
	return 0;
}

#define TAP_OPS(nm, pfx) \
	const struct netbe_ops nm = { \
		.prefix = pfx, .check = tap_check, .open = tap_open, \
		.close = tap_close, .start = tap_start, .send = tap_send, \
		.peek = tap_peek, .consume = tap_consume, \
		.recv_direct = tap_recv_direct, \
		.rx_enable = tap_rx_enable, .get_cap = tap_get_cap, \
		.set_cap = tap_set_cap, \
	}

TAP_OPS(netbe_tap_ops, "tap");
TAP_OPS(netbe_vmnet_ops, "vmnet");
