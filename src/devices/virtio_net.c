/* virtio-net (bhyve's "virtio-net"): a receive and a transmit queue over
 * the shared network backend (backends/net.h).
 *
 * Options (bhyve's): the first bare token is `backend` (tapN, vmnetN,
 * slirp; netgraph is FreeBSD only); `mac=xx:xx:xx:xx:xx:xx` (unicast, not
 * zero), without it 58:9c:fc + MD5("<slot>-<func>-<vmname>")[0..2] as
 * bhyve derives it; `mtu=N` (46..65535) offers VIRTIO_NET_F_MTU.  Without a
 * backend the interface is unconnected (frames sent vanish).
 *
 * Features: MAC, STATUS (link always up), MRG_RXBUF, MTU when given, and
 * the checksum/TSO offloads the backend can carry (a tap with a vnet
 * header: CSUM, GUEST_CSUM, HOST/GUEST_TSO4/6, ECN; none for slirp).
 *
 * Threads: the transport calls notify on the device's I/O thread
 * (VIRTIO_CTX_IOTHREAD, a loop of its own), and the backend, opened on
 * that loop, calls its receive callback there too: the receive and
 * transmit paths, the backend (tap or slirp) and struct vtnet_core run on
 * that one thread, without locks, never on a vCPU or the main loop;
 * backend fds are non-blocking, and every pass is bounded (a budget, then
 * an ev_call_on to continue).  Both paths tell the guest of each frame as
 * soon as it is in the used ring (as far as the event index or flags ask),
 * not at the end of a pass.  reset and driver_ok come on a vCPU thread:
 * they only flip `want_running` and queue the real work to the I/O
 * thread.  `cfg_lock` guards the config bytes (read and, for the MAC of
 * legacy drivers, written on vCPU threads). */
#include "devices/virtio_net.h"
#include "bus/pci.h"
#include "backends/evloop.h"
#include "config.h"
#include "util.h"
#include "virtio/virtio.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VTNET_BUDGET	128	/* frames per pass before yielding */
#define VTNET_CFGSIZE	12	/* mac[6], status, max_virtqueue_pairs, mtu */

/* ---- receive and transmit (the I/O thread) ---- */

/* Bytes of the iov, to write a header field at `off`. */
static void iov_put16(const struct iovec *iov, int n, size_t off, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	size_t k = 0;

	for (int i = 0; i < n && k < 2; i++) {
		size_t l = iov[i].iov_len;
		while (off < l && k < 2)
			((uint8_t *)iov[i].iov_base)[off++] = b[k++];
		off = off >= l ? off - l : 0;
	}
}

/* Give back the chains taken for a frame that will not be delivered. */
static void rx_release(struct vtnet_core *c, unsigned nch)
{
	for (unsigned i = 0; i < nch; i++)
		vq_relchain(c->rxq, &c->chains[i], 0);
}

/* Give back chains [from, nch) taken but not filled: to the avail ring
 * when they were the last taken, or empty to the used ring when a useless
 * chain was already returned behind them. */
static void rx_giveback(struct vtnet_core *c, unsigned from, unsigned nch,
    bool mixed)
{
	for (unsigned i = from; i < nch; i++) {
		if (mixed)
			vq_relchain(c->rxq, &c->chains[i], 0);
		else
			vq_retchain(c->rxq);
	}
}

/* A receive chain just taken into c->chains[nch] (its iovecs in c->tmp):
 * its device-writable part goes to c->fiov at *nio, its room to
 * c->clen[nch]; true when usable.  A useless one (no room, or the first
 * of a frame without room for the header) is returned empty at once;
 * *mixed then tells that chains taken before it cannot go back to the
 * avail ring. */
static bool rx_add(struct vtnet_core *c, unsigned nch, int *nio, bool *mixed)
{
	struct vq_chain *ch = &c->chains[nch];
	uint32_t usable = 0;
	int n = *nio;

	for (unsigned i = ch->nout; i < (unsigned)ch->nout + ch->nin &&
	    n < NETBE_MAX_IOV; i++) {
		c->fiov[n++] = c->tmp[i];
		usable += (uint32_t)c->tmp[i].iov_len;
	}
	if (usable == 0 || (nch == 0 && usable < c->hdr_len)) {
		vq_relchain(c->rxq, ch, 0);
		*mixed |= nch > 0;
		c->bad_chains++;
		return false;
	}
	*nio = n;
	c->clen[nch] = usable;
	return true;
}

/* A frame of len bytes fills chains [0, nuse): its num_buffers, then each
 * chain to the used ring with its share.  The guest hears of it at once
 * (if it asked to, event index or flags) rather than at the pass's end:
 * it starts on the first frame while the rest are copied, and its
 * acknowledgements come back sooner. */
static void rx_deliver(struct vtnet_core *c, unsigned nuse, int nio,
    size_t len)
{
	if (c->hdr_len == 12)	/* num_buffers */
		iov_put16(c->fiov, nio, 10, (uint16_t)nuse);
	for (unsigned i = 0; i < nuse; i++) {
		uint32_t w = c->clen[i] < len ? c->clen[i] : (uint32_t)len;

		vq_relchain(c->rxq, &c->chains[i], w);
		len -= w;
	}
	c->rx_frames++;
	vq_endchains(c->rxq);
}

enum direct_result { DIRECT_DONE, DIRECT_NONE, DIRECT_FALLBACK,
	DIRECT_MORE, DIRECT_STOPPED };

/* With mergeable buffers and a backend that can (a tap with the guest's
 * header): take buffers for the largest frame and let the backend read
 * the next frame straight into them, sparing the bounce buffer and a
 * copy; the buffers left over go back.  FALLBACK when the guest offers
 * less room than that, or the backend holds a frame already: the caller
 * takes the frame the other way. */
static enum direct_result rx_direct(struct vtnet_core *c, unsigned *taken)
{
	struct vq *vq = c->rxq;
	size_t room = 0;
	unsigned nch = 0, nuse;
	int nio = 0;
	bool mixed = false;
	ssize_t got, left;

	while (room < NETBE_DIRECT_ROOM) {
		int r;

		if (nch == VTNET_MAXCHAINS || nio == NETBE_MAX_IOV ||
		    *taken >= 4 * VTNET_QSIZE) {
			rx_giveback(c, 0, nch, mixed);
			return *taken >= 4 * VTNET_QSIZE ? DIRECT_MORE :
			    DIRECT_FALLBACK;
		}
		r = vq_getchain(vq, &c->chains[nch], c->tmp, VTNET_MAXIOV);
		if (r < 0) {
			c->bad_chains++;
			rx_release(c, nch);
			return DIRECT_STOPPED;
		}
		if (r == 0) {
			rx_giveback(c, 0, nch, mixed);
			return DIRECT_FALLBACK;
		}
		(*taken)++;
		if (rx_add(c, nch, &nio, &mixed))
			room += c->clen[nch++];
	}
	got = netbe_recv_direct(c->be, c->fiov, nio);
	if (got == 0 || got == NETBE_USE_RECV) {
		rx_giveback(c, 0, nch, mixed);
		return got == 0 ? DIRECT_NONE : DIRECT_FALLBACK;
	}
	if (got < 0 || (size_t)got > room) {	/* dropped */
		rx_giveback(c, 0, nch, mixed);
		c->rx_dropped++;
		return DIRECT_DONE;
	}
	left = got;
	for (nuse = 0; left > 0; nuse++)
		left -= (ssize_t)c->clen[nuse];
	rx_deliver(c, nuse, nio, (size_t)got);
	rx_giveback(c, nuse, nch, mixed);
	c->rx_big = got >= VTNET_BIG;
	return DIRECT_DONE;
}

enum vtnet_result vtnet_rx_run(struct vtnet_core *c, unsigned budget)
{
	struct vq *vq = c->rxq;
	unsigned frames = 0, taken = 0;
	bool direct;

	if (!c->running)
		return VTNET_STOPPED;
	/* Large frames come in streams (TSO): after one, the next are read
	 * straight into guest buffers, which costs taking buffers for the
	 * largest frame each time; small ones go through the backend's
	 * bounce buffer, which takes only the buffers they need. */
	direct = c->mergeable && netbe_can_direct(c->be);
	for (;;) {
		ssize_t plen;
		size_t room = 0;
		unsigned nch = 0;
		int nio = 0;
		bool mixed = false;	/* a useless chain was returned */
		ssize_t got;

		if (frames >= budget || taken >= 4 * VTNET_QSIZE) {
			vq_endchains(vq);
			return VTNET_MORE;
		}
		if (direct && c->rx_big) {
			switch (rx_direct(c, &taken)) {
			case DIRECT_DONE:
				frames++;
				continue;
			case DIRECT_NONE:
				vq_endchains(vq);
				return VTNET_IDLE;
			case DIRECT_MORE:
				vq_endchains(vq);
				return VTNET_MORE;
			case DIRECT_STOPPED:
				vq_endchains(vq);
				return VTNET_STOPPED;
			case DIRECT_FALLBACK:
				break;
			}
		}
		plen = netbe_peek_recvlen(c->be);
		if (plen <= 0)
			break;
		c->rx_big = plen >= VTNET_BIG;
		/* Buffers for plen bytes: one chain, or as many as needed
		 * with mergeable buffers. */
		while (room < (size_t)plen && nch < VTNET_MAXCHAINS &&
		    nio < NETBE_MAX_IOV) {
			int r = vq_getchain(vq, &c->chains[nch], c->tmp,
			    VTNET_MAXIOV);

			if (r < 0) {
				c->bad_chains++;
				rx_release(c, nch);
				vq_endchains(vq);
				return VTNET_STOPPED;
			}
			if (r == 0) {
				/* Out of buffers: ask for a notification and
				 * look once more (the guest may have just
				 * added some). */
				vq_set_notify(vq, true);
				if (vq_has_descs(vq)) {
					vq_set_notify(vq, false);
					continue;
				}
				/* Keep the frame for later. */
				rx_giveback(c, 0, nch, mixed);
				netbe_rx_disable(c->be);
				vq_endchains(vq);
				return VTNET_IDLE;
			}
			taken++;
			/* Only the device-writable part receives data. */
			if (!rx_add(c, nch, &nio, &mixed)) {
				if (taken >= 4 * VTNET_QSIZE)
					break;
				continue;
			}
			room += c->clen[nch++];
			if (!c->mergeable)
				break;
		}
		if (room < (size_t)plen) {
			/* The frame does not fit what the guest offers (or
			 * too many pieces): drop it; the buffers go back
			 * empty. */
			netbe_rx_discard(c->be);
			rx_release(c, nch);
			c->rx_dropped++;
			frames++;
			continue;
		}
		got = netbe_recv(c->be, c->fiov, nio);
		if (got != plen) {
			rx_release(c, nch);
			c->rx_dropped++;
			frames++;
			continue;
		}
		rx_deliver(c, nch, nio, (size_t)got);
		frames++;
	}
	vq_endchains(vq);
	return VTNET_IDLE;
}

enum vtnet_result vtnet_tx_run(struct vtnet_core *c, unsigned budget)
{
	struct vq *vq = c->txq;
	unsigned n = 0;

	if (!c->running)
		return VTNET_STOPPED;
	vq_set_notify(vq, false);
	for (;;) {
		struct vq_chain ch;
		int r;

		if (n >= budget)
			return VTNET_MORE;
		r = vq_getchain(vq, &ch, c->tmp, VTNET_MAXIOV);
		if (r < 0) {
			c->bad_chains++;
			return VTNET_STOPPED;
		}
		if (r == 0) {
			vq_set_notify(vq, true);
			if (!vq_has_descs(vq))
				break;
			vq_set_notify(vq, false);
			continue;
		}
		/* The header and frame are the device-readable part;
		 * netbe_send checks the lengths and drops what is bad. */
		if (ch.nout == 0 || netbe_send(c->be, c->tmp, ch.nout) < 0)
			c->tx_dropped++;
		else
			c->tx_frames++;
		/* The guest hears of it now, not when the pass ends (so no
		 * exit below has anything left to signal): its TCP holds a
		 * sender back while the frames it has queued are not freed
		 * (TSQ), and frees them when told. */
		vq_relchain(vq, &ch, 0);
		vq_endchains(vq);
		n++;
	}
	return VTNET_IDLE;
}

/* ---- the device ---- */

struct vtnet {
	struct vtnet_core c;		/* the I/O thread */
	struct virtio_dev *vdev;
	struct evloop *loop;		/* the I/O thread's */
	struct virtio_ops ops;
	atomic_bool want_running;	/* set by driver_ok, cleared by reset */
	bool rx_queued, tx_queued;	/* continuation queued (I/O thread) */
	pthread_mutex_t cfg_lock;
	uint8_t cfg[VTNET_CFGSIZE];
};

static void rx_kick(struct vtnet *sc);
static void tx_kick(struct vtnet *sc);

static void rx_again(void *arg)
{
	struct vtnet *sc = arg;

	sc->rx_queued = false;
	rx_kick(sc);
}

static void tx_again(void *arg)
{
	struct vtnet *sc = arg;

	sc->tx_queued = false;
	tx_kick(sc);
}

static void rx_kick(struct vtnet *sc)
{
	if (vtnet_rx_run(&sc->c, VTNET_BUDGET) == VTNET_MORE &&
	    !sc->rx_queued && ev_call_on(sc->loop, rx_again, sc) == 0)
		sc->rx_queued = true;
}

static void tx_kick(struct vtnet *sc)
{
	if (vtnet_tx_run(&sc->c, VTNET_BUDGET) == VTNET_MORE &&
	    !sc->tx_queued && ev_call_on(sc->loop, tx_again, sc) == 0)
		sc->tx_queued = true;
}

/* The backend has frames. */
static void vtnet_rx_ready(void *arg)
{
	rx_kick(arg);
}

static void vtnet_notify(void *arg, struct vq *vq)
{
	struct vtnet *sc = arg;

	if (!sc->c.running)
		return;
	if (vq == sc->c.rxq) {
		/* New buffers: receive again until they run out. */
		vq_set_notify(vq, false);
		netbe_rx_enable(sc->c.be);
		rx_kick(sc);
	} else if (vq == sc->c.txq) {
		tx_kick(sc);
	}
}

/* On the I/O thread after DRIVER_OK: the features are final. */
static void start_call(void *arg)
{
	struct vtnet *sc = arg;
	uint64_t f = virtio_features(sc->vdev);
	uint64_t off = f & netbe_get_cap(sc->c.be);

	if (!atomic_load(&sc->want_running))
		return;
	sc->c.mergeable = (f >> VIRTIO_NET_F_MRG_RXBUF) & 1;
	sc->c.hdr_len = (sc->c.mergeable || ((f >> VIRTIO_F_VERSION_1) & 1)) ?
	    12 : 10;
	if (netbe_set_cap(sc->c.be, off, sc->c.hdr_len) != 0 ||
	    netbe_start(sc->c.be) != 0) {
		virtio_needs_reset(sc->vdev, "network backend setup failed");
		return;
	}
	sc->c.running = true;
	netbe_rx_enable(sc->c.be);
	rx_kick(sc);
	tx_kick(sc);
}

/* On the I/O thread after a reset: stop until the driver is back. */
static void stop_call(void *arg)
{
	struct vtnet *sc = arg;

	if (atomic_load(&sc->want_running))
		return;		/* a new DRIVER_OK came meanwhile */
	sc->c.running = false;
	netbe_rx_disable(sc->c.be);
	/* A frame already read was framed for the old header length. */
	netbe_rx_discard(sc->c.be);
}

static void vtnet_driver_ok(void *arg)
{
	struct vtnet *sc = arg;

	atomic_store(&sc->want_running, true);
	ev_call_on(sc->loop, start_call, sc);
}

static void vtnet_reset(void *arg)
{
	struct vtnet *sc = arg;

	atomic_store(&sc->want_running, false);
	ev_call_on(sc->loop, stop_call, sc);
}

static int vtnet_cfgread(void *arg, unsigned off, unsigned size,
    uint32_t *val)
{
	struct vtnet *sc = arg;
	uint32_t v = 0;

	if (size > 4 || off >= VTNET_CFGSIZE || size > VTNET_CFGSIZE - off) {
		*val = 0;
		return 0;
	}
	pthread_mutex_lock(&sc->cfg_lock);
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)sc->cfg[off + i] << (8 * i);
	pthread_mutex_unlock(&sc->cfg_lock);
	*val = v;
	return 0;
}

/* Legacy drivers may set the MAC; everything else is read-only. */
static int vtnet_cfgwrite(void *arg, unsigned off, unsigned size,
    uint32_t val)
{
	struct vtnet *sc = arg;

	if (size > 4 || off >= 6 || size > 6 - off)
		return 0;
	pthread_mutex_lock(&sc->cfg_lock);
	for (unsigned i = 0; i < size; i++)
		sc->cfg[off + i] = (uint8_t)(val >> (8 * i));
	pthread_mutex_unlock(&sc->cfg_lock);
	return 0;
}

static void vtnet_teardown(void *arg)
{
	struct vtnet *sc = arg;

	netbe_close(sc->c.be);
	pthread_mutex_destroy(&sc->cfg_lock);
	free(sc);
}

/* mac= and mtu= of `node` (messages name the variable). */
static int vtnet_options(const char *node, unsigned slot, unsigned func,
    uint8_t mac[6], unsigned *mtu, bool *mtu_given)
{
	const char *m = config_getf("%s.mac", node);
	const char *u = config_getf("%s.mtu", node);

	if (m != NULL) {
		if (net_parsemac(m, mac) != 0)
			return fail_prefix("%s.mac", node);
	} else {
		net_genmac(slot, func, config_get("name"), mac);
	}
	*mtu = 1500;
	*mtu_given = u != NULL;
	if (u != NULL && net_parsemtu(u, VTNET_MIN_MTU, VTNET_MAX_MTU, mtu))
		return fail_prefix("%s.mtu", node);
	return 0;
}

/* Everything that can be checked before the VM exists. */
static int vtnet_check(const char *node, unsigned bus, unsigned slot,
    unsigned func)
{
	uint8_t mac[6];
	unsigned mtu;
	bool given;

	(void)bus;
	if (vtnet_options(node, slot, func, mac, &mtu, &given) != 0)
		return -1;
	if (config_getf("%s.backend", node) != NULL)
		return netbe_check(node);
	return 0;
}

static int vtnet_init(struct vm *vm, struct pci_devinst *pi,
    const char *node)
{
	struct vtnet *sc = calloc(1, sizeof(*sc));
	uint8_t mac[6];
	unsigned mtu;
	bool mtu_given;
	uint64_t features;

	if (sc == NULL)
		return fail("out of memory");
	if (vtnet_options(node, pi->slot, pi->func, mac, &mtu, &mtu_given)
	    != 0) {
		free(sc);
		return -1;
	}
	pthread_mutex_init(&sc->cfg_lock, NULL);
	memcpy(sc->cfg, mac, 6);
	sc->cfg[6] = VIRTIO_NET_S_LINK_UP;	/* status */
	sc->cfg[8] = 1;				/* max_virtqueue_pairs */
	sc->cfg[10] = (uint8_t)mtu;
	sc->cfg[11] = (uint8_t)(mtu >> 8);
	sc->c.hdr_len = 12;
	features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
	    (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	if (mtu_given)
		features |= 1ULL << VIRTIO_NET_F_MTU;
	sc->ops = (struct virtio_ops){
		.name = "virtio-net", .device_type = VIRTIO_ID_NET,
		.legacy_devid = 0x1000, .pci_class = 0x02,
		.pci_subclass = 0x00, .nqueues = 2, .qsize = VTNET_QSIZE,
		.features = features, .cfgsize = VTNET_CFGSIZE,
		.ctx = VIRTIO_CTX_IOTHREAD, .notify = vtnet_notify,
		.cfgread = vtnet_cfgread, .cfgwrite = vtnet_cfgwrite,
		.reset = vtnet_reset, .driver_ok = vtnet_driver_ok,
		.teardown = vtnet_teardown,
	};
	/* From here on the transport holds the device: on failure pci_fini
	 * tears it down and vtnet_teardown frees sc. */
	if (virtio_pci_init(vm, pi, &sc->ops, sc, &sc->vdev) != 0) {
		if (pi->softc == NULL) {
			pthread_mutex_destroy(&sc->cfg_lock);
			free(sc);
		}
		return -1;
	}
	sc->loop = virtio_iothread(sc->vdev);
	sc->c.rxq = virtio_queue(sc->vdev, 0);
	sc->c.txq = virtio_queue(sc->vdev, 1);
	/* The backend lives on the I/O thread's loop; the offloads it can
	 * carry are offered too. */
	if (config_getf("%s.backend", node) != NULL &&
	    netbe_open(&sc->c.be, node, sc->loop, vtnet_rx_ready, sc) != 0)
		return -1;
	virtio_offer(sc->vdev, netbe_get_cap(sc->c.be));
	return 0;
}

static int vtnet_legacy(const char *node, const char *opts)
{
	return pci_parse_legacy_first(node, opts, "backend");
}

static const struct pci_devemu vtnet_emu = {
	.name = "virtio-net",
	.help = "Virtio network interface",
	.legacy_config = vtnet_legacy,
	.init = vtnet_init,
	.check = vtnet_check,
	VIRTIO_PCI_DEVEMU_HOOKS,
};
PCI_EMUL_SET(vtnet_emu);
