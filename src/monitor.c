/* Monitor mode: see monitor.h.  A KVM VM belongs to the process (address
 * space) that created it, so unlike FreeBSD, where the monitor creates the
 * VM and its children run it, here each VM process creates its own VM; the
 * monitor holds no guest state at all. */
#include "monitor.h"
#include "config.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int monitor_check_config(void)
{
	const char *dir = config_get("rundir");
	struct stat st;

	if (dir == NULL)
		return 0;
	if (stat(dir, &st) != 0)
		return fail_errno("rundir '%s'", dir);
	if (!S_ISDIR(st.st_mode))
		return fail("rundir '%s' is not a directory", dir);
	return 0;
}

/* The last termination signal passed on to a VM process. */
static int forwarded;

/* Wait for the VM process; pass the termination signals and SIGUSR2 on.  Returns its
 * wait status. */
static int wait_vm(int sfd, pid_t pid)
{
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		int st;
		pid_t w;

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(si))
			return -1;
		if (si.ssi_signo == SIGUSR2) {
			kill(pid, SIGUSR2);	/* its state dump */
			continue;
		}
		if (si.ssi_signo != SIGCHLD) {
			forwarded = (int)si.ssi_signo;
			kill(pid, forwarded);
			continue;
		}
		w = waitpid(pid, &st, WNOHANG);
		if (w == pid && (WIFEXITED(st) || WIFSIGNALED(st)))
			return st;
	}
}

int monitor_run(void)
{
	sigset_t sigs, old;
	int sfd;
	unsigned starts = 0;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGCHLD);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		fail_errno("monitor: signalfd");
		return 4;
	}
	for (;;) {
		pid_t pid = fork();
		int st;

		if (pid < 0) {
			close(sfd);
			fail_errno("monitor: cannot start the VM process");
			return 4;
		}
		if (pid == 0) {
			/* The VM process: as bhyve without -M (SIGCHLD as
			 * it was; the others stay blocked for main's
			 * signalfd). */
			sigset_t chld;
			close(sfd);
			sigemptyset(&chld);
			sigaddset(&chld, SIGCHLD);
			if (!sigismember(&old, SIGCHLD))
				pthread_sigmask(SIG_UNBLOCK, &chld, NULL);
			return -1;
		}
		starts++;
		st = wait_vm(sfd, pid);
		if (st == -1) {
			fail_errno("monitor: waiting for the VM process");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(sfd);
			return 4;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && forwarded == SIGTERM) {
			/* Rebooted while being powered off: stay off. */
			close(sfd);
			return 1;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && forwarded != 0) {
			/* Rebooted while SIGINT/SIGHUP was on its way: end
			 * by that signal, as the VM process would have. */
			st = forwarded;
			goto by_signal;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			trace_point("monitor: guest rebooted, starting VM "
			    "process %u", starts + 1);
			continue;
		}
		close(sfd);
		if (WIFEXITED(st)) {
			int code = WEXITSTATUS(st);
			if (code > 4) {
				fail("monitor: VM process ended with status %d",
				    code);
				return 4;
			}
			/* The VM process printed its own message. */
			clear_error();
			return code;
		}
		st = WTERMSIG(st);
by_signal:
		if (st == SIGINT || st == SIGHUP) {
			int sig = st;
			sigset_t s;

			signal(sig, SIG_DFL);
			sigemptyset(&s);
			sigaddset(&s, sig);
			pthread_sigmask(SIG_UNBLOCK, &s, NULL);
			raise(sig);
		}
		fail("monitor: VM process killed by signal %d (%s)", st,
		    strsignal(st));
		return 4;
	}
}
