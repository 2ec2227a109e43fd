/* Inside the network backend: what each backend implements (net_tap.c,
 * net_slirp.c) and what net.c does for all of them (header conversion,
 * length bounds, the rx callback).  Not for device models. */
#ifndef BHYVE_NET_PRIV_H
#define BHYVE_NET_PRIV_H

#include "backends/net.h"

struct netbe_ops {
	const char *prefix;
	/* Validate the node's settings (no side effects). */
	int (*check)(const char *node, const char *devname);
	/* Open; set be->priv and be->be_hdr_len (0 when the backend
	 * carries no virtio-net header). */
	int (*open)(struct netbe *be, const char *node, const char *devname);
	void (*close)(struct netbe *be);
	int (*start)(struct netbe *be);
	/* One whole frame with the backend's own header. */
	ssize_t (*send)(struct netbe *be, const struct iovec *iov, int iovcnt);
	/* Make the next frame (with the backend's header) available at
	 * *frame; return its length, 0 when none, -1 on error.  The same
	 * frame is returned until consume() drops it. */
	ssize_t (*peek)(struct netbe *be, const uint8_t **frame);
	void (*consume)(struct netbe *be);
	/* Optional: read the next frame (with the backend's header) into
	 * iov, without a bounce buffer; the frame's whole length even when
	 * longer than iov (the rest is lost), 0 when none, -1 on error, -2
	 * when a frame already waits for peek(). */
	ssize_t (*recv_direct)(struct netbe *be, const struct iovec *iov,
	    int iovcnt);
	void (*rx_enable)(struct netbe *be, bool on);
	uint64_t (*get_cap)(struct netbe *be);
	/* hdr_len is the backend header length to use (the frontend's when
	 * the backend carries one). */
	int (*set_cap)(struct netbe *be, uint64_t features, unsigned hdr_len);
};

struct netbe {
	const struct netbe_ops *ops;
	struct evloop *loop;	/* the frontend's: every backend call runs there */
	char name[64];
	netbe_rx_cb_t cb;
	void *cb_arg;
	bool rx_enabled;
	bool started;
	unsigned be_hdr_len;	/* header the backend reads and writes */
	unsigned fe_hdr_len;	/* header the frontend reads and writes */
	void *priv;
	uint64_t stat_tx_drop, stat_rx_drop;
};

/* Backends tell the frontend that frames may be waiting (loop thread):
 * calls the frontend's callback when receive is enabled. */
void netbe_notify_rx(struct netbe *be);

extern const struct netbe_ops netbe_tap_ops, netbe_vmnet_ops,
    netbe_slirp_ops;

/* For tests: open a backend with the given operations. */
int netbe_open_ops(struct netbe **out, const struct netbe_ops *ops,
    const char *node, const char *devname, struct evloop *loop,
    netbe_rx_cb_t cb, void *arg);

#endif
