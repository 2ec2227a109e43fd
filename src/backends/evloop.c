#include "backends/evloop.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct ev {
	int fd;
	uint32_t events;	/* what the watch asks for when enabled */
	bool enabled;
	bool dead;		/* deleted; freed after the current batch */
	bool owns_fd;		/* timers: the timerfd is ours to close */
	ev_cb_t cb;
	ev_timer_cb_t tcb;
	void *arg;
	struct ev *next_dead;
};

struct call {
	void (*fn)(void *);
	void *arg;
	struct call *next;
};

static int epfd = -1;
static int wake_fd = -1;	/* eventfd: quit and queued calls */
static atomic_bool quit;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ev *dead_list;	/* deferred frees */
static struct call *calls, **calls_tail = &calls;
static atomic_bool running;	/* evloop_run() is active: only it frees */

static void free_dead(void)
{
	struct ev *e, *n;

	pthread_mutex_lock(&lock);
	e = dead_list;
	dead_list = NULL;
	pthread_mutex_unlock(&lock);
	for (; e != NULL; e = n) {
		n = e->next_dead;
		if (e->owns_fd)
			close(e->fd);
		free(e);
	}
}

int evloop_init(void)
{
	struct epoll_event ee = { .events = EPOLLIN, .data.ptr = NULL };

	if (epfd >= 0)		/* already (devices may need it early) */
		return 0;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return fail_errno("epoll_create1");
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd < 0)
		return fail_errno("eventfd");
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, wake_fd, &ee) != 0)
		return fail_errno("epoll_ctl(wake)");
	atomic_store(&quit, false);
	return 0;
}

/* The queued calls, taken off the queue in order. */
static struct call *take_calls(void)
{
	struct call *c;

	pthread_mutex_lock(&lock);
	c = calls;
	calls = NULL;
	calls_tail = &calls;
	pthread_mutex_unlock(&lock);
	return c;
}

void evloop_fini(void)
{
	struct call *c, *n;

	free_dead();
	/* Calls nobody will run any more (the loop has ended). */
	for (c = take_calls(); c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	if (wake_fd >= 0)
		close(wake_fd);
	if (epfd >= 0)
		close(epfd);
	epfd = wake_fd = -1;
}

static void wake(void)
{
	uint64_t one = 1;

	if (wake_fd >= 0 && write(wake_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: a wakeup is pending anyway */
	}
}

static struct ev *add_entry(int fd, uint32_t events, ev_cb_t cb,
    ev_timer_cb_t tcb, void *arg, bool owns_fd)
{
	struct ev *e = calloc(1, sizeof(*e));
	struct epoll_event ee;

	if (e == NULL) {
		fail("out of memory");
		return NULL;
	}
	e->fd = fd;
	e->events = events;
	e->enabled = true;
	e->cb = cb;
	e->tcb = tcb;
	e->arg = arg;
	e->owns_fd = owns_fd;
	ee.events = events;
	ee.data.ptr = e;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ee) != 0) {
		fail_errno("epoll_ctl(fd %d)", fd);
		free(e);
		return NULL;
	}
	return e;
}

struct ev *ev_add(int fd, bool out, ev_cb_t cb, void *arg)
{
	return add_entry(fd, EPOLLIN | (out ? EPOLLOUT : 0), cb, NULL, arg,
	    false);
}

static int update(struct ev *e)
{
	struct epoll_event ee = {
		.events = e->enabled ? e->events : 0, .data.ptr = e,
	};
	return epoll_ctl(epfd, EPOLL_CTL_MOD, e->fd, &ee);
}

int ev_set_events(struct ev *e, bool in, bool out)
{
	int r = 0;

	pthread_mutex_lock(&lock);
	if (!e->dead) {
		e->events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0);
		r = update(e);
	}
	pthread_mutex_unlock(&lock);
	return r;
}

int ev_enable(struct ev *e, bool on)
{
	int r = 0;

	pthread_mutex_lock(&lock);
	if (!e->dead && e->enabled != on) {
		e->enabled = on;
		r = update(e);
	}
	pthread_mutex_unlock(&lock);
	return r;
}

void ev_del(struct ev *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&lock);
	if (!e->dead) {
		e->dead = true;
		epoll_ctl(epfd, EPOLL_CTL_DEL, e->fd, NULL);
		e->next_dead = dead_list;
		dead_list = e;
	}
	pthread_mutex_unlock(&lock);
	/* While the loop runs, only it frees (after the batch that may still
	 * hold the entry); before and after, nothing else can refer to it. */
	if (!atomic_load(&running))
		free_dead();
}

struct ev *ev_timer_add(ev_timer_cb_t cb, void *arg)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct ev *e;

	if (fd < 0) {
		fail_errno("timerfd_create");
		return NULL;
	}
	e = add_entry(fd, EPOLLIN, NULL, cb, arg, true);
	if (e == NULL)
		close(fd);
	return e;
}

int ev_timer_arm(struct ev *e, uint64_t first_ns, uint64_t period_ns)
{
	struct itimerspec it = {
		.it_value = { (time_t)(first_ns / 1000000000u),
		    (long)(first_ns % 1000000000u) },
		.it_interval = { (time_t)(period_ns / 1000000000u),
		    (long)(period_ns % 1000000000u) },
	};

	return timerfd_settime(e->fd, 0, &it, NULL);
}

int ev_call(void (*fn)(void *), void *arg)
{
	struct call *c = malloc(sizeof(*c));

	if (c == NULL)
		return fail("out of memory");
	c->fn = fn;
	c->arg = arg;
	c->next = NULL;
	pthread_mutex_lock(&lock);
	*calls_tail = c;
	calls_tail = &c->next;
	pthread_mutex_unlock(&lock);
	wake();
	return 0;
}

void evloop_quit(void)
{
	atomic_store(&quit, true);
	wake();
}

static void run_calls(void)
{
	struct call *c, *n;
	uint64_t v;

	if (read(wake_fd, &v, sizeof(v)) < 0) {
		/* nothing pending */
	}
	for (c = take_calls(); c != NULL; c = n) {
		n = c->next;
		c->fn(c->arg);
		free(c);
	}
}

static void dispatch(struct ev *e, uint32_t events)
{
	bool dead;

	pthread_mutex_lock(&lock);
	dead = e->dead;
	pthread_mutex_unlock(&lock);
	if (dead)
		return;
	if (e->tcb != NULL) {
		uint64_t n;
		if (read(e->fd, &n, sizeof(n)) != sizeof(n))
			return;	/* re-armed or disarmed meanwhile */
		e->tcb(e->arg);
		return;
	}
	e->cb(e->fd, events, e->arg);
}

int evloop_run(void)
{
	struct epoll_event evs[32];

	int r = 0;

	atomic_store(&running, true);
	while (!atomic_load(&quit)) {
		int n = epoll_wait(epfd, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = fail_errno("epoll_wait");
			break;
		}
		for (int i = 0; i < n && !atomic_load(&quit); i++) {
			if (evs[i].data.ptr == NULL)
				run_calls();
			else
				dispatch(evs[i].data.ptr, evs[i].events);
		}
		free_dead();
	}
	atomic_store(&running, false);
	atomic_store(&quit, false);	/* it may run again (tests) */
	free_dead();
	return r;
}
