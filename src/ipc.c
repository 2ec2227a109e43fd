/* The control socket: see ipc.h. */
#include "ipc.h"
#include "backends/evloop.h"
#include "backends/sock.h"
#include "config.h"
#include "nvlist.h"
#include "util.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
	char path[PATH_MAX];	/* empty: no socket */
	struct sockbe *sb;
	struct ev *timer;
	uint8_t *buf;		/* the request: IPC_MAX_REQUEST bytes */
	size_t have, need;
	size_t list_len;	/* header and body */
	bool header_done;
	bool answered;		/* replied; the hang-up is on its way */
} ipc;

int ipc_check(const char *vmname)
{
	const char *dir = config_get("rundir");
	struct stat st;
	int n;

	ipc.path[0] = '\0';
	if (dir == NULL) {
		dir = IPC_DEFAULT_RUNDIR;
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
		    access(dir, W_OK | X_OK) != 0)
			return 0;
	}
	n = snprintf(ipc.path, sizeof(ipc.path), "%s/%s", dir, vmname);
	if (n < 0 || (size_t)n >= sizeof(ipc.path)) {
		ipc.path[0] = '\0';
		return fail("rundir '%s': control socket path too long", dir);
	}
	if (sockbe_check(ipc.path) != 0) {
		ipc.path[0] = '\0';
		return fail_prefix("control socket");
	}
	return 0;
}

static void reply(const char *error)
{
	uint8_t out[512];
	struct nvl_out o;
	size_t len;

	nvl_out_init(&o, out, sizeof(out));
	nvl_add_string(&o, "error", error);
	len = nvl_out_finish(&o);
	if (len > 0)
		sockbe_write(ipc.sb, out, len);
	/* Nothing more is read (a client that keeps sending cannot keep
	 * the loop busy); the connection ends. */
	sockbe_rx_enable(ipc.sb, false);
	sockbe_hangup(ipc.sb);
	ipc.answered = true;
	ev_timer_arm(ipc.timer, 0, 0);
}

static void handle_request(void)
{
	struct nvl req;
	const char *cmd;
	char msg[160];

	if (nvl_unpack(ipc.buf, ipc.list_len, &req) != 0) {
		reply("malformed request");
		return;
	}
	cmd = nvl_get_string(&req, "cmd");
	if (cmd == NULL) {
		reply("missing command name");
		return;
	}
	/* No command is implemented yet (see ipc.h). */
	snprintf(msg, sizeof(msg), "command '%.100s' not found", cmd);
	reply(msg);
}

/* The header is in: how much more to read. */
static int plan_body(void)
{
	uint64_t size, ndesc;

	if (nvl_header(ipc.buf, &size, &ndesc) != 0) {
		reply("malformed request");
		return -1;
	}
	if (size > IPC_MAX_REQUEST - NVL_HDR_SIZE - 1 || ndesc > 64) {
		reply("request too large");
		return -1;
	}
	ipc.header_done = true;
	ipc.need = ipc.list_len = NVL_HDR_SIZE + (size_t)size;
	/* libnv sends a list's descriptors after it, one byte of data with
	 * each batch; wait for it so the client's send completes (the
	 * descriptors themselves are discarded by the kernel: read() takes
	 * no ancillary data). */
	if (ndesc > 0)
		ipc.need++;
	return 0;
}

static void on_readable(void *arg)
{
	(void)arg;
	/* At most one request (IPC_MAX_REQUEST bytes) is read per
	 * connection. */
	while (!ipc.answered) {
		struct iovec iov = { ipc.buf + ipc.have, ipc.need - ipc.have };
		ssize_t n = sockbe_readv(ipc.sb, &iov, 1);

		if (n <= 0)
			return;
		ipc.have += (size_t)n;
		if (ipc.have < ipc.need)
			continue;
		if (!ipc.header_done) {
			if (plan_body() != 0)
				continue;
			if (ipc.have < ipc.need)
				continue;
		}
		handle_request();
	}
}

static void on_connected(void *arg)
{
	(void)arg;
	ipc.have = 0;
	ipc.need = NVL_HDR_SIZE;
	ipc.header_done = ipc.answered = false;
	sockbe_rx_enable(ipc.sb, true);	/* the last one ended paused */
	ev_timer_arm(ipc.timer, (uint64_t)IPC_TIMEOUT_S * 1000000000ull, 0);
}

static void on_disconnected(void *arg)
{
	(void)arg;
	ev_timer_arm(ipc.timer, 0, 0);
}

static void on_timeout(void *arg)
{
	(void)arg;
	if (!ipc.answered)
		sockbe_hangup(ipc.sb);
}

static const struct sockbe_ops ipc_ops = {
	.connected = on_connected,
	.disconnected = on_disconnected,
	.readable = on_readable,
};

int ipc_start(void)
{
	if (ipc.path[0] == '\0')
		return 0;
	ipc.buf = malloc(IPC_MAX_REQUEST);
	if (ipc.buf == NULL)
		return fail("out of memory");
	ipc.timer = ev_timer_add(on_timeout, NULL);
	if (ipc.timer == NULL)
		return fail_prefix("control socket");
	if (sockbe_listen(&ipc.sb, ipc.path, 1024, &ipc_ops, NULL) != 0 ||
	    sockbe_start(ipc.sb) != 0)
		return fail_prefix("control socket");
	trace_point("control socket %s", ipc.path);
	return 0;
}

void ipc_stop(void)
{
	sockbe_close(ipc.sb);
	ipc.sb = NULL;
	ev_del(ipc.timer);
	ipc.timer = NULL;
	free(ipc.buf);
	ipc.buf = NULL;
}
