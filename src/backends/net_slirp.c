/* The slirp backend: user-mode networking through libslirp, for guests
 * that should reach the host's services without root or host setup.
 * Settings as in FreeBSD's bhyve: guest network 10.0.2.0/24, the host
 * (and gateway) at 10.0.2.2, DNS at 10.0.2.3, DHCP handing out 10.0.2.15;
 * `hostfwd=proto:haddr:hport-gaddr:gport;...` forwards host ports into the
 * guest; by default the guest is restricted to the virtual network
 * (libslirp's "restricted" mode, bhyve's default) and `open=true` lets it
 * connect out, 10.0.2.2 reaching the host's loopback.
 *
 * libslirp is not thread-safe, so every call into it happens on the
 * frontend's loop thread (the device's I/O thread), after slirp_new() on
 * the main thread: its sockets are watched by the loop (the set is reconciled
 * with slirp_pollfds_fill after every call into slirp), its timeout is a
 * loop timer, and frames the guest sends come from the frontend on the
 * loop thread.  Frames slirp sends to the guest wait in a bounded queue
 * (dropped beyond it, TCP recovers) until the frontend takes them. */
#include "backends/net_priv.h"
#include "backends/evloop.h"
#include "config.h"
#include "util.h"

#include <errno.h>
#include <slirp/libslirp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#define SLIRP_MTU	2048
#define RXQ_FRAMES	1024
#define RXQ_BYTES	(4u << 20)

struct sfd {
	int fd;
	int want;		/* SLIRP_POLL_* asked for in the last fill */
	int revents;		/* SLIRP_POLL_* seen since the last poll */
	struct ev *ev;
	struct sfd *next;
	struct slirp_be *s;
};

struct frame {
	size_t len;
	uint8_t data[];
};

struct stimer {
	struct ev *ev;
	SlirpTimerCb cb;
	void *opaque;
};

struct slirp_be {
	struct netbe *be;
	Slirp *slirp;
	struct sfd *fds;	/* watched sockets */
	struct sfd **round;	/* index of the last fill -> socket */
	size_t nround, round_cap;
	struct ev *timer;	/* slirp's poll timeout */
	bool refill_queued, notify_queued, started;
	struct frame *q[RXQ_FRAMES];
	unsigned qhead, qcount;
	size_t qbytes;
	uint8_t flat[NETBE_MAX_FRAME];	/* a frame the guest sends */
};

static void refill(struct slirp_be *s);

static int64_t cb_clock_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void notify_call(void *arg)
{
	struct slirp_be *s = arg;

	s->notify_queued = false;
	if (s->qcount)
		netbe_notify_rx(s->be);
}

/* Tell the frontend later, never from inside a call into slirp (the
 * frontend may be in the middle of its transmit path). */
static void queue_notify(struct slirp_be *s)
{
	if (!s->notify_queued && s->started &&
	    ev_call_on(s->be->loop, notify_call, s) == 0)
		s->notify_queued = true;
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct slirp_be *s = opaque;
	struct frame *f;

	if (len > NETBE_MAX_FRAME || s->qcount == RXQ_FRAMES ||
	    s->qbytes + len > RXQ_BYTES) {
		s->be->stat_rx_drop++;
		return (ssize_t)len;	/* dropped: the guest is not keeping up */
	}
	f = malloc(sizeof(*f) + len);
	if (f == NULL)
		return (ssize_t)len;
	f->len = len;
	memcpy(f->data, buf, len);
	s->q[(s->qhead + s->qcount) % RXQ_FRAMES] = f;
	s->qcount++;
	s->qbytes += len;
	queue_notify(s);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	guest_log("slirp: %s", msg);
}

static void timer_fire(void *arg)
{
	struct stimer *t = arg;

	t->cb(t->opaque);
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct slirp_be *s = opaque;
	struct stimer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->cb = cb;
	t->opaque = cb_opaque;
	t->ev = ev_timer_add_on(s->be->loop, timer_fire, t);
	if (t->ev == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct stimer *t = timer;

	(void)opaque;
	if (t) {
		ev_del(t->ev);
		free(t);
	}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct stimer *t = timer;
	int64_t now_ms = cb_clock_ns(opaque) / 1000000, d = expire_ms - now_ms;

	if (t)
		ev_timer_arm(t->ev, d > 0 ? (uint64_t)d * 1000000u : 1, 0);
}

static void cb_register_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

/* Called before slirp closes fd: stop watching it now, so a new socket
 * that gets the same number starts clean. */
static void cb_unregister_fd(int fd, void *opaque)
{
	struct slirp_be *s = opaque;

	for (struct sfd **pp = &s->fds; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd) {
			struct sfd *d = *pp;
			*pp = d->next;
			ev_del(d->ev);
			for (size_t i = 0; i < s->nround; i++)
				if (s->round[i] == d)
					s->round[i] = NULL;
			free(d);
			return;
		}
}

static void refill_call(void *arg)
{
	struct slirp_be *s = arg;

	s->refill_queued = false;
	refill(s);
}

/* slirp's sockets may want other events now. */
static void cb_notify(void *opaque)
{
	struct slirp_be *s = opaque;

	if (!s->refill_queued && s->started &&
	    ev_call_on(s->be->loop, refill_call, s) == 0)
		s->refill_queued = true;
}

static const SlirpCb callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_fd,
	.unregister_poll_fd = cb_unregister_fd,
	.notify = cb_notify,
};

static int get_revents(int idx, void *opaque)
{
	struct slirp_be *s = opaque;
	struct sfd *d;
	int r;

	if (idx < 0 || (size_t)idx >= s->nround || s->round[idx] == NULL)
		return 0;
	d = s->round[idx];
	r = d->revents;
	if (!(d->want & SLIRP_POLL_HUP))
		r &= ~SLIRP_POLL_HUP;	/* reported unasked, as poll() does */
	return r;
}

/* Run slirp's poll pass over the events gathered, then re-fill. */
static void service(struct slirp_be *s)
{
	slirp_pollfds_poll(s->slirp, 0, get_revents, s);
	for (struct sfd *d = s->fds; d; d = d->next)
		d->revents = 0;
	refill(s);
}

static void fd_event(int fd, uint32_t events, void *arg)
{
	struct sfd *d = arg;

	(void)fd;
	if (events & EPOLLIN)
		d->revents |= SLIRP_POLL_IN;
	if (events & EPOLLOUT)
		d->revents |= SLIRP_POLL_OUT;
	if (events & EPOLLERR)
		d->revents |= SLIRP_POLL_ERR;
	if (events & EPOLLHUP)
		d->revents |= SLIRP_POLL_HUP;
	service(d->s);
}

static void timeout_fire(void *arg)
{
	service(arg);
}

static int add_poll(int fd, int events, void *opaque)
{
	struct slirp_be *s = opaque;
	struct sfd *d;

	for (d = s->fds; d; d = d->next)
		if (d->fd == fd)
			break;
	if (d == NULL) {
		d = calloc(1, sizeof(*d));
		if (d == NULL)
			return -1;
		d->fd = fd;
		d->s = s;
		d->next = s->fds;
		s->fds = d;
	}
	d->want |= events;
	if (s->nround == s->round_cap) {
		size_t n = s->round_cap ? s->round_cap * 2 : 16;
		struct sfd **r = realloc(s->round, n * sizeof(*r));
		if (r == NULL)
			return -1;
		s->round = r;
		s->round_cap = n;
	}
	s->round[s->nround] = d;
	return (int)s->nround++;
}

/* Ask slirp which sockets want what and make the loop watch exactly
 * that; arm the timeout. */
static void refill(struct slirp_be *s)
{
	uint32_t timeout = UINT32_MAX;

	for (struct sfd *d = s->fds; d; d = d->next)
		d->want = 0;
	s->nround = 0;
	slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
	for (struct sfd **pp = &s->fds; *pp;) {
		struct sfd *d = *pp;
		bool in = d->want & (SLIRP_POLL_IN | SLIRP_POLL_PRI);
		bool out = d->want & SLIRP_POLL_OUT;
		if (!in && !out) {
			/* Not watched at all (epoll would still report
			 * errors and hangups of an idle socket). */
			if (d->ev) {
				ev_del(d->ev);
				d->ev = NULL;
			}
			if (d->want == 0) {
				for (size_t i = 0; i < s->nround; i++)
					if (s->round[i] == d)
						s->round[i] = NULL;
				*pp = d->next;
				free(d);
				continue;
			}
		} else if (d->ev == NULL) {
			d->ev = ev_add_on(s->be->loop, d->fd, out, fd_event, d);
			if (d->ev && !in)
				ev_set_events(d->ev, false, true);
		} else {
			ev_set_events(d->ev, in, out);
		}
		pp = &d->next;
	}
	if (timeout != UINT32_MAX)
		ev_timer_arm(s->timer, timeout ? (uint64_t)timeout * 1000000u :
		    1, 0);
	else
		ev_timer_arm(s->timer, 0, 0);
}

static int slirp_check(const char *node, const char *dev)
{
	const char *fwd = config_getf("%s.hostfwd", node);
	char name[128];
	bool open_net;

	(void)dev;
	snprintf(name, sizeof(name), "%s.open", node);
	if (config_get_bool(name, false, &open_net) != 0)
		return -1;
	if (fwd != NULL) {
		char *copy = strdup(fwd), *save = NULL, *rule;
		struct net_hostfwd h;
		int r = 0;
		if (copy == NULL)
			return fail("out of memory");
		for (rule = strtok_r(copy, ";", &save); rule && r == 0;
		    rule = strtok_r(NULL, ";", &save))
			r = net_parse_hostfwd(rule, &h);
		free(copy);
		if (r != 0)
			return fail_prefix("%s.hostfwd", node);
	}
	return 0;
}

static int add_rules(struct slirp_be *s, const char *node, const char *fwd)
{
	char *copy = strdup(fwd), *save = NULL, *rule;
	int r = 0;

	if (copy == NULL)
		return fail("out of memory");
	for (rule = strtok_r(copy, ";", &save); rule && r == 0;
	    rule = strtok_r(NULL, ";", &save)) {
		struct net_hostfwd h;
		struct sockaddr_in ha = { .sin_family = AF_INET },
		    ga = { .sin_family = AF_INET };
		if (net_parse_hostfwd(rule, &h) != 0) {
			r = fail_prefix("%s.hostfwd", node);
			break;
		}
		ha.sin_addr.s_addr = h.haddr;
		ha.sin_port = h.hport;
		ga.sin_addr.s_addr = h.gaddr;
		ga.sin_port = h.gport;
		errno = 0;
		if (slirp_add_hostxfwd(s->slirp, (struct sockaddr *)&ha,
		    sizeof(ha), (struct sockaddr *)&ga, sizeof(ga),
		    h.udp ? SLIRP_HOSTFWD_UDP : 0) != 0)
			r = errno ? fail_errno("%s.hostfwd: rule '%s'", node,
			    rule) : fail("%s.hostfwd: rule '%s': cannot "
			    "listen on the host address", node, rule);
	}
	free(copy);
	return r;
}

static void slirp_be_close(struct netbe *be)
{
	struct slirp_be *s = be->priv;

	if (s == NULL)
		return;
	if (s->slirp)
		slirp_cleanup(s->slirp);
	while (s->fds) {
		struct sfd *d = s->fds;
		s->fds = d->next;
		ev_del(d->ev);
		free(d);
	}
	ev_del(s->timer);
	while (s->qcount) {
		free(s->q[s->qhead]);
		s->qhead = (s->qhead + 1) % RXQ_FRAMES;
		s->qcount--;
	}
	free(s->round);
	free(s);
	be->priv = NULL;
}

static int slirp_be_open(struct netbe *be, const char *node, const char *dev)
{
	struct slirp_be *s = calloc(1, sizeof(*s));
	const char *fwd = config_getf("%s.hostfwd", node);
	char name[128];
	bool open_net = false;
	SlirpConfig cfg = {
		.version = 4,
		.in_enabled = true,
		.vnetwork.s_addr = htonl(0x0a000200),		/* 10.0.2.0 */
		.vnetmask.s_addr = htonl(0xffffff00),
		.vhost.s_addr = htonl(0x0a000202),		/* 10.0.2.2 */
		.vdhcp_start.s_addr = htonl(0x0a00020f),	/* 10.0.2.15 */
		.vnameserver.s_addr = htonl(0x0a000203),	/* 10.0.2.3 */
		.if_mtu = SLIRP_MTU,
		.enable_emu = false,
	};

	(void)dev;
	if (s == NULL)
		return fail("out of memory");
	snprintf(name, sizeof(name), "%s.open", node);
	if (config_get_bool(name, false, &open_net) != 0) {
		free(s);
		return -1;
	}
	cfg.restricted = !open_net;
	s->be = be;
	be->priv = s;
	be->be_hdr_len = 0;
	s->slirp = slirp_new(&cfg, &callbacks, s);
	if (s->slirp == NULL) {
		slirp_be_close(be);
		return fail("%s.backend: cannot create the slirp instance",
		    node);
	}
	if (fwd != NULL && add_rules(s, node, fwd) != 0) {
		slirp_be_close(be);
		return -1;
	}
	return 0;
}

static int slirp_be_start(struct netbe *be)
{
	struct slirp_be *s = be->priv;

	s->timer = ev_timer_add_on(be->loop, timeout_fire, s);
	if (s->timer == NULL)
		return -1;
	s->started = true;
	refill(s);
	return 0;
}

static ssize_t slirp_be_send(struct netbe *be, const struct iovec *iov,
    int iovcnt)
{
	struct slirp_be *s = be->priv;
	uint8_t *flat = s->flat;
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > sizeof(s->flat) - n)
			return -1;
		memcpy(flat + n, iov[i].iov_base, iov[i].iov_len);
		n += iov[i].iov_len;
	}
	slirp_input(s->slirp, flat, (int)n);
	/* New connections may want watching. */
	if (s->started)
		cb_notify(s);
	return (ssize_t)n;
}

static ssize_t slirp_be_peek(struct netbe *be, const uint8_t **frame)
{
	struct slirp_be *s = be->priv;

	if (s->qcount == 0)
		return 0;
	*frame = s->q[s->qhead]->data;
	return (ssize_t)s->q[s->qhead]->len;
}

static void slirp_be_consume(struct netbe *be)
{
	struct slirp_be *s = be->priv;

	if (s->qcount == 0)
		return;
	s->qbytes -= s->q[s->qhead]->len;
	free(s->q[s->qhead]);
	s->qhead = (s->qhead + 1) % RXQ_FRAMES;
	s->qcount--;
}

static void slirp_be_rx_enable(struct netbe *be, bool on)
{
	struct slirp_be *s = be->priv;

	if (on && s->qcount)
		queue_notify(s);
}

/* No offloads: slirp wants complete frames with checksums. */
static uint64_t slirp_be_get_cap(struct netbe *be)
{
	(void)be;
	return 0;
}

static int slirp_be_set_cap(struct netbe *be, uint64_t features,
    unsigned hdr_len)
{
	(void)be;
	(void)hdr_len;
	return features ? -1 : 0;
}

const struct netbe_ops netbe_slirp_ops = {
	.prefix = "slirp", .check = slirp_check, .open = slirp_be_open,
	.close = slirp_be_close, .start = slirp_be_start,
	.send = slirp_be_send, .peek = slirp_be_peek,
	.consume = slirp_be_consume, .rx_enable = slirp_be_rx_enable,
	.get_cap = slirp_be_get_cap, .set_cap = slirp_be_set_cap,
};
