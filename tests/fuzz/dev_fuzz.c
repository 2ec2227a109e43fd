/* libFuzzer target for the device request parsers behind the virtqueue
 * validator: virtio-blk's request decoding (vblk_decode), virtio-net's
 * transmit and receive paths (vtnet_tx_run, vtnet_rx_run, with the
 * backend layer's header conversion and length checks in net.c) over a
 * fake backend, and virtio-console's control protocol (vtcon_ctrl.c; see
 * run_console).  The input is the guest: which device, its negotiated
 * features, a queue size, for blk the disk's size and for net receive the
 * frames the backend holds, then the avail ring, a descriptor table and
 * 32 KiB of data (indirect tables, request headers) in 1 MiB of "guest
 * memory".  The descriptors come in a compact form (6 bytes each) whose
 * addresses mostly fall into the data, so that the fuzzer reaches
 * well-formed requests soon; the validator's own target (vq_fuzz.c)
 * covers raw tables.  Checked beyond ASan/UBSan (and libFuzzer's timeout,
 * which catches a loop that never ends):
 *   - blk: the status byte and every data segment lie inside the chain's
 *     buffers of the right direction; the data length is what the
 *     request says, whole sectors, inside the disk, never a write to a
 *     read-only disk; the bytes reported written fit the chain;
 *   - net: a frame sent is no longer than the chain it came from (less
 *     the guest's header, plus the backend's);
 *   - blk and net: the chains taken are accounted for (see the wrappers
 *     below);
 *   - console: the queue of messages for the driver stays within its
 *     bound and every message handed over has a valid length.
 * Build and run (bounded): make fuzz FUZZ_DEV_SECONDS=60 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/evloop.h"
#include "backends/net.h"
#include "backends/net_priv.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_net.h"
#include "devices/vtcon_ctrl.h"
#include "util.h"
#include "virtio/queue.h"
#include "vmm/mem.h"

#include "fuzz.h"

#define RAM		(1u << 20)
#define DESC_GPA	0x0u		/* up to 1024 entries: 16 KiB */
#define DATA_GPA	0x8000u		/* 32 KiB the input may fill */
#define DATA_SIZE	0x8000u
#define AVAIL_GPA	0x10000u
#define USED_GPA	0x20000u
#define MAXQ		1024u
#define NFRAMES		8u

static uint8_t *ram;
static struct guest_mem mem;
static struct iovec iov[MAXQ + 8], scratch[MAXQ + 8];
static uint32_t last_outlen;	/* of the chain the device took last */

static void f_intr(struct vq *q) { (void)q; }
static void f_err(struct vq *q, const char *why) { (void)q; (void)why; }
static const struct vq_ops ops = { f_intr, f_err };

/* The device's side of the input, before the rings: the disk's capacity
 * (blk); the frames the backend holds, a length each (with the backend's
 * header; 0 ends the list) and the bytes their header starts with (net
 * receive). */
static struct {
	uint16_t capacity;
	uint16_t lens[NFRAMES];
	uint8_t hdr[NETBE_MAX_HDR];
} prm;

/* Whether [p, p+len) lies inside one of v[0..n). */
static int inside(const struct iovec *v, unsigned n, const void *p,
    size_t len)
{
	const uint8_t *b = p;

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *s = v[i].iov_base;
		if (b >= s && len <= v[i].iov_len &&
		    (size_t)(b - s) <= v[i].iov_len - len)
			return 1;
	}
	return 0;
}

/* ---- virtio-blk ---- */

static void run_blk(struct vq *vq, uint8_t flags)
{
	struct vblk_disk d;
	struct vq_chain c;
	struct vblk_cmd cmd;

	memset(&d, 0, sizeof(d));
	d.capacity = prm.capacity;
	d.ro = flags & 0x04;
	d.discard = flags & 0x08;
	d.wzeroes = flags & 0x10;
	d.may_unmap = flags & 0x20;
	d.max_discard_sectors = d.max_wzeroes_sectors = 1u << 12;
	memcpy(d.id, "fuzz-serial-01234567", VIRTIO_BLK_ID_BYTES);
	for (int k = 0; k < 300; k++) {
		const struct iovec *w;
		uint64_t sum = 0;

		if (vq_getchain(vq, &c, iov, MAXQ + 8) <= 0)
			break;
		w = iov + c.nout;
		vblk_decode(&d, iov, c.nout, c.nin, scratch, &cmd);
		if (cmd.action == VBLK_NONE) {
			vq_relchain(vq, &c, 0);
			continue;
		}
		check(inside(w, c.nin, cmd.status, 1));
		check(cmd.written <= c.inlen);
		if (cmd.action == VBLK_DONE) {
			vq_relchain(vq, &c, cmd.written);
			continue;
		}
		if (cmd.op == VBLK_READ || cmd.op == VBLK_WRITE) {
			int rd = cmd.op == VBLK_READ;
			check(!(cmd.op == VBLK_WRITE && d.ro));
			check(cmd.ndata <= (unsigned)c.nout + c.nin);
			for (unsigned i = 0; i < cmd.ndata; i++) {
				check(inside(rd ? w : iov, rd ? c.nin : c.nout,
				    cmd.data[i].iov_base, cmd.data[i].iov_len));
				sum += cmd.data[i].iov_len;
			}
			check(sum == cmd.len);
			check(cmd.len % VBLK_SECTOR == 0);
			check(cmd.offset % VBLK_SECTOR == 0);
			check(cmd.offset / VBLK_SECTOR <= d.capacity &&
			    cmd.len / VBLK_SECTOR <= d.capacity -
			    cmd.offset / VBLK_SECTOR);
			/* the "I/O": touch every byte as a backend would */
			for (unsigned i = 0; i < cmd.ndata; i++)
				memset(cmd.data[i].iov_base, 0x5a,
				    rd ? cmd.data[i].iov_len : 0);
		} else if (cmd.op == VBLK_DISCARD || cmd.op == VBLK_WZEROES) {
			check(!d.ro);
			check(cmd.offset / VBLK_SECTOR <= d.capacity &&
			    cmd.len / VBLK_SECTOR <= d.capacity -
			    cmd.offset / VBLK_SECTOR);
		}
		*cmd.status = 0;
		vq_relchain(vq, &c, cmd.written);
	}
}

/* ---- virtio-net, with a fake backend ---- */

static struct {
	uint8_t frame[NFRAMES][NETBE_MAX_HDR + NETBE_MAX_FRAME + 32];
	size_t len[NFRAMES];	/* with the backend's header */
	unsigned head, count;
	bool with_hdr;		/* carries the frontend's header, as a tap */
	bool peeked;
} fb;

static int fb_open(struct netbe *be, const char *n, const char *d)
{
	(void)n;
	(void)d;
	be->be_hdr_len = 0;
	return 0;
}

static void fb_close(struct netbe *be) { (void)be; }

static ssize_t fb_send(struct netbe *be, const struct iovec *v, int n)
{
	size_t t = 0;

	check(n >= 0 && n <= NETBE_MAX_IOV + 2);
	for (int i = 0; i < n; i++) {
		/* read it all, as writev would */
		volatile uint8_t sink = 0;
		for (size_t j = 0; j < v[i].iov_len; j += 512)
			sink ^= ((const uint8_t *)v[i].iov_base)[j];
		(void)sink;
		t += v[i].iov_len;
	}
	check(t >= be->be_hdr_len);
	check(t + be->fe_hdr_len <= last_outlen + be->be_hdr_len);
	return (ssize_t)t;
}

static ssize_t fb_peek(struct netbe *be, const uint8_t **f)
{
	(void)be;
	if (fb.count == 0)
		return 0;
	fb.peeked = true;
	*f = fb.frame[fb.head];
	return (ssize_t)fb.len[fb.head];
}

static void fb_consume(struct netbe *be)
{
	(void)be;
	fb.peeked = false;
	if (fb.count == 0)
		return;
	fb.head = (fb.head + 1) % NFRAMES;
	fb.count--;
}

static ssize_t fb_recv_direct(struct netbe *be, const struct iovec *v,
    int n)
{
	const uint8_t *f;
	ssize_t len;

	if (fb.peeked)
		return NETBE_USE_RECV;
	len = fb_peek(be, &f);
	if (len <= 0)
		return len;
	/* as a tap's readv: what fits, and the frame's whole length */
	check(n >= 0);
	iov_from_buf(v, (unsigned)n, 0, f, (size_t)len);
	fb_consume(be);
	return len;
}

/* Offloads as a tap's, none without a header (as slirp) */
static uint64_t fb_get_cap(struct netbe *be)
{
	(void)be;
	return fb.with_hdr ? NETBE_F_CSUM | NETBE_F_GUEST_CSUM |
	    NETBE_F_HOST_TSO4 | NETBE_F_HOST_TSO6 | NETBE_F_GUEST_TSO4 |
	    NETBE_F_GUEST_TSO6 : 0;
}

static int fb_set_cap(struct netbe *be, uint64_t features, unsigned hdr_len)
{
	(void)features;
	be->be_hdr_len = fb.with_hdr ? hdr_len : 0;
	return 0;
}

static void fb_rx_enable(struct netbe *be, bool on)
{
	(void)be;
	(void)on;
}

static const struct netbe_ops fb_ops = {
	.prefix = "fake", .open = fb_open, .close = fb_close,
	.send = fb_send, .peek = fb_peek, .consume = fb_consume,
	.recv_direct = fb_recv_direct, .rx_enable = fb_rx_enable,
	.get_cap = fb_get_cap, .set_cap = fb_set_cap,
};

/* The devices' calls of vq_getchain, vq_retchain and vq_relchain come
 * through here (the link wraps them): every chain taken is pushed on
 * `taken`, a give-back must pop one not yet released, a release must
 * name the chain last taken into that vq_chain, not released yet (the
 * same head may be on the ring more than once), and by the end of an input
 * every chain taken has been released or given back (none lost). */
#define MAXTAKEN	(1u << 17)

static struct {
	const struct vq_chain *c;	/* where the device keeps it */
	uint16_t head;
	bool released;
} taken[MAXTAKEN];
static unsigned ntaken;

int __real_vq_getchain(struct vq *vq, struct vq_chain *c, struct iovec *v,
    unsigned maxiov);
int __wrap_vq_getchain(struct vq *vq, struct vq_chain *c, struct iovec *v,
    unsigned maxiov);
void __real_vq_retchain(struct vq *vq);
void __wrap_vq_retchain(struct vq *vq);
void __real_vq_relchain(struct vq *vq, const struct vq_chain *c,
    uint32_t written);
void __wrap_vq_relchain(struct vq *vq, const struct vq_chain *c,
    uint32_t written);

int __wrap_vq_getchain(struct vq *vq, struct vq_chain *c, struct iovec *v,
    unsigned maxiov)
{
	int r = __real_vq_getchain(vq, c, v, maxiov);

	if (r == 1) {
		check(c->head < vq->size);
		check(ntaken < MAXTAKEN);
		last_outlen = c->outlen;
		taken[ntaken].c = c;
		taken[ntaken].head = c->head;
		taken[ntaken++].released = false;
	}
	return r;
}

void __wrap_vq_retchain(struct vq *vq)
{
	check(ntaken > 0 && !taken[ntaken - 1].released);
	ntaken--;
	__real_vq_retchain(vq);
}

void __wrap_vq_relchain(struct vq *vq, const struct vq_chain *c,
    uint32_t written)
{
	unsigned i = ntaken;

	/* the chain last taken into *c (a ring may offer a head twice) */
	while (i > 0 && taken[i - 1].c != c)
		i--;
	check(i > 0 && taken[i - 1].head == c->head &&
	    !taken[i - 1].released);
	taken[i - 1].released = true;
	__real_vq_relchain(vq, c, written);
}

static void check_all_back(void)
{
	for (unsigned i = 0; i < ntaken; i++)
		check(taken[i].released);
}

static void run_net(struct vq *vq, uint8_t flags, bool rx)
{
	static struct vtnet_core c;
	struct vq idle;

	memset(&c, 0, sizeof(c));
	memset(&fb, 0, sizeof(fb));
	fb.with_hdr = flags & 0x40;
	c.mergeable = flags & 0x20;
	c.hdr_len = c.mergeable || (flags & 0x80) ? 12 : 10;
	if (netbe_open_ops(&c.be, &fb_ops, "fuzz", "fake0", evloop_main(),
	    NULL, NULL) != 0)
		abort();
	if (netbe_start(c.be) != 0 || netbe_set_cap(c.be, flags & 0x08 ?
	    netbe_get_cap(c.be) : 0, c.hdr_len) != 0)
		abort();
	/* the other queue exists but is never enabled */
	vq_init(&idle, rx, MAXQ, &ops, NULL, &mem);
	c.rxq = rx ? vq : &idle;
	c.txq = rx ? &idle : vq;
	c.running = true;
	netbe_rx_enable(c.be);
	if (rx) {
		/* the frames: after the header's bytes a pattern; a length
		 * that is a multiple of 4 stands for one just over the
		 * largest a backend passes */
		for (unsigned i = 0; i < NFRAMES && prm.lens[i]; i++) {
			size_t l = prm.lens[i] % 4 == 0 ? NETBE_MAX_FRAME +
			    c.be->be_hdr_len + prm.lens[i] % 16 : prm.lens[i];
			memcpy(fb.frame[i], prm.hdr, sizeof(prm.hdr));
			memset(fb.frame[i] + sizeof(prm.hdr), (int)i,
			    l > sizeof(prm.hdr) ? l - sizeof(prm.hdr) : 0);
			fb.len[i] = l;
			fb.count++;
		}
	}
	for (int k = 0; k < 8; k++) {
		enum vtnet_result r = rx ? vtnet_rx_run(&c, 4) :
		    vtnet_tx_run(&c, 16);

		if (r != VTNET_MORE) {
			if (rx && r == VTNET_IDLE) {
				/* the guest may post buffers for a frame
				 * kept back: look once more */
				netbe_rx_enable(c.be);
				c.rx_big = !c.rx_big;
				continue;
			}
			break;
		}
	}
	netbe_close(c.be);
	pthread_mutex_destroy(&idle.mtx);
}

/* ---- virtio-console's control protocol ---- */

/* No queues here (the messages are whole buffers to it): the rest of the
 * input is a sequence of steps, each a byte saying what happens next and,
 * for a driver message, a length byte and that many bytes (the control
 * queue's buffers are what the guest makes them). */
static void run_console(uint8_t flags)
{
	static struct vtcon_ctrl c;
	uint8_t buf[VTCON_MSG_MAX], msg[256];

	memset(&c, 0, sizeof(c));
	for (unsigned i = 0; i < VTCON_MAXPORTS; i++) {
		char name[16];

		if (!(flags & (1u << (i % 8))) && i != 0)
			continue;
		snprintf(name, sizeof(name), "port%u", i);
		check(vtcon_ctrl_add_port(&c, i, name) == 0);
	}
	vtcon_ctrl_start(&c, flags & 0x80);
	for (int k = 0; k < 2000 && inlen > 0; k++) {
		uint8_t op, n;

		take(&op, 1);
		switch (op % 5) {
		case 0:
		case 1:		/* a driver message of any length */
			take(&n, 1);
			take(msg, n);
			vtcon_ctrl_input(&c, msg, n);
			break;
		case 2:		/* a host peer comes or goes */
			vtcon_ctrl_host_open(&c, (op >> 3) % VTCON_MAXPORTS,
			    op & 0x80);
			break;
		case 3:		/* the device hands the driver what waits */
			for (int j = 0; j < VTCON_CTRLQ_MAX + 1; j++) {
				size_t l = vtcon_ctrl_peek(&c, buf);
				if (l == 0)
					break;
				check(l >= VTCON_MSG_SIZE &&
				    l <= VTCON_MSG_MAX);
				vtcon_ctrl_pop(&c);
			}
			break;
		default:	/* driver reset, then running again */
			vtcon_ctrl_reset(&c);
			check(c.qlen == 0);
			vtcon_ctrl_start(&c, op & 0x80);
			break;
		}
		check(c.qlen <= VTCON_CTRLQ_MAX && c.qhead < VTCON_CTRLQ_MAX);
		for (unsigned i = 0; i < VTCON_MAXPORTS; i++)
			(void)vtcon_ctrl_can_rx(&c, i);
	}
}

static void desc_put(unsigned i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	uint8_t *d = ram + DESC_GPA + 16u * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq vq;
	uint8_t mode, flags;
	uint16_t qs;
	size_t n;

	if (ram == NULL) {
		ram = calloc(1, RAM);
		if (ram == NULL)
			abort();
		mem.r[0] = (struct mem_region){ 0, RAM, ram };
		mem.nr = 1;
		mem.lowmem = RAM;
	}
	if (size < 4)
		return 0;
	mode = data[0] % 4;
	if (mode == 3) {
		in = data + 2;
		inlen = size - 2;
		run_console(data[1]);
		return 0;
	}
	flags = data[1];
	/* 1..256 for blk (its queue), 1..1024 for net */
	qs = (uint16_t)(1u << (data[2] % (mode == 0 ? 9 : 11)));
	in = data + 3;
	inlen = size - 3;
	take(&prm, sizeof(prm));
	ntaken = 0;
	memset(ram, 0, 0x30000);
	vq_init(&vq, 0, qs, &ops, NULL, &mem);
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	if (!vq_enable(&vq))
		return 0;
	vq.indirect = flags & 1;
	vq.event_idx = flags & 2;
	/* avail ring (flags, idx, ring), descriptors, data */
	n = 4 + 2u * qs;
	take(ram + AVAIL_GPA, n < inlen ? n : inlen);
	for (unsigned i = 0; i < qs && inlen > 0; i++) {
		/* addr: with the top bit, 16-byte units anywhere in RAM,
		 * else a byte offset into the data; len; flags; next */
		uint8_t d[6];
		uint16_t a, l;
		uint64_t gpa;

		take(d, sizeof(d));
		memcpy(&a, d, 2);
		memcpy(&l, d + 2, 2);
		gpa = a & 0x8000 ? 16u * (a & 0x7fffu) : DATA_GPA + a;
		desc_put(i, gpa, l, d[4], d[5]);
	}
	n = DATA_SIZE;
	take(ram + DATA_GPA, n < inlen ? n : inlen);
	if (mode == 0)
		run_blk(&vq, flags);
	else
		run_net(&vq, flags, mode == 2);
	check_all_back();
	pthread_mutex_destroy(&vq.mtx);
	return 0;
}
