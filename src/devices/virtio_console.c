/* virtio-console (virtio 1.2, 5.3) with multiport: up to 16 named ports,
 * each a listening Unix socket on the host (backends/sock.h), one peer at
 * a time, as FreeBSD's bhyve has them:
 *   -s S,virtio-console,NAME=/path.sock[,NAME=/path.sock...]
 * -> pci.B.S.F.port.N.name / .path, N = 0..15.
 *
 * Queues: 0/1 port 0 receive/transmit, 2/3 control receive/transmit,
 * then 2(N+1) / 2(N+1)+1 for port N >= 1 (34 in all).  The control
 * protocol is in vtcon_ctrl.c.  A peer connecting or leaving is told to
 * the guest with PORT_OPEN 1 / 0 (FreeBSD sends only the 1), so a guest
 * reader sees end-of-file when the peer goes.  Data from a peer waits
 * (the socket is not read) until a guest process has the port open and
 * has posted buffers; guest output waits in its queue while the peer
 * does not read and the socket's bounded buffer is full.  Without a peer,
 * guest output is discarded (Linux's driver does not write then).
 *
 * Threads: every queue notification (VIRTIO_CTX_EVLOOP) and every socket
 * callback runs on the event-loop thread, which alone touches the port
 * and control state below.  The transport's reset and driver_ok hooks
 * (vCPU threads) only bump atomics that the loop thread applies before
 * its next step; cfgwrite (emergency write) only calls sockbe_write(),
 * which is thread-safe. */
#include "devices/vtcon_ctrl.h"
#include "backends/evloop.h"
#include "backends/sock.h"
#include "bus/pci.h"
#include "config.h"
#include "util.h"
#include "virtio/virtio.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VTCON_QSIZE	64
#define VTCON_NQUEUES	(2 * (VTCON_MAXPORTS + 1))
#define VTCON_CTRL_RXQ	2	/* device -> driver */
#define VTCON_CTRL_TXQ	3	/* driver -> device */
#define VTCON_OUTBUF	(64 * 1024)	/* per port, host side */
#define VTCON_BATCH	256	/* chains per pass before yielding */
#define VTCON_CFGSIZE	12

struct vtcon_softc;

struct vtcon_port {
	struct vtcon_softc *sc;
	unsigned id;
	struct sockbe *sock;
	uint32_t tx_off;	/* bytes of the first tx chain already sent */
	bool tx_again;		/* a deferred tx pass is queued */
};

struct vtcon_softc {
	struct virtio_dev *vd;
	struct vtcon_ctrl ctrl;
	struct vtcon_port port[VTCON_MAXPORTS];
	atomic_uint reset_gen;	/* bumped by the transport's reset */
	atomic_uint ok_gen;	/* reset_gen + 1 at DRIVER_OK */
	unsigned seen_reset;
	bool started;
	uint8_t cfg[VTCON_CFGSIZE];
};

static unsigned rxq_of(unsigned id)
{
	return id == 0 ? 0 : 2 * (id + 1);
}

static struct vq *queue(struct vtcon_softc *sc, unsigned i)
{
	return virtio_queue(sc->vd, i);
}

static void start(struct vtcon_softc *sc)
{
	uint64_t f = virtio_features(sc->vd);

	sc->started = true;
	vtcon_ctrl_start(&sc->ctrl, (f >> VTCON_F_MULTIPORT) & 1);
}

/* Loop thread: catch up with resets and DRIVER_OK from vCPU threads. */
static void sync_state(struct vtcon_softc *sc)
{
	unsigned r = atomic_load(&sc->reset_gen);

	if (r != sc->seen_reset) {
		sc->seen_reset = r;
		sc->started = false;
		vtcon_ctrl_reset(&sc->ctrl);
		for (unsigned i = 0; i < VTCON_MAXPORTS; i++) {
			sc->port[i].tx_off = 0;
			if (sc->port[i].sock)
				sockbe_rx_enable(sc->port[i].sock, false);
		}
	}
	if (!sc->started && atomic_load(&sc->ok_gen) == sc->seen_reset + 1)
		start(sc);
}

static void update_rx(struct vtcon_port *p)
{
	if (p->sock)
		sockbe_rx_enable(p->sock,
		    vtcon_ctrl_can_rx(&p->sc->ctrl, p->id));
}

/* Copy `len` bytes into the device-writable part of a chain. */
static uint32_t copy_to_chain(const struct iovec *iov, unsigned n,
    const uint8_t *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t k = iov[i].iov_len < len - done ? iov[i].iov_len :
		    len - done;
		memcpy(iov[i].iov_base, buf + done, k);
		done += k;
	}
	return (uint32_t)done;
}

/* Send pending control messages while the driver has buffers for them. */
static void flush_ctrl(struct vtcon_softc *sc)
{
	struct vq *vq = queue(sc, VTCON_CTRL_RXQ);
	struct iovec iov[VTCON_QSIZE];
	uint8_t msg[VTCON_MSG_MAX];
	struct vq_chain ch;
	bool any = false;
	size_t len;

	while ((len = vtcon_ctrl_peek(&sc->ctrl, msg)) > 0) {
		if (vq_getchain(vq, &ch, iov, VTCON_QSIZE) != 1)
			break;
		/* A buffer too small for the message gets what fits. */
		vq_relchain(vq, &ch, copy_to_chain(iov + ch.nout, ch.nin,
		    msg, len));
		vtcon_ctrl_pop(&sc->ctrl);
		any = true;
	}
	if (any)
		vq_endchains(vq);
}

static void ctrl_tx(struct vtcon_softc *sc)
{
	struct vq *vq = queue(sc, VTCON_CTRL_TXQ);
	struct iovec iov[VTCON_QSIZE];
	struct vq_chain ch;
	bool any = false;

	for (int n = 0; n < VTCON_BATCH; n++) {
		uint8_t buf[VTCON_MSG_SIZE];
		size_t got = 0;

		if (vq_getchain(vq, &ch, iov, VTCON_QSIZE) != 1)
			break;
		for (unsigned i = 0; i < ch.nout && got < sizeof(buf); i++) {
			size_t k = iov[i].iov_len < sizeof(buf) - got ?
			    iov[i].iov_len : sizeof(buf) - got;
			memcpy(buf + got, iov[i].iov_base, k);
			got += k;
		}
		vtcon_ctrl_input(&sc->ctrl, buf, got);
		vq_relchain(vq, &ch, 0);
		any = true;
	}
	if (any)
		vq_endchains(vq);
	flush_ctrl(sc);
	for (unsigned i = 0; i < VTCON_MAXPORTS; i++)
		update_rx(&sc->port[i]);
}

static void port_tx(struct vtcon_port *p);

static void tx_again(void *arg)
{
	struct vtcon_port *p = arg;

	p->tx_again = false;
	port_tx(p);
}

/* Guest output to the socket, as far as the socket's buffer allows. */
static void port_tx(struct vtcon_port *p)
{
	struct vtcon_softc *sc = p->sc;
	struct vq *vq = queue(sc, rxq_of(p->id) + 1);
	struct iovec iov[VTCON_QSIZE];
	struct vq_chain ch;
	bool any = false;
	int n;

	sync_state(sc);
	for (n = 0; n < VTCON_BATCH; n++) {
		uint32_t off = p->tx_off, pos = 0, sent = 0;
		size_t room;

		if (vq_getchain(vq, &ch, iov, VTCON_QSIZE) != 1)
			break;
		if (off >= ch.outlen)
			off = 0;	/* the driver changed the chain */
		room = sockbe_write_room(p->sock, ch.outlen - off);
		if (room == 0) {
			vq_retchain(vq);
			break;
		}
		for (unsigned i = 0; i < ch.nout && room > 0; i++) {
			size_t len = iov[i].iov_len, skip, k, w;

			if (pos + len <= off) {
				pos += (uint32_t)len;
				continue;
			}
			skip = off > pos ? off - pos : 0;
			k = len - skip < room ? len - skip : room;
			w = sockbe_write(p->sock,
			    (uint8_t *)iov[i].iov_base + skip, k);
			sent += (uint32_t)w;
			room -= w;
			pos += (uint32_t)len;
			if (w < k)
				break;
		}
		if (off + sent >= ch.outlen) {
			p->tx_off = 0;
			vq_relchain(vq, &ch, 0);
			any = true;
		} else {
			/* Keep the chain; the rest goes when there is room
			 * (the socket's writable callback). */
			p->tx_off = off + sent;
			vq_retchain(vq);
			break;
		}
	}
	if (any)
		vq_endchains(vq);
	if (n == VTCON_BATCH && !p->tx_again &&
	    ev_call(tx_again, p) == 0)
		p->tx_again = true;
}

/* Socket input into the guest's receive buffers. */
static void port_rx(struct vtcon_port *p)
{
	struct vtcon_softc *sc = p->sc;
	struct vq *vq = queue(sc, rxq_of(p->id));
	struct iovec iov[VTCON_QSIZE];
	struct vq_chain ch;
	bool any = false;

	sync_state(sc);
	if (!vtcon_ctrl_can_rx(&sc->ctrl, p->id)) {
		sockbe_rx_enable(p->sock, false);
		return;
	}
	for (int n = 0; n < VTCON_BATCH; n++) {
		ssize_t r;

		if (vq_getchain(vq, &ch, iov, VTCON_QSIZE) != 1) {
			/* No buffers: wait for the driver's notification. */
			sockbe_rx_enable(p->sock, false);
			break;
		}
		if (ch.nin == 0) {
			vq_relchain(vq, &ch, 0);
			any = true;
			continue;
		}
		r = sockbe_readv(p->sock, iov + ch.nout, ch.nin);
		if (r <= 0) {
			vq_retchain(vq);
			break;
		}
		vq_relchain(vq, &ch, (uint32_t)r);
		any = true;
	}
	if (any)
		vq_endchains(vq);
}

static void sock_connected(void *arg)
{
	struct vtcon_port *p = arg;

	sync_state(p->sc);
	vtcon_ctrl_host_open(&p->sc->ctrl, p->id, true);
	flush_ctrl(p->sc);
	update_rx(p);
}

static void sock_disconnected(void *arg)
{
	struct vtcon_port *p = arg;

	sync_state(p->sc);
	p->tx_off = 0;
	vtcon_ctrl_host_open(&p->sc->ctrl, p->id, false);
	flush_ctrl(p->sc);
	/* Output the guest queued meanwhile goes nowhere now. */
	port_tx(p);
}

static void sock_readable(void *arg)
{
	port_rx(arg);
}

static void sock_writable(void *arg)
{
	port_tx(arg);
}

static const struct sockbe_ops vtcon_sock_ops = {
	.connected = sock_connected,
	.disconnected = sock_disconnected,
	.readable = sock_readable,
	.writable = sock_writable,
};

static void vtcon_notify(void *arg, struct vq *vq)
{
	struct vtcon_softc *sc = arg;
	unsigned q = vq->index, id;

	sync_state(sc);
	/* Queues in use mean the features are final (FEATURES_OK); Linux
	 * sends DEVICE_READY before it sets DRIVER_OK. */
	if (!sc->started)
		start(sc);
	if (q == VTCON_CTRL_TXQ) {
		ctrl_tx(sc);
		return;
	}
	if (q == VTCON_CTRL_RXQ) {
		flush_ctrl(sc);
		return;
	}
	id = q < 2 ? 0 : q / 2 - 1;
	if (id >= VTCON_MAXPORTS || sc->port[id].sock == NULL) {
		/* A queue of an unconfigured port: nothing is listening;
		 * consume output so the driver does not wait forever. */
		struct iovec iov[VTCON_QSIZE];
		struct vq_chain ch;
		int n = 0;

		if (q % 2 == 0)
			return;
		while (n++ < VTCON_BATCH &&
		    vq_getchain(vq, &ch, iov, VTCON_QSIZE) == 1)
			vq_relchain(vq, &ch, 0);
		vq_endchains(vq);
		return;
	}
	if (q % 2 == 0)
		update_rx(&sc->port[id]);	/* new receive buffers */
	else
		port_tx(&sc->port[id]);
}

static int vtcon_cfgread(void *arg, unsigned off, unsigned size,
    uint32_t *val)
{
	struct vtcon_softc *sc = arg;

	*val = 0;
	if (off >= VTCON_CFGSIZE || size > VTCON_CFGSIZE - off)
		return 0;
	for (unsigned i = 0; i < size; i++)
		*val |= (uint32_t)sc->cfg[off + i] << (8 * i);
	return 0;
}

static int vtcon_cfgwrite(void *arg, unsigned off, unsigned size,
    uint32_t val)
{
	struct vtcon_softc *sc = arg;
	uint8_t c = (uint8_t)val;

	/* emerg_wr (offset 8): one character to port 0. */
	if (off == 8 && size >= 1 && sc->port[0].sock != NULL)
		sockbe_write(sc->port[0].sock, &c, 1);
	return 0;
}

static void vtcon_reset(void *arg)
{
	struct vtcon_softc *sc = arg;

	atomic_fetch_add(&sc->reset_gen, 1);
}

static void vtcon_driver_ok(void *arg)
{
	struct vtcon_softc *sc = arg;

	atomic_store(&sc->ok_gen, atomic_load(&sc->reset_gen) + 1);
}

static void vtcon_free(struct vtcon_softc *sc)
{
	for (unsigned i = 0; i < VTCON_MAXPORTS; i++)
		sockbe_close(sc->port[i].sock);
	free(sc);
}

static void vtcon_teardown(void *arg)
{
	vtcon_free(arg);
}

static const struct virtio_ops vtcon_ops = {
	.name = "virtio-console",
	.device_type = VIRTIO_ID_CONSOLE,
	.legacy_devid = 0x1003,
	.pci_class = 0x07,	/* simple communications, as FreeBSD's */
	.pci_subclass = 0x00,
	.nqueues = VTCON_NQUEUES,
	.qsize = VTCON_QSIZE,
	.features = (1ULL << VTCON_F_MULTIPORT) |
	    (1ULL << VTCON_F_EMERG_WRITE),
	.cfgsize = VTCON_CFGSIZE,
	.ctx = VIRTIO_CTX_EVLOOP,
	.notify = vtcon_notify,
	.cfgread = vtcon_cfgread,
	.cfgwrite = vtcon_cfgwrite,
	.reset = vtcon_reset,
	.driver_ok = vtcon_driver_ok,
	.teardown = vtcon_teardown,
};

/* Check one device's port nodes; with `paths`, collect the paths (for
 * the duplicate check).  `cb` (optional) gets each valid port. */
static int walk_ports(const char *node, int (*cb)(void *, unsigned,
    const char *, const char *), void *arg)
{
	static char names[VTCON_MAXPORTS + 8][32];
	char pnode[96];
	int n;

	snprintf(pnode, sizeof(pnode), "%s.port", node);
	if (!config_is_node(pnode)) {
		if (config_get(pnode) != NULL)
			return fail("%s: expected port.N.name and "
			    "port.N.path", pnode);
		return 0;
	}
	n = config_children(pnode, names, (int)ARRAY_SIZE(names));
	if (n > VTCON_MAXPORTS)
		return fail("%s: too many ports (at most %d)", pnode,
		    VTCON_MAXPORTS);
	for (int i = 0; i < n; i++) {
		const char *name, *path;
		unsigned id;

		if (parse_uint_range(names[i], 0, VTCON_MAXPORTS - 1,
		    &id) != 0 || names[i][0] == '+' ||
		    (names[i][0] == '0' && names[i][1] != '\0'))
			return fail("%s.%s: invalid port (use 0 to %d)", pnode,
			    names[i], VTCON_MAXPORTS - 1);
		name = config_getf("%s.%u.name", pnode, id);
		path = config_getf("%s.%u.path", pnode, id);
		if (name == NULL || *name == '\0')
			return fail("%s.%u.name: required name missing",
			    pnode, id);
		if (strlen(name) > VTCON_NAME_MAX)
			return fail("%s.%u.name: longer than %d bytes", pnode,
			    id, VTCON_NAME_MAX);
		if (path == NULL || *path == '\0')
			return fail("%s.%u.path: required path missing",
			    pnode, id);
		if (cb != NULL && cb(arg, id, name, path) != 0)
			return fail_prefix("%s.%u.path", pnode, id);
	}
	return 0;
}

/* Socket paths seen so far by vtcon_check (duplicates are an error). */
struct seen_paths {
	const char *p[VTCON_MAXPORTS * 32];
	unsigned n;
};

static int check_port(void *arg, unsigned id, const char *name,
    const char *path)
{
	struct seen_paths *s = arg;
	(void)id;
	(void)name;

	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->p[i], path) == 0)
			return fail("socket '%s' is used by two ports", path);
	if (s->n < ARRAY_SIZE(s->p))
		s->p[s->n++] = path;
	return sockbe_check(path);
}

/* Collect another device's socket paths (already checked by its own
 * check hook), for the duplicate check. */
static int collect_port(void *arg, unsigned id, const char *name,
    const char *path)
{
	struct seen_paths *s = arg;
	(void)id;
	(void)name;

	if (s->n < ARRAY_SIZE(s->p))
		s->p[s->n++] = path;
	return 0;
}

/* The model's check hook (pci_check, before anything is built): this
 * device's ports (ids, names, socket paths: directory exists, path absent
 * or a stale socket), and no socket path used twice, here or by a
 * virtio-console that pci_check visited before this one. */
static int vtcon_check(const char *node, unsigned bus, unsigned slot,
    unsigned func)
{
	struct seen_paths *seen = calloc(1, sizeof(*seen));
	unsigned me = (bus * PCI_MAXSLOT + slot) * PCI_MAXFUNC + func;
	int r = 0;

	if (seen == NULL)
		return fail("out of memory");
	for (unsigned k = 0; k < me && r == 0; k++) {
		unsigned b = k / (PCI_MAXSLOT * PCI_MAXFUNC),
		    sl = k / PCI_MAXFUNC % PCI_MAXSLOT, f = k % PCI_MAXFUNC;
		const char *dev = config_getf("pci.%u.%u.%u.device", b, sl, f);
		char other[48];

		if (dev == NULL || strcmp(dev, "virtio-console") != 0)
			continue;
		snprintf(other, sizeof(other), "pci.%u.%u.%u", b, sl, f);
		r = walk_ports(other, collect_port, seen);
	}
	if (r == 0)
		r = walk_ports(node, check_port, seen);
	free(seen);
	return r;
}

static int open_port(void *arg, unsigned id, const char *name,
    const char *path)
{
	struct vtcon_softc *sc = arg;
	struct vtcon_port *p = &sc->port[id];

	if (vtcon_ctrl_add_port(&sc->ctrl, id, name) != 0)
		return -1;
	p->sc = sc;
	p->id = id;
	return sockbe_listen(&p->sock, path, VTCON_OUTBUF, &vtcon_sock_ops,
	    p);
}

static int vtcon_init(struct vm *vm, struct pci_devinst *pi,
    const char *node)
{
	struct vtcon_softc *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return fail("out of memory");
	/* cols 80, rows 25, max_nr_ports 16, emerg_wr 0 (little-endian) */
	sc->cfg[0] = 80;
	sc->cfg[2] = 25;
	sc->cfg[4] = VTCON_MAXPORTS;
	if (walk_ports(node, open_port, sc) != 0) {
		fail_prefix("virtio-console");
		vtcon_free(sc);
		return -1;
	}
	/* Peers are accepted from now on (the loop runs later). */
	if (evloop_init() != 0) {
		vtcon_free(sc);
		return -1;
	}
	for (unsigned i = 0; i < VTCON_MAXPORTS; i++)
		if (sc->port[i].sock && sockbe_start(sc->port[i].sock) != 0) {
			vtcon_free(sc);
			return -1;
		}
	if (virtio_pci_init(vm, pi, &vtcon_ops, sc, &sc->vd) != 0) {
		vtcon_free(sc);
		return -1;
	}
	return 0;
}

/* "name=/path.sock,..." -> port.N.name, port.N.path, N counting from 0,
 * as FreeBSD's: every comma-separated item (empty ones too) must be
 * name=path; at most 16. */
static int vtcon_legacy(const char *node, const char *opts)
{
	char *copy = strdup(opts), *rest = copy, *tok;
	unsigned n = 0;
	int r = 0;

	if (copy == NULL)
		return fail("out of memory");
	while (r == 0 && (tok = strsep(&rest, ",")) != NULL) {
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			r = fail("virtio-console: port '%s' requires a path "
			    "(name=/path.sock)", tok);
			break;
		}
		if (n == VTCON_MAXPORTS) {
			r = fail("virtio-console: too many ports (at most "
			    "%d)", VTCON_MAXPORTS);
			break;
		}
		*eq = '\0';
		r = config_setf(tok, "%s.port.%u.name", node, n);
		if (r == 0)
			r = config_setf(eq + 1, "%s.port.%u.path", node, n);
		n++;
	}
	free(copy);
	return r;
}

static const struct pci_devemu pe_vtcon = {
	.name = "virtio-console",
	.help = "Virtio console interface",
	.legacy_config = vtcon_legacy,
	.init = vtcon_init,
	.check = vtcon_check,
	VIRTIO_PCI_DEVEMU_HOOKS,
};
PCI_EMUL_SET(pe_vtcon);
