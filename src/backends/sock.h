/* Listening stream sockets served by the event loop, one peer at a time:
 * Unix sockets it creates (virtio-console ports), or any listener handed
 * over with sockbe_adopt() (later the debug server, VNC, control).
 *
 * A sockbe binds `path` and listens.  The first peer to connect is
 * accepted; while it is connected, further peers are accepted and closed
 * at once.  When the peer leaves, the next one may connect.
 *
 * Output is non-blocking with a bounded buffer: sockbe_write() sends what
 * the socket takes at once, keeps the rest up to `outbuf` bytes, and
 * returns how much it accepted.  When it could not take everything, the
 * `writable` callback runs (loop thread) once space has been made, so the
 * producer (a device's transmit queue) waits for space instead of blocking
 * anyone.  Without a peer, output is discarded (accepted in full).
 *
 * Input: the `readable` callback runs on the loop thread when data (or the
 * end of the connection) is waiting; it must call sockbe_read() until that
 * returns 0 or -1, or pause input with sockbe_rx_enable(false) when it has
 * nowhere to put the data (it resumes with sockbe_rx_enable(true)).
 *
 * Socket files: the path must not exist, or be a stale socket (one nobody
 * listens on), which is replaced; anything else is an error.  Every socket
 * file this module created is removed by sockbe_close() and by
 * sock_cleanup_all(), which main() calls on every exit path and which is
 * async-signal-safe (the fatal-signal handler calls it too).  A file
 * replaced by someone else meanwhile (other inode) is left alone.
 *
 * Threads: the callbacks run on the loop thread without any sockbe lock
 * held.  sockbe_write(), sockbe_write_room(), sockbe_rx_enable() and
 * sockbe_connected() may be called from any thread (vCPU threads);
 * sockbe_read() from the loop thread (in `readable` or after it).
 * Lock: each sockbe's mutex guards its connection fd and watch, its state
 * flags and its output buffer.  It is never held while calling out. */
#ifndef BHYVE_SOCK_H
#define BHYVE_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct sockbe;

struct sockbe_ops {
	void (*connected)(void *arg);	/* a peer was accepted */
	void (*disconnected)(void *arg);	/* the peer left */
	void (*readable)(void *arg);	/* input (or its end) is waiting */
	void (*writable)(void *arg);	/* room after a short write */
};

/* Check that `path` can be bound (without creating anything): its
 * directory exists, and it does not exist or is a stale socket. */
int sockbe_check(const char *path);
/* Bind and listen (replacing a stale socket); nothing is watched until
 * sockbe_start().  `outbuf` bounds the buffered output (bytes, > 0). */
int sockbe_listen(struct sockbe **out, const char *path, size_t outbuf,
    const struct sockbe_ops *ops, void *arg);
/* The same service on a listener the caller bound (e.g. TCP for the
 * debug server or VNC); takes the fd (closed by sockbe_close); `what`
 * names it in messages; no file to remove. */
int sockbe_adopt(struct sockbe **out, int lfd, const char *what,
    size_t outbuf, const struct sockbe_ops *ops, void *arg);
/* Start accepting (after evloop_init). */
int sockbe_start(struct sockbe *s);
/* Close the connection and the listener, remove the socket file. */
void sockbe_close(struct sockbe *s);

bool sockbe_connected(struct sockbe *s);
/* End the current connection (any thread): what is buffered is sent
 * if the socket takes it now, then the loop closes it. */
void sockbe_hangup(struct sockbe *s);
/* Read into iov: >0 bytes, 0 nothing waiting now, -1 the connection is
 * gone (or none); the `disconnected` callback follows on the loop. */
ssize_t sockbe_readv(struct sockbe *s, const struct iovec *iov, int niov);
/* Queue output; returns the bytes accepted (len when there is no peer). */
size_t sockbe_write(struct sockbe *s, const void *buf, size_t len);
/* Bytes sockbe_write() would accept now (SIZE_MAX without a peer).  When
 * that is less than `need`, the `writable` callback is armed. */
size_t sockbe_write_room(struct sockbe *s, size_t need);
void sockbe_rx_enable(struct sockbe *s, bool on);
const char *sockbe_path(const struct sockbe *s);

/* Remove every socket file still registered; async-signal-safe. */
void sock_cleanup_all(void);

#endif
