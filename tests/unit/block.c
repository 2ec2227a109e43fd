/* Block backend: src/backends/block.c, with both engines on temp files. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/block.h"
#include "config.h"
#include "util.h"

#define NODE "pci.0.4.0"
#define DISK (1024 * 1024)

/* Completion bookkeeping shared with the done() callback. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static unsigned ndone;
static int last_err;
static bool on_submitter;
static pthread_t submitter;

static void on_done(struct blk_req *r, int err)
{
	pthread_mutex_lock(&mu);
	ndone++;
	if (err)
		last_err = err;
	*(int *)r->arg = err;
	if (pthread_equal(pthread_self(), submitter))
		on_submitter = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void reset_done(void)
{
	pthread_mutex_lock(&mu);
	ndone = 0;
	last_err = 0;
	on_submitter = false;
	submitter = pthread_self();
	pthread_mutex_unlock(&mu);
}

static void wait_done(unsigned n)
{
	pthread_mutex_lock(&mu);
	while (ndone < n)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static char *make_disk(size_t size, unsigned char fill)
{
	char *path = strdup("/tmp/bhyve-unit-blk-XXXXXX");
	int fd = mkstemp(path);
	unsigned char *buf = malloc(size);

	assert_true(fd >= 0);
	memset(buf, fill, size);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
	return path;
}

static void set(const char *key, const char *val)
{
	assert_int_equal(config_setf(val, NODE ".%s", key), 0);
}

/* Submit one request and wait for it; returns the completion error, or
 * 1000 + the synchronous error. */
static int run1(struct blk *b, enum blk_op op, uint64_t off,
    struct iovec *iov, unsigned n, uint64_t len)
{
	int err = -1;
	struct blk_req r = { .op = op, .offset = off, .iov = iov,
	    .iovcnt = n, .len = len, .done = on_done, .arg = &err };
	int s;

	reset_done();
	s = blk_submit(b, &r);
	if (s != 0)
		return 1000 + s;
	wait_done(1);
	assert_false(on_submitter);
	return err;
}

static struct blk *open_engine(const char *path, const char *engine)
{
	struct blk *b = NULL;

	unit_reset_globals();
	set("path", path);
	setenv("BHYVE_BLOCK_ENGINE", engine, 1);
	if (blk_open(NODE, "t", &b) != 0)
		fail_msg("blk_open(%s): %s", engine, last_error());
	unsetenv("BHYVE_BLOCK_ENGINE");
	assert_string_equal(blk_info(b)->engine, engine);
	return b;
}

/* The batch hook: counts, and sees every request of its batch done. */
static unsigned nbatch, done_at_batch;

static void on_batch(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	nbatch++;
	done_at_batch = ndone;
	pthread_mutex_unlock(&mu);
}

static void roundtrip(const char *engine)
{
	char *path = make_disk(DISK, 0);
	struct blk *b = open_engine(path, engine);
	enum { N = 64, SZ = 4096 };
	static unsigned char data[N][SZ], back[N][SZ];
	static struct iovec iov[N][3];
	static int errs[N];
	struct blk_req reqs[N];
	int fd;

	assert_int_equal(blk_info(b)->size, DISK);
	assert_int_equal(blk_info(b)->sectsz, 512);
	blk_set_batch_done(b, on_batch, NULL);
	nbatch = done_at_batch = 0;
	/* 64 writes in flight, each split over three segments */
	reset_done();
	for (unsigned i = 0; i < N; i++) {
		for (unsigned j = 0; j < SZ; j++)
			data[i][j] = (unsigned char)(i * 7 + j * 13 + 1);
		iov[i][0] = (struct iovec){ data[i], 512 };
		iov[i][1] = (struct iovec){ data[i] + 512, 1024 };
		iov[i][2] = (struct iovec){ data[i] + 1536, SZ - 1536 };
		reqs[i] = (struct blk_req){ .op = BLK_OP_WRITE,
		    .offset = (uint64_t)i * SZ * 3, .iov = iov[i], .iovcnt = 3,
		    .done = on_done, .arg = &errs[i] };
		assert_int_equal(blk_submit(b, &reqs[i]), 0);
		assert_int_equal(reqs[i].len, SZ);
	}
	wait_done(N);
	assert_int_equal(last_err, 0);
	assert_false(on_submitter);
	/* after the last done(), its batch hook, before the drain ends */
	blk_drain(b);
	pthread_mutex_lock(&mu);
	assert_true(nbatch >= 1 && nbatch <= N);
	assert_int_equal(done_at_batch, N);
	pthread_mutex_unlock(&mu);
	/* the file holds them */
	fd = open(path, O_RDONLY);
	for (unsigned i = 0; i < N; i++) {
		unsigned char tmp[SZ];
		assert_int_equal(pread(fd, tmp, SZ, (off_t)i * SZ * 3), SZ);
		assert_memory_equal(tmp, data[i], SZ);
	}
	close(fd);
	/* and reads bring them back, in flight together */
	reset_done();
	for (unsigned i = 0; i < N; i++) {
		iov[i][0] = (struct iovec){ back[i], 2048 };
		iov[i][1] = (struct iovec){ back[i] + 2048, 2048 };
		reqs[i] = (struct blk_req){ .op = BLK_OP_READ,
		    .offset = (uint64_t)i * SZ * 3, .iov = iov[i], .iovcnt = 2,
		    .done = on_done, .arg = &errs[i] };
		assert_int_equal(blk_submit(b, &reqs[i]), 0);
	}
	wait_done(N);
	assert_int_equal(last_err, 0);
	for (unsigned i = 0; i < N; i++)
		assert_memory_equal(back[i], data[i], SZ);
	/* flush completes without error */
	assert_int_equal(run1(b, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	blk_close(b);
	unlink(path);
	free(path);
}

static void test_roundtrip_threads(void **state)
{
	(void)state;
	roundtrip("threads");
}

static void test_roundtrip_uring(void **state)
{
	(void)state;
	roundtrip("io_uring");
}

/* blk_try_now(): a file in memory (/dev/shm) is read and written on the
 * caller's thread; elsewhere only reads the page cache holds, never writes
 * or flushes; errors come back without a completion. */
static void test_try_now(void **state)
{
	static unsigned char data[8192], back[8192];
	struct iovec iov = { data, sizeof(data) };
	struct blk_req r = { .op = BLK_OP_WRITE, .offset = 4096, .iov = &iov,
	    .iovcnt = 1, .done = on_done };
	char shm[] = "/dev/shm/bhyve-unit-blk-XXXXXX";
	char *path;
	struct blk *b;
	int fd, err = -1, got;
	(void)state;

	fd = mkstemp(shm);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DISK), 0);
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 31 + 7);
	b = open_engine(shm, "io_uring");
	reset_done();
	assert_int_equal(blk_try_now(b, &r, &err), 0);
	assert_int_equal(err, 0);
	assert_int_equal(pread(fd, back, sizeof(back), 4096), sizeof(back));
	assert_memory_equal(back, data, sizeof(data));
	memset(back, 0, sizeof(back));
	iov.iov_base = back;
	r.op = BLK_OP_READ;
	assert_int_equal(blk_try_now(b, &r, &err), 0);
	assert_int_equal(err, 0);
	assert_memory_equal(back, data, sizeof(data));
	/* checked as blk_submit checks: past the end */
	r.offset = DISK - 4096;
	assert_int_equal(blk_try_now(b, &r, &err), 0);
	assert_int_equal(err, EINVAL);
	/* a flush always goes the asynchronous way */
	r.op = BLK_OP_FLUSH;
	assert_int_equal(blk_try_now(b, &r, &err), -1);
	assert_int_equal(ndone, 0);	/* done() never called */
	blk_close(b);
	close(fd);
	unlink(shm);

	/* A file elsewhere: a write is never served at once; a read may be
	 * (when the page cache has it all) and then brings the data. */
	path = make_disk(DISK, 0x5a);
	b = open_engine(path, "io_uring");
	r = (struct blk_req){ .op = BLK_OP_WRITE, .offset = 0, .iov = &iov,
	    .iovcnt = 1, .done = on_done };
	assert_int_equal(blk_try_now(b, &r, &err), -1);
	r.op = BLK_OP_READ;
	memset(back, 0, sizeof(back));
	got = blk_try_now(b, &r, &err);
	if (got == 0) {
		assert_int_equal(err, 0);
		for (unsigned i = 0; i < sizeof(back); i++)
			assert_int_equal(back[i], 0x5a);
	} else {
		assert_int_equal(got, -1);
	}
	blk_close(b);
	unlink(path);
	free(path);
}

static void test_bounds(void **state)
{
	char *path = make_disk(DISK, 0);
	struct blk *b = open_engine(path, "threads");
	unsigned char buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	static struct iovec many[BLK_IOV_MAX + 1];

	(void)state;
	/* last 4 KiB is fine, one byte further is not */
	assert_int_equal(run1(b, BLK_OP_READ, DISK - 4096, &iov, 1, 0), 0);
	assert_int_equal(run1(b, BLK_OP_READ, DISK - 4095, &iov, 1, 0),
	    1000 + EINVAL);
	assert_int_equal(run1(b, BLK_OP_WRITE, UINT64_MAX - 100, &iov, 1, 0),
	    1000 + EINVAL);
	assert_int_equal(run1(b, BLK_OP_DISCARD, 4096, NULL, 0, UINT64_MAX),
	    1000 + EINVAL);
	assert_int_equal(run1(b, BLK_OP_WRITE_ZEROES, UINT64_MAX - 511, NULL,
	    0, 1024), 1000 + EINVAL);
	/* segment lengths whose sum wraps */
	{
		struct iovec two[2] = { { buf, SIZE_MAX }, { buf, 2 } };
		assert_int_equal(run1(b, BLK_OP_READ, 0, two, 2, 0),
		    1000 + EINVAL);
	}
	for (unsigned i = 0; i <= BLK_IOV_MAX; i++)
		many[i] = (struct iovec){ buf, 1 };
	assert_int_equal(run1(b, BLK_OP_READ, 0, many, BLK_IOV_MAX + 1, 0),
	    1000 + EINVAL);
	assert_int_equal(run1(b, BLK_OP_READ, 0, many, BLK_IOV_MAX, 0), 0);
	assert_int_equal(run1(b, (enum blk_op)77, 0, NULL, 0, 0),
	    1000 + EINVAL);
	blk_close(b);
	unlink(path);
	free(path);
}

static unsigned long long sum_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned long long s = 0;
	int c, i = 0;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		s = s * 31 + (unsigned)c + (unsigned)i++;
	fclose(f);
	return s;
}

static void test_readonly(void **state)
{
	char *path = make_disk(DISK, 0x5a);
	unsigned long long before = sum_file(path);
	unsigned char buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct blk *b = NULL;

	(void)state;
	unit_reset_globals();
	set("path", path);
	set("ro", "true");
	assert_int_equal(blk_open(NODE, "t", &b), 0);
	assert_true(blk_info(b)->ro);
	assert_false(blk_info(b)->candelete);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(run1(b, BLK_OP_WRITE, 0, &iov, 1, 0), 1000 + EROFS);
	assert_int_equal(run1(b, BLK_OP_WRITE_ZEROES, 0, NULL, 0, 4096),
	    1000 + EROFS);
	assert_int_equal(run1(b, BLK_OP_DISCARD, 0, NULL, 0, 4096),
	    1000 + EROFS);
	assert_int_equal(run1(b, BLK_OP_READ, 0, &iov, 1, 0), 0);
	assert_int_equal(buf[0], 0x5a);
	assert_int_equal(run1(b, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	blk_close(b);
	assert_true(sum_file(path) == before);

	/* a read-only file without 'ro' is refused, naming the path */
	chmod(path, 0444);
	unit_reset_globals();
	set("path", path);
	assert_int_equal(blk_open(NODE, "t", &b), -1);
	assert_non_null(strstr(last_error(), path));
	assert_non_null(strstr(last_error(), "add 'ro'"));
	assert_int_equal(blk_check(NODE), -1);
	set("ro", "on");
	assert_int_equal(blk_check(NODE), 0);
	assert_true(sum_file(path) == before);
	unlink(path);
	free(path);
}

static long blocks_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (long)st.st_blocks;
}

static void discard_and_zero(const char *engine)
{
	char *path = make_disk(DISK, 0xab);
	struct blk *b = open_engine(path, engine);
	static unsigned char buf[65536], zero[65536];
	struct iovec iov = { buf, sizeof(buf) };
	long before;

	{
		int fd = open(path, O_RDONLY);
		fsync(fd);
		close(fd);
	}
	before = blocks_of(path);
	if (!blk_info(b)->candelete) {
		blk_close(b);
		unlink(path);
		free(path);
		skip();
	}
	/* discard 256 KiB: the file loses blocks, the range reads zero */
	assert_int_equal(run1(b, BLK_OP_DISCARD, 256 * 1024, NULL, 0,
	    256 * 1024), 0);
	assert_true(blocks_of(path) <= before - 256 * 1024 / 512);
	assert_int_equal(run1(b, BLK_OP_READ, 256 * 1024, &iov, 1, 0), 0);
	assert_memory_equal(buf, zero, sizeof(buf));
	/* write zeroes (no unmap) over data: reads back zero, size kept */
	{
		struct blk_req r = { 0 };
		int err = -1;
		r.op = BLK_OP_WRITE_ZEROES;
		r.offset = 65536;
		r.len = 65536;
		r.done = on_done;
		r.arg = &err;
		reset_done();
		assert_int_equal(blk_submit(b, &r), 0);
		wait_done(1);
		assert_int_equal(err, 0);
	}
	assert_int_equal(run1(b, BLK_OP_READ, 65536, &iov, 1, 0), 0);
	assert_memory_equal(buf, zero, sizeof(buf));
	assert_int_equal(run1(b, BLK_OP_READ, 0, &iov, 1, 0), 0);
	assert_int_equal(buf[0], 0xab);
	assert_int_equal(buf[65535], 0xab);
	{
		struct stat st;
		stat(path, &st);
		assert_int_equal(st.st_size, DISK);
	}
	blk_close(b);
	unlink(path);
	free(path);
}

static void test_discard_threads(void **state)
{
	(void)state;
	discard_and_zero("threads");
}

static void test_discard_uring(void **state)
{
	(void)state;
	discard_and_zero("io_uring");
}

static void test_nodelete(void **state)
{
	char *path = make_disk(8192, 0);
	struct blk *b = NULL;

	(void)state;
	unit_reset_globals();
	set("path", path);
	set("nodelete", "true");
	assert_int_equal(blk_open(NODE, "t", &b), 0);
	assert_false(blk_info(b)->candelete);
	assert_int_equal(run1(b, BLK_OP_DISCARD, 0, NULL, 0, 4096),
	    1000 + EOPNOTSUPP);
	blk_close(b);
	unlink(path);
	free(path);
}

static void test_sectorsize(void **state)
{
	unsigned l = 0, p = 0;
	char *path = make_disk(8192, 0);
	struct blk *b = NULL;

	(void)state;
	assert_int_equal(blk_parse_sectorsize("512", &l, &p), 0);
	assert_int_equal(l, 512);
	assert_int_equal(p, 512);
	assert_int_equal(blk_parse_sectorsize("512/4096", &l, &p), 0);
	assert_int_equal(l, 512);
	assert_int_equal(p, 4096);
	assert_int_equal(blk_parse_sectorsize("4096", &l, &p), 0);
	assert_int_equal(l, 4096);
	static const char *bad[] = { "", "abc", "1000", "256", "8192",
	    "4096/512", "512/", "/512", "512/4096/8192", "512x", "-512",
	    "512/131072", "99999999999999999999" };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		clear_error();
		assert_int_equal(blk_parse_sectorsize(bad[i], &l, &p), -1);
		assert_non_null(strstr(last_error(), "sector size"));
	}
	unit_reset_globals();
	set("path", path);
	set("sectorsize", "4096/8192");
	assert_int_equal(blk_open(NODE, "t", &b), 0);
	assert_int_equal(blk_info(b)->sectsz, 4096);
	assert_int_equal(blk_info(b)->psectsz, 8192);
	blk_close(b);
	set("sectorsize", "1000");
	assert_int_equal(blk_check(NODE), -1);
	assert_non_null(strstr(last_error(), "pci.0.4.0.sectorsize"));
	assert_non_null(strstr(last_error(), "'1000'"));
	unlink(path);
	free(path);
}

static void test_bad_options(void **state)
{
	char *path = make_disk(8192, 0);

	(void)state;
	unit_reset_globals();
	assert_int_equal(blk_check(NODE), -1);
	assert_non_null(strstr(last_error(), "missing \"path\""));
	set("path", "/nonexistent/disk.img");
	assert_int_equal(blk_check(NODE), -1);
	assert_non_null(strstr(last_error(), "'/nonexistent/disk.img'"));
	set("path", "/dev/null");
	assert_int_equal(blk_check(NODE), -1);
	assert_non_null(strstr(last_error(), "neither a regular file"));
	set("path", path);
	set("nocache", "maybe");
	assert_int_equal(blk_check(NODE), -1);
	assert_non_null(strstr(last_error(), "maybe"));
	set("nocache", "false");
	set("direct", "true");
	assert_int_equal(blk_check(NODE), 0);
	setenv("BHYVE_BLOCK_ENGINE", "bogus", 1);
	{
		struct blk *b = NULL;
		assert_int_equal(blk_open(NODE, "t", &b), -1);
		assert_non_null(strstr(last_error(), "bogus"));
	}
	unsetenv("BHYVE_BLOCK_ENGINE");
	unlink(path);
	free(path);
}

int run_block_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_threads),
		cmocka_unit_test(test_roundtrip_uring),
		cmocka_unit_test(test_try_now),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_discard_threads),
		cmocka_unit_test(test_discard_uring),
		cmocka_unit_test(test_nodelete),
		cmocka_unit_test(test_sectorsize),
		cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests_name("block", tests, NULL, NULL);
}
