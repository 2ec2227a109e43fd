#include "backends/tty.h"
#include "backends/evloop.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

struct ttybe {
	int rfd, wfd;
	bool stdio;
	bool eof;
	struct ev *ev;
	ttybe_readable_t cb;
	void *arg;
};

/* Saved terminal settings, restored at exit and from fatal signals. */
#define MAX_SAVED 8
static struct { int fd; struct termios tio; } saved[MAX_SAVED];
static volatile int nsaved;
static bool stdio_taken;

void tty_restore_all(void)
{
	for (int i = 0; i < nsaved; i++)
		tcsetattr(saved[i].fd, TCSAFLUSH, &saved[i].tio);
}

static int make_raw(int fd, const char *what)
{
	struct termios tio, raw;

	if (tcgetattr(fd, &tio) != 0)
		return fail_errno("%s: tcgetattr", what);
	if (nsaved == MAX_SAVED)
		return fail("too many terminals");
	saved[nsaved].fd = fd;
	saved[nsaved].tio = tio;
	nsaved++;
	raw = tio;
	cfmakeraw(&raw);
	raw.c_cflag |= CLOCAL;
	if (tcsetattr(fd, TCSANOW, &raw) != 0)
		return fail_errno("%s: tcsetattr", what);
	return 0;
}

int ttybe_check(const char *path)
{
	struct stat st;

	if (strcmp(path, "stdio") == 0)
		return 0;
	if (path[0] != '/')
		return fail("invalid serial backend '%s' (use stdio or a "
		    "/dev path)", path);
	if (stat(path, &st) != 0)
		return fail_errno("serial backend '%s'", path);
	if (!S_ISCHR(st.st_mode))
		return fail("serial backend '%s' is not a terminal device",
		    path);
	return 0;
}

int ttybe_open(struct ttybe **out, const char *path, ttybe_readable_t cb,
    void *arg)
{
	struct ttybe *t;

	if (ttybe_check(path) != 0)
		return -1;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return fail("out of memory");
	t->cb = cb;
	t->arg = arg;
	if (strcmp(path, "stdio") == 0) {
		if (stdio_taken) {
			free(t);
			return fail("stdio is already used by another serial "
			    "port");
		}
		stdio_taken = true;
		t->stdio = true;
		t->rfd = STDIN_FILENO;
		t->wfd = STDOUT_FILENO;
		if (isatty(t->rfd) && make_raw(t->rfd, "stdin") != 0) {
			free(t);
			return -1;
		}
	} else {
		int fd = open(path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			free(t);
			return fail_errno("cannot open serial backend '%s'",
			    path);
		}
		if (!isatty(fd)) {
			close(fd);
			free(t);
			return fail("serial backend '%s' is not a terminal",
			    path);
		}
		if (make_raw(fd, path) != 0) {
			close(fd);
			free(t);
			return -1;
		}
		t->rfd = t->wfd = fd;
	}
	*out = t;
	return 0;
}

static void on_readable(int fd, uint32_t events, void *arg)
{
	struct ttybe *t = arg;
	(void)fd;
	(void)events;
	t->cb(t->arg);
}

int ttybe_start(struct ttybe *t)
{
	struct stat st;

	/* A regular file or /dev/null on stdin cannot be polled: treat it
	 * as input that has ended. */
	if (fstat(t->rfd, &st) == 0 && (S_ISREG(st.st_mode) ||
	    (S_ISCHR(st.st_mode) && !isatty(t->rfd)))) {
		t->eof = true;
		return 0;
	}
	t->ev = ev_add(t->rfd, false, on_readable, t);
	return t->ev ? 0 : -1;
}

int ttybe_read(struct ttybe *t, uint8_t *buf, unsigned len)
{
	ssize_t n;

	if (t->eof || len == 0)
		return 0;
	n = read(t->rfd, buf, len);
	if (n > 0)
		return (int)n;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* End of input (closed pipe, hung-up terminal): stop watching. */
	t->eof = true;
	if (t->ev) {
		ev_del(t->ev);
		t->ev = NULL;
	}
	return 0;
}

void ttybe_write(struct ttybe *t, uint8_t byte)
{
	for (;;) {
		ssize_t n = write(t->wfd, &byte, 1);
		if (n == 1)
			return;
		if (n < 0 && errno == EINTR)
			continue;
		/* A terminal nobody drains drops output, as a UART with no
		 * one on the line would; stdout is written blocking. */
		return;
	}
}

void ttybe_rx_enable(struct ttybe *t, bool on)
{
	if (t->ev)
		ev_enable(t->ev, on);
}

void ttybe_close(struct ttybe *t)
{
	if (t == NULL)
		return;
	ev_del(t->ev);
	if (!t->stdio)
		close(t->rfd);
	else
		stdio_taken = false;
	free(t);
}
