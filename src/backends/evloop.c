#include "backends/evloop.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct ev {
	int fd;
	uint32_t events;
	ev_cb_t cb;
	void *arg;
	bool enabled;
};

static int epfd = -1;
static bool quit;

int evloop_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return fail_errno("epoll_create1");
	quit = false;
	return 0;
}

void evloop_fini(void)
{
	if (epfd >= 0)
		close(epfd);
	epfd = -1;
}

struct ev *ev_add(int fd, bool out, ev_cb_t cb, void *arg)
{
	struct ev *e = calloc(1, sizeof(*e));
	struct epoll_event ee;

	if (e == NULL) {
		fail("out of memory");
		return NULL;
	}
	e->fd = fd;
	e->events = EPOLLIN | (out ? EPOLLOUT : 0);
	e->cb = cb;
	e->arg = arg;
	e->enabled = true;
	ee.events = e->events;
	ee.data.ptr = e;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ee) != 0) {
		fail_errno("epoll_ctl(fd %d)", fd);
		free(e);
		return NULL;
	}
	return e;
}

int ev_enable(struct ev *e, bool on)
{
	struct epoll_event ee = { .events = on ? e->events : 0, .data.ptr = e };

	e->enabled = on;
	return epoll_ctl(epfd, EPOLL_CTL_MOD, e->fd, &ee);
}

void ev_del(struct ev *e)
{
	if (e == NULL)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, e->fd, NULL);
	free(e);
}

void evloop_quit(void)
{
	quit = true;
}

int evloop_run(void)
{
	struct epoll_event evs[16];

	while (!quit) {
		int n = epoll_wait(epfd, evs, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail_errno("epoll_wait");
		}
		for (int i = 0; i < n && !quit; i++) {
			struct ev *e = evs[i].data.ptr;
			e->cb(e->fd, evs[i].events, e->arg);
		}
	}
	return 0;
}
