/* I/O threads (iothread.h): one epoll loop per thread.  A watch is removed
 * under `lock`; the thread runs a callback with `running` set to it and
 * iothread_del waits (on `cond`) until that callback returned, unless it
 * is called from the I/O thread itself. */
#include "backends/iothread.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct iowatch {
	int fd;
	iowatch_cb_t cb;
	void *arg;
	bool dead;
	struct iowatch *next;
};

struct iothread {
	pthread_t thread;
	int epfd, quitfd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct iowatch *watches;
	struct iowatch *running;
	bool quit;
};

static void *io_main(void *arg)
{
	struct iothread *it = arg;
	struct epoll_event ev[16];

	for (;;) {
		int n = epoll_wait(it->epfd, ev, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct iowatch *w = ev[i].data.ptr;

			if (w == NULL)	/* quit */
				return NULL;
			pthread_mutex_lock(&it->lock);
			if (w->dead) {
				pthread_mutex_unlock(&it->lock);
				continue;
			}
			it->running = w;
			pthread_mutex_unlock(&it->lock);
			w->cb(w->fd, w->arg);
			pthread_mutex_lock(&it->lock);
			it->running = NULL;
			pthread_cond_broadcast(&it->cond);
			pthread_mutex_unlock(&it->lock);
		}
		/* Free watches deleted during this batch. */
		pthread_mutex_lock(&it->lock);
		for (struct iowatch **pp = &it->watches; *pp;) {
			struct iowatch *w = *pp;
			if (w->dead) {
				*pp = w->next;
				free(w);
			} else {
				pp = &w->next;
			}
		}
		pthread_mutex_unlock(&it->lock);
	}
	return NULL;
}

struct iothread *iothread_create(const char *name)
{
	struct iothread *it = calloc(1, sizeof(*it));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	char tn[16];
	int e;

	if (it == NULL) {
		fail("out of memory");
		return NULL;
	}
	pthread_mutex_init(&it->lock, NULL);
	pthread_cond_init(&it->cond, NULL);
	it->epfd = epoll_create1(EPOLL_CLOEXEC);
	it->quitfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (it->epfd < 0 || it->quitfd < 0 ||
	    epoll_ctl(it->epfd, EPOLL_CTL_ADD, it->quitfd, &ev) < 0) {
		fail_errno("%s: I/O thread", name);
		goto bad;
	}
	e = thread_create(&it->thread, io_main, it);
	if (e != 0) {
		errno = e;
		fail_errno("%s: cannot start I/O thread", name);
		goto bad;
	}
	snprintf(tn, sizeof(tn), "%s", name);
	pthread_setname_np(it->thread, tn);
	return it;
bad:
	if (it->epfd >= 0)
		close(it->epfd);
	if (it->quitfd >= 0)
		close(it->quitfd);
	free(it);
	return NULL;
}

void iothread_destroy(struct iothread *it)
{
	uint64_t one = 1;

	if (it == NULL)
		return;
	if (write(it->quitfd, &one, sizeof(one)) < 0)
		trace_point("iothread quit: %s", strerror(errno));
	pthread_join(it->thread, NULL);
	while (it->watches) {
		struct iowatch *w = it->watches;
		it->watches = w->next;
		free(w);
	}
	close(it->epfd);
	close(it->quitfd);
	free(it);
}

struct iowatch *iothread_add(struct iothread *it, int fd, iowatch_cb_t cb,
    void *arg)
{
	struct iowatch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN };

	if (w == NULL) {
		fail("out of memory");
		return NULL;
	}
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	ev.data.ptr = w;
	pthread_mutex_lock(&it->lock);
	w->next = it->watches;
	it->watches = w;
	if (epoll_ctl(it->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		it->watches = w->next;
		pthread_mutex_unlock(&it->lock);
		free(w);
		fail_errno("epoll_ctl");
		return NULL;
	}
	pthread_mutex_unlock(&it->lock);
	return w;
}

void iothread_del(struct iothread *it, struct iowatch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&it->lock);
	epoll_ctl(it->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->dead = true;
	if (!pthread_equal(pthread_self(), it->thread))
		while (it->running == w)
			pthread_cond_wait(&it->cond, &it->lock);
	pthread_mutex_unlock(&it->lock);
}
