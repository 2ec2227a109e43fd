#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static __thread char errbuf[512];

static void verr(bool with_errno, const char *fmt, va_list ap)
{
	int saved = errno;
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	if (with_errno) {
		size_t n = strlen(errbuf);
		snprintf(errbuf + n, sizeof(errbuf) - n, ": %s", strerror(saved));
	}
}

int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(false, fmt, ap);
	va_end(ap);
	return -1;
}

int fail_errno(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(true, fmt, ap);
	va_end(ap);
	return -1;
}

int fail_prefix(const char *fmt, ...)
{
	char prefix[256], msg[sizeof(errbuf)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s", errbuf);
	snprintf(errbuf, sizeof(errbuf), "%.200s: %.300s", prefix, msg);
	return -1;
}

const char *last_error(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}

void clear_error(void)
{
	errbuf[0] = '\0';
}

#define THREAD_STACK_SIZE (256u << 10)

int thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int e;

	if ((e = pthread_attr_init(&attr)) != 0)
		return e;
	e = pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	if (e == 0)
		e = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return e;
}

static int err_fd = -1;		/* non-blocking description, or 2 */
static bool err_sock;			/* fd 2 is a socket: MSG_DONTWAIT */
static pthread_once_t err_once = PTHREAD_ONCE_INIT;
static atomic_bool vm_running;

static void err_open(void)
{
	struct stat st;

	if (fstat(STDERR_FILENO, &st) != 0)
		return;			/* no stderr: messages are dropped */
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		err_fd = STDERR_FILENO;	/* never blocks; keeps O_APPEND */
		return;
	}
	if (S_ISSOCK(st.st_mode)) {
		err_fd = STDERR_FILENO;
		err_sock = true;
		return;
	}
	/* Pipes, FIFOs, terminals: our own open file description, so
	 * O_NONBLOCK does not change the one we share with our parent. */
	err_fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
}

void stderr_set_running(bool running)
{
	atomic_store(&vm_running, running);
}

int stderr_wait_ms(void)
{
	return atomic_load(&vm_running) ? 0 : 1000;
}

void stderr_write(const char *msg, int wait_ms)
{
	size_t len = strlen(msg), off = 0;

	pthread_once(&err_once, err_open);
	if (err_fd < 0)
		return;
	while (off < len) {
		struct pollfd p = { .fd = err_fd, .events = POLLOUT };
		ssize_t n = err_sock ?
		    send(err_fd, msg + off, len - off, MSG_DONTWAIT |
		    MSG_NOSIGNAL) : write(err_fd, msg + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ||
		    wait_ms <= 0 || poll(&p, 1, wait_ms) <= 0)
			return;		/* nowhere to report it */
		wait_ms = 0;		/* one bounded wait per message */
	}
}

void warnx_raw(const char *fmt, ...)
{
	char buf[512], line[528];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "bhyve: %s\r\n", buf);
	stderr_write(line, stderr_wait_ms());
}

bool trace_on;
static struct timespec trace_t0;

uint64_t monotonic_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void trace_init(void)
{
	const char *e = getenv("BHYVE_TRACE");

	trace_on = e != NULL && *e != '\0' && strcmp(e, "0") != 0;
	clock_gettime(CLOCK_MONOTONIC, &trace_t0);
}

void trace_point(const char *fmt, ...)
{
	struct timespec t;
	char msg[256], line[300];
	va_list ap;

	if (!trace_on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "bhyve-trace: %9.3f ms %s\r\n",
	    (double)(t.tv_sec - trace_t0.tv_sec) * 1e3 +
	    (double)(t.tv_nsec - trace_t0.tv_nsec) / 1e6, msg);
	stderr_write(line, 0);
}

void guest_log(const char *fmt, ...)
{
	/* At most 20 lines per second, so a hostile guest cannot flood. */
	static __thread time_t window;
	static __thread int count;
	time_t now = time(NULL);
	char buf[256], line[280];
	va_list ap;

	if (now != window) {
		window = now;
		count = 0;
	}
	if (++count > 20)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "bhyve: guest: %s\r\n", buf);
	stderr_write(line, 0);
}

int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;

	if (s == NULL || *s == '\0')
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (*s == '\0')
			return -1;
	}
	for (; *s; s++) {
		unsigned d;
		if (isdigit((unsigned char)*s))
			d = (unsigned)(*s - '0');
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

int parse_uint_range(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	uint64_t v;
	if (parse_u64(s, &v) != 0 || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int parse_memsize(const char *s, uint64_t *bytes)
{
	char num[32];
	size_t n;
	uint64_t v, mult = 1ULL << 20;

	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'k': case 'K': mult = 1ULL << 10; num[--n] = '\0'; break;
	case 'm': case 'M': mult = 1ULL << 20; num[--n] = '\0'; break;
	case 'g': case 'G': mult = 1ULL << 30; num[--n] = '\0'; break;
	case 't': case 'T': mult = 1ULL << 40; num[--n] = '\0'; break;
	default: break;
	}
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)num[i]))
			return -1;
	if (parse_u64(num, &v) != 0 || v == 0)
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*bytes = v * mult;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "on", "yes", "1" };
	static const char *const no[] = { "false", "off", "no", "0" };

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip,
    void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, k;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		k = l - skip < len - done ? l - skip : len - done;
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + skip, k);
		done += k;
		skip = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip,
    const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, k;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		k = l - skip < len - done ? l - skip : len - done;
		memcpy((uint8_t *)iov[i].iov_base + skip, (const uint8_t *)buf + done,
		    k);
		done += k;
		skip = 0;
	}
	return done;
}

static void (*sync_fn)(unsigned);

void console_sync_hook(void (*fn)(unsigned))
{
	sync_fn = fn;
}

void console_sync(unsigned wait_ms)
{
	if (sync_fn != NULL)
		sync_fn(wait_ms);
}
