/* Virtqueue chain validator, used ring and event index: src/virtio/queue.c.
 * Hostile chains of every kind, and a bounded random driver (fixed seed). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "virtio/queue.h"
#include "vmm/mem.h"

#define RAM	(1u << 20)
#define DESC	0x10000u
#define AVAIL	0x40000u
#define USED	0x50000u

static struct guest_mem mem;
static uint8_t *ram;
static struct vq vq;
static int interrupts, errors;
static char last_why[128];

static void t_interrupt(struct vq *q) { (void)q; interrupts++; }
static void t_error(struct vq *q, const char *why)
{
	(void)q;
	errors++;
	snprintf(last_why, sizeof(last_why), "%s", why);
}
static const struct vq_ops ops = { t_interrupt, t_error };

static void setdesc(uint64_t table, unsigned i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	uint8_t *d = ram + table + 16u * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static uint16_t rd16(uint64_t gpa) { uint16_t v; memcpy(&v, ram + gpa, 2); return v; }
static uint32_t rd32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }
static void wr16(uint64_t gpa, uint16_t v) { memcpy(ram + gpa, &v, 2); }

/* Make `head` available. */
static void push(uint16_t head)
{
	uint16_t idx = rd16(AVAIL + 2);
	wr16(AVAIL + 4 + 2u * (idx % vq.size), head);
	wr16(AVAIL + 2, (uint16_t)(idx + 1));
}

static void setup_queue(uint16_t size, bool indirect, bool event_idx)
{
	memset(ram, 0, RAM);
	vq_init(&vq, 0, size, &ops, NULL, &mem);
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	assert_true(vq_enable(&vq));
	vq.indirect = indirect;
	vq.event_idx = event_idx;
	interrupts = errors = 0;
	last_why[0] = 0;
}

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM);
	mem.r[0] = (struct mem_region){ 0, RAM, ram };
	mem.nr = 1;
	mem.lowmem = RAM;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

/* Expect a bad chain with a reason containing `what`. */
static void expect_bad(const char *what)
{
	struct vq_chain c;
	struct iovec iov[64];

	assert_int_equal(vq_getchain(&vq, &c, iov, 64), -1);
	assert_int_equal(errors, 1);
	if (strstr(last_why, what) == NULL)
		fail_msg("reason '%s' lacks '%s'", last_why, what);
	/* The queue is dead until reset: no more work, no more errors. */
	assert_int_equal(vq_getchain(&vq, &c, iov, 64), 0);
	assert_false(vq_has_descs(&vq));
	assert_int_equal(errors, 1);
}

static void test_good_chain(void **state)
{
	struct vq_chain c;
	struct iovec iov[8];

	(void)state;
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x80000, 100, VRING_DESC_F_NEXT, 5);
	setdesc(DESC, 5, 0x81000, 200, VRING_DESC_F_NEXT, 2);
	setdesc(DESC, 2, 0x82000, 300, VRING_DESC_F_WRITE, 0);
	assert_false(vq_has_descs(&vq));
	push(0);
	assert_true(vq_has_descs(&vq));
	assert_int_equal(vq_getchain(&vq, &c, iov, 8), 1);
	assert_int_equal(c.head, 0);
	assert_int_equal(c.nout, 2);
	assert_int_equal(c.nin, 1);
	assert_int_equal(c.outlen, 300);
	assert_int_equal(c.inlen, 300);
	assert_ptr_equal(iov[0].iov_base, ram + 0x80000);
	assert_ptr_equal(iov[2].iov_base, ram + 0x82000);
	assert_int_equal(iov[2].iov_len, 300);
	assert_int_equal(vq_getchain(&vq, &c, iov, 8), 0);
	/* used ring: id, length clamped to the writable length */
	vq_relchain(&vq, &c, 1000);
	assert_int_equal(rd16(USED + 2), 1);
	assert_int_equal(rd32(USED + 4), 0);
	assert_int_equal(rd32(USED + 8), 300);
	vq_endchains(&vq);
	assert_int_equal(interrupts, 1);
	/* nothing new used: no second interrupt */
	vq_endchains(&vq);
	assert_int_equal(interrupts, 1);
	assert_int_equal(errors, 0);
}

static void test_zero_length_and_retchain(void **state)
{
	struct vq_chain c;
	struct iovec iov[8];

	(void)state;
	setup_queue(8, false, false);
	setdesc(DESC, 1, 0x80000, 0, VRING_DESC_F_NEXT, 2);
	setdesc(DESC, 2, 0x80000, 16, VRING_DESC_F_WRITE, 0);
	push(1);
	assert_int_equal(vq_getchain(&vq, &c, iov, 8), 1);
	assert_int_equal(c.nout, 0);
	assert_int_equal(c.nin, 1);
	vq_retchain(&vq);
	assert_int_equal(vq_getchain(&vq, &c, iov, 8), 1);
	assert_int_equal(c.head, 1);
}

static void test_head_out_of_range(void **state)
{
	(void)state;
	setup_queue(8, false, false);
	push(8);
	expect_bad("head index");
}

static void test_next_out_of_range(void **state)
{
	(void)state;
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x80000, 16, VRING_DESC_F_NEXT, 0xffff);
	push(0);
	expect_bad("next index");
}

static void test_loop(void **state)
{
	(void)state;
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x80000, 16, VRING_DESC_F_NEXT, 1);
	setdesc(DESC, 1, 0x80000, 16, VRING_DESC_F_NEXT, 0);
	push(0);
	expect_bad("longer than the queue");
	/* a self-loop too */
	setup_queue(8, false, false);
	setdesc(DESC, 3, 0x80000, 16, VRING_DESC_F_NEXT, 3);
	push(3);
	expect_bad("longer than the queue");
}

static void test_readable_after_writable(void **state)
{
	(void)state;
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x80000, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	setdesc(DESC, 1, 0x80000, 16, 0, 0);
	push(0);
	expect_bad("readable buffer after");
}

static void test_buffer_outside_ram(void **state)
{
	(void)state;
	setup_queue(8, false, false);
	setdesc(DESC, 0, RAM - 8, 16, 0, 0);	/* straddles the end */
	push(0);
	expect_bad("outside guest memory");
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0xfffffffffffffff0ULL, 0x20, 0, 0);	/* wraps */
	push(0);
	expect_bad("outside guest memory");
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0xfee00000, 4, VRING_DESC_F_WRITE, 0);	/* no RAM */
	push(0);
	expect_bad("outside guest memory");
}

static void test_length_overflow(void **state)
{
	enum { N = 8192 };
	struct iovec *iov = calloc(N, sizeof(*iov));
	struct vq_chain c;

	(void)state;
	setup_queue(N, false, false);
	/* 8192 descriptors, each the whole 1 MiB: 8 GiB in total. */
	for (unsigned i = 0; i < N; i++)
		setdesc(DESC, i, 0, RAM, i + 1 < N ? VRING_DESC_F_NEXT : 0,
		    (uint16_t)(i + 1));
	push(0);
	assert_int_equal(vq_getchain(&vq, &c, iov, N), -1);
	assert_non_null(strstr(last_why, "overflow"));
	free(iov);
}

static void test_avail_index_jump(void **state)
{
	(void)state;
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x80000, 16, 0, 0);
	wr16(AVAIL + 2, 9);	/* 9 new entries in a queue of 8 */
	expect_bad("avail index");
}

/* A driver that moves its avail index back (seen one more, then the old
 * value again) could keep a device looking at a ring that is never
 * there: the index seen by vq_has_descs (or a chain taken) is a floor. */
static void test_avail_index_backwards(void **state)
{
	struct vq_chain c;
	struct iovec iov[4];

	(void)state;
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x80000, 16, 0, 0);
	push(0);
	assert_true(vq_has_descs(&vq));
	wr16(AVAIL + 2, 0);		/* back */
	expect_bad("backwards");
	/* after a chain was taken, behind what vq_has_descs saw */
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x80000, 16, 0, 0);
	push(0);
	push(0);
	push(0);
	assert_int_equal(vq_getchain(&vq, &c, iov, 4), 1);
	assert_true(vq_has_descs(&vq));	/* saw 3 */
	wr16(AVAIL + 2, 2);
	assert_false(vq_has_descs(&vq));
	assert_int_equal(errors, 1);
	assert_non_null(strstr(last_why, "backwards"));
	assert_int_equal(vq_getchain(&vq, &c, iov, 4), 0);
	assert_int_equal(errors, 1);
	/* a queue set up again starts the floor at 0, and a chain given
	 * back (vq_retchain) is taken again without an error */
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x80000, 16, 0, 0);
	push(0);
	assert_int_equal(vq_getchain(&vq, &c, iov, 4), 1);
	vq_retchain(&vq);		/* given back: taken again */
	assert_int_equal(vq_getchain(&vq, &c, iov, 4), 1);
	assert_int_equal(errors, 0);
}

static void test_too_many_segments(void **state)
{
	struct vq_chain c;
	struct iovec iov[2];

	(void)state;
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x80000, 16, VRING_DESC_F_NEXT, 1);
	setdesc(DESC, 1, 0x80000, 16, VRING_DESC_F_NEXT, 2);
	setdesc(DESC, 2, 0x80000, 16, 0, 0);
	push(0);
	assert_int_equal(vq_getchain(&vq, &c, iov, 2), -1);
	assert_non_null(strstr(last_why, "more segments"));
}

static void test_indirect(void **state)
{
	struct vq_chain c;
	struct iovec iov[8];

	(void)state;
	/* not negotiated */
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x90000, 48, VRING_DESC_F_INDIRECT, 0);
	push(0);
	expect_bad("not negotiated");
	/* good: a direct readable descriptor, then a table of three */
	setup_queue(8, true, false);
	setdesc(DESC, 4, 0x80000, 10, VRING_DESC_F_NEXT, 6);
	setdesc(DESC, 6, 0x90000, 48, VRING_DESC_F_INDIRECT, 0);
	setdesc(0x90000, 0, 0x81000, 20, VRING_DESC_F_NEXT, 1);
	setdesc(0x90000, 1, 0x82000, 30, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	setdesc(0x90000, 2, 0x83000, 40, VRING_DESC_F_WRITE, 0);
	push(4);
	assert_int_equal(vq_getchain(&vq, &c, iov, 8), 1);
	assert_int_equal(c.nout, 2);
	assert_int_equal(c.nin, 2);
	assert_int_equal(c.outlen, 30);
	assert_int_equal(c.inlen, 70);
	assert_ptr_equal(iov[3].iov_base, ram + 0x83000);
	/* next index beyond the table's end */
	setup_queue(8, true, false);
	setdesc(DESC, 0, 0x90000, 32, VRING_DESC_F_INDIRECT, 0);
	setdesc(0x90000, 0, 0x81000, 20, VRING_DESC_F_NEXT, 2);
	push(0);
	expect_bad("next index");
	/* nested */
	setup_queue(8, true, false);
	setdesc(DESC, 0, 0x90000, 16, VRING_DESC_F_INDIRECT, 0);
	setdesc(0x90000, 0, 0xa0000, 16, VRING_DESC_F_INDIRECT, 0);
	push(0);
	expect_bad("nested");
	/* INDIRECT together with NEXT */
	setup_queue(8, true, false);
	setdesc(DESC, 0, 0x90000, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	push(0);
	expect_bad("with NEXT");
	/* lengths: zero, not a multiple of 16, more entries than the queue */
	static const uint32_t lens[] = { 0, 24, 16 * 9 };
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		setup_queue(8, true, false);
		setdesc(DESC, 0, 0x90000, lens[i], VRING_DESC_F_INDIRECT, 0);
		push(0);
		expect_bad("indirect table length");
	}
	/* table outside RAM */
	setup_queue(8, true, false);
	setdesc(DESC, 0, RAM - 16, 32, VRING_DESC_F_INDIRECT, 0);
	push(0);
	expect_bad("indirect table outside");
	/* a loop inside the table */
	setup_queue(8, true, false);
	setdesc(DESC, 0, 0x90000, 32, VRING_DESC_F_INDIRECT, 0);
	setdesc(0x90000, 0, 0x81000, 20, VRING_DESC_F_NEXT, 1);
	setdesc(0x90000, 1, 0x81000, 20, VRING_DESC_F_NEXT, 0);
	push(0);
	expect_bad("longer than the queue");
}

static void test_enable_checks(void **state)
{
	(void)state;
	setup_queue(8, false, false);
	vq_reset(&vq);
	vq.desc_gpa = DESC + 8;		/* misaligned */
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	assert_false(vq_enable(&vq));
	assert_non_null(strstr(last_why, "misaligned"));
	vq_reset(&vq);
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = RAM - 16;		/* used ring past the end */
	assert_false(vq_enable(&vq));
	assert_non_null(strstr(last_why, "outside"));
	vq_reset(&vq);
	vq.size = 6;			/* not a power of two */
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	assert_false(vq_enable(&vq));
	assert_non_null(strstr(last_why, "power of two"));
	vq_reset(&vq);
	vq.size = 16;			/* bigger than offered */
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	assert_false(vq_enable(&vq));
	assert_false(vq.ready);
}

static void test_reset_drops_inflight(void **state)
{
	struct vq_chain c;
	struct iovec iov[8];

	(void)state;
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x80000, 16, VRING_DESC_F_WRITE, 0);
	push(0);
	assert_int_equal(vq_getchain(&vq, &c, iov, 8), 1);
	vq_reset(&vq);
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	memset(ram + USED, 0, 64);
	assert_true(vq_enable(&vq));
	vq_relchain(&vq, &c, 16);	/* from before the reset */
	assert_int_equal(rd16(USED + 2), 0);
}

static void test_need_event(void **state)
{
	(void)state;
	/* event 5: crossing from 5 to 6 notifies; 3->5 does not */
	assert_true(vq_need_event(5, 6, 5));
	assert_true(vq_need_event(5, 8, 3));
	assert_false(vq_need_event(5, 5, 3));
	assert_false(vq_need_event(5, 9, 6));
	/* wrap-around */
	assert_true(vq_need_event(0xffff, 1, 0xfffe));
	assert_false(vq_need_event(2, 1, 0xfffe));
}

static void test_event_idx_interrupts(void **state)
{
	struct vq_chain c;
	struct iovec iov[8];

	(void)state;
	setup_queue(8, false, true);
	for (unsigned i = 0; i < 4; i++)
		setdesc(DESC, i, 0x80000, 16, VRING_DESC_F_WRITE, 0);
	/* used_event (after the avail ring) = 0: interrupt on the first */
	wr16(AVAIL + 4 + 2 * 8, 0);
	push(0);
	push(1);
	push(2);
	assert_int_equal(vq_getchain(&vq, &c, iov, 8), 1);
	/* avail_event (after the used ring) tells the driver where we are */
	assert_int_equal(rd16(USED + 4 + 8 * 8), 1);
	vq_relchain(&vq, &c, 1);
	vq_endchains(&vq);
	assert_int_equal(interrupts, 1);
	/* used_event still 0: the driver does not want the second */
	assert_int_equal(vq_getchain(&vq, &c, iov, 8), 1);
	vq_relchain(&vq, &c, 1);
	vq_endchains(&vq);
	assert_int_equal(interrupts, 1);
	/* the driver moves used_event to 2: the third (used idx 3) fires */
	wr16(AVAIL + 4 + 2 * 8, 2);
	assert_int_equal(vq_getchain(&vq, &c, iov, 8), 1);
	vq_relchain(&vq, &c, 1);
	vq_endchains(&vq);
	assert_int_equal(interrupts, 2);
	/* notification suppression the other way */
	vq_set_notify(&vq, false);
	push(3);
	assert_int_equal(rd16(USED + 4 + 8 * 8), 3);	/* not advanced */
	vq_set_notify(&vq, true);
	assert_int_equal(rd16(USED + 4 + 8 * 8), 3);
}

static void test_no_interrupt_flag(void **state)
{
	struct vq_chain c;
	struct iovec iov[8];

	(void)state;
	setup_queue(8, false, false);
	setdesc(DESC, 0, 0x80000, 16, VRING_DESC_F_WRITE, 0);
	wr16(AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	push(0);
	assert_int_equal(vq_getchain(&vq, &c, iov, 8), 1);
	vq_relchain(&vq, &c, 1);
	vq_endchains(&vq);
	assert_int_equal(interrupts, 0);
	vq_set_notify(&vq, false);
	assert_int_equal(rd16(USED), VRING_USED_F_NO_NOTIFY);
	vq_set_notify(&vq, true);
	assert_int_equal(rd16(USED), 0);
}

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* A bounded random driver: random descriptor tables (some indirect),
 * random heads and avail moves; every accepted chain must lie in RAM and
 * respect the limits; the validator must never crash or loop. */
static void test_random_driver(void **state)
{
	enum { QS = 16 };
	struct iovec iov[QS];
	struct vq_chain c;
	unsigned seed = 12345, accepted = 0, rejected = 0;
	time_t end = time(NULL) + 2;

	(void)state;
#define RND() rnd(&seed)
	for (unsigned iter = 0; time(NULL) < end || iter < 1000; iter++) {
		int r;

		setup_queue(QS, RND() & 1, RND() & 1);
		for (unsigned i = 0; i < QS; i++) {
			unsigned kind = RND() % 8;
			uint64_t addr = kind == 0 ? (uint64_t)RND() << 12 :
			    (RND() % (RAM / 16)) * 16;
			uint32_t len = kind == 1 ? RND() : RND() % 4096;
			uint16_t flags = (uint16_t)(RND() & 7);
			setdesc(DESC, i, kind == 2 ? 0x90000 : addr,
			    kind == 2 ? 16 * (RND() % 20) : len, flags,
			    (uint16_t)(RND() % (QS + 2)));
			setdesc(0x90000, i, addr, len, flags & 3,
			    (uint16_t)(RND() % (QS + 2)));
		}
		for (unsigned k = 0; k < 4; k++)
			push((uint16_t)(RND() % (QS + 1)));
		if (RND() % 16 == 0)
			wr16(AVAIL + 2, (uint16_t)RND());
		for (unsigned k = 0; k < 6; k++) {
			r = vq_getchain(&vq, &c, iov, QS);
			if (r <= 0) {
				rejected += r < 0;
				break;
			}
			accepted++;
			assert_true(c.nout + c.nin <= QS);
			for (unsigned i = 0; i < c.nout + c.nin; i++) {
				uint8_t *p = iov[i].iov_base;
				assert_true(p >= ram && p + iov[i].iov_len <= ram + RAM);
			}
			vq_relchain(&vq, &c, c.inlen);
			vq_endchains(&vq);
		}
	}
#undef RND
	/* Both outcomes happened, so the driver explored something. */
	assert_true(accepted > 100);
	assert_true(rejected > 100);
}

static void test_iov_copy(void **state)
{
	uint8_t a[3], b[5], out[8];
	struct iovec iov[2] = { { a, 3 }, { b, 5 } };

	(void)state;
	assert_int_equal(iov_from_buf(iov, 2, 2, "ABCDEFGH", 8), 6);
	assert_int_equal(a[2], 'A');
	assert_int_equal(b[0], 'B');
	assert_int_equal(b[4], 'F');
	memset(out, 0, sizeof(out));
	assert_int_equal(iov_to_buf(iov, 2, 2, out, 4), 4);
	assert_memory_equal(out, "ABCD", 4);
	assert_int_equal(iov_to_buf(iov, 2, 8, out, 4), 0);
	assert_int_equal(iov_to_buf(iov, 2, 7, out, 4), 1);
	assert_int_equal(out[0], 'F');
}

int run_vq_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_chain),
		cmocka_unit_test(test_zero_length_and_retchain),
		cmocka_unit_test(test_head_out_of_range),
		cmocka_unit_test(test_next_out_of_range),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_readable_after_writable),
		cmocka_unit_test(test_buffer_outside_ram),
		cmocka_unit_test(test_length_overflow),
		cmocka_unit_test(test_avail_index_jump),
		cmocka_unit_test(test_avail_index_backwards),
		cmocka_unit_test(test_too_many_segments),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_enable_checks),
		cmocka_unit_test(test_reset_drops_inflight),
		cmocka_unit_test(test_need_event),
		cmocka_unit_test(test_event_idx_interrupts),
		cmocka_unit_test(test_no_interrupt_flag),
		cmocka_unit_test(test_random_driver),
		cmocka_unit_test(test_iov_copy),
	};
	return cmocka_run_group_tests_name("virtqueue", tests, setup, teardown);
}
