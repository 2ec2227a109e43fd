/* virtio-rnd: the guest's hardware RNG (/dev/hwrng) fed from the host's
 * getrandom(GRND_NONBLOCK).  Runs on the event loop (VIRTIO_CTX_EVLOOP):
 * getrandom never blocks with GRND_NONBLOCK, and each notification fills
 * at most RND_BUDGET bytes; the rest is continued from a timer
 * RND_DEFER_MS later, so one guest cannot make the loop spin (at most
 * RND_BUDGET bytes per RND_DEFER_MS while the guest keeps asking). */
#include "backends/evloop.h"
#include "bus/pci.h"
#include "util.h"
#include "virtio/virtio.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#define RND_QSIZE	64
#define RND_BUDGET	(64u << 10)
#define RND_DEFER_MS	1

struct rnd_softc {
	struct virtio_dev *vd;
	struct ev *timer;	/* continuation, loop thread only */
	bool timer_armed;
};

static void rnd_fill(struct rnd_softc *sc, struct vq *vq);

static void rnd_timer(void *arg)
{
	struct rnd_softc *sc = arg;

	sc->timer_armed = false;
	rnd_fill(sc, virtio_queue(sc->vd, 0));
}

static void rnd_defer(struct rnd_softc *sc)
{
	if (sc->timer == NULL)
		sc->timer = ev_timer_add(rnd_timer, sc);
	if (sc->timer != NULL && !sc->timer_armed &&
	    ev_timer_arm(sc->timer, RND_DEFER_MS * 1000000ULL, 0) == 0)
		sc->timer_armed = true;
}

static void rnd_fill(struct rnd_softc *sc, struct vq *vq)
{
	struct iovec iov[RND_QSIZE];
	struct vq_chain c;
	uint32_t budget = RND_BUDGET;
	bool any = false;
	int r;

	while (budget > 0 && (r = vq_getchain(vq, &c, iov, RND_QSIZE)) > 0) {
		uint32_t written = 0;

		for (unsigned i = c.nout; i < c.nout + c.nin && budget > 0; i++) {
			size_t want = iov[i].iov_len < budget ? iov[i].iov_len :
			    budget;
			ssize_t n = getrandom(iov[i].iov_base, want,
			    GRND_NONBLOCK);
			if (n <= 0)
				break;
			written += (uint32_t)n;
			budget -= (uint32_t)n;
			if ((size_t)n < iov[i].iov_len)
				break;
		}
		if (written == 0 && c.inlen > 0) {
			/* No entropy yet (or no budget): try again later. */
			vq_retchain(vq);
			rnd_defer(sc);
			break;
		}
		vq_relchain(vq, &c, written);
		any = true;
	}
	if (any)
		vq_endchains(vq);
	if (budget == 0 && vq_has_descs(vq))
		rnd_defer(sc);
}

static void rnd_notify(void *arg, struct vq *vq)
{
	rnd_fill(arg, vq);
}

static void rnd_teardown(void *arg)
{
	struct rnd_softc *sc = arg;

	if (sc->timer)
		ev_del(sc->timer);
	free(sc);
}

static const struct virtio_ops rnd_ops = {
	.name = "virtio-rnd",
	.device_type = VIRTIO_ID_RNG,
	.legacy_devid = 0x1005,
	.pci_class = 0xff,		/* as bhyve: class "other" */
	.pci_subclass = 0x00,
	.nqueues = 1,
	.qsize = RND_QSIZE,
	.ctx = VIRTIO_CTX_EVLOOP,
	.notify = rnd_notify,
	.teardown = rnd_teardown,
};

static int rnd_init(struct vm *vm, struct pci_devinst *pi, const char *node)
{
	struct rnd_softc *sc = calloc(1, sizeof(*sc));
	char probe;

	(void)node;
	if (sc == NULL)
		return fail("out of memory");
	/* A host without getrandom(2) cannot feed the device. */
	if (getrandom(&probe, 1, GRND_NONBLOCK) < 0 && errno == ENOSYS) {
		free(sc);
		return fail("virtio-rnd: getrandom(2) is not available");
	}
	if (virtio_pci_init(vm, pi, &rnd_ops, sc, &sc->vd) != 0) {
		if (pi->softc == NULL)
			free(sc);
		return -1;
	}
	return 0;
}

static const struct pci_devemu pe_vtrnd = {
	.name = "virtio-rnd",
	.help = "Virtio RNG interface",
	.init = rnd_init,
	VIRTIO_PCI_DEVEMU_HOOKS,
};
PCI_EMUL_SET(pe_vtrnd);
