/* Listening Unix stream sockets, one peer at a time (see sock.h). */
#include "backends/sock.h"
#include "backends/evloop.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct sockbe {
	pthread_mutex_t lock;
	char path[PATH_MAX];
	int lfd;		/* listener: loop thread and setup only */
	struct ev *lev;
	const struct sockbe_ops *ops;
	void *arg;
	int slot;		/* cleanup registry entry */

	/* Guarded by lock: */
	int cfd;
	struct ev *cev;
	bool connected;
	bool rx_on;
	bool eof;		/* read saw the end or an error */
	bool hup;		/* hang-up seen while input was paused */
	bool broken;		/* a write failed */
	bool want_writable;
	unsigned gen;		/* connection number (stale deferred calls) */
	uint8_t *obuf;
	size_t ocap, ohead, olen;
};

/* Socket files to remove at exit, also from a signal handler: entries are
 * filled before `used` is set and read only when it is set. */
#define SOCK_MAX_FILES 64
static struct {
	char path[PATH_MAX];
	dev_t dev;
	ino_t ino;
	volatile sig_atomic_t used;
} files[SOCK_MAX_FILES];
static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;

static int register_file(const char *path, dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&files_lock);
	for (int i = 0; i < SOCK_MAX_FILES; i++) {
		if (files[i].used)
			continue;
		memcpy(files[i].path, path, strlen(path) + 1);
		files[i].dev = dev;
		files[i].ino = ino;
		files[i].used = 1;
		pthread_mutex_unlock(&files_lock);
		return i;
	}
	pthread_mutex_unlock(&files_lock);
	return -1;
}

static void remove_file(int i)
{
	struct stat st;

	if (i < 0 || !files[i].used)
		return;
	files[i].used = 0;
	if (lstat(files[i].path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == files[i].dev && st.st_ino == files[i].ino)
		unlink(files[i].path);
}

void sock_cleanup_all(void)
{
	for (int i = 0; i < SOCK_MAX_FILES; i++)
		remove_file(i);
}

/* A sockaddr for `path`; paths too long for sun_path go through the
 * directory's /proc/self/fd link (*dirfd is then open: close it). */
static int make_addr(const char *path, struct sockaddr_un *sun, int *dirfd)
{
	const char *slash = strrchr(path, '/');

	*dirfd = -1;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) < sizeof(sun->sun_path)) {
		strcpy(sun->sun_path, path);
		return 0;
	}
	if (slash != NULL) {
		char dir[PATH_MAX];
		size_t dl = (size_t)(slash - path);
		int n;

		if (dl >= sizeof(dir))
			return fail("socket path '%s' is too long", path);
		memcpy(dir, path, dl);
		dir[dl] = '\0';
		*dirfd = open(dl ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (*dirfd < 0)
			return fail_errno("socket path '%s': directory", path);
		n = snprintf(sun->sun_path, sizeof(sun->sun_path),
		    "/proc/self/fd/%d/%s", *dirfd, slash + 1);
		if (n > 0 && (size_t)n < sizeof(sun->sun_path))
			return 0;
		close(*dirfd);
		*dirfd = -1;
	}
	return fail("socket path '%s' is too long (the file name may have at "
	    "most %zu characters)", path, sizeof(sun->sun_path) - 20);
}

/* 1: a socket nobody listens on; 0: in use; -1: cannot tell (message). */
static int is_stale(const char *path)
{
	struct sockaddr_un sun;
	int dfd, fd, r, err;

	if (make_addr(path, &sun, &dfd) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (dfd >= 0)
			close(dfd);
		return fail_errno("socket");
	}
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	err = errno;
	close(fd);
	if (dfd >= 0)
		close(dfd);
	if (r == 0 || err == EAGAIN || err == EINPROGRESS)
		return 0;
	if (err == ECONNREFUSED)
		return 1;
	errno = err;
	return fail_errno("socket '%s'", path);
}

int sockbe_check(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	char dir[PATH_MAX];
	const char *slash;
	int dfd, r;

	if (path == NULL || *path == '\0')
		return fail("empty socket path");
	if (strlen(path) >= PATH_MAX)
		return fail("socket path too long");
	slash = strrchr(path, '/');
	if (slash != NULL && slash[1] == '\0')
		return fail("socket path '%s' names a directory", path);
	if (slash != NULL) {
		size_t dl = (size_t)(slash - path);
		memcpy(dir, path, dl);
		dir[dl] = '\0';
		if (dl == 0)
			strcpy(dir, "/");
	} else {
		strcpy(dir, ".");
	}
	if (stat(dir, &st) != 0)
		return fail_errno("socket '%s': directory '%s'", path, dir);
	if (!S_ISDIR(st.st_mode))
		return fail("socket '%s': '%s' is not a directory", path, dir);
	if (make_addr(path, &sun, &dfd) != 0)
		return -1;
	if (dfd >= 0)
		close(dfd);
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return fail_errno("socket '%s'", path);
	}
	if (!S_ISSOCK(st.st_mode))
		return fail("socket '%s': the path exists and is not a socket",
		    path);
	r = is_stale(path);
	if (r < 0)
		return -1;
	if (r == 0)
		return fail("socket '%s' is in use by another process", path);
	return 0;
}

static struct sockbe *alloc_sockbe(size_t outbuf,
    const struct sockbe_ops *ops, void *arg)
{
	struct sockbe *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->obuf = malloc(outbuf)) == NULL) {
		free(s);
		fail("out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->ocap = outbuf;
	s->lfd = s->cfd = -1;
	s->slot = -1;
	s->ops = ops;
	s->arg = arg;
	s->rx_on = true;
	return s;
}

int sockbe_adopt(struct sockbe **out, int lfd, const char *what,
    size_t outbuf, const struct sockbe_ops *ops, void *arg)
{
	struct sockbe *s;
	int fl = fcntl(lfd, F_GETFL);

	*out = NULL;
	if (outbuf == 0)
		return fail("%s: no output buffer", what);
	if (fl < 0 || fcntl(lfd, F_SETFL, fl | O_NONBLOCK) != 0)
		return fail_errno("%s", what);
	s = alloc_sockbe(outbuf, ops, arg);
	if (s == NULL)
		return -1;
	snprintf(s->path, sizeof(s->path), "%s", what);
	s->lfd = lfd;
	*out = s;
	return 0;
}

int sockbe_listen(struct sockbe **out, const char *path, size_t outbuf,
    const struct sockbe_ops *ops, void *arg)
{
	struct sockaddr_un sun;
	struct stat st;
	struct sockbe *s;
	int dfd = -1;

	*out = NULL;
	if (outbuf == 0)
		return fail("socket '%s': no output buffer", path);
	if (sockbe_check(path) != 0)
		return -1;
	s = alloc_sockbe(outbuf, ops, arg);
	if (s == NULL)
		return -1;
	strcpy(s->path, path);
	/* sockbe_check() found it absent or stale: remove a stale one. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if (make_addr(path, &sun, &dfd) != 0)
		goto err;
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		fail_errno("socket");
		goto err;
	}
	if (bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fail_errno("socket '%s': bind", path);
		goto err;
	}
	if (lstat(path, &st) != 0 ||
	    (s->slot = register_file(path, st.st_dev, st.st_ino)) < 0) {
		unlink(path);
		fail("socket '%s': too many sockets", path);
		goto err;
	}
	if (listen(s->lfd, 1) != 0) {
		fail_errno("socket '%s': listen", path);
		goto err;
	}
	if (dfd >= 0)
		close(dfd);
	*out = s;
	return 0;
err:
	if (dfd >= 0)
		close(dfd);
	sockbe_close(s);
	return -1;
}

const char *sockbe_path(const struct sockbe *s)
{
	return s->path;
}

/* Send buffered output; lock held.  Returns false when the peer is gone. */
static bool flush_locked(struct sockbe *s)
{
	while (s->olen > 0) {
		size_t chunk = s->ocap - s->ohead;
		ssize_t n;

		if (chunk > s->olen)
			chunk = s->olen;
		n = send(s->cfd, s->obuf + s->ohead, chunk,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			s->broken = true;
			s->olen = 0;
			return false;
		}
		s->ohead = (s->ohead + (size_t)n) % s->ocap;
		s->olen -= (size_t)n;
	}
	if (s->olen == 0)
		s->ohead = 0;
	return true;
}

static void update_watch_locked(struct sockbe *s)
{
	if (s->cev != NULL)
		ev_set_events(s->cev, s->rx_on, s->olen > 0);
}

/* Loop thread: end the connection `gen` if it is still current. */
static void finish(struct sockbe *s, unsigned gen)
{
	pthread_mutex_lock(&s->lock);
	if (!s->connected || s->gen != gen) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (s->cev != NULL)
		ev_del(s->cev);
	s->cev = NULL;
	close(s->cfd);
	s->cfd = -1;
	s->connected = s->eof = s->hup = s->broken = false;
	s->want_writable = false;
	s->olen = s->ohead = 0;
	s->gen++;
	pthread_mutex_unlock(&s->lock);
	if (s->ops->disconnected)
		s->ops->disconnected(s->arg);
}

/* After the readable callback: end the connection if reading found its
 * end or writing failed. */
static void after_read(struct sockbe *s, unsigned gen)
{
	bool end;

	pthread_mutex_lock(&s->lock);
	end = s->connected && s->gen == gen && (s->eof || s->broken);
	pthread_mutex_unlock(&s->lock);
	if (end)
		finish(s, gen);
}

struct deferred {
	struct sockbe *s;
	unsigned gen;
	bool read;
};

static void deferred_call(void *p)
{
	struct deferred d = *(struct deferred *)p;

	free(p);
	if (d.read) {
		pthread_mutex_lock(&d.s->lock);
		if (!d.s->connected || d.s->gen != d.gen) {
			pthread_mutex_unlock(&d.s->lock);
			return;
		}
		pthread_mutex_unlock(&d.s->lock);
		if (d.s->ops->readable)
			d.s->ops->readable(d.s->arg);
		after_read(d.s, d.gen);
		return;
	}
	finish(d.s, d.gen);
}

/* Any thread, lock held: schedule a read pass or the end of connection
 * `gen` on the loop thread. */
static void defer_locked(struct sockbe *s, bool read)
{
	struct deferred *d = malloc(sizeof(*d));

	if (d == NULL)
		return;
	d->s = s;
	d->gen = s->gen;
	d->read = read;
	if (ev_call(deferred_call, d) != 0)
		free(d);
}

static void on_conn(int fd, uint32_t events, void *arg)
{
	struct sockbe *s = arg;
	bool room = false, read = false;
	unsigned gen;
	(void)fd;

	pthread_mutex_lock(&s->lock);
	if (!s->connected) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	gen = s->gen;
	if ((events & EPOLLOUT) && s->olen > 0) {
		flush_locked(s);
		if (s->want_writable && s->olen < s->ocap) {
			s->want_writable = false;
			room = true;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (s->rx_on) {
			read = true;
		} else if (events & (EPOLLHUP | EPOLLERR)) {
			/* The peer is gone (reported even while paused).
			 * With nothing left unread, the connection ends now;
			 * else the reader may still drain it (rx_enable),
			 * unless a new peer comes first (on_accept). */
			int unread = 0;
			if (ioctl(s->cfd, FIONREAD, &unread) != 0 ||
			    unread <= 0) {
				s->eof = true;
			} else {
				ev_del(s->cev);
				s->cev = NULL;
				s->hup = true;
				s->olen = 0;
			}
		}
	}
	if (!s->broken)
		update_watch_locked(s);
	pthread_mutex_unlock(&s->lock);
	if (room && s->ops->writable)
		s->ops->writable(s->arg);
	if (read && s->ops->readable)
		s->ops->readable(s->arg);
	after_read(s, gen);
}

static void on_accept(int fd, uint32_t events, void *arg)
{
	struct sockbe *s = arg;
	int c;
	(void)events;

	c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->connected && s->hup) {
		/* The previous peer left data nobody read: it gives way. */
		unsigned gen = s->gen;
		pthread_mutex_unlock(&s->lock);
		finish(s, gen);
		pthread_mutex_lock(&s->lock);
	}
	if (s->connected) {
		/* One peer at a time: refuse the newcomer. */
		pthread_mutex_unlock(&s->lock);
		close(c);
		return;
	}
	s->cfd = c;
	s->cev = ev_add(c, false, on_conn, s);
	if (s->cev == NULL) {
		s->cfd = -1;
		pthread_mutex_unlock(&s->lock);
		close(c);
		return;
	}
	s->connected = true;
	s->eof = s->hup = s->broken = s->want_writable = false;
	s->olen = s->ohead = 0;
	s->gen++;
	update_watch_locked(s);
	pthread_mutex_unlock(&s->lock);
	if (s->ops->connected)
		s->ops->connected(s->arg);
}

int sockbe_start(struct sockbe *s)
{
	s->lev = ev_add(s->lfd, false, on_accept, s);
	if (s->lev == NULL)
		return fail_prefix("socket '%s'", s->path);
	return 0;
}

void sockbe_close(struct sockbe *s)
{
	if (s == NULL)
		return;
	if (s->lev != NULL)
		ev_del(s->lev);
	if (s->cev != NULL)
		ev_del(s->cev);
	if (s->cfd >= 0)
		close(s->cfd);
	if (s->lfd >= 0)
		close(s->lfd);
	remove_file(s->slot);
	pthread_mutex_destroy(&s->lock);
	free(s->obuf);
	free(s);
}

void sockbe_hangup(struct sockbe *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->connected) {
		if (!s->broken)
			flush_locked(s);
		defer_locked(s, false);
	}
	pthread_mutex_unlock(&s->lock);
}

bool sockbe_connected(struct sockbe *s)
{
	bool c;

	pthread_mutex_lock(&s->lock);
	c = s->connected && !s->eof && !s->broken;
	pthread_mutex_unlock(&s->lock);
	return c;
}

ssize_t sockbe_readv(struct sockbe *s, const struct iovec *iov, int niov)
{
	ssize_t n;

	pthread_mutex_lock(&s->lock);
	if (!s->connected || s->eof) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	n = readv(s->cfd, iov, niov);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		s->eof = true;
		if (s->hup)	/* no watch left to notice: end it now */
			defer_locked(s, false);
		n = -1;
	} else if (n < 0) {
		n = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t sockbe_write(struct sockbe *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->connected || s->broken || s->hup || s->eof) {
		pthread_mutex_unlock(&s->lock);
		return len;
	}
	if (s->olen == 0 && len > 0) {
		ssize_t n = send(s->cfd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			s->broken = true;
			defer_locked(s, false);
			pthread_mutex_unlock(&s->lock);
			return len;
		}
		if (n > 0)
			done = (size_t)n;
	}
	while (done < len && s->olen < s->ocap) {
		size_t tail = (s->ohead + s->olen) % s->ocap;
		size_t freeb = s->ocap - s->olen;
		/* Contiguous free bytes from the tail. */
		size_t chunk = tail >= s->ohead ? s->ocap - tail :
		    s->ohead - tail;

		if (chunk > freeb)
			chunk = freeb;
		if (chunk > len - done)
			chunk = len - done;
		memcpy(s->obuf + tail, p + done, chunk);
		s->olen += chunk;
		done += chunk;
	}
	if (done < len)
		s->want_writable = true;
	update_watch_locked(s);
	pthread_mutex_unlock(&s->lock);
	return done;
}

size_t sockbe_write_room(struct sockbe *s, size_t need)
{
	size_t room;

	pthread_mutex_lock(&s->lock);
	if (!s->connected || s->broken || s->hup || s->eof) {
		room = SIZE_MAX;
	} else {
		room = s->ocap - s->olen;
		if (room < need)
			s->want_writable = true;
	}
	pthread_mutex_unlock(&s->lock);
	return room;
}

void sockbe_rx_enable(struct sockbe *s, bool on)
{
	pthread_mutex_lock(&s->lock);
	if (s->rx_on != on) {
		s->rx_on = on;
		if (s->connected && !s->broken)
			update_watch_locked(s);
	}
	if (on && s->connected && s->hup)
		defer_locked(s, true);
	pthread_mutex_unlock(&s->lock);
}
