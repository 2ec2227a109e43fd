/* virtio-net's receive and transmit paths (src/devices/virtio_net.c,
 * vtnet_rx_run / vtnet_tx_run) driven by a simulated, partly hostile guest
 * driver over real split rings (src/virtio/queue.c) in fake guest memory,
 * with a fake backend.  A fixed seed, a bounded number of steps (and at
 * most a few seconds).  Checked after every step:
 *   - the device never writes outside the buffers the driver offered
 *     (canary bytes everywhere else);
 *   - used entries name outstanding heads, lengths within the buffers;
 *   - every delivered frame is byte-exact (header: zeros, num_buffers),
 *     in order, merged buffers counted right; frames are dropped only when
 *     they cannot fit;
 *   - every transmitted chain with a sane length reaches the backend
 *     byte-exact without its header, in order; the rest are dropped;
 *   - the queue breaks only after the driver posted something hostile;
 *   - out of receive buffers, the backend's receive is disabled. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/evloop.h"
#include "backends/net.h"
#include "backends/net_priv.h"
#include "devices/virtio_net.h"
#include "virtio/queue.h"
#include "vmm/mem.h"

#define MEMSZ		(8u << 20)
#define QSZ		64
#define SLOT		8192u		/* buffer bytes owned by a descriptor */
#define BUF_BASE	0x10000u
#define CANARY		0xa5
#define MAXD		6		/* descriptors per chain */
#define NFRAMES		64

static uint8_t *ram;
static struct guest_mem gm;
static uint8_t *touched;	/* 1 bit per byte: the driver offered it */

/* ---- fake backend ---- */

static struct {
	uint8_t *rx[NFRAMES];
	size_t rxlen[NFRAMES];
	unsigned head, count;
	uint64_t seq_in;		/* frames queued so far */
	uint8_t *sent[1024];
	size_t sentlen[1024];
	unsigned nsent;
	bool enabled;
	bool with_hdr;		/* carries the frontend's header, as a tap */
	bool peeked;		/* the head frame was peeked: not direct */
	unsigned direct;	/* frames read by recv_direct */
} fb;

static int fb_open(struct netbe *be, const char *n, const char *d)
{
	(void)n;
	(void)d;
	be->be_hdr_len = 0;
	return 0;
}

static void fb_close(struct netbe *be)
{
	(void)be;
}

/* Frames are kept after NETBE_MAX_HDR zero bytes: the header a backend
 * that carries one hands over. */
static ssize_t fb_send(struct netbe *be, const struct iovec *iov, int n)
{
	size_t t = 0, skip = be->be_hdr_len;
	uint8_t *f;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	assert_true(fb.nsent < 1024);
	assert_true(t >= skip);
	f = malloc(t ? t : 1);
	t = 0;
	for (int i = 0; i < n; i++) {
		size_t k = skip < iov[i].iov_len ? skip : iov[i].iov_len;
		memcpy(f + t, (uint8_t *)iov[i].iov_base + k,
		    iov[i].iov_len - k);
		t += iov[i].iov_len - k;
		skip -= k;
	}
	fb.sent[fb.nsent] = f;
	fb.sentlen[fb.nsent++] = t;
	return (ssize_t)t;
}

static ssize_t fb_peek(struct netbe *be, const uint8_t **f)
{
	if (fb.count == 0)
		return 0;
	fb.peeked = true;
	*f = fb.rx[fb.head] + NETBE_MAX_HDR - be->be_hdr_len;
	return (ssize_t)(fb.rxlen[fb.head] + be->be_hdr_len);
}

static void fb_consume(struct netbe *be)
{
	(void)be;
	fb.peeked = false;
	if (fb.count == 0)
		return;
	free(fb.rx[fb.head]);
	fb.rx[fb.head] = NULL;
	fb.head = (fb.head + 1) % NFRAMES;
	fb.count--;
}

/* As a tap's readv: what fits, and the frame's whole length. */
static ssize_t fb_recv_direct(struct netbe *be, const struct iovec *iov,
    int n)
{
	const uint8_t *f;
	ssize_t len;
	size_t off = 0;

	if (fb.peeked)
		return -2;
	len = fb_peek(be, &f);
	if (len <= 0)
		return len;
	for (int i = 0; i < n && off < (size_t)len; i++) {
		size_t k = (size_t)len - off < iov[i].iov_len ?
		    (size_t)len - off : iov[i].iov_len;
		memcpy(iov[i].iov_base, f + off, k);
		off += k;
	}
	fb_consume(be);
	fb.direct++;
	return len;
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
	fb.enabled = on;
}

static const struct netbe_ops fb_ops = {
	.prefix = "fake", .open = fb_open, .close = fb_close,
	.send = fb_send, .peek = fb_peek, .consume = fb_consume,
	.recv_direct = fb_recv_direct, .rx_enable = fb_rx_enable,
	.set_cap = fb_set_cap,
};

/* Frame content: a function of its sequence number and offset. */
static uint8_t fbyte(uint64_t seq, size_t i)
{
	return (uint8_t)(seq * 131 + i * 7 + (i >> 8));
}

/* Frames the backend queued, for checking what arrives (by sequence). */
static struct {
	uint64_t seq;
	size_t len;
} expect_rx[1 << 16];
static uint64_t next_rx;	/* first frame not yet seen by the guest */

static void fb_queue(size_t len)
{
	uint8_t *f;

	if (fb.count == NFRAMES)
		return;
	f = calloc(1, NETBE_MAX_HDR + len);
	assert_non_null(f);
	for (size_t i = 0; i < len; i++)
		f[NETBE_MAX_HDR + i] = fbyte(fb.seq_in, i);
	/* the first 8 bytes carry the sequence number */
	if (len >= 8)
		memcpy(f + NETBE_MAX_HDR, &fb.seq_in, 8);
	fb.rx[(fb.head + fb.count) % NFRAMES] = f;
	fb.rxlen[(fb.head + fb.count) % NFRAMES] = len;
	fb.count++;
	expect_rx[fb.seq_in % (1 << 16)].seq = fb.seq_in;
	expect_rx[fb.seq_in % (1 << 16)].len = len;
	fb.seq_in++;
}

/* ---- the simulated driver ---- */

struct dq {
	struct vq vq;
	unsigned qi;
	uint64_t desc, avail, used;
	uint16_t avail_idx, last_used;
	bool busy[QSZ];		/* descriptor in a posted chain */
	int chain[QSZ][MAXD];	/* descriptors of the chain at head */
	int nd[QSZ];
	bool out[QSZ];		/* head outstanding */
	uint32_t cap[QSZ];	/* writable bytes (rx) */
	bool hostile;		/* something hostile posted since reset */
};

static struct dq rxd, txd;
static unsigned interrupts, errors;
static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static uint16_t used_at_first;	/* used index when the first came */

static void vq_intr(struct vq *vq)
{
	if (interrupts++ == 0)
		used_at_first = vq->used_idx;
}

static void vq_err(struct vq *vq, const char *why)
{
	(void)vq;
	(void)why;
	errors++;
}

static const struct vq_ops test_ops = { .interrupt = vq_intr,
	.error = vq_err };

static void mark(uint64_t gpa, uint32_t len)
{
	for (uint64_t a = gpa; a < gpa + len && a < MEMSZ; a++)
		touched[a >> 3] |= (uint8_t)(1u << (a & 7));
}

static uint8_t *desc_at(struct dq *q, int i)
{
	return ram + q->desc + 16u * (unsigned)i;
}

static void put_desc(struct dq *q, int i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	uint8_t *d = desc_at(q, i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void dq_setup(struct dq *q, unsigned qi, uint64_t base)
{
	q->qi = qi;
	q->desc = base;
	q->avail = base + 0x1000;
	q->used = base + 0x2000;
	memset(ram + base, 0, 0x3000);
	q->avail_idx = q->last_used = 0;
	memset(q->busy, 0, sizeof(q->busy));
	memset(q->out, 0, sizeof(q->out));
	q->hostile = false;
	pthread_mutex_lock(&q->vq.mtx);
	q->vq.size = QSZ;
	q->vq.desc_gpa = q->desc;
	q->vq.avail_gpa = q->avail;
	q->vq.used_gpa = q->used;
	pthread_mutex_unlock(&q->vq.mtx);
	assert_true(vq_enable(&q->vq));
}

static uint64_t slot_of(struct dq *q, int i)
{
	return BUF_BASE + ((uint64_t)q->qi * QSZ + (unsigned)i) * SLOT;
}

static void publish(struct dq *q, uint16_t head)
{
	uint8_t *av = ram + q->avail;

	memcpy(av + 4 + 2u * (q->avail_idx % QSZ), &head, 2);
	q->avail_idx++;
	__atomic_store_n((uint16_t *)(av + 2), q->avail_idx, __ATOMIC_RELEASE);
}

/* Post one chain; rx chains are device-writable, tx chains readable
 * (header then frame).  A few in a hundred are hostile. */
static void post(struct dq *q, bool rx, unsigned hdr)
{
	int free_d[MAXD], n = 0, want = 1 + (int)(rnd() % MAXD);
	uint32_t cap = 0;
	unsigned kind = rnd() % 200;

	for (int i = 0; i < QSZ && n < want; i++)
		if (!q->busy[i])
			free_d[n++] = i;
	if (n == 0)
		return;
	for (int k = 0; k < n; k++) {
		int i = free_d[k];
		uint64_t addr = slot_of(q, i);
		uint32_t len;
		uint16_t flags = (uint16_t)(rx ? VRING_DESC_F_WRITE : 0);
		switch (rnd() % 8) {
		case 0: len = 0; break;
		case 1: len = 1 + rnd() % 16; break;
		case 2: len = SLOT; break;
		default: len = 1 + rnd() % SLOT; break;
		}
		if (!rx && k == 0 && rnd() % 2)
			len = hdr;	/* header in a descriptor of its own */
		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		put_desc(q, i, addr, len, flags,
		    (uint16_t)(k + 1 < n ? free_d[k + 1] : 0));
		mark(addr, len);
		if (!rx) {
			for (uint32_t b = 0; b < len; b++)
				ram[addr + b] = (uint8_t)rnd();
		}
		cap += len;
		q->busy[i] = true;
		q->chain[free_d[0]][k] = i;
	}
	q->nd[free_d[0]] = n;
	q->cap[free_d[0]] = cap;
	/* Hostility, in valid-looking chains. */
	if (kind < 3) {
		int i = free_d[rnd() % n];
		uint64_t bad = kind == 0 ? MEMSZ + rnd() % 4096 :
		    MEMSZ - 8;
		uint32_t len = kind == 2 ? 0xffffffffu : 64;
		memcpy(desc_at(q, i), &bad, 8);
		memcpy(desc_at(q, i) + 8, &len, 4);
		q->hostile = true;
	} else if (kind == 3 && n > 1) {	/* loop */
		uint16_t f = VRING_DESC_F_NEXT | (rx ? VRING_DESC_F_WRITE : 0);
		uint16_t first = (uint16_t)free_d[0];
		memcpy(desc_at(q, free_d[n - 1]) + 12, &f, 2);
		memcpy(desc_at(q, free_d[n - 1]) + 14, &first, 2);
		q->hostile = true;
	} else if (kind == 4 && n > 1) {	/* next out of range */
		uint16_t nx = (uint16_t)(QSZ + rnd() % 1000);
		memcpy(desc_at(q, free_d[0]) + 14, &nx, 2);
		q->hostile = true;
	} else if (kind == 5 && n > 1 && rx) {	/* readable after writable */
		uint16_t f = VRING_DESC_F_NEXT * (n > 2);
		memcpy(desc_at(q, free_d[n - 1]) + 12, &f, 2);
		q->hostile = true;
	} else if (kind == 6 && rx) {	/* a readable-only rx chain: valid */
		for (int k = 0; k < n; k++) {
			uint16_t f = k + 1 < n ? VRING_DESC_F_NEXT : 0;
			memcpy(desc_at(q, free_d[k]) + 12, &f, 2);
		}
		q->cap[free_d[0]] = 0;
	} else if (kind == 7) {		/* head out of range */
		publish(q, (uint16_t)(QSZ + rnd() % 100));
		q->hostile = true;
		q->out[free_d[0]] = false;
		return;
	} else if (kind == 8) {		/* avail index far ahead */
		q->avail_idx = (uint16_t)(q->avail_idx + QSZ + 1);
		q->hostile = true;
	}
	q->out[free_d[0]] = true;
	publish(q, (uint16_t)free_d[0]);
}

static void release_head(struct dq *q, int head)
{
	for (int k = 0; k < q->nd[head]; k++)
		q->busy[q->chain[head][k]] = false;
	q->out[head] = false;
}

/* Copy the device-writable bytes of a chain (as posted). */
static size_t gather(struct dq *q, int head, uint8_t *dst, size_t max)
{
	size_t n = 0;

	for (int k = 0; k < q->nd[head]; k++) {
		uint8_t *d = desc_at(q, q->chain[head][k]);
		uint64_t a;
		uint32_t l;
		uint16_t f;
		memcpy(&a, d, 8);
		memcpy(&l, d + 8, 4);
		memcpy(&f, d + 12, 2);
		if (!(f & VRING_DESC_F_WRITE))
			continue;
		if (l > max - n)
			l = (uint32_t)(max - n);
		memcpy(dst + n, ram + a, l);
		n += l;
	}
	return n;
}

static bool next_used(struct dq *q, uint32_t *id, uint32_t *len)
{
	uint8_t *u = ram + q->used;
	uint16_t idx = __atomic_load_n((uint16_t *)(u + 2), __ATOMIC_ACQUIRE);
	uint8_t *e;

	if (idx == q->last_used)
		return false;
	e = u + 4 + 8u * (q->last_used % QSZ);
	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
	q->last_used++;
	return true;
}

static uint8_t frame[NETBE_MAX_FRAME + 64], piece[MAXD * SLOT];

/* The guest reads what the device delivered. */
static void drain_rx(struct vtnet_core *c)
{
	uint32_t id, len;

	while (next_used(&rxd, &id, &len)) {
		size_t got, total;
		unsigned nbuf = 1;
		assert_true(id < QSZ);
		assert_true(rxd.out[id]);
		assert_true(len <= rxd.cap[id]);
		got = gather(&rxd, (int)id, piece, sizeof(piece));
		assert_true(len <= got);
		release_head(&rxd, (int)id);
		if (len == 0)
			continue;	/* returned empty */
		assert_true(len >= c->hdr_len);
		memcpy(frame, piece, len);
		total = len;
		if (c->hdr_len == 12) {
			nbuf = (unsigned)(frame[10] | frame[11] << 8);
			if (!c->mergeable)
				assert_int_equal(nbuf, 1);
			assert_true(nbuf >= 1 && nbuf <= VTNET_MAXCHAINS);
		}
		for (unsigned b = 1; b < nbuf; b++) {
			assert_true(next_used(&rxd, &id, &len));
			assert_true(id < QSZ && rxd.out[id]);
			assert_true(len > 0 && len <= rxd.cap[id]);
			got = gather(&rxd, (int)id, piece, sizeof(piece));
			assert_true(len <= got);
			assert_true(total + len <= sizeof(frame));
			memcpy(frame + total, piece, len);
			total += len;
			release_head(&rxd, (int)id);
		}
		for (unsigned i = 0; i < 10; i++)
			assert_int_equal(frame[i], 0);
		/* the payload is a queued frame at or after next_rx */
		{
			size_t plen = total - c->hdr_len;
			uint8_t *p = frame + c->hdr_len;
			uint64_t seq;
			assert_true(plen >= 14);
			memcpy(&seq, p, 8);
			assert_true(seq >= next_rx && seq < fb.seq_in);
			assert_int_equal(expect_rx[seq % (1 << 16)].len, plen);
			for (size_t i = 8; i < plen; i++)
				if (p[i] != fbyte(seq, i))
					fail_msg("frame %llu byte %zu differs",
					    (unsigned long long)seq, i);
			next_rx = seq + 1;
		}
	}
}

/* Expected transmit frame of a chain at head, or length 0 when the device
 * must drop it. */
static size_t tx_expect(int head, unsigned hdr, uint8_t *dst)
{
	size_t n = 0, all = 0;

	for (int k = 0; k < txd.nd[head]; k++) {
		uint8_t *d = desc_at(&txd, txd.chain[head][k]);
		uint64_t a;
		uint32_t l;
		memcpy(&a, d, 8);
		memcpy(&l, d + 8, 4);
		for (uint32_t b = 0; b < l; b++, all++)
			if (all >= hdr && n < NETBE_MAX_FRAME + 1)
				dst[n++] = ram[a + b];
	}
	if (all < hdr + NETBE_MIN_FRAME || all > hdr + NETBE_MAX_FRAME)
		return 0;
	return n;
}

static unsigned sent_seen;

static void drain_tx(unsigned hdr)
{
	uint32_t id, len;

	while (next_used(&txd, &id, &len)) {
		size_t n;
		assert_true(id < QSZ && txd.out[id]);
		assert_int_equal(len, 0);
		n = tx_expect((int)id, hdr, frame);
		if (n) {
			assert_true(sent_seen < fb.nsent);
			assert_int_equal(fb.sentlen[sent_seen], n);
			assert_memory_equal(fb.sent[sent_seen], frame, n);
			sent_seen++;
		}
		release_head(&txd, (int)id);
	}
	assert_int_equal(sent_seen, fb.nsent);
}

static void check_canary(void)
{
	for (uint64_t a = BUF_BASE; a < MEMSZ; a++)
		if (!(touched[a >> 3] & (1u << (a & 7))) && ram[a] != CANARY)
			fail_msg("device wrote outside the offered buffers at "
			    "%#llx", (unsigned long long)a);
}

static void reset_all(struct vtnet_core *c)
{
	uint32_t id, len;

	vq_reset(&rxd.vq);
	vq_reset(&txd.vq);
	dq_setup(&rxd, 0, 0x0000);
	dq_setup(&txd, 1, 0x4000);
	(void)id;
	(void)len;
	c->mergeable = rnd() % 2;
	c->hdr_len = c->mergeable || rnd() % 2 ? 12 : 10;
	fb.with_hdr = rnd() % 2;
	assert_int_equal(netbe_set_cap(c->be, 0, c->hdr_len), 0);
	/* frames the guest will never see are skipped by sequence */
	next_rx = fb.seq_in - fb.count;
	for (unsigned i = 0; i < fb.nsent; i++)
		free(fb.sent[i]);
	fb.nsent = sent_seen = 0;
}

/* Fake guest memory (canary bytes), the fake backend started and the
 * two queues, for a device core c. */
static void core_up(struct vtnet_core *c)
{
	ram = malloc(MEMSZ);
	touched = calloc(MEMSZ / 8, 1);
	assert_non_null(ram);
	assert_non_null(touched);
	memset(ram, CANARY, MEMSZ);
	gm.r[0] = (struct mem_region){ .gpa = 0, .size = MEMSZ, .hva = ram };
	gm.nr = 1;
	gm.lowmem = MEMSZ;
	memset(&fb, 0, sizeof(fb));
	memset(c, 0, sizeof(*c));
	assert_int_equal(netbe_open_ops(&c->be, &fb_ops, "t", "fake0",
	    evloop_main(), NULL, NULL), 0);
	assert_int_equal(netbe_start(c->be), 0);
	vq_init(&rxd.vq, 0, VTNET_QSIZE, &test_ops, NULL, &gm);
	vq_init(&txd.vq, 1, VTNET_QSIZE, &test_ops, NULL, &gm);
	c->rxq = &rxd.vq;
	c->txq = &txd.vq;
}

/* core_up's undoing: the backend closed, the frames it still holds and
 * those it was sent freed, the fake memory freed. */
static void core_down(struct vtnet_core *c)
{
	netbe_close(c->be);
	while (fb.count)
		fb_consume(NULL);
	for (unsigned i = 0; i < fb.nsent; i++)
		free(fb.sent[i]);
	free(touched);
	free(ram);
}

static void test_hostile_driver(void **state)
{
	static struct vtnet_core c;
	struct timespec t0, t1;
	unsigned steps = 0, resets = 0;

	(void)state;
	core_up(&c);
	rng = 0x9e3779b97f4a7c15ULL;	/* fixed seed */
	reset_all(&c);
	c.running = true;
	netbe_rx_enable(c.be);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		unsigned op = rnd() % 10;
		enum vtnet_result r;

		if (op < 3) {
			for (unsigned k = rnd() % 8; k; k--)
				post(&rxd, true, c.hdr_len);
		} else if (op < 5) {
			for (unsigned k = rnd() % 8; k; k--)
				post(&txd, false, c.hdr_len);
		} else if (op < 7) {
			for (unsigned k = rnd() % 8; k; k--) {
				unsigned v = rnd() % 100;
				size_t len = v < 70 ? 14 + rnd() % 1500 :
				    v < 95 ? 14 + rnd() % 30000 : v < 98 ?
				    NETBE_MAX_FRAME : 1 + rnd() % 13;
				fb_queue(len);
			}
		} else if (op < 8) {
			netbe_rx_enable(c.be);
			r = vtnet_rx_run(&c, 1 + rnd() % 64);
			drain_rx(&c);
			if (r == VTNET_IDLE && fb.count > 0)
				assert_false(fb.enabled);
			if (r == VTNET_STOPPED)
				assert_true(rxd.hostile);
		} else if (op < 9) {
			r = vtnet_tx_run(&c, 1 + rnd() % 64);
			drain_tx(c.hdr_len);
			if (r == VTNET_STOPPED)
				assert_true(txd.hostile);
		} else if (rnd() % 20 == 0 || rxd.vq.broken ||
		    txd.vq.broken) {
			reset_all(&c);
			resets++;
		}
		/* the device must not break on valid chains */
		if (rxd.vq.broken)
			assert_true(rxd.hostile);
		if (txd.vq.broken)
			assert_true(txd.hostile);
		if (++steps % 500 == 0) {
			check_canary();
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (steps >= 20000 || t1.tv_sec - t0.tv_sec >= 3)
				break;
		}
	}
	check_canary();
	print_message("vtnet: %u steps, %u resets, %llu rx / %llu tx frames, "
	    "%llu / %llu dropped, %llu bad chains, %u interrupts, %u read "
	    "directly\n", steps,
	    resets, (unsigned long long)c.rx_frames,
	    (unsigned long long)c.tx_frames,
	    (unsigned long long)c.rx_dropped,
	    (unsigned long long)c.tx_dropped,
	    (unsigned long long)c.bad_chains, interrupts, fb.direct);
	/* the run must have exercised every path */
	assert_true(c.rx_frames > 100 && c.tx_frames > 100);
	assert_true(fb.direct > 10);
	assert_true(c.rx_dropped > 0 && c.tx_dropped > 0);
	assert_true(c.bad_chains > 0 && errors > 0 && resets > 0);
	core_down(&c);
}

/* The guest hears of the first frame of a pass as soon as it is in the
 * used ring, not once the pass has read every frame; with the event index
 * it hears once, as it asked (used_event 0), for the pass's three frames.
 * Without the index, flags allowing, it hears of each. */
static void test_rx_signal(void **state)
{
	static struct vtnet_core c;

	(void)state;
	core_up(&c);
	c.hdr_len = 12;
	c.mergeable = true;
	c.running = true;
	for (int ev = 0; ev < 2; ev++) {
		vq_reset(&rxd.vq);
		memset(ram, 0, MEMSZ);
		dq_setup(&rxd, 0, 0x0000);
		rxd.vq.event_idx = ev;
		for (int i = 0; i < 8; i++) {
			put_desc(&rxd, i, slot_of(&rxd, i), SLOT,
			    VRING_DESC_F_WRITE, 0);
			publish(&rxd, (uint16_t)i);
		}
		for (int i = 0; i < 3; i++)
			fb_queue(1000);
		interrupts = 0;
		netbe_rx_enable(c.be);
		assert_int_equal(vtnet_rx_run(&c, 64), VTNET_IDLE);
		assert_int_equal(rxd.vq.used_idx, 3);
		assert_int_equal(used_at_first, 1);
		assert_int_equal(interrupts, ev ? 1 : 3);
	}
	core_down(&c);
}

/* The same for transmit: the guest hears of the first frame sent as soon as
 * it is in the used ring, not once the pass has sent every frame (a guest
 * whose TCP waits for its sent frames to be freed sends again sooner);
 * with the event index once, as it asked, for the pass's three frames.
 * Without the index, flags allowing, it hears of each. */
static void test_tx_signal(void **state)
{
	static struct vtnet_core c;

	(void)state;
	core_up(&c);
	c.hdr_len = 12;
	c.running = true;
	for (int ev = 0; ev < 2; ev++) {
		vq_reset(&txd.vq);
		memset(ram, 0, MEMSZ);
		dq_setup(&txd, 1, 0x4000);
		txd.vq.event_idx = ev;
		for (int i = 0; i < 3; i++) {
			put_desc(&txd, i, slot_of(&txd, i), 12 + 60, 0, 0);
			publish(&txd, (uint16_t)i);
		}
		interrupts = 0;
		assert_int_equal(vtnet_tx_run(&c, 64), VTNET_IDLE);
		assert_int_equal(txd.vq.used_idx, 3);
		assert_int_equal(used_at_first, 1);
		assert_int_equal(interrupts, ev ? 1 : 3);
	}
	core_down(&c);
}

int run_vtnet_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_driver),
		cmocka_unit_test(test_rx_signal),
		cmocka_unit_test(test_tx_signal),
	};
	return cmocka_run_group_tests_name("vtnet", tests, NULL, NULL);
}
