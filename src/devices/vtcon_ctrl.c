/* virtio-console's multiport control protocol (see vtcon_ctrl.h). */
#include "devices/vtcon_ctrl.h"
#include "util.h"

#include <string.h>

void vtcon_msg_encode(const struct vtcon_msg *m, uint8_t out[VTCON_MSG_SIZE])
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(m->id >> (8 * i));
	out[4] = (uint8_t)m->event;
	out[5] = (uint8_t)(m->event >> 8);
	out[6] = (uint8_t)m->value;
	out[7] = (uint8_t)(m->value >> 8);
}

bool vtcon_msg_decode(const uint8_t *buf, size_t len, struct vtcon_msg *m)
{
	if (len < VTCON_MSG_SIZE)
		return false;
	m->id = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 |
	    (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
	m->event = (uint16_t)(buf[4] | buf[5] << 8);
	m->value = (uint16_t)(buf[6] | buf[7] << 8);
	return true;
}

int vtcon_ctrl_add_port(struct vtcon_ctrl *c, unsigned id, const char *name)
{
	size_t n = strlen(name);

	if (id >= VTCON_MAXPORTS)
		return fail("virtio-console: port %u: at most %d ports "
		    "(0 to %d)", id, VTCON_MAXPORTS, VTCON_MAXPORTS - 1);
	if (c->port[id].enabled)
		return fail("virtio-console: port %u configured twice", id);
	if (n == 0)
		return fail("virtio-console: port %u: empty name", id);
	if (n > VTCON_NAME_MAX)
		return fail("virtio-console: port %u: name longer than %d "
		    "bytes", id, VTCON_NAME_MAX);
	memcpy(c->port[id].name, name, n + 1);
	c->port[id].enabled = true;
	return 0;
}

void vtcon_ctrl_reset(struct vtcon_ctrl *c)
{
	for (unsigned i = 0; i < VTCON_MAXPORTS; i++)
		c->port[i].guest_ready = c->port[i].guest_open = false;
	c->multiport = false;
	c->ready = false;
	c->qhead = c->qlen = 0;
}

void vtcon_ctrl_start(struct vtcon_ctrl *c, bool multiport)
{
	vtcon_ctrl_reset(c);
	c->multiport = multiport;
	c->ready = !multiport;
}

static void enqueue(struct vtcon_ctrl *c, uint32_t id, uint16_t event,
    uint16_t value)
{
	if (event == VTCON_PORT_OPEN) {
		/* The latest state is what matters: merge. */
		for (unsigned i = 0; i < c->qlen; i++) {
			struct vtcon_msg *m = &c->q[(c->qhead + i) %
			    VTCON_CTRLQ_MAX];
			if (m->event == VTCON_PORT_OPEN && m->id == id) {
				m->value = value;
				return;
			}
		}
	}
	if (c->qlen == VTCON_CTRLQ_MAX) {
		c->ignored++;
		return;
	}
	c->q[(c->qhead + c->qlen) % VTCON_CTRLQ_MAX] =
	    (struct vtcon_msg){ id, event, value };
	c->qlen++;
}

/* A port the driver may name in a message. */
static struct vtcon_port_state *known_port(struct vtcon_ctrl *c, uint32_t id)
{
	if (!c->multiport || !c->ready || id >= VTCON_MAXPORTS ||
	    !c->port[id].enabled)
		return NULL;
	return &c->port[id];
}

void vtcon_ctrl_input(struct vtcon_ctrl *c, const uint8_t *buf, size_t len)
{
	struct vtcon_port_state *p;
	struct vtcon_msg m;

	if (!vtcon_msg_decode(buf, len, &m) || !c->multiport) {
		c->ignored++;
		return;
	}
	switch (m.event) {
	case VTCON_DEVICE_READY:
		/* (Again) from the start: announce every port. */
		vtcon_ctrl_start(c, true);
		if (m.value == 0) {
			c->ready = false;	/* the driver gave up */
			return;
		}
		c->ready = true;
		for (unsigned i = 0; i < VTCON_MAXPORTS; i++) {
			if (!c->port[i].enabled)
				continue;
			enqueue(c, i, VTCON_DEVICE_ADD, 1);
			enqueue(c, i, VTCON_PORT_NAME, 1);
		}
		return;
	case VTCON_PORT_READY:
		p = known_port(c, m.id);
		if (p == NULL) {
			c->ignored++;
			return;
		}
		p->guest_ready = m.value != 0;
		if (!p->guest_ready)
			p->guest_open = false;
		else if (p->host_open)
			enqueue(c, m.id, VTCON_PORT_OPEN, 1);
		return;
	case VTCON_PORT_OPEN:
		p = known_port(c, m.id);
		if (p == NULL || !p->guest_ready) {
			c->ignored++;
			return;
		}
		p->guest_open = m.value != 0;
		return;
	default:
		c->ignored++;
		return;
	}
}

void vtcon_ctrl_host_open(struct vtcon_ctrl *c, unsigned id, bool open)
{
	struct vtcon_port_state *p;

	if (id >= VTCON_MAXPORTS || !c->port[id].enabled)
		return;
	p = &c->port[id];
	if (p->host_open == open)
		return;
	p->host_open = open;
	if (c->multiport && c->ready && p->guest_ready)
		enqueue(c, id, VTCON_PORT_OPEN, open);
}

size_t vtcon_ctrl_peek(const struct vtcon_ctrl *c,
    uint8_t buf[VTCON_MSG_MAX])
{
	const struct vtcon_msg *m;
	size_t n;

	if (c->qlen == 0)
		return 0;
	m = &c->q[c->qhead];
	vtcon_msg_encode(m, buf);
	if (m->event != VTCON_PORT_NAME)
		return VTCON_MSG_SIZE;
	/* Ids in the queue are configured ports (enqueue's callers). */
	n = strlen(c->port[m->id].name);
	memcpy(buf + VTCON_MSG_SIZE, c->port[m->id].name, n);
	return VTCON_MSG_SIZE + n;
}

void vtcon_ctrl_pop(struct vtcon_ctrl *c)
{
	if (c->qlen == 0)
		return;
	c->qhead = (c->qhead + 1) % VTCON_CTRLQ_MAX;
	c->qlen--;
}

bool vtcon_ctrl_can_rx(const struct vtcon_ctrl *c, unsigned id)
{
	if (id >= VTCON_MAXPORTS || !c->port[id].enabled || !c->ready)
		return false;
	if (!c->multiport)
		return id == 0;
	return c->port[id].guest_open;
}
