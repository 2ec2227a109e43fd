#include "backends/tty.h"
#include "backends/evloop.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* Output never blocks a vCPU or the event loop: bytes go to a bounded
 * buffer that is written without blocking to a file description of our
 * own (a fresh open of /proc/self/fd/N for pipes and terminals, so
 * O_NONBLOCK does not leak to processes sharing the caller's stdout), at
 * once by the loop (ev_call) and then whenever the fd turns writable
 * (EPOLLOUT).  When the buffer is full, bytes are dropped and counted (a
 * UART with nobody on the line loses them too); the count is reported at
 * exit.  A file (a regular file, a block device, a character device that
 * is no terminal such as /dev/null) cannot be polled, and writing it can
 * block (a network file system, dirty-page throttling): its bytes go to
 * the same buffer, and a writer thread of the backend's own writes them,
 * a burst per write(2) (a byte per write(2) on the vCPU thread, as
 * before, cost a 9p round trip per byte in the test host).
 * Lock: `olock` guards obuf/ohead/olen, flush_queued, wait_out, broken,
 * dropped, written and the writer's flags; the write(2) of a flush happens
 * under it (it cannot block: the fd is non-blocking), the writer thread's
 * without it (it only reads bytes the producers no longer touch). */
#define TTY_OBUF_SIZE (64u << 10)
#define TTY_DRAIN_MS 500	/* at exit, at most */

struct ttybe {
	int rfd, wfd;
	bool stdio;
	bool eof;
	struct ev *ev;
	ttybe_readable_t cb;
	void *arg;
	char what[64];		/* "stdio" or the device path, for messages */
	struct ttybe *reg_next;	/* open_ttys (reg_lock) */

	int ofd;		/* non-blocking output fd (ours), or wfd */
	bool fmode;		/* a file: the writer thread writes it */
	pthread_t fth;		/* the writer thread */
	pthread_cond_t fcond;	/* new bytes, or stop; the writer is done */
	bool fth_on, fstop, fdone;
	struct ev *oev;		/* EPOLLOUT watch on ofd */
	pthread_mutex_t olock;
	uint8_t *obuf;
	size_t ohead, olen;
	bool flush_queued;	/* an ev_call to flush is pending */
	bool wait_out;		/* EPOLLOUT watch armed */
	bool broken;		/* the reader went away: drop everything */
	uint64_t dropped, written;
};

/* Saved terminal settings, restored at exit and from fatal signals. */
#define MAX_SAVED 8
static struct { int fd; struct termios tio; } saved[MAX_SAVED];
static volatile int nsaved;
/* Descriptions we had to set O_NONBLOCK on (sockets): original flags. */
static struct { int fd; int flags; } saved_fl[MAX_SAVED];
static volatile int nsaved_fl;
static bool stdio_taken;
/* Open backends, for ttybe_sync_all (reg_lock before any olock): a list,
 * so that every backend is flushed before a fatal exit however many the
 * command line opened. */
static struct ttybe *open_ttys;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

void tty_restore_all(void)
{
	for (int i = 0; i < nsaved; i++)
		if (saved[i].fd >= 0)
			tcsetattr(saved[i].fd, TCSAFLUSH, &saved[i].tio);
	for (int i = 0; i < nsaved_fl; i++)
		if (saved_fl[i].fd >= 0)
			fcntl(saved_fl[i].fd, F_SETFL, saved_fl[i].flags);
}

/* Restore and forget one terminal (before its fd is closed). */
static void restore_one(int fd)
{
	for (int i = 0; i < nsaved; i++)
		if (saved[i].fd == fd) {
			tcsetattr(fd, TCSAFLUSH, &saved[i].tio);
			saved[i].fd = -1;
		}
}

/* The output side: a non-blocking description of our own when possible. */
static int setup_output(struct ttybe *t)
{
	struct stat st;
	char path[40];
	int fd, fl;

	t->obuf = malloc(TTY_OBUF_SIZE);
	if (t->obuf == NULL)
		return fail("out of memory");
	/* A closed stdout: writes fail, and the bytes are dropped. */
	if (fstat(t->wfd, &st) != 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) ||
	    (S_ISCHR(st.st_mode) && !isatty(t->wfd))) {
		pthread_condattr_t ca;

		t->fmode = true;
		t->ofd = t->wfd;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&t->fcond, &ca);
		pthread_condattr_destroy(&ca);
		return 0;
	}
	if (!t->stdio) {
		/* Our own open of the device (already O_NONBLOCK); a
		 * duplicate so epoll can watch output separately. */
		t->ofd = fcntl(t->wfd, F_DUPFD_CLOEXEC, 3);
		return t->ofd < 0 ? fail_errno("%s: dup", t->what) : 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", t->wfd);
	fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		t->ofd = fd;
		return 0;
	}
	/* A socket (cannot be reopened): set O_NONBLOCK on the shared
	 * description and put the flags back at exit. */
	fl = fcntl(t->wfd, F_GETFL);
	if (fl < 0 || nsaved_fl == MAX_SAVED)
		return fail_errno("%s: cannot make output non-blocking",
		    t->what);
	saved_fl[nsaved_fl].fd = t->wfd;
	saved_fl[nsaved_fl].flags = fl;
	nsaved_fl++;
	if (fcntl(t->wfd, F_SETFL, fl | O_NONBLOCK) != 0)
		return fail_errno("%s: O_NONBLOCK", t->what);
	t->ofd = fcntl(t->wfd, F_DUPFD_CLOEXEC, 3);
	return t->ofd < 0 ? fail_errno("%s: dup", t->what) : 0;
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

static void flush_locked(struct ttybe *t);

/* *ts moved ms milliseconds on (a deadline for pthread_cond_timedwait). */
static void ts_add_ms(struct timespec *ts, unsigned ms)
{
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000;
	ts->tv_nsec %= 1000000000;
}

/* console_sync's hook: each open backend's buffer out, a terminal's or
 * pipe's without blocking, a file's by its writer within wait_ms. */
static void ttybe_sync_all(unsigned wait_ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	ts_add_ms(&until, wait_ms);
	pthread_mutex_lock(&reg_lock);
	for (struct ttybe *t = open_ttys; t != NULL; t = t->reg_next) {
		if (t->obuf == NULL)
			continue;
		pthread_mutex_lock(&t->olock);
		if (!t->fmode)
			flush_locked(t);
		else if (t->fth_on)
			while (t->olen > 0 && !t->fdone &&
			    pthread_cond_timedwait(&t->fcond, &t->olock,
			    &until) == 0)
				;
		pthread_mutex_unlock(&t->olock);
	}
	pthread_mutex_unlock(&reg_lock);
}

static void registry(struct ttybe *t, bool add)
{
	struct ttybe **pp;

	pthread_mutex_lock(&reg_lock);
	if (add) {
		t->reg_next = open_ttys;
		open_ttys = t;
	} else {
		for (pp = &open_ttys; *pp != NULL; pp = &(*pp)->reg_next)
			if (*pp == t) {
				*pp = t->reg_next;
				break;
			}
	}
	pthread_mutex_unlock(&reg_lock);
	console_sync_hook(ttybe_sync_all);
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
	t->ofd = -1;
	snprintf(t->what, sizeof(t->what), "%s", path);
	pthread_mutex_init(&t->olock, NULL);
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
	if (setup_output(t) != 0) {
		ttybe_close(t);
		return -1;
	}
	registry(t, true);
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

static void on_writable(int fd, uint32_t events, void *arg);

/* The writer thread of a file: writes what the buffer holds, a
 * contiguous run per write(2), until asked to stop with nothing left. */
static void *file_writer(void *arg)
{
	struct ttybe *t = arg;

	pthread_mutex_lock(&t->olock);
	for (;;) {
		size_t chunk;
		ssize_t n;

		while (t->olen == 0 && !t->fstop)
			pthread_cond_wait(&t->fcond, &t->olock);
		if (t->olen == 0)
			break;
		chunk = TTY_OBUF_SIZE - t->ohead;
		if (chunk > t->olen)
			chunk = t->olen;
		pthread_mutex_unlock(&t->olock);
		n = write(t->ofd, t->obuf + t->ohead, chunk);
		pthread_mutex_lock(&t->olock);
		if (n > 0) {
			t->ohead = (t->ohead + (size_t)n) % TTY_OBUF_SIZE;
			t->olen -= (size_t)n;
			t->written += (uint64_t)n;
		} else if (!(n < 0 && errno == EINTR)) {
			/* Closed, full or failing: drop from now on. */
			t->broken = true;
			t->dropped += t->olen;
			t->olen = 0;
		}
		if (t->olen == 0)	/* for ttybe_sync_all */
			pthread_cond_broadcast(&t->fcond);
	}
	t->fdone = true;
	pthread_cond_broadcast(&t->fcond);
	pthread_mutex_unlock(&t->olock);
	return NULL;
}

int ttybe_start(struct ttybe *t)
{
	struct stat st;

	if (t->fmode) {
		int e = thread_create(&t->fth, file_writer, t);
		if (e != 0) {
			errno = e;
			return fail_errno("%s: writer thread", t->what);
		}
		t->fth_on = true;
		pthread_setname_np(t->fth, "console-out");
	} else {
		t->oev = ev_add(t->ofd, true, on_writable, t);
		if (t->oev == NULL || ev_set_events(t->oev, false, false) != 0)
			return -1;
	}

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

/* Write what the buffer holds without blocking; olock held. */
static void flush_locked(struct ttybe *t)
{
	bool want;

	while (t->olen > 0 && !t->broken) {
		size_t chunk = TTY_OBUF_SIZE - t->ohead;
		ssize_t n;

		if (chunk > t->olen)
			chunk = t->olen;
		n = write(t->ofd, t->obuf + t->ohead, chunk);
		if (n > 0) {
			t->ohead = (t->ohead + (size_t)n) % TTY_OBUF_SIZE;
			t->olen -= (size_t)n;
			t->written += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* The reader is gone (EPIPE, hung-up terminal). */
		t->broken = true;
		t->dropped += t->olen;
		t->olen = 0;
	}
	want = t->olen > 0;
	if (want != t->wait_out && t->oev != NULL &&
	    ev_set_events(t->oev, false, want) == 0)
		t->wait_out = want;
}

static void flush_call(void *arg)
{
	struct ttybe *t = arg;

	pthread_mutex_lock(&t->olock);
	t->flush_queued = false;
	flush_locked(t);
	pthread_mutex_unlock(&t->olock);
}

static void on_writable(int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	flush_call(arg);
}

void ttybe_write(struct ttybe *t, uint8_t byte)
{
	bool call;

	pthread_mutex_lock(&t->olock);
	if (t->broken || t->olen == TTY_OBUF_SIZE) {
		t->dropped++;
		pthread_mutex_unlock(&t->olock);
		return;
	}
	t->obuf[(t->ohead + t->olen) % TTY_OBUF_SIZE] = byte;
	t->olen++;
	if (t->fmode) {
		/* The writer takes it (or, before it runs, ttybe_close). */
		if (t->olen == 1)
			pthread_cond_broadcast(&t->fcond);
		pthread_mutex_unlock(&t->olock);
		return;
	}
	/* One flush request per burst: the loop writes it in one go. */
	call = !t->flush_queued && !t->wait_out;
	if (call)
		t->flush_queued = true;
	if (call && (t->oev == NULL || ev_call(flush_call, t) != 0)) {
		/* No event loop (yet): write what can be written now. */
		t->flush_queued = false;
		flush_locked(t);
	}
	pthread_mutex_unlock(&t->olock);
}

int ttybe_describe(struct ttybe *t, char *buf, size_t len)
{
	int n;

	pthread_mutex_lock(&t->olock);
	n = snprintf(buf, len, "%s: output buffered %zu, written %llu, "
	    "dropped %llu, flush queued %d, waiting for EPOLLOUT %d, "
	    "reader gone %d, input %s", t->what, t->olen,
	    (unsigned long long)t->written, (unsigned long long)t->dropped,
	    t->flush_queued, t->wait_out, t->broken,
	    t->eof ? "ended" : "open");
	pthread_mutex_unlock(&t->olock);
	return n;
}

/* A file's writer: stop it once the buffer is written, waiting at most
 * TTY_DRAIN_MS; false if it is still in a write(2) then (it keeps `t`).
 * Without a writer (never started), the buffer is written here.  olock
 * held. */
static bool stop_writer(struct ttybe *t, const struct timespec *t0)
{
	struct timespec until = *t0;

	if (!t->fth_on) {
		flush_locked(t);	/* plain writes: a file never says EAGAIN */
		t->dropped += t->olen;
		t->olen = 0;
		return true;
	}
	ts_add_ms(&until, TTY_DRAIN_MS);
	t->fstop = true;
	pthread_cond_broadcast(&t->fcond);
	while (!t->fdone &&
	    pthread_cond_timedwait(&t->fcond, &t->olock, &until) == 0)
		;
	if (!t->fdone) {
		t->dropped += t->olen;
		t->olen = 0;
		return false;
	}
	return true;
}

/* At exit: give a slow reader a moment (bounded), then report losses.
 * False if a file's writer is stuck in a write(2) and keeps `t`. */
static bool drain(struct ttybe *t)
{
	struct timespec t0, now;
	char msg[200];
	bool done = true;

	if (t->obuf == NULL)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&t->olock);
	for (;;) {
		struct pollfd p = { .fd = t->ofd, .events = POLLOUT };
		long ms;

		if (t->fmode) {
			done = stop_writer(t, &t0);
			break;
		}
		flush_locked(t);
		if (t->olen == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - t0.tv_sec) * 1000 +
		    (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= TTY_DRAIN_MS || poll(&p, 1,
		    (int)(TTY_DRAIN_MS - ms)) <= 0) {
			t->dropped += t->olen;
			t->olen = 0;
			break;
		}
	}
	pthread_mutex_unlock(&t->olock);
	if (t->dropped > 0) {
		snprintf(msg, sizeof(msg), "bhyve: %s: %llu bytes of console "
		    "output dropped (it was not being read)\n", t->what,
		    (unsigned long long)t->dropped);
		stderr_write(msg, 1000);
	}
	return done;
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
	registry(t, false);
	ev_del(t->ev);
	pthread_mutex_lock(&t->olock);
	ev_del(t->oev);
	t->oev = NULL;
	pthread_mutex_unlock(&t->olock);
	if (!drain(t)) {
		/* Its writer is stuck in a write(2) and still uses `t`:
		 * leave both to the process's exit. */
		pthread_detach(t->fth);
		if (t->stdio)
			stdio_taken = false;
		return;
	}
	if (t->fth_on)
		pthread_join(t->fth, NULL);
	if (t->fmode)
		pthread_cond_destroy(&t->fcond);
	if (t->ofd >= 0 && t->ofd != t->wfd)
		close(t->ofd);
	if (!t->stdio) {
		restore_one(t->rfd);
		close(t->rfd);
	} else {
		stdio_taken = false;
	}
	free(t->obuf);
	free(t);
}
