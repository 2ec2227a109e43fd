/* The network backend interface: backend selection, frame length bounds,
 * virtio-net header conversion between frontend and backend, receive
 * backpressure; plus the MAC/MTU/hostfwd parsers the frontends share. */
#include "backends/net.h"
#include "backends/net_priv.h"
#include "backends/evloop.h"
#include "config.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FreeBSD-only backends: named so that a bhyve command line that uses one
 * gets a clear message instead of "unknown backend". */
static const char *const freebsd_only[] = { "netgraph", "netmap", "vale" };

static const struct netbe_ops *const backends[] = {
	&netbe_tap_ops, &netbe_vmnet_ops, &netbe_slirp_ops,
};

static const struct netbe_ops *find_ops(const char *node, const char **devp)
{
	const char *dev = config_getf("%s.backend", node);
	const char *type = config_getf("%s.type", node);
	const char *key = type ? type : dev;

	*devp = dev;
	if (dev == NULL || *dev == '\0') {
		fail("%s.backend: no network backend given", node);
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(freebsd_only); i++)
		if (strncmp(key, freebsd_only[i], strlen(freebsd_only[i])) == 0) {
			fail("%s.%s: network backend '%s' is not available "
			    "on Linux (%s is FreeBSD only; use tapN, vmnetN or "
			    "slirp)", node, type ? "type" : "backend", key,
			    freebsd_only[i]);
			return NULL;
		}
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (strncmp(key, backends[i]->prefix,
		    strlen(backends[i]->prefix)) == 0)
			return backends[i];
	fail("%s.%s: unknown network backend '%s' (use tapN, vmnetN or "
	    "slirp)", node, type ? "type" : "backend", key);
	return NULL;
}

int netbe_check(const char *node)
{
	const char *dev;
	const struct netbe_ops *ops = find_ops(node, &dev);

	if (ops == NULL)
		return -1;
	return ops->check ? ops->check(node, dev) : 0;
}

int netbe_open_ops(struct netbe **out, const struct netbe_ops *ops,
    const char *node, const char *devname, struct evloop *loop,
    netbe_rx_cb_t cb, void *arg)
{
	struct netbe *be = calloc(1, sizeof(*be));

	*out = NULL;
	if (be == NULL)
		return fail("out of memory");
	be->ops = ops;
	snprintf(be->name, sizeof(be->name), "%s", devname);
	be->loop = loop;
	be->cb = cb;
	be->cb_arg = arg;
	if (ops->open(be, node, devname) != 0) {
		free(be);
		return -1;
	}
	*out = be;
	return 0;
}

int netbe_open(struct netbe **out, const char *node, struct evloop *loop,
    netbe_rx_cb_t cb, void *arg)
{
	const char *dev;
	const struct netbe_ops *ops = find_ops(node, &dev);

	*out = NULL;
	if (ops == NULL || (ops->check && ops->check(node, dev) != 0))
		return -1;
	return netbe_open_ops(out, ops, node, dev, loop, cb, arg);
}

void netbe_close(struct netbe *be)
{
	if (be == NULL)
		return;
	be->ops->close(be);
	free(be);
}

int netbe_start(struct netbe *be)
{
	if (be == NULL || be->started)
		return 0;
	if (be->ops->start && be->ops->start(be) != 0)
		return -1;
	be->started = true;
	if (be->rx_enabled)
		be->ops->rx_enable(be, true);
	return 0;
}

const char *netbe_name(const struct netbe *be)
{
	return be ? be->name : "none";
}

uint64_t netbe_get_cap(struct netbe *be)
{
	return be && be->ops->get_cap ? be->ops->get_cap(be) : 0;
}

int netbe_set_cap(struct netbe *be, uint64_t features, unsigned hdr_len)
{
	if (hdr_len != 0 && hdr_len != 10 && hdr_len != 12)
		return -1;
	if (be == NULL)
		return features ? -1 : 0;
	if (features & ~netbe_get_cap(be))
		return -1;
	be->fe_hdr_len = hdr_len;
	if (be->ops->set_cap == NULL)
		return features ? -1 : 0;
	/* A backend that carries a header uses the frontend's length (or
	 * its minimum when the frontend has none). */
	return be->ops->set_cap(be, features, hdr_len ? hdr_len : 10);
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

static const uint8_t zero_hdr[NETBE_MAX_HDR];

ssize_t netbe_send(struct netbe *be, const struct iovec *iov, int iovcnt)
{
	struct iovec v[NETBE_MAX_IOV + 1];
	size_t total, skip, hdr = be ? be->fe_hdr_len : 0;
	int n = 0;
	ssize_t r;

	if (iovcnt < 0 || iovcnt > NETBE_MAX_IOV)
		goto drop;
	total = iov_total(iov, iovcnt);
	if (total < hdr + NETBE_MIN_FRAME || total > hdr + NETBE_MAX_FRAME)
		goto drop;
	if (be == NULL)
		return (ssize_t)total;	/* unconnected: the wire eats it */
	skip = 0;
	if (be->be_hdr_len == 0)
		skip = hdr;			/* strip the frontend's header */
	else if (hdr == 0)
		v[n++] = (struct iovec){ (void *)zero_hdr, be->be_hdr_len };
	else if (hdr != be->be_hdr_len)
		goto drop;
	for (int i = 0; i < iovcnt; i++) {
		size_t len = iov[i].iov_len;
		uint8_t *base = iov[i].iov_base;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		v[n++] = (struct iovec){ base + skip, len - skip };
		skip = 0;
	}
	r = be->ops->send(be, v, n);
	if (r < 0)
		goto drop;
	return (ssize_t)total;
drop:
	if (be)
		be->stat_tx_drop++;
	return -1;
}

/* Length of the waiting frame as the frontend will see it. */
static ssize_t fe_len(struct netbe *be, ssize_t n)
{
	if (n < (ssize_t)be->be_hdr_len + NETBE_MIN_FRAME ||
	    n > (ssize_t)be->be_hdr_len + NETBE_MAX_FRAME)
		return -1;
	return n - (ssize_t)be->be_hdr_len + (ssize_t)be->fe_hdr_len;
}

ssize_t netbe_peek_recvlen(struct netbe *be)
{
	const uint8_t *f;

	if (be == NULL)
		return 0;
	for (;;) {
		ssize_t n = be->ops->peek(be, &f), l;
		if (n <= 0)
			return n;
		l = fe_len(be, n);
		if (l > 0)
			return l;
		be->ops->consume(be);	/* runt or giant: drop it */
		be->stat_rx_drop++;
	}
}

ssize_t netbe_recv(struct netbe *be, const struct iovec *iov, int iovcnt)
{
	const uint8_t *f;
	ssize_t n;
	size_t bh, fh, c, data;
	uint8_t hdr[NETBE_MAX_HDR];

	if (be == NULL || iovcnt < 0)
		return 0;
	n = netbe_peek_recvlen(be);
	if (n <= 0)
		return n;
	n = be->ops->peek(be, &f);
	if (n <= 0)
		return n;
	bh = be->be_hdr_len;
	fh = be->fe_hdr_len;
	/* The frontend's header: the backend's bytes it has room for,
	 * zeros for the rest. */
	memset(hdr, 0, sizeof(hdr));
	if (bh && fh)
		memcpy(hdr, f, bh < fh ? bh : fh);
	c = iov_from_buf(iov, (unsigned)iovcnt, 0, hdr, fh);
	data = (size_t)n - bh;
	if (c == fh)
		c += iov_from_buf(iov, (unsigned)iovcnt, fh, f + bh, data);
	be->ops->consume(be);
	return (ssize_t)c;
}

bool netbe_can_direct(const struct netbe *be)
{
	return be != NULL && be->ops->recv_direct != NULL &&
	    be->be_hdr_len == be->fe_hdr_len;
}

ssize_t netbe_recv_direct(struct netbe *be, const struct iovec *iov,
    int iovcnt)
{
	ssize_t n;

	if (!netbe_can_direct(be) || iovcnt < 0 || iovcnt > NETBE_MAX_IOV ||
	    iov_total(iov, iovcnt) < NETBE_DIRECT_ROOM)
		return NETBE_USE_RECV;
	n = be->ops->recv_direct(be, iov, iovcnt);
	if (n == NETBE_USE_RECV)
		return n;
	if (n <= 0)
		return 0;	/* none, or a backend error: as peek's */
	if (fe_len(be, n) < 0) {
		be->stat_rx_drop++;
		return NETBE_DROPPED;
	}
	return n;
}

ssize_t netbe_rx_discard(struct netbe *be)
{
	const uint8_t *f;
	ssize_t n;

	if (be == NULL)
		return 0;
	n = be->ops->peek(be, &f);
	if (n > 0) {
		be->ops->consume(be);
		be->stat_rx_drop++;
	}
	return n;
}

void netbe_rx_enable(struct netbe *be)
{
	if (be == NULL || be->rx_enabled)
		return;
	be->rx_enabled = true;
	if (be->started)
		be->ops->rx_enable(be, true);
}

void netbe_rx_disable(struct netbe *be)
{
	if (be == NULL || !be->rx_enabled)
		return;
	be->rx_enabled = false;
	if (be->started)
		be->ops->rx_enable(be, false);
}

void netbe_notify_rx(struct netbe *be)
{
	if (be->rx_enabled && be->cb)
		be->cb(be->cb_arg);
}

/* ---- helpers shared by the frontends ---- */

int net_parsemac(const char *s, uint8_t mac[6])
{
	const char *p = s;
	uint8_t m[6];

	if (s == NULL)
		return fail("invalid MAC address (none given)");
	for (int i = 0; i < 6; i++) {
		unsigned v = 0, nd = 0;
		while (isxdigit((unsigned char)*p) && nd < 3) {
			v = v * 16 + (unsigned)(isdigit((unsigned char)*p) ?
			    *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
			p++;
			nd++;
		}
		if (nd == 0 || nd > 2)
			return fail("invalid MAC address '%s' (expected "
			    "xx:xx:xx:xx:xx:xx)", s);
		m[i] = (uint8_t)v;
		if (i < 5 && *p++ != ':')
			return fail("invalid MAC address '%s' (expected "
			    "xx:xx:xx:xx:xx:xx)", s);
	}
	if (*p != '\0')
		return fail("invalid MAC address '%s' (expected "
		    "xx:xx:xx:xx:xx:xx)", s);
	if (m[0] & 1)
		return fail("invalid MAC address '%s': a multicast address",
		    s);
	if ((m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0)
		return fail("invalid MAC address '%s': all zero", s);
	memcpy(mac, m, 6);
	return 0;
}

void net_genmac(unsigned slot, unsigned func, const char *vmname,
    uint8_t mac[6])
{
	MD5_CTX ctx;
	uint8_t digest[16];
	char s[320];

	snprintf(s, sizeof(s), "%u-%u-%s", slot, func, vmname ? vmname : "");
	MD5Init(&ctx);
	MD5Update(&ctx, (const uint8_t *)s, strlen(s));
	MD5Final(digest, &ctx);
	mac[0] = 0x58;
	mac[1] = 0x9c;
	mac[2] = 0xfc;
	mac[3] = digest[0];
	mac[4] = digest[1];
	mac[5] = digest[2];
}

int net_parsemtu(const char *s, unsigned lo, unsigned hi, unsigned *mtu)
{
	if (s == NULL || parse_uint_range(s, lo, hi, mtu) != 0)
		return fail("invalid MTU '%s' (expected %u to %u)",
		    s ? s : "", lo, hi);
	return 0;
}

/* "addr:port" with either part empty; into network byte order. */
static int parse_endpoint(const char *s, size_t len, uint32_t *addr,
    uint16_t *port)
{
	char buf[64];
	char *colon;
	struct in_addr a;
	unsigned p = 0;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	colon = strchr(buf, ':');
	if (colon == NULL)
		return -1;
	*colon = '\0';
	if (buf[0] == '\0')
		a.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	if (colon[1] != '\0') {
		for (const char *q = colon + 1; *q; q++)
			if (!isdigit((unsigned char)*q))
				return -1;
		if (strlen(colon + 1) > 5 ||
		    parse_uint_range(colon + 1, 0, 65535, &p) != 0)
			return -1;
	}
	*addr = a.s_addr;
	*port = htons((uint16_t)p);
	return 0;
}

int net_parse_hostfwd(const char *rule, struct net_hostfwd *out)
{
	const char *c = strchr(rule, ':'), *dash;
	struct net_hostfwd h = { 0 };

	if (c == NULL)
		goto bad;
	if ((size_t)(c - rule) == 3 && strncmp(rule, "tcp", 3) == 0)
		h.udp = false;
	else if ((size_t)(c - rule) == 3 && strncmp(rule, "udp", 3) == 0)
		h.udp = true;
	else
		goto bad;
	dash = strchr(c + 1, '-');
	if (dash == NULL ||
	    parse_endpoint(c + 1, (size_t)(dash - c - 1), &h.haddr,
	    &h.hport) != 0 ||
	    parse_endpoint(dash + 1, strlen(dash + 1), &h.gaddr,
	    &h.gport) != 0)
		goto bad;
	*out = h;
	return 0;
bad:
	return fail("invalid hostfwd rule '%s' (expected "
	    "tcp|udp:[hostaddr]:hostport-[guestaddr]:guestport)", rule);
}
