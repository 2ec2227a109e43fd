/* Block backend: see block.h for the interface, threads and locks. */
#include "backends/block.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

#define RING_ENTRIES	256
#define POOL_THREADS	8	/* worker pool when it is the engine */
#define AUX_THREADS	2	/* worker pool beside io_uring */
#define ZERO_CHUNK	(64 * 1024)
#define CQ_BATCH	64	/* completions per batch hook at most */

struct blk {
	struct blk_info info;
	int fd;
	char ident[8];
	bool use_uring;
	bool no_zero_range;	/* FALLOC_FL_ZERO_RANGE refused once */
	bool memfs;		/* a file in memory (tmpfs, ramfs) */
	bool odirect;		/* opened with O_DIRECT (nocache) */
	bool no_nowait;		/* RWF_NOWAIT refused once */
	void (*batch_done)(void *);	/* set before the first request */
	void *batch_arg;

	/* io_uring engine */
	struct io_uring ring;
	pthread_mutex_t sq_lock;	/* the ring's submission side */
	pthread_t cq_thread;
	bool cq_started;

	/* worker pool, in-flight accounting (all under `lock`) */
	pthread_mutex_t lock;
	pthread_cond_t work;		/* queue not empty or stop */
	pthread_cond_t idle;		/* inflight dropped to 0 */
	struct blk_req *head, *tail;
	unsigned inflight;
	bool stop;
	unsigned nthreads;
	pthread_t threads[POOL_THREADS];
};

static const char zeros[ZERO_CHUNK] __attribute__((aligned(4096)));

static bool pow2(unsigned v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

int blk_parse_sectorsize(const char *s, unsigned *lsec, unsigned *psec)
{
	char *end;
	unsigned long l, p;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		goto bad;
	l = strtoul(s, &end, 10);
	p = l;
	if (*end == '/') {
		const char *ps = end + 1;
		if (ps[0] < '0' || ps[0] > '9')
			goto bad;
		p = strtoul(ps, &end, 10);
	}
	if (*end != '\0' || errno != 0)
		goto bad;
	if (l > 4096 || p > 65536 || !pow2((unsigned)l) ||
	    !pow2((unsigned)p) || l < 512 || p < l)
		return fail("invalid sector size '%s': logical and physical "
		    "must be powers of two, 512 <= logical <= 4096, logical "
		    "<= physical <= 65536", s);
	*lsec = (unsigned)l;
	*psec = (unsigned)p;
	return 0;
bad:
	return fail("invalid sector size '%s': expected logical[/physical]",
	    s);
}

/* ---- synchronous execution (workers, and short io_uring results) ---- */

static int rw_sync(struct blk *b, struct blk_req *r, uint64_t skip)
{
	struct iovec iov[BLK_IOV_MAX];
	unsigned n = r->iovcnt, i = 0;
	uint64_t off = r->offset + skip, left = r->len - skip;

	memcpy(iov, r->iov, n * sizeof(iov[0]));
	while (left > 0) {
		ssize_t got;
		/* skip whole and partial segments already transferred */
		while (i < n && skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			i++;
		}
		if (i == n)
			return EIO;
		iov[i].iov_base = (char *)iov[i].iov_base + skip;
		iov[i].iov_len -= skip;
		skip = 0;
		if (r->op == BLK_OP_READ)
			got = preadv(b->fd, iov + i, (int)(n - i), (off_t)off);
		else
			got = pwritev(b->fd, iov + i, (int)(n - i), (off_t)off);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno;
		}
		if (got == 0)
			return EIO;	/* the image shrank under us */
		off += (uint64_t)got;
		left -= (uint64_t)got;
		skip = (uint64_t)got;
	}
	return 0;
}

static int write_zero_bytes(struct blk *b, uint64_t off, uint64_t len)
{
	while (len > 0) {
		size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
		ssize_t got = pwrite(b->fd, zeros, n, (off_t)off);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno;
		}
		if (got == 0)
			return EIO;
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	return 0;
}

static int discard_sync(struct blk *b, uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	if (b->info.is_bdev) {
		uint64_t range[2] = { off, len };
		return ioctl(b->fd, BLKDISCARD, range) == 0 ? 0 : errno;
	}
	return fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)off, (off_t)len) == 0 ? 0 : errno;
}

static int zeroes_sync(struct blk *b, struct blk_req *r)
{
	if (r->len == 0)
		return 0;
	if (b->info.is_bdev) {
		uint64_t range[2] = { r->offset, r->len };
		if (ioctl(b->fd, BLKZEROOUT, range) == 0)
			return 0;
		if (errno != EOPNOTSUPP && errno != ENOTTY)
			return errno;
		return write_zero_bytes(b, r->offset, r->len);
	}
	if (!__atomic_load_n(&b->no_zero_range, __ATOMIC_RELAXED)) {
		if (fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		    (off_t)r->offset, (off_t)r->len) == 0)
			return 0;
		if (errno != EOPNOTSUPP)
			return errno;
		__atomic_store_n(&b->no_zero_range, true, __ATOMIC_RELAXED);
	}
	if (r->unmap && b->info.candelete &&
	    discard_sync(b, r->offset, r->len) == 0)
		return 0;
	return write_zero_bytes(b, r->offset, r->len);
}

static int flush_sync(struct blk *b)
{
	while (fdatasync(b->fd) != 0)
		if (errno != EINTR)
			return errno;
	return 0;
}

static int exec_sync(struct blk *b, struct blk_req *r)
{
	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		return rw_sync(b, r, 0);
	case BLK_OP_FLUSH:
		return flush_sync(b);
	case BLK_OP_DISCARD:
		return discard_sync(b, r->offset, r->len);
	case BLK_OP_WRITE_ZEROES:
		return zeroes_sync(b, r);
	}
	return EINVAL;
}

/* After a batch of n done() calls on this thread: the device's batch
 * hook (its one interrupt), then the requests stop counting as in flight
 * (so blk_drain() returns only after the hook). */
static void retire(struct blk *b, unsigned n)
{
	if (n == 0)
		return;
	if (b->batch_done)
		b->batch_done(b->batch_arg);
	pthread_mutex_lock(&b->lock);
	b->inflight -= n;
	if (b->inflight == 0)
		pthread_cond_broadcast(&b->idle);
	pthread_mutex_unlock(&b->lock);
}

/* ---- worker pool ---- */

static void *worker(void *arg)
{
	struct blk *b = arg;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		struct blk_req *r = b->head;
		if (r == NULL) {
			if (b->stop)
				break;
			pthread_cond_wait(&b->work, &b->lock);
			continue;
		}
		b->head = r->next;
		if (b->head == NULL)
			b->tail = NULL;
		pthread_mutex_unlock(&b->lock);
		r->done(r, exec_sync(b, r));
		retire(b, 1);
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* Called with b->lock held. */
static void pool_queue_locked(struct blk *b, struct blk_req *r)
{
	r->next = NULL;
	if (b->tail)
		b->tail->next = r;
	else
		b->head = r;
	b->tail = r;
	pthread_cond_signal(&b->work);
}

/* ---- io_uring engine ---- */

static void uring_finish(struct blk *b, struct blk_req *r, int res)
{
	int err = 0;

	if (r->op == BLK_OP_FLUSH) {
		if (res == -EINTR || res == -EAGAIN)
			err = flush_sync(b);
		else if (res < 0)
			err = -res;
	} else if (res == -EINTR || res == -EAGAIN) {
		err = rw_sync(b, r, 0);
	} else if (res < 0) {
		err = -res;
	} else if ((uint64_t)res < r->len) {
		/* short transfer: finish the rest here */
		err = rw_sync(b, r, (uint64_t)res);
	}
	r->done(r, err);
}

static void *cq_main(void *arg)
{
	struct blk *b = arg;

	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned n = 0;
		bool stop = false;
		int ret = io_uring_wait_cqe(&b->ring, &cqe);

		if (ret == -EINTR || ret == -EAGAIN)
			continue;
		if (ret < 0)
			break;
		/* Every completion ready now is one batch (one interrupt). */
		do {
			struct blk_req *r = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&b->ring, cqe);
			if (r == NULL) {
				stop = true;	/* the stop sentinel */
				break;
			}
			uring_finish(b, r, res);
			n++;
		} while (n < CQ_BATCH && io_uring_peek_cqe(&b->ring, &cqe) == 0);
		retire(b, n);
		if (stop)
			break;
	}
	return NULL;
}

/* Returns false when the ring cannot take it (the caller uses the pool). */
static bool uring_submit(struct blk *b, struct blk_req *r)
{
	struct io_uring_sqe *sqe;

	pthread_mutex_lock(&b->sq_lock);
	sqe = io_uring_get_sqe(&b->ring);
	if (sqe == NULL) {
		io_uring_submit(&b->ring);
		sqe = io_uring_get_sqe(&b->ring);
	}
	if (sqe == NULL) {
		pthread_mutex_unlock(&b->sq_lock);
		return false;
	}
	switch (r->op) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, b->fd, r->iov, r->iovcnt, r->offset);
		break;
	case BLK_OP_WRITE:
		io_uring_prep_writev(sqe, b->fd, r->iov, r->iovcnt, r->offset);
		break;
	default:
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	/* A failed submit leaves the entry in the ring; the next submit
	 * (or the drain at close) sends it. */
	io_uring_submit(&b->ring);
	pthread_mutex_unlock(&b->sq_lock);
	return true;
}

static int uring_start(struct blk *b)
{
	int ret = io_uring_queue_init(RING_ENTRIES, &b->ring, 0);

	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	if (thread_create(&b->cq_thread, cq_main, b) != 0) {
		io_uring_queue_exit(&b->ring);
		errno = EAGAIN;
		return -1;
	}
	{
		char name[32];
		snprintf(name, sizeof(name), "blkc-%s", b->ident);
		name[15] = '\0';
		pthread_setname_np(b->cq_thread, name);
	}
	b->cq_started = true;
	return 0;
}

static void uring_stop(struct blk *b)
{
	if (!b->cq_started)
		return;
	for (;;) {
		struct io_uring_sqe *sqe;
		pthread_mutex_lock(&b->sq_lock);
		sqe = io_uring_get_sqe(&b->ring);
		if (sqe) {
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data(sqe, NULL);
		}
		io_uring_submit(&b->ring);
		pthread_mutex_unlock(&b->sq_lock);
		if (sqe)
			break;
	}
	pthread_join(b->cq_thread, NULL);
	io_uring_queue_exit(&b->ring);
	b->cq_started = false;
}

/* ---- submission ---- */

/* The checks and length of blk_submit(): 0 or the errno it returns. */
static int check_req(struct blk *b, struct blk_req *r)
{
	uint64_t len = 0;

	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (r->iovcnt > BLK_IOV_MAX || (r->iovcnt && r->iov == NULL))
			return EINVAL;
		for (unsigned i = 0; i < r->iovcnt; i++) {
			if (r->iov[i].iov_len > b->info.size - len)
				return EINVAL;
			len += r->iov[i].iov_len;
		}
		r->len = len;
		if (r->op == BLK_OP_WRITE && b->info.ro)
			return EROFS;
		break;
	case BLK_OP_FLUSH:
		r->len = 0;
		r->offset = 0;
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		if (b->info.ro)
			return EROFS;
		if (r->op == BLK_OP_DISCARD && !b->info.candelete)
			return EOPNOTSUPP;
		break;
	default:
		return EINVAL;
	}
	if (r->len > b->info.size || r->offset > b->info.size - r->len)
		return EINVAL;
	return 0;
}

int blk_submit(struct blk *b, struct blk_req *r)
{
	int err = check_req(b, r);
	bool pool;

	if (err != 0)
		return err;
	pool = !b->use_uring || r->op == BLK_OP_DISCARD ||
	    r->op == BLK_OP_WRITE_ZEROES ||
	    (r->len == 0 && r->op != BLK_OP_FLUSH);
	pthread_mutex_lock(&b->lock);
	if (b->stop) {
		pthread_mutex_unlock(&b->lock);
		return EIO;
	}
	b->inflight++;
	/* keep io_uring's completions within its ring */
	if (!pool && b->inflight > RING_ENTRIES)
		pool = true;
	if (pool) {
		pool_queue_locked(b, r);
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	pthread_mutex_unlock(&b->lock);
	if (!uring_submit(b, r)) {
		pthread_mutex_lock(&b->lock);
		pool_queue_locked(b, r);
		pthread_mutex_unlock(&b->lock);
	}
	return 0;
}

void blk_set_batch_done(struct blk *b, void (*fn)(void *), void *arg)
{
	b->batch_done = fn;
	b->batch_arg = arg;
}

int blk_try_now(struct blk *b, struct blk_req *r, int *err)
{
	ssize_t n;
	int e;

	if (r->op != BLK_OP_READ && r->op != BLK_OP_WRITE)
		return -1;
	if (!b->memfs && (r->op != BLK_OP_READ || b->odirect ||
	    __atomic_load_n(&b->no_nowait, __ATOMIC_RELAXED)))
		return -1;
	e = check_req(b, r);
	if (e != 0 || r->len == 0) {
		*err = e;
		return 0;
	}
	if (b->memfs) {
		/* Page copies in memory: nothing to wait for. */
		*err = rw_sync(b, r, 0);
		return 0;
	}
	/* Elsewhere only what the page cache holds, without waiting; a
	 * short or refused read goes the asynchronous way (and reads it
	 * again). */
	n = preadv2(b->fd, r->iov, (int)r->iovcnt, (off_t)r->offset,
	    RWF_NOWAIT);
	if (n >= 0 && (uint64_t)n == r->len) {
		*err = 0;
		return 0;
	}
	if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS))
		__atomic_store_n(&b->no_nowait, true, __ATOMIC_RELAXED);
	return -1;
}

void blk_drain(struct blk *b)
{
	pthread_mutex_lock(&b->lock);
	while (b->inflight > 0)
		pthread_cond_wait(&b->idle, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

/* ---- opening ---- */

static bool bdev_can_discard(const struct stat *st)
{
	char p[96], buf[32];
	FILE *f;
	unsigned long long v = 0;

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/queue/discard_max_bytes",
	    major(st->st_rdev), minor(st->st_rdev));
	f = fopen(p, "re");
	if (f == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f))
		v = strtoull(buf, NULL, 10);
	fclose(f);
	return v > 0;
}

static int get_bool(const char *node, const char *key, bool *out)
{
	char name[128];

	snprintf(name, sizeof(name), "%s.%s", node, key);
	return config_get_bool(name, false, out);
}

/* Open and describe the disk; on success b->fd is open. */
static int open_disk(const char *node, struct blk *b)
{
	struct blk_info *in = &b->info;
	const char *path, *ss;
	bool nocache, nodelete, sync, direct, ro;
	unsigned ssopt = 0, pssopt = 0;
	struct stat st;
	int flags, fd;

	if (get_bool(node, "nocache", &nocache) != 0 ||
	    get_bool(node, "nodelete", &nodelete) != 0 ||
	    get_bool(node, "sync", &sync) != 0 ||
	    get_bool(node, "direct", &direct) != 0 ||
	    get_bool(node, "ro", &ro) != 0)
		return -1;
	ss = config_getf("%s.sectorsize", node);
	if (ss && blk_parse_sectorsize(ss, &ssopt, &pssopt) != 0)
		return fail_prefix("%s.sectorsize", node);
	path = config_getf("%s.path", node);
	if (path == NULL || *path == '\0')
		return fail("%s: missing \"path\" for the block device", node);
	in->path = strdup(path);
	if (in->path == NULL)
		return fail("out of memory");

	flags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	if (nocache)
		flags |= O_DIRECT;
	if (sync || direct)
		flags |= O_SYNC;
	fd = open(path, flags);
	if (fd < 0) {
		int e = errno;
		if (!ro && (e == EACCES || e == EROFS || e == EPERM) &&
		    access(path, R_OK) == 0)
			return fail("%s: disk image '%s' cannot be opened for "
			    "writing (%s); add 'ro' to use it read-only", node,
			    path, strerror(e));
		if (nocache && e == EINVAL)
			return fail("%s: '%s' does not support 'nocache' "
			    "(O_DIRECT)", node, path);
		errno = e;
		return fail_errno("%s: cannot open disk image '%s'", node,
		    path);
	}
	b->fd = fd;
	b->odirect = nocache;
	if (fstat(fd, &st) != 0)
		return fail_errno("%s: cannot stat '%s'", node, path);
	in->ro = ro;
	in->sectsz = 512;
	in->psectsz = 512;
	if (S_ISBLK(st.st_mode)) {
		uint64_t size;
		int lss = 0, align = 0;
		unsigned pss = 0;
		in->is_bdev = true;
		if (ioctl(fd, BLKGETSIZE64, &size) != 0 ||
		    ioctl(fd, BLKSSZGET, &lss) != 0)
			return fail_errno("%s: cannot read the size of block "
			    "device '%s'", node, path);
		in->size = size;
		if (lss >= 512 && pow2((unsigned)lss))
			in->sectsz = (unsigned)lss;
		if (ioctl(fd, BLKPBSZGET, &pss) == 0 && pow2(pss) &&
		    pss >= in->sectsz)
			in->psectsz = pss;
		else
			in->psectsz = in->sectsz;
		if (ioctl(fd, BLKALIGNOFF, &align) == 0 && align > 0)
			in->psectoff = (unsigned)align;
		in->candelete = !nodelete && !ro && bdev_can_discard(&st);
		if (ssopt && (ssopt < in->sectsz || ssopt % in->sectsz))
			return fail("%s: sector size %u is incompatible with "
			    "the sector size %u of '%s'", node, ssopt,
			    in->sectsz, path);
	} else if (S_ISREG(st.st_mode)) {
		struct statfs sfs;

		if (fstatfs(fd, &sfs) == 0 && (sfs.f_type == TMPFS_MAGIC ||
		    sfs.f_type == RAMFS_MAGIC))
			b->memfs = true;
		if (!ro && (st.st_mode & 0222) == 0)
			return fail("%s: disk image '%s' is read-only (mode "
			    "%03o); add 'ro' to use it read-only", node, path,
			    (unsigned)(st.st_mode & 0777));
		in->size = (uint64_t)st.st_size;
		if (st.st_blksize >= 512 && st.st_blksize <= 65536 &&
		    pow2((unsigned)st.st_blksize))
			in->psectsz = (unsigned)st.st_blksize;
		/* Punching beyond the end changes nothing but tells whether
		 * the file system can deallocate. */
		in->candelete = !nodelete && !ro &&
		    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		    st.st_size, 4096) == 0;
	} else {
		return fail("%s: '%s' is neither a regular file nor a block "
		    "device", node, path);
	}
	if (ssopt) {
		in->sectsz = ssopt;
		in->psectsz = pssopt;
		in->psectoff = 0;
	}
	return 0;
}

static void blk_free(struct blk *b)
{
	if (b->fd >= 0)
		close(b->fd);
	free((char *)b->info.path);
	pthread_mutex_destroy(&b->lock);
	pthread_mutex_destroy(&b->sq_lock);
	pthread_cond_destroy(&b->work);
	pthread_cond_destroy(&b->idle);
	free(b);
}

static struct blk *blk_alloc(void)
{
	struct blk *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->fd = -1;
	pthread_mutex_init(&b->lock, NULL);
	pthread_mutex_init(&b->sq_lock, NULL);
	pthread_cond_init(&b->work, NULL);
	pthread_cond_init(&b->idle, NULL);
	return b;
}

int blk_check(const char *node)
{
	struct blk *b = blk_alloc();
	int r;

	if (b == NULL)
		return fail("out of memory");
	r = open_disk(node, b);
	blk_free(b);
	return r;
}

static void stop_pool(struct blk *b)
{
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_broadcast(&b->work);
	pthread_mutex_unlock(&b->lock);
	for (unsigned i = 0; i < b->nthreads; i++)
		pthread_join(b->threads[i], NULL);
	b->nthreads = 0;
}

int blk_open(const char *node, const char *ident, struct blk **out)
{
	struct blk *b = blk_alloc();
	const char *eng = getenv("BHYVE_BLOCK_ENGINE");
	unsigned want;

	if (b == NULL)
		return fail("out of memory");
	snprintf(b->ident, sizeof(b->ident), "%s", ident ? ident : "");
	if (open_disk(node, b) != 0) {
		blk_free(b);
		return -1;
	}
	if (eng && *eng && strcmp(eng, "threads") != 0 &&
	    strcmp(eng, "io_uring") != 0) {
		blk_free(b);
		return fail("BHYVE_BLOCK_ENGINE '%s': expected io_uring or "
		    "threads", eng);
	}
	if (eng == NULL || strcmp(eng, "threads") != 0) {
		if (uring_start(b) == 0) {
			b->use_uring = true;
		} else if (eng && strcmp(eng, "io_uring") == 0) {
			int e = errno;
			blk_free(b);
			errno = e;
			return fail_errno("%s: io_uring (BHYVE_BLOCK_ENGINE)",
			    node);
		}
	}
	b->info.engine = b->use_uring ? "io_uring" : "threads";
	want = b->use_uring ? AUX_THREADS : POOL_THREADS;
	for (unsigned i = 0; i < want; i++) {
		char name[32];
		if (thread_create(&b->threads[i], worker, b) != 0) {
			stop_pool(b);
			uring_stop(b);
			blk_free(b);
			return fail("%s: cannot start block I/O threads", node);
		}
		b->nthreads++;
		snprintf(name, sizeof(name), "blk-%s-%u", b->ident, i);
		name[15] = '\0';
		pthread_setname_np(b->threads[i], name);
	}
	*out = b;
	return 0;
}

const struct blk_info *blk_info(const struct blk *b)
{
	return &b->info;
}

void blk_close(struct blk *b)
{
	if (b == NULL)
		return;
	blk_drain(b);
	uring_stop(b);
	stop_pool(b);
	blk_free(b);
}
