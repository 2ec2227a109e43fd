/* virtio-net's receive and transmit paths, apart from the PCI transport so
 * that unit tests can drive them with hand-made (and hostile) queues and a
 * fake backend.  All of it runs on the event-loop thread. */
#ifndef BHYVE_VIRTIO_NET_H
#define BHYVE_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/net.h"
#include "virtio/queue.h"

#define VTNET_QSIZE	1024	/* entries per queue offered */
#define VTNET_MAXIOV	(VTNET_QSIZE + 8)	/* >= queue size: see vq_getchain */
#define VTNET_MAXCHAINS	64	/* receive buffers merged into one frame */
#define VTNET_BIG	16384	/* a frame this long: the next goes direct */

/* virtio-net feature bits (virtio 1.2, 5.1.3) */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM	1
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4	7
#define VIRTIO_NET_F_GUEST_TSO6	8
#define VIRTIO_NET_F_GUEST_ECN	9
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_HOST_ECN	13
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_S_LINK_UP	1

/* The bhyve MTU range (ETHERMIN .. 65535); default 1500. */
#define VTNET_MIN_MTU	46
#define VTNET_MAX_MTU	65535

struct vtnet_core {
	struct vq *rxq, *txq;
	struct netbe *be;
	unsigned hdr_len;	/* 10 or 12 */
	bool mergeable;		/* VIRTIO_NET_F_MRG_RXBUF */
	bool running;		/* features set, backend started */
	bool rx_big;		/* the last frame was large: read the next
				 * straight into guest buffers */
	/* scratch, event-loop thread only */
	struct iovec tmp[VTNET_MAXIOV];
	struct iovec fiov[NETBE_MAX_IOV];
	struct vq_chain chains[VTNET_MAXCHAINS];
	uint32_t clen[VTNET_MAXCHAINS];	/* usable bytes of each chain */
	/* statistics */
	uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped, bad_chains;
};

enum vtnet_result { VTNET_IDLE, VTNET_MORE, VTNET_STOPPED };

/* Move frames from the backend into receive buffers, at most `budget`
 * frames.  IDLE: backend empty (or no buffers: receive is then disabled
 * until the guest adds some); MORE: the budget ran out; STOPPED: the
 * queue is broken or not running. */
enum vtnet_result vtnet_rx_run(struct vtnet_core *c, unsigned budget);
/* Send the transmit queue's chains, at most `budget`; the guest hears of
 * each sent frame as soon as it is in the used ring (if it asked to). */
enum vtnet_result vtnet_tx_run(struct vtnet_core *c, unsigned budget);

#endif
