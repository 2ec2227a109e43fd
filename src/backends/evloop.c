/* Event loops (evloop.h): the main loop, run by the main thread, and loops
 * on threads of their own (device I/O threads).  Each loop has its own
 * epoll set, wake-up eventfd, call queue and deferred frees under its own
 * `lock`; an entry points at its loop, so the calls that take an entry
 * need no loop. */
#include "backends/evloop.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct ev {
	struct evloop *loop;
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

struct evloop {
	int epfd;
	int wake_fd;		/* eventfd: quit and queued calls */
	atomic_bool quit;
	atomic_bool running;	/* the loop is dispatching: only it frees */
	pthread_mutex_t lock;	/* entries' state, dead, calls, cur */
	pthread_cond_t idle;	/* cur changed (own-thread loops) */
	struct ev *dead;	/* deferred frees */
	struct call *calls, **calls_tail;
	struct ev *cur;		/* entry whose callback runs now */
	bool threaded;		/* runs on `thread` (evloop_start) */
	pthread_t thread;
};

static struct evloop main_loop = {
	.epfd = -1, .wake_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER, .calls_tail = &main_loop.calls,
};

struct evloop *evloop_main(void)
{
	return &main_loop;
}

static void free_dead(struct evloop *l)
{
	struct ev *e, *n;

	pthread_mutex_lock(&l->lock);
	e = l->dead;
	l->dead = NULL;
	pthread_mutex_unlock(&l->lock);
	for (; e != NULL; e = n) {
		n = e->next_dead;
		if (e->owns_fd)
			close(e->fd);
		free(e);
	}
}

static int loop_open(struct evloop *l)
{
	struct epoll_event ee = { .events = EPOLLIN, .data.ptr = NULL };

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return fail_errno("epoll_create1");
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0)
		return fail_errno("eventfd");
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ee) != 0)
		return fail_errno("epoll_ctl(wake)");
	atomic_store(&l->quit, false);
	return 0;
}

/* The queued calls, taken off the queue in order. */
static struct call *take_calls(struct evloop *l)
{
	struct call *c;

	pthread_mutex_lock(&l->lock);
	c = l->calls;
	l->calls = NULL;
	l->calls_tail = &l->calls;
	pthread_mutex_unlock(&l->lock);
	return c;
}

static void loop_close(struct evloop *l)
{
	struct call *c, *n;

	free_dead(l);
	/* Calls nobody will run any more (the loop has ended). */
	for (c = take_calls(l); c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = l->wake_fd = -1;
}

int evloop_init(void)
{
	if (main_loop.epfd >= 0)	/* already (devices may need it early) */
		return 0;
	return loop_open(&main_loop);
}

void evloop_fini(void)
{
	loop_close(&main_loop);
}

static void wake(struct evloop *l)
{
	uint64_t one = 1;

	if (l->wake_fd >= 0 && write(l->wake_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: a wakeup is pending anyway */
	}
}

static struct ev *add_entry(struct evloop *l, int fd, uint32_t events,
    ev_cb_t cb, ev_timer_cb_t tcb, void *arg, bool owns_fd)
{
	struct ev *e = calloc(1, sizeof(*e));
	struct epoll_event ee;

	if (e == NULL) {
		fail("out of memory");
		return NULL;
	}
	e->loop = l;
	e->fd = fd;
	e->events = events;
	e->enabled = true;
	e->cb = cb;
	e->tcb = tcb;
	e->arg = arg;
	e->owns_fd = owns_fd;
	ee.events = events;
	ee.data.ptr = e;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ee) != 0) {
		fail_errno("epoll_ctl(fd %d)", fd);
		free(e);
		return NULL;
	}
	return e;
}

struct ev *ev_add_on(struct evloop *l, int fd, bool out, ev_cb_t cb,
    void *arg)
{
	return add_entry(l, fd, EPOLLIN | (out ? EPOLLOUT : 0), cb, NULL, arg,
	    false);
}

struct ev *ev_add(int fd, bool out, ev_cb_t cb, void *arg)
{
	return ev_add_on(&main_loop, fd, out, cb, arg);
}

static int update(struct ev *e)
{
	struct epoll_event ee = {
		.events = e->enabled ? e->events : 0, .data.ptr = e,
	};
	return epoll_ctl(e->loop->epfd, EPOLL_CTL_MOD, e->fd, &ee);
}

int ev_set_events(struct ev *e, bool in, bool out)
{
	struct evloop *l = e->loop;
	int r = 0;

	pthread_mutex_lock(&l->lock);
	if (!e->dead) {
		e->events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0);
		r = update(e);
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

int ev_enable(struct ev *e, bool on)
{
	struct evloop *l = e->loop;
	int r = 0;

	pthread_mutex_lock(&l->lock);
	if (!e->dead && e->enabled != on) {
		e->enabled = on;
		r = update(e);
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

void ev_del(struct ev *e)
{
	struct evloop *l;

	if (e == NULL)
		return;
	l = e->loop;
	pthread_mutex_lock(&l->lock);
	if (!e->dead) {
		e->dead = true;
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, e->fd, NULL);
		e->next_dead = l->dead;
		l->dead = e;
	}
	/* A loop on its own thread: its callback may be running there;
	 * wait for it to return (not from that callback itself). */
	if (l->threaded && !pthread_equal(pthread_self(), l->thread))
		while (l->cur == e)
			pthread_cond_wait(&l->idle, &l->lock);
	pthread_mutex_unlock(&l->lock);
	/* While the loop runs, only it frees (after the batch that may still
	 * hold the entry); before and after, nothing else can refer to it. */
	if (!atomic_load(&l->running))
		free_dead(l);
}

struct ev *ev_timer_add_on(struct evloop *l, ev_timer_cb_t cb, void *arg)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct ev *e;

	if (fd < 0) {
		fail_errno("timerfd_create");
		return NULL;
	}
	e = add_entry(l, fd, EPOLLIN, NULL, cb, arg, true);
	if (e == NULL)
		close(fd);
	return e;
}

struct ev *ev_timer_add(ev_timer_cb_t cb, void *arg)
{
	return ev_timer_add_on(&main_loop, cb, arg);
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

int ev_call_on(struct evloop *l, void (*fn)(void *), void *arg)
{
	struct call *c = malloc(sizeof(*c));

	if (c == NULL)
		return fail("out of memory");
	c->fn = fn;
	c->arg = arg;
	c->next = NULL;
	pthread_mutex_lock(&l->lock);
	*l->calls_tail = c;
	l->calls_tail = &c->next;
	pthread_mutex_unlock(&l->lock);
	wake(l);
	return 0;
}

int ev_call(void (*fn)(void *), void *arg)
{
	return ev_call_on(&main_loop, fn, arg);
}

static void loop_quit(struct evloop *l)
{
	atomic_store(&l->quit, true);
	wake(l);
}

void evloop_quit(void)
{
	loop_quit(&main_loop);
}

static void run_calls(struct evloop *l)
{
	struct call *c, *n;
	uint64_t v;

	if (read(l->wake_fd, &v, sizeof(v)) < 0) {
		/* nothing pending */
	}
	for (c = take_calls(l); c != NULL; c = n) {
		n = c->next;
		c->fn(c->arg);
		free(c);
	}
}

static void dispatch(struct evloop *l, struct ev *e, uint32_t events)
{
	pthread_mutex_lock(&l->lock);
	if (e->dead) {
		pthread_mutex_unlock(&l->lock);
		return;
	}
	l->cur = e;
	pthread_mutex_unlock(&l->lock);
	if (e->tcb != NULL) {
		uint64_t n;
		/* (A short read: re-armed or disarmed meanwhile.) */
		if (read(e->fd, &n, sizeof(n)) == sizeof(n))
			e->tcb(e->arg);
	} else {
		e->cb(e->fd, events, e->arg);
	}
	pthread_mutex_lock(&l->lock);
	l->cur = NULL;
	if (l->threaded)
		pthread_cond_broadcast(&l->idle);
	pthread_mutex_unlock(&l->lock);
}

static int loop_run(struct evloop *l)
{
	struct epoll_event evs[32];
	int r = 0;

	atomic_store(&l->running, true);
	while (!atomic_load(&l->quit)) {
		int n = epoll_wait(l->epfd, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = fail_errno("epoll_wait");
			break;
		}
		for (int i = 0; i < n && !atomic_load(&l->quit); i++) {
			if (evs[i].data.ptr == NULL)
				run_calls(l);
			else
				dispatch(l, evs[i].data.ptr, evs[i].events);
		}
		free_dead(l);
	}
	atomic_store(&l->running, false);
	atomic_store(&l->quit, false);	/* it may run again (tests) */
	free_dead(l);
	return r;
}

int evloop_run(void)
{
	return loop_run(&main_loop);
}

/* ---- loops on threads of their own ---- */

static void *thread_main(void *arg)
{
	loop_run(arg);
	return NULL;
}

struct evloop *evloop_start(const char *name)
{
	struct evloop *l = calloc(1, sizeof(*l));
	char tn[16];
	int e;

	if (l == NULL) {
		fail("out of memory");
		return NULL;
	}
	l->epfd = l->wake_fd = -1;
	l->calls_tail = &l->calls;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->idle, NULL);
	l->threaded = true;
	if (loop_open(l) != 0)
		goto bad;
	/* Set before the thread exists: the entries' owners may delete them
	 * from other threads as soon as this returns. */
	atomic_store(&l->running, true);
	e = thread_create(&l->thread, thread_main, l);
	if (e != 0) {
		errno = e;
		fail_errno("%s: cannot start I/O thread", name);
		goto bad;
	}
	snprintf(tn, sizeof(tn), "%s", name);
	pthread_setname_np(l->thread, tn);
	return l;
bad:
	loop_close(l);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->idle);
	free(l);
	return NULL;
}

void evloop_stop(struct evloop *l)
{
	if (l == NULL || !l->threaded)
		return;
	loop_quit(l);
	pthread_join(l->thread, NULL);
	/* (loop_run cleared `running` as it ended.) */
	pthread_mutex_lock(&l->lock);
	l->threaded = false;	/* joined: ev_del no longer waits */
	pthread_mutex_unlock(&l->lock);
}

void evloop_free(struct evloop *l)
{
	if (l == NULL || l == &main_loop)
		return;
	evloop_stop(l);
	loop_close(l);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->idle);
	free(l);
}
