/* virtio-blk request decoding: src/devices/virtio_blk_req.c, with
 * well-formed, malformed and random hostile chains. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/virtio_blk.h"

#define CAP 2048ULL	/* sectors: a 1 MiB disk */

static struct vblk_disk disk(void)
{
	struct vblk_disk d = { .capacity = CAP, .discard = true,
	    .wzeroes = true, .may_unmap = true, .max_discard_sectors = 1024,
	    .max_wzeroes_sectors = 1024 };
	memcpy(d.id, "SERIAL-1", 8);
	return d;
}

static void hdr(uint8_t *h, uint32_t type, uint64_t sector)
{
	memset(h, 0, 16);
	for (int i = 0; i < 4; i++)
		h[i] = (uint8_t)(type >> (8 * i));
	for (int i = 0; i < 8; i++)
		h[8 + i] = (uint8_t)(sector >> (8 * i));
}

static void dwz(uint8_t *s, uint64_t sector, uint32_t n, uint32_t flags)
{
	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(sector >> (8 * i));
	for (int i = 0; i < 4; i++) {
		s[8 + i] = (uint8_t)(n >> (8 * i));
		s[12 + i] = (uint8_t)(flags >> (8 * i));
	}
}

static uint8_t h[16], data[8192], st, seg[32];
static struct iovec scratch[16];
static struct vblk_cmd c;

/* header | data | status, the usual layout */
static void simple(const struct vblk_disk *d, uint32_t type, uint64_t sec,
    size_t dlen, bool data_writable)
{
	struct iovec iov[3] = { { h, 16 }, { data, dlen }, { &st, 1 } };
	hdr(h, type, sec);
	st = 0xee;
	vblk_decode(d, iov, data_writable ? 1 : 2, data_writable ? 2 : 1,
	    scratch, &c);
}

static void test_read_write(void **state)
{
	struct vblk_disk d = disk();

	(void)state;
	simple(&d, VIRTIO_BLK_T_IN, 8, 4096, true);
	assert_int_equal(c.action, VBLK_IO);
	assert_int_equal(c.op, VBLK_READ);
	assert_int_equal(c.offset, 8 * 512);
	assert_int_equal(c.len, 4096);
	assert_int_equal(c.ndata, 1);
	assert_ptr_equal(c.data[0].iov_base, data);
	assert_ptr_equal(c.status, &st);
	assert_int_equal(c.written, 4097);
	simple(&d, VIRTIO_BLK_T_OUT, CAP - 8, 4096, false);
	assert_int_equal(c.action, VBLK_IO);
	assert_int_equal(c.op, VBLK_WRITE);
	assert_int_equal(c.written, 1);
	/* legacy barrier flag is ignored */
	simple(&d, VIRTIO_BLK_T_OUT | VIRTIO_BLK_T_BARRIER, 0, 512, false);
	assert_int_equal(c.action, VBLK_IO);
	/* one sector past the end, a huge sector, a partial sector */
	simple(&d, VIRTIO_BLK_T_OUT, CAP - 7, 4096, false);
	assert_int_equal(c.action, VBLK_DONE);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	simple(&d, VIRTIO_BLK_T_IN, UINT64_MAX - 3, 4096, true);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	simple(&d, VIRTIO_BLK_T_IN, 0, 1000, true);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	/* data in the wrong direction */
	simple(&d, VIRTIO_BLK_T_IN, 0, 512, false);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	simple(&d, VIRTIO_BLK_T_OUT, 0, 512, true);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	/* read-only disk: writes fail, reads work */
	d.ro = true;
	simple(&d, VIRTIO_BLK_T_OUT, 0, 512, false);
	assert_int_equal(c.action, VBLK_DONE);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	simple(&d, VIRTIO_BLK_T_IN, 0, 512, true);
	assert_int_equal(c.action, VBLK_IO);
}

static void test_any_layout(void **state)
{
	struct vblk_disk d = disk();
	/* header split 5 + 11, first data bytes in the header's segment */
	uint8_t buf[16 + 512];
	uint8_t in[513];
	struct iovec iov[4];

	(void)state;
	hdr(buf, VIRTIO_BLK_T_OUT, 3);
	iov[0] = (struct iovec){ buf, 5 };
	iov[1] = (struct iovec){ buf + 5, 11 + 100 };
	iov[2] = (struct iovec){ buf + 116, 412 };
	iov[3] = (struct iovec){ &st, 1 };
	vblk_decode(&d, iov, 3, 1, scratch, &c);
	assert_int_equal(c.action, VBLK_IO);
	assert_int_equal(c.offset, 3 * 512);
	assert_int_equal(c.ndata, 2);
	assert_ptr_equal(c.data[0].iov_base, buf + 16);
	assert_int_equal(c.data[0].iov_len, 100);
	assert_int_equal(c.data[1].iov_len, 412);
	/* read: data and status in one writable segment */
	hdr(h, VIRTIO_BLK_T_IN, 1);
	iov[0] = (struct iovec){ h, 16 };
	iov[1] = (struct iovec){ in, sizeof(in) };
	vblk_decode(&d, iov, 1, 1, scratch, &c);
	assert_int_equal(c.action, VBLK_IO);
	assert_int_equal(c.len, 512);
	assert_ptr_equal(c.status, in + 512);
	assert_int_equal(c.written, 513);
	/* zero-length trailing segment does not hide the status byte */
	iov[1] = (struct iovec){ in, 513 };
	iov[2] = (struct iovec){ in, 0 };
	vblk_decode(&d, iov, 1, 2, scratch, &c);
	assert_ptr_equal(c.status, in + 512);
}

static void test_no_status(void **state)
{
	struct vblk_disk d = disk();
	struct iovec iov[2] = { { h, 16 }, { data, 0 } };

	(void)state;
	hdr(h, VIRTIO_BLK_T_FLUSH, 0);
	vblk_decode(&d, iov, 1, 0, scratch, &c);
	assert_int_equal(c.action, VBLK_NONE);
	vblk_decode(&d, iov, 1, 1, scratch, &c);
	assert_int_equal(c.action, VBLK_NONE);
	/* short header: status IOERR */
	iov[0].iov_len = 15;
	iov[1] = (struct iovec){ &st, 1 };
	vblk_decode(&d, iov, 1, 1, scratch, &c);
	assert_int_equal(c.action, VBLK_DONE);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	vblk_decode(&d, iov + 1, 0, 1, scratch, &c);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
}

static void test_types(void **state)
{
	struct vblk_disk d = disk();
	uint8_t idbuf[21];
	struct iovec iov[3] = { { h, 16 }, { idbuf, 20 }, { &st, 1 } };

	(void)state;
	simple(&d, VIRTIO_BLK_T_FLUSH, 0, 0, true);
	assert_int_equal(c.action, VBLK_IO);
	assert_int_equal(c.op, VBLK_FLUSH);
	simple(&d, 2 /* SCSI */, 0, 0, true);
	assert_int_equal(c.action, VBLK_DONE);
	assert_int_equal(st, VIRTIO_BLK_S_UNSUPP);
	simple(&d, 0x7fffffff, 0, 0, true);
	assert_int_equal(st, VIRTIO_BLK_S_UNSUPP);
	/* GET_ID fills 20 bytes, NUL-padded */
	memset(idbuf, 0xcc, sizeof(idbuf));
	hdr(h, VIRTIO_BLK_T_GET_ID, 0);
	vblk_decode(&d, iov, 1, 2, scratch, &c);
	assert_int_equal(c.action, VBLK_DONE);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(c.written, 21);
	assert_memory_equal(idbuf, "SERIAL-1\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	assert_int_equal(idbuf[20], 0xcc);
	/* a shorter buffer gets what fits */
	memset(idbuf, 0xcc, sizeof(idbuf));
	iov[1].iov_len = 4;
	vblk_decode(&d, iov, 1, 2, scratch, &c);
	assert_int_equal(c.written, 5);
	assert_memory_equal(idbuf, "SERI", 4);
	assert_int_equal(idbuf[4], 0xcc);
}

static void dwz_req(const struct vblk_disk *d, uint32_t type, unsigned nseg)
{
	struct iovec iov[3] = { { h, 16 }, { seg, 16 * nseg }, { &st, 1 } };
	hdr(h, type, 0);
	st = 0xee;
	vblk_decode(d, iov, 2, 1, scratch, &c);
}

static void test_discard_wzeroes(void **state)
{
	struct vblk_disk d = disk();

	(void)state;
	dwz(seg, 16, 256, 0);
	dwz_req(&d, VIRTIO_BLK_T_DISCARD, 1);
	assert_int_equal(c.action, VBLK_IO);
	assert_int_equal(c.op, VBLK_DISCARD);
	assert_int_equal(c.offset, 16 * 512);
	assert_int_equal(c.len, 256 * 512);
	dwz_req(&d, VIRTIO_BLK_T_DISCARD, 2);	/* over max_discard_seg */
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	dwz(seg, 16, 256, 1);			/* unmap on discard */
	dwz_req(&d, VIRTIO_BLK_T_DISCARD, 1);
	assert_int_equal(st, VIRTIO_BLK_S_UNSUPP);
	dwz_req(&d, VIRTIO_BLK_T_WRITE_ZEROES, 1);
	assert_int_equal(c.action, VBLK_IO);
	assert_int_equal(c.op, VBLK_WZEROES);
	assert_true(c.unmap);
	dwz(seg, 16, 256, 4);			/* reserved flag */
	dwz_req(&d, VIRTIO_BLK_T_WRITE_ZEROES, 1);
	assert_int_equal(st, VIRTIO_BLK_S_UNSUPP);
	dwz(seg, CAP - 10, 11, 0);		/* past the end */
	dwz_req(&d, VIRTIO_BLK_T_WRITE_ZEROES, 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	dwz(seg, 0, 1025, 0);			/* over the limit */
	dwz_req(&d, VIRTIO_BLK_T_DISCARD, 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	dwz(seg, 0, 8, 0);
	{
		struct iovec iov[3] = { { h, 16 }, { seg, 15 }, { &st, 1 } };
		hdr(h, VIRTIO_BLK_T_DISCARD, 0);
		vblk_decode(&d, iov, 2, 1, scratch, &c);
		assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	}
	d.discard = false;
	d.may_unmap = false;
	dwz_req(&d, VIRTIO_BLK_T_DISCARD, 1);
	assert_int_equal(st, VIRTIO_BLK_S_UNSUPP);
	dwz(seg, 0, 8, 1);
	dwz_req(&d, VIRTIO_BLK_T_WRITE_ZEROES, 1);
	assert_int_equal(c.action, VBLK_IO);
	assert_false(c.unmap);
	d.wzeroes = false;
	dwz_req(&d, VIRTIO_BLK_T_WRITE_ZEROES, 1);
	assert_int_equal(st, VIRTIO_BLK_S_UNSUPP);
}

static void test_default_id(void **state)
{
	char id[21];

	(void)state;
	/* the first six bytes of MD5("/tmp/disk.img"), as bhyve does */
	vblk_default_id("/tmp/disk.img", id);
	assert_string_equal(id, "BHYVE-8081-A1AD-5745");
}

/* Random chains over two arenas (readable, writable): the decoder must
 * never write outside the writable arena, must hand out data segments
 * inside the chain that add up to the length, and keep every I/O on the
 * disk. */
static void test_hostile_random(void **state)
{
	static uint8_t rd[4096], wr[4096], rd_copy[4096];
	struct vblk_disk d = disk();
	struct iovec iov[12];
	struct iovec sc[12];
	unsigned seed = 12345;
	time_t t0 = time(NULL);
	unsigned long n = 0, ios = 0;

	(void)state;
	for (unsigned i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)rand_r(&seed);
	while (time(NULL) - t0 < 2 && n < 2000000) {
		unsigned nout = (unsigned)rand_r(&seed) % 6;
		unsigned nin = (unsigned)rand_r(&seed) % 6;
		static const uint32_t types[] = { 0, 1, 4, 5, 8, 11, 13, 2, 99,
		    0x80000001u };
		/* plausible header at the start of the readable arena */
		if (rand_r(&seed) % 4) {
			uint64_t sec = rand_r(&seed) % 3 ? (uint64_t)(rand_r(&seed)
			    % (CAP + 16)) : (uint64_t)rand_r(&seed) << 40;
			hdr(rd, types[rand_r(&seed) % ARRAY_SIZE(types)], sec);
			if (rand_r(&seed) % 2)
				dwz(rd + 16, rand_r(&seed) % (CAP + 8),
				    (uint32_t)rand_r(&seed) % 1100,
				    (uint32_t)rand_r(&seed) % 3);
		}
		for (unsigned i = 0; i < nout; i++) {
			size_t off = (size_t)rand_r(&seed) % sizeof(rd);
			size_t len = (size_t)rand_r(&seed) % (sizeof(rd) - off + 1);
			if (i == 0 && rand_r(&seed) % 2)
				off = 0, len = 16 + (rand_r(&seed) % 3) * 512 % (sizeof(rd) - 16);
			iov[i] = (struct iovec){ rd + off, len };
		}
		for (unsigned i = 0; i < nin; i++) {
			size_t off = (size_t)rand_r(&seed) % sizeof(wr);
			size_t len = (size_t)rand_r(&seed) % (sizeof(wr) - off + 1);
			if (rand_r(&seed) % 2)
				len = len / 512 * 512 + (i == nin - 1);
			if (off + len > sizeof(wr))
				len = sizeof(wr) - off;
			iov[nout + i] = (struct iovec){ wr + off, len };
		}
		memcpy(rd_copy, rd, sizeof(rd));
		vblk_decode(&d, iov, nout, nin, sc, &c);
		/* the readable arena is never written */
		assert_memory_equal(rd, rd_copy, sizeof(rd));
		if (c.action == VBLK_NONE) {
			n++;
			continue;
		}
		assert_true(c.status >= wr && c.status < wr + sizeof(wr));
		if (c.action == VBLK_DONE)
			assert_true(*c.status <= VIRTIO_BLK_S_UNSUPP);
		if (c.action == VBLK_IO) {
			uint64_t sum = 0;
			ios++;
			assert_true(c.len % 512 == 0);
			assert_true(c.offset % 512 == 0);
			assert_true(c.len <= CAP * 512);
			assert_true(c.offset <= CAP * 512 - c.len);
			assert_true(c.ndata <= nout + nin);
			for (unsigned i = 0; i < c.ndata; i++) {
				uint8_t *b = c.data[i].iov_base;
				uint8_t *lo = c.op == VBLK_READ ? wr : rd;
				assert_true(b >= lo && b + c.data[i].iov_len <=
				    lo + 4096);
				sum += c.data[i].iov_len;
			}
			if (c.op == VBLK_READ || c.op == VBLK_WRITE)
				assert_true(sum == c.len);
		}
		n++;
	}
	assert_true(n > 1000);
	assert_true(ios > 10);
}

int run_virtio_blk_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_any_layout),
		cmocka_unit_test(test_no_status),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_discard_wzeroes),
		cmocka_unit_test(test_default_id),
		cmocka_unit_test(test_hostile_random),
	};
	return cmocka_run_group_tests_name("virtio_blk", tests, NULL, NULL);
}
