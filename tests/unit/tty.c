/* Terminal backend output: src/backends/tty.c (never blocks, bounded
 * buffer, drops counted, terminal restored when the backend closes). */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "backends/tty.h"

static void no_input(void *arg)
{
	(void)arg;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_pts_output_never_blocks(void **state)
{
	int m, s;
	struct termios before, during, after;
	struct ttybe *t = NULL;
	char desc[300], path[64];
	size_t buffered;
	unsigned long long written, dropped;
	const unsigned total = 256u << 10;
	uint8_t got[512];
	ssize_t n;
	double t0;

	(void)state;
	m = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	snprintf(path, sizeof(path), "%s", ptsname(m));
	s = open(path, O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	assert_int_equal(tcgetattr(s, &before), 0);

	assert_int_equal(ttybe_open(&t, path, no_input, NULL), 0);
	assert_int_equal(tcgetattr(s, &during), 0);
	assert_false(during.c_lflag & ICANON);	/* raw while open */

	/* Nobody reads the master: the writer must not wait. */
	t0 = now();
	for (unsigned i = 0; i < total; i++)
		ttybe_write(t, (uint8_t)('a' + i % 26));
	assert_true(now() - t0 < 2.0);
	assert_true(ttybe_describe(t, desc, sizeof(desc)) < (int)sizeof(desc));
	assert_non_null(strstr(desc, "output buffered"));
	assert_int_equal(sscanf(strstr(desc, "output buffered"),
	    "output buffered %zu, written %llu, dropped %llu", &buffered,
	    &written, &dropped), 3);
	assert_int_equal(buffered + written + dropped, total);
	assert_int_equal(buffered, 64u << 10);	/* the buffer is full */
	assert_true(dropped > 0);

	/* What arrived is the start of the stream, unchanged. */
	n = read(m, got, sizeof(got));
	assert_true(n > 0);
	for (ssize_t i = 0; i < n; i++)
		assert_int_equal(got[i], 'a' + i % 26);

	unit_mute();		/* the drop report goes to stderr */
	ttybe_close(t);		/* bounded drain, then restore */
	unit_unmute();
	assert_int_equal(tcgetattr(s, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	assert_int_equal(after.c_iflag, before.c_iflag);
	assert_int_equal(after.c_oflag, before.c_oflag);
	assert_int_equal(after.c_cflag, before.c_cflag);
	close(s);
	close(m);
}

/* A fresh, already unlinked file for stdout; stdin from /dev/null (no
 * terminal to make raw).  fds[] keeps what restore_stdio() puts back. */
static int stdio_to_file(int fds[3])
{
	char path[] = "/tmp/bhyve-tty-test-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	fds[0] = dup(0);
	fds[1] = dup(1);
	fds[2] = open("/dev/null", O_RDONLY);
	assert_true(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
	fflush(stdout);
	assert_int_equal(dup2(fds[2], 0), 0);
	assert_int_equal(dup2(fd, 1), 1);
	return fd;
}

static void restore_stdio(const int fds[3])
{
	dup2(fds[0], 0);
	dup2(fds[1], 1);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

/* stdio on a regular file (bhyve ... >log): the bytes reach the file
 * intact and in order through the backend's writer thread, which
 * ttybe_close lets finish; ttybe_write itself never writes. */
static void test_file_output(void **state)
{
	int fds[3], fd = stdio_to_file(fds);
	struct ttybe *t = NULL;
	const unsigned total = 60u << 10;	/* within the buffer */
	char desc[300];
	uint8_t *got = malloc(total + 1);
	struct stat st;

	(void)state;
	assert_non_null(got);
	assert_int_equal(ttybe_open(&t, "stdio", no_input, NULL), 0);
	/* Before the writer runs, bytes only go to the buffer. */
	for (unsigned i = 0; i < 100; i++)
		ttybe_write(t, (uint8_t)('a' + i % 26));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(ttybe_start(t), 0);
	for (unsigned i = 100; i < total; i++)
		ttybe_write(t, (uint8_t)('a' + i % 26));
	assert_true(ttybe_describe(t, desc, sizeof(desc)) < (int)sizeof(desc));
	assert_non_null(strstr(desc, "dropped 0"));
	ttybe_close(t);
	restore_stdio(fds);
	assert_int_equal(pread(fd, got, total + 1, 0), (ssize_t)total);
	for (unsigned i = 0; i < total; i++)
		if (got[i] != 'a' + i % 26)
			fail_msg("byte %u: %u", i, got[i]);
	free(got);
	close(fd);
}

/* A backend closed before it started (the VM never ran): what the buffer
 * holds is written at close. */
static void test_file_output_unstarted(void **state)
{
	int fds[3], fd = stdio_to_file(fds);
	struct ttybe *t = NULL;
	char got[8];

	(void)state;
	assert_int_equal(ttybe_open(&t, "stdio", no_input, NULL), 0);
	for (unsigned i = 0; i < 5; i++)
		ttybe_write(t, (uint8_t)('v' + i));
	ttybe_close(t);
	restore_stdio(fds);
	assert_int_equal(pread(fd, got, sizeof(got), 0), 5);
	assert_memory_equal(got, "vwxyz", 5);
	close(fd);
}

int run_tty_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pts_output_never_blocks),
		cmocka_unit_test(test_file_output),
		cmocka_unit_test(test_file_output_unstarted),
	};
	return cmocka_run_group_tests_name("tty", tests, NULL, NULL);
}
