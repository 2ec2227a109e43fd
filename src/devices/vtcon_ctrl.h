/* virtio-console's multiport control protocol (virtio 1.2, 5.3.6.2),
 * independent of queues and sockets: the ports' states as the driver and
 * the host see them, decoding of the driver's control messages (hostile
 * input: any length, any id, any event) and the bounded queue of messages
 * for the driver.
 *
 * Messages are 8 bytes, little-endian: u32 id, u16 event, u16 value; a
 * PORT_NAME message is followed by the name (no terminating NUL).
 *
 * Not thread-safe: the device model uses it from the event-loop thread
 * only. */
#ifndef BHYVE_VTCON_CTRL_H
#define BHYVE_VTCON_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VTCON_MAXPORTS		16
#define VTCON_NAME_MAX		255	/* bytes of a port name */
#define VTCON_MSG_SIZE		8
#define VTCON_MSG_MAX		(VTCON_MSG_SIZE + VTCON_NAME_MAX)
/* Pending messages: an announcement (ADD + NAME) and one PORT_OPEN per
 * port fit; PORT_OPEN messages for one port are merged. */
#define VTCON_CTRLQ_MAX		(3 * VTCON_MAXPORTS)

/* Control events */
#define VTCON_DEVICE_READY	0
#define VTCON_DEVICE_ADD	1
#define VTCON_DEVICE_REMOVE	2
#define VTCON_PORT_READY	3
#define VTCON_CONSOLE_PORT	4
#define VTCON_CONSOLE_RESIZE	5
#define VTCON_PORT_OPEN		6
#define VTCON_PORT_NAME		7

/* Feature bits */
#define VTCON_F_SIZE		0
#define VTCON_F_MULTIPORT	1
#define VTCON_F_EMERG_WRITE	2

struct vtcon_msg {
	uint32_t id;
	uint16_t event;
	uint16_t value;
};

struct vtcon_port_state {
	bool enabled;		/* configured */
	char name[VTCON_NAME_MAX + 1];
	bool host_open;		/* a peer is connected on the host */
	bool guest_ready;	/* driver sent PORT_READY 1 */
	bool guest_open;	/* driver sent PORT_OPEN 1 (a process has it) */
};

struct vtcon_ctrl {
	struct vtcon_port_state port[VTCON_MAXPORTS];
	bool multiport;		/* negotiated */
	bool ready;		/* driver sent DEVICE_READY 1 */
	struct vtcon_msg q[VTCON_CTRLQ_MAX];
	unsigned qhead, qlen;
	unsigned ignored;	/* malformed or unexpected messages */
};

/* Encode/decode one message header; decode needs len >= 8. */
void vtcon_msg_encode(const struct vtcon_msg *m, uint8_t out[VTCON_MSG_SIZE]);
bool vtcon_msg_decode(const uint8_t *buf, size_t len, struct vtcon_msg *m);

/* Configure port `id` (before the driver starts). */
int vtcon_ctrl_add_port(struct vtcon_ctrl *c, unsigned id, const char *name);
/* Driver reset: forget the driver's state and pending messages (ports,
 * names and host connections stay). */
void vtcon_ctrl_reset(struct vtcon_ctrl *c);
/* The driver is running (DRIVER_OK) with or without multiport; without
 * it, port 0 is the only port and needs no handshake. */
void vtcon_ctrl_start(struct vtcon_ctrl *c, bool multiport);
/* A message from the driver, as the bytes of its buffer. */
void vtcon_ctrl_input(struct vtcon_ctrl *c, const uint8_t *buf, size_t len);
/* A peer connected to (or left) port `id` on the host. */
void vtcon_ctrl_host_open(struct vtcon_ctrl *c, unsigned id, bool open);
/* The next message for the driver, encoded into buf (with the name for
 * PORT_NAME); returns its length, 0 when none is pending. */
size_t vtcon_ctrl_peek(const struct vtcon_ctrl *c,
    uint8_t buf[VTCON_MSG_MAX]);
void vtcon_ctrl_pop(struct vtcon_ctrl *c);
/* Whether data for port `id` can go to the driver now (it would not be
 * thrown away): the port is open in the guest, or, without multiport,
 * it is port 0 and the driver is running. */
bool vtcon_ctrl_can_rx(const struct vtcon_ctrl *c, unsigned id);

#endif
