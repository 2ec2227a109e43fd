/* virtio-blk (virtio 1.2, 5.2) on the virtio PCI transport and the shared
 * block backend.
 *
 * Threads: the queue is processed on the device's I/O thread (the
 * transport's VIRTIO_CTX_IOTHREAD: guest notifications through an
 * ioeventfd, suppressed while a pass empties the queue).  A read or write
 * that cannot wait on a device (blk_try_now: an image in memory, a read
 * the page cache holds) is finished right there; the rest go to the block
 * backend, whose completion thread or workers fill the status byte and put
 * the chain on the used ring, then raise one interrupt per batch (io_batch;
 * vq_relchain/vq_endchains take the queue's lock).
 * Nothing here runs on a vCPU except config-space reads and reset, which
 * do not block.
 * Lock: `mtx` guards the free list of request slots and `stalled`.  A
 * notification that finds no free slot (more requests in flight than
 * slots, possible only across a device reset) sets `stalled`; the next
 * completion then wakes the I/O thread through `kick_fd`. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backends/block.h"
#include "backends/evloop.h"
#include "bus/pci.h"
#include "config.h"
#include "devices/virtio_blk.h"
#include "util.h"
#include "virtio/virtio.h"

/* Feature bits (virtio 1.2, 5.2.3) */
#define VIRTIO_BLK_F_SIZE_MAX		1
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_TOPOLOGY		10
#define VIRTIO_BLK_F_DISCARD		13
#define VIRTIO_BLK_F_WRITE_ZEROES	14

#define VBLK_QSIZE	256	/* as QEMU's: a 1 MiB request in one chain */
#define VBLK_SEG_MAX	(VBLK_QSIZE - 2)	/* header and status */
#define VBLK_SIZE_MAX	(1u << 20)		/* bytes per segment */
#define VBLK_NIO	(2 * VBLK_QSIZE)
#define VBLK_MAX_DWZ	(1u << 21)		/* sectors: 1 GiB */
#define VBLK_CFG_SIZE	60
/* Interrupt batching (vblk_process): the I/O thread watches an emptied
 * queue for the driver's next request, which it then takes without the
 * driver notifying.  The watch's window follows the driver's pace: it
 * starts at a quarter of virtio.poll_us (our extension; 0 turns it off),
 * moves toward three times the wait for each request a watch finds,
 * doubles after a watch that found nothing, and stays between an eighth of
 * virtio.poll_us and all of it.  After VBLK_FUTILE_PASSES passes in a row
 * whose watch found nothing the watch stops; then every
 * VBLK_PROBE_PASSES-th pass that finished requests watches once with the
 * starting window, and one that finds a request starts it again.
 * A watch holds the requests finished before it (one interrupt for a
 * burst) as long as holding pays: a driver that adds requests while it
 * still waits for others.  After VBLK_FUTILE_PASSES holding passes in a
 * row in which no request came while requests were held (a driver that
 * waits for each request, queue depth 1) the watches raise the interrupt
 * first and then watch, and every VBLK_PROBE_PASSES-th watch holds again
 * to see.  Held requests wait for their interrupt at most VBLK_HOLD_NS, or
 * virtio.poll_us if longer; the watch goes on after that interrupt.
 * The default window reaches 2 ms: in the nested test host a guest's turn
 * at queue depth 1, from its interrupt to its next request, often takes
 * longer than 800 µs, and a window capped there missed nearly all of them
 * (bench/RESULTS.md, 2026-11-29). */
#define VBLK_POLL_US_DEF	2000
#define VBLK_FUTILE_PASSES	8
#define VBLK_PROBE_PASSES	64
#define VBLK_HOLD_NS		800000
/* A pass takes at most this many turns (a chain taken, or a look at the
 * ring), then ends as an emptied queue ends it and wakes the I/O thread
 * again through kick_fd: a driver that refills the queue as fast as it is
 * emptied (or forever re-posts one chain) cannot keep the thread in one
 * callback, and what else its loop runs gets its turn. */
#define VBLK_PASS_TURNS		(4 * VBLK_QSIZE)
/* ... or once it has lasted this long (and its current watch is over). */
#define VBLK_PASS_NS		10000000

/* virtio_blk_config offsets */
#define CFG_CAPACITY		0
#define CFG_SIZE_MAX		8
#define CFG_SEG_MAX		12
#define CFG_BLK_SIZE		20
#define CFG_PHYS_EXP		24
#define CFG_ALIGN_OFF		25
#define CFG_MIN_IO		26
#define CFG_OPT_IO		28
#define CFG_WRITEBACK		32
#define CFG_NUM_QUEUES		34
#define CFG_MAX_DISCARD		36
#define CFG_MAX_DISCARD_SEG	40
#define CFG_DISCARD_ALIGN	44
#define CFG_MAX_WZ		48
#define CFG_MAX_WZ_SEG		52
#define CFG_WZ_MAY_UNMAP	56

struct vblk;

struct vblk_io {
	struct blk_req br;
	struct vblk *sc;
	struct vq *vq;
	struct vq_chain chain;
	uint8_t *status;
	uint32_t written;
	struct vblk_io *next;
	struct iovec *iov;	/* VBLK_QSIZE each, in vblk.iovs */
	struct iovec *data;
};

/* A request's segment lists, kept apart from the request headers: the
 * free list is LIFO, so only as many of these pages as requests were ever
 * in flight at once are touched (all of them would be 4 MiB).  Mapped
 * without transparent huge pages, which would back a first touch with
 * 2 MiB. */
struct vblk_iovs {
	struct iovec iov[VBLK_QSIZE];
	struct iovec data[VBLK_QSIZE];
};

static struct vblk_iovs *iovs_alloc(void)
{
	size_t len = VBLK_NIO * sizeof(struct vblk_iovs);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

static void iovs_free(struct vblk_iovs *p)
{
	if (p != NULL)
		munmap(p, VBLK_NIO * sizeof(struct vblk_iovs));
}

struct vblk {
	struct virtio_ops ops;
	struct virtio_dev *vd;
	struct blk *blk;
	struct vblk_disk disk;
	uint8_t cfg[VBLK_CFG_SIZE];
	char node[32];
	int kick_fd;
	struct ev *kick_w;	/* on the I/O thread */
	pthread_mutex_t mtx;
	struct vblk_io *free;
	bool stalled;
	uint64_t poll_ns;	/* virtio.poll_us: the longest window */
	uint64_t hold_ns;	/* VBLK_HOLD_NS, at least poll_ns */
	/* I/O thread only: */
	bool watching;		/* the watch is on */
	uint64_t win;		/* its window, poll_ns / 8 .. poll_ns */
	bool hold_ok;		/* watches hold finished requests */
	unsigned hold_futile;	/* holding passes in a row that found none */
	unsigned since_hold_probe;	/* watches without holding */
	unsigned futile;	/* passes in a row whose watch found nothing */
	unsigned since_probe;	/* passes without a watch */
	struct vblk_iovs *iovs;	/* VBLK_NIO */
	struct vblk_io ios[VBLK_NIO];
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static struct vblk_io *io_get(struct vblk *sc)
{
	struct vblk_io *io;

	pthread_mutex_lock(&sc->mtx);
	io = sc->free;
	if (io)
		sc->free = io->next;
	else
		sc->stalled = true;
	pthread_mutex_unlock(&sc->mtx);
	return io;
}

/* Wake the I/O thread (vblk_kick). */
static void kick(struct vblk *sc)
{
	uint64_t one = 1;

	if (write(sc->kick_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: a wakeup is pending anyway */
	}
}

static void io_put(struct vblk *sc, struct vblk_io *io)
{
	bool stalled;

	pthread_mutex_lock(&sc->mtx);
	io->next = sc->free;
	sc->free = io;
	stalled = sc->stalled;
	sc->stalled = false;
	pthread_mutex_unlock(&sc->mtx);
	if (stalled)
		kick(sc);
}

static uint8_t errno_status(int err)
{
	if (err == 0)
		return VIRTIO_BLK_S_OK;
	return err == EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

/* A finished request: its status byte, the used ring (the interrupt is
 * the caller's: vq_endchains). */
static void io_finish(struct vblk *sc, struct vblk_io *io, int err)
{
	struct blk_req *br = &io->br;

	*io->status = errno_status(err);
	if (err)
		guest_log("%s: %s of %llu bytes at %llu failed: %s", sc->node,
		    br->op == BLK_OP_READ ? "read" : br->op == BLK_OP_WRITE ?
		    "write" : "request", (unsigned long long)br->len,
		    (unsigned long long)br->offset, strerror(err));
	vq_relchain(io->vq, &io->chain, err ? 1 : io->written);
}

/* Backend completion thread: each request of a batch, then io_batch()
 * raises the interrupt once for all of them. */
static void io_done(struct blk_req *br, int err)
{
	struct vblk_io *io = br->arg;

	io_finish(io->sc, io, err);
	io_put(io->sc, io);
}

static void io_batch(void *arg)
{
	struct vblk *sc = arg;

	vq_endchains(virtio_queue(sc->vd, 0));
}

static const enum blk_op to_blk_op[] = {
	[VBLK_READ] = BLK_OP_READ, [VBLK_WRITE] = BLK_OP_WRITE,
	[VBLK_FLUSH] = BLK_OP_FLUSH, [VBLK_DISCARD] = BLK_OP_DISCARD,
	[VBLK_WZEROES] = BLK_OP_WRITE_ZEROES,
};

/* A pass: finished requests that still wait for their interrupt, and its
 * watches of the emptied ring. */
struct vblk_pass {
	bool used;
	uint64_t held;		/* monotonic_ns() when the first finished */
	bool decided, found;	/* watch chosen; a watch found a request */
	bool watch;		/* this pass watches */
	bool hold;		/* its watches hold finished requests */
	bool held_found;	/* a watch found a request while holding */
};

static void pass_used(struct vblk_pass *p)
{
	if (!p->used) {
		p->used = true;
		p->held = monotonic_ns();
	}
}

/* Their interrupt: now (force) or once they have waited hold_ns. */
static void pass_signal(struct vblk *sc, struct vq *vq, struct vblk_pass *p,
    bool force, uint64_t now)
{
	if (p->used && (force || now - p->held >= sc->hold_ns)) {
		vq_endchains(vq);
		p->used = false;
	}
}

/* A watch found a request `wait` ns after it began: the window moves a
 * quarter of the way toward three times that. */
static void win_found(struct vblk *sc, uint64_t wait)
{
	uint64_t w = (3 * sc->win + 3 * wait) / 4;

	sc->win = w < sc->poll_ns / 8 ? sc->poll_ns / 8 :
	    w > sc->poll_ns ? sc->poll_ns : w;
}

/* Watch the emptied ring for the driver's next request (see
 * VBLK_FUTILE_PASSES); true if it came.  Bounded spinning on the I/O
 * thread, never a vCPU's. */
static bool vblk_poll(struct vblk *sc, struct vq *vq, struct vblk_pass *p)
{
	uint64_t start, now, end;

	if (!p->decided) {
		p->decided = true;
		p->watch = sc->watching;
		if (!sc->watching && sc->poll_ns != 0 &&
		    ++sc->since_probe >= VBLK_PROBE_PASSES) {
			sc->since_probe = 0;
			p->watch = true;
		}
	}
	if (!p->watch)
		return false;
	if (!p->hold && (sc->hold_ok ||
	    ++sc->since_hold_probe >= VBLK_PROBE_PASSES)) {
		sc->since_hold_probe = 0;
		p->hold = true;
	}
	if (!p->hold)
		pass_signal(sc, vq, p, true, 0);
	start = now = monotonic_ns();
	end = start + sc->win;
	do {
		if (vq_has_descs(vq)) {
			p->found = true;
			p->held_found |= p->used;
			win_found(sc, now - start);
			return true;
		}
		pass_signal(sc, vq, p, false, now);
		__builtin_ia32_pause();
		now = monotonic_ns();
	} while (now < end);
	return false;
}

/* I/O thread: take every available chain.  Requests finished here (the
 * image in memory or the page cache) share one interrupt per pass, which
 * goes on until a watch of the emptied ring finds nothing (or the first
 * finished request has waited hold_ns): a driver that keeps its queue busy
 * gets one interrupt per burst instead of one per request, and adds
 * requests without notifying while this thread watches the ring.  Then
 * whether the next pass watches, and how long, is decided
 * (VBLK_FUTILE_PASSES).  A pass that reaches VBLK_PASS_TURNS or
 * VBLK_PASS_NS ends the same way and continues later. */
static void vblk_process(struct vblk *sc, struct vq *vq)
{
	struct vblk_pass pass = { 0 };
	uint64_t began = monotonic_ns();
	unsigned turns = 0;
	bool more = false;

	/* No notifications while the queue is being emptied: what the
	 * driver adds meanwhile is seen by this pass. */
	vq_set_notify(vq, false);
	for (;;) {
		struct vblk_io *io;
		struct vblk_cmd cmd;
		int r, err;

		if (++turns > VBLK_PASS_TURNS ||
		    monotonic_ns() - began > VBLK_PASS_NS) {
			more = true;
			break;
		}
		if (pass.used)
			pass_signal(sc, vq, &pass, false, monotonic_ns());
		io = io_get(sc);
		if (io == NULL)
			break;		/* io_put() kicks us again */
		r = vq_getchain(vq, &io->chain, io->iov, VBLK_QSIZE);
		if (r == 0 && pass.used && vblk_poll(sc, vq, &pass)) {
			io_put(sc, io);
			continue;
		}
		if (r == 0) {
			/* Empty: notifications on, then look once more
			 * (the driver may have added one before seeing
			 * them on). */
			vq_set_notify(vq, true);
			if (vq_has_descs(vq)) {
				vq_set_notify(vq, false);
				io_put(sc, io);
				continue;
			}
		}
		if (r <= 0) {
			io_put(sc, io);
			break;
		}
		vblk_decode(&sc->disk, io->iov, io->chain.nout, io->chain.nin,
		    io->data, &cmd);
		if (cmd.action == VBLK_NONE) {
			guest_log("%s: request without a status byte", sc->node);
			vq_relchain(vq, &io->chain, 0);
			io_put(sc, io);
			pass_used(&pass);
			continue;
		}
		if (cmd.action == VBLK_DONE) {
			vq_relchain(vq, &io->chain, cmd.written);
			io_put(sc, io);
			pass_used(&pass);
			continue;
		}
		io->vq = vq;
		io->status = cmd.status;
		io->written = cmd.written;
		io->br = (struct blk_req){ .op = to_blk_op[cmd.op],
		    .offset = cmd.offset, .iov = cmd.data,
		    .iovcnt = cmd.ndata, .len = cmd.len, .unmap = cmd.unmap,
		    .done = io_done, .arg = io };
		/* In memory (or the page cache): done here, under the
		 * pass's one interrupt. */
		if (blk_try_now(sc->blk, &io->br, &err) == 0) {
			io_finish(sc, io, err);
			io_put(sc, io);
			pass_used(&pass);
			continue;
		}
		err = blk_submit(sc->blk, &io->br);
		if (err != 0) {
			*io->status = errno_status(err);
			vq_relchain(vq, &io->chain, 1);
			io_put(sc, io);
			pass_used(&pass);
		}
	}
	vq_set_notify(vq, true);
	pass_signal(sc, vq, &pass, true, 0);
	if (pass.hold && pass.held_found) {
		sc->hold_ok = true;
		sc->hold_futile = 0;
	} else if (pass.hold && ++sc->hold_futile >= VBLK_FUTILE_PASSES)
		sc->hold_ok = false;
	if (pass.found) {
		sc->watching = true;
		sc->futile = 0;
	} else if (pass.watch && sc->watching) {
		sc->win = 2 * sc->win > sc->poll_ns ? sc->poll_ns : 2 * sc->win;
		if (++sc->futile >= VBLK_FUTILE_PASSES) {
			sc->watching = false;
			sc->win = sc->poll_ns / 4;
		}
	}
	if (more)
		kick(sc);
}

static void vblk_notify(void *arg, struct vq *vq)
{
	vblk_process(arg, vq);
}

static void vblk_kick(int fd, uint32_t events, void *arg)
{
	struct vblk *sc = arg;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* nothing pending */
	}
	vblk_process(sc, virtio_queue(sc->vd, 0));
}

static int vblk_cfgread(void *arg, unsigned off, unsigned size,
    uint32_t *val)
{
	struct vblk *sc = arg;

	*val = 0;
	if (off >= VBLK_CFG_SIZE || size > VBLK_CFG_SIZE - off)
		return 0;
	for (unsigned i = 0; i < size && i < 4; i++)
		*val |= (uint32_t)sc->cfg[off + i] << (8 * i);
	return 0;
}

static int vblk_cfgwrite(void *arg, unsigned off, unsigned size,
    uint32_t val)
{
	/* nothing is writable (no CONFIG_WCE: the cache is always
	 * write-back and FLUSH is honoured) */
	return 0;
}

static void vblk_reset(void *arg)
{
	/* Requests in flight finish on their own; their chains are dropped
	 * by the queue (generation changed). */
}

static void vblk_teardown(void *arg)
{
	struct vblk *sc = arg;

	/* the I/O thread has stopped; wait for what the backend still
	 * has in flight, then free */
	ev_del(sc->kick_w);
	blk_close(sc->blk);
	if (sc->kick_fd >= 0)
		close(sc->kick_fd);
	pthread_mutex_destroy(&sc->mtx);
	iovs_free(sc->iovs);
	free(sc);
}

static void build_config(struct vblk *sc, const struct blk_info *in)
{
	uint8_t *c = sc->cfg;
	unsigned exp = 0, lsec = in->sectsz;

	while ((lsec << exp) < in->psectsz)
		exp++;
	put64(c + CFG_CAPACITY, in->size / VBLK_SECTOR);
	put32(c + CFG_SIZE_MAX, VBLK_SIZE_MAX);
	put32(c + CFG_SEG_MAX, VBLK_SEG_MAX);
	put32(c + CFG_BLK_SIZE, lsec);
	c[CFG_PHYS_EXP] = (uint8_t)exp;
	c[CFG_ALIGN_OFF] = (uint8_t)(in->psectoff / lsec);
	put16(c + CFG_MIN_IO, (uint16_t)(1u << exp));
	put32(c + CFG_OPT_IO, 0);
	c[CFG_WRITEBACK] = 1;
	put16(c + CFG_NUM_QUEUES, 1);
	if (sc->disk.discard) {
		put32(c + CFG_MAX_DISCARD, VBLK_MAX_DWZ);
		put32(c + CFG_MAX_DISCARD_SEG, 1);
		put32(c + CFG_DISCARD_ALIGN,
		    (in->psectsz > lsec ? in->psectsz : lsec) / VBLK_SECTOR);
	}
	if (sc->disk.wzeroes) {
		put32(c + CFG_MAX_WZ, VBLK_MAX_DWZ);
		put32(c + CFG_MAX_WZ_SEG, 1);
		c[CFG_WZ_MAY_UNMAP] = sc->disk.may_unmap;
	}
}

static int vblk_check(const char *node, unsigned bus, unsigned slot,
    unsigned func)
{
	(void)bus;
	(void)slot;
	(void)func;
	return blk_check(node);
}

static int vblk_init(struct vm *vm, struct pci_devinst *pi, const char *node)
{
	struct vblk *sc = calloc(1, sizeof(*sc));
	const struct blk_info *in;
	const char *serial;
	char ident[8];
	uint64_t features;
	unsigned poll_us;

	if (config_get_uint("virtio.poll_us", VBLK_POLL_US_DEF, 0,
	    VIRTIO_POLL_US_MAX, &poll_us) != 0) {
		free(sc);
		return -1;
	}
	if (sc == NULL || (sc->iovs = iovs_alloc()) == NULL) {
		free(sc);
		return fail("out of memory");
	}
	sc->poll_ns = poll_us * 1000ull;
	sc->watching = sc->poll_ns != 0;
	sc->hold_ok = true;
	sc->win = sc->poll_ns / 4;
	sc->hold_ns = sc->poll_ns > VBLK_HOLD_NS ? sc->poll_ns : VBLK_HOLD_NS;
	sc->kick_fd = -1;
	snprintf(sc->node, sizeof(sc->node), "%s", node);
	snprintf(ident, sizeof(ident), "%u:%u", pi->slot, pi->func);
	if (blk_open(node, ident, &sc->blk) != 0) {
		iovs_free(sc->iovs);
		free(sc);
		return -1;
	}
	blk_set_batch_done(sc->blk, io_batch, sc);
	in = blk_info(sc->blk);
	sc->disk.capacity = in->size / VBLK_SECTOR;
	sc->disk.ro = in->ro;
	sc->disk.discard = in->candelete;
	sc->disk.wzeroes = !in->ro;
	sc->disk.may_unmap = in->candelete;
	sc->disk.max_discard_sectors = VBLK_MAX_DWZ;
	sc->disk.max_wzeroes_sectors = VBLK_MAX_DWZ;
	serial = config_getf("%s.serial", node);
	if (serial == NULL)
		serial = config_getf("%s.ser", node);
	if (serial != NULL) {
		size_t n = strlen(serial);
		memcpy(sc->disk.id, serial, n < VIRTIO_BLK_ID_BYTES ? n :
		    VIRTIO_BLK_ID_BYTES);
	} else {
		char id[VIRTIO_BLK_ID_BYTES + 1];
		vblk_default_id(config_getf("%s.path", node), id);
		memcpy(sc->disk.id, id, VIRTIO_BLK_ID_BYTES);
	}
	build_config(sc, in);
	pthread_mutex_init(&sc->mtx, NULL);
	for (unsigned i = 0; i < VBLK_NIO; i++) {
		sc->ios[i].sc = sc;
		sc->ios[i].iov = sc->iovs[i].iov;
		sc->ios[i].data = sc->iovs[i].data;
		sc->ios[i].next = sc->free;
		sc->free = &sc->ios[i];
	}

	features = 1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
	    1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
	    1ULL << VIRTIO_BLK_F_TOPOLOGY;
	if (in->ro)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	if (sc->disk.discard)
		features |= 1ULL << VIRTIO_BLK_F_DISCARD;
	sc->ops = (struct virtio_ops){
		.name = "virtio-blk",
		.device_type = VIRTIO_ID_BLOCK,
		.legacy_devid = 0x1001,
		.pci_class = 0x01,	/* mass storage */
		.pci_subclass = 0x00,
		.nqueues = 1,
		.qsize = VBLK_QSIZE,
		.features = features,
		.cfgsize = VBLK_CFG_SIZE,
		.ctx = VIRTIO_CTX_IOTHREAD,
		.notify = vblk_notify,
		.cfgread = vblk_cfgread,
		.cfgwrite = vblk_cfgwrite,
		.reset = vblk_reset,
		.teardown = vblk_teardown,
	};
	if (virtio_pci_init(vm, pi, &sc->ops, sc, &sc->vd) != 0)
		goto fail;
	sc->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sc->kick_fd < 0) {
		fail_errno("%s: eventfd", node);
		goto fail;
	}
	sc->kick_w = ev_add_on(virtio_iothread(sc->vd), sc->kick_fd, false,
	    vblk_kick, sc);
	if (sc->kick_w == NULL) {
		fail("%s: cannot watch the wakeup eventfd", node);
		goto fail;
	}
	return 0;
fail:
	/* once the transport holds the device (pi->softc), pci_fini tears
	 * it down and vblk_teardown frees sc */
	if (pi->softc == NULL) {
		blk_close(sc->blk);
		iovs_free(sc->iovs);
		free(sc);
	}
	return -1;
}

static int vblk_legacy(const char *node, const char *opts)
{
	return pci_parse_legacy_first(node, opts, "path");
}

static const struct pci_devemu pe_vtblk = {
	.name = "virtio-blk",
	.help = "Virtio block storage interface",
	.legacy_config = vblk_legacy,
	.init = vblk_init,
	.check = vblk_check,
	VIRTIO_PCI_DEVEMU_HOOKS,
};
PCI_EMUL_SET(pe_vtblk);
