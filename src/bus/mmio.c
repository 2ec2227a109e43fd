#include "bus/mmio.h"
#include "util.h"

#include <pthread.h>
#include <string.h>

#define MAX_MMIO 128

struct mmio_range {
	uint64_t base, len;
	mmio_handler_t fn;
	void *arg;
	const char *name;
};

static struct mmio_range ranges[MAX_MMIO];
static int nranges;
static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;

void mmio_reset(void)
{
	nranges = 0;
}

int mmio_register(uint64_t base, uint64_t len, mmio_handler_t fn, void *arg,
    const char *name)
{
	int i, r = 0;

	if (len == 0 || base + len < base)
		return fail("%s: bad MMIO range 0x%llx+0x%llx", name,
		    (unsigned long long)base, (unsigned long long)len);
	pthread_rwlock_wrlock(&lock);
	for (i = 0; i < nranges; i++)
		if (base < ranges[i].base + ranges[i].len &&
		    ranges[i].base < base + len) {
			r = fail("%s: MMIO range 0x%llx overlaps %s", name,
			    (unsigned long long)base, ranges[i].name);
			goto out;
		}
	if (nranges == MAX_MMIO) {
		r = fail("too many MMIO ranges");
		goto out;
	}
	for (i = nranges; i > 0 && ranges[i - 1].base > base; i--)
		ranges[i] = ranges[i - 1];
	ranges[i] = (struct mmio_range){ base, len, fn, arg, name };
	nranges++;
out:
	pthread_rwlock_unlock(&lock);
	return r;
}

int mmio_unregister(uint64_t base)
{
	pthread_rwlock_wrlock(&lock);
	for (int i = 0; i < nranges; i++)
		if (ranges[i].base == base) {
			memmove(&ranges[i], &ranges[i + 1],
			    (size_t)(nranges - i - 1) * sizeof(ranges[0]));
			nranges--;
			pthread_rwlock_unlock(&lock);
			return 0;
		}
	pthread_rwlock_unlock(&lock);
	return -1;
}

enum mmio_result mmio_dispatch(uint64_t gpa, int size, bool write,
    uint64_t *val)
{
	int lo = 0, hi = nranges - 1;
	enum mmio_result res = MMIO_UNHANDLED;

	pthread_rwlock_rdlock(&lock);
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		const struct mmio_range *r = &ranges[mid];
		if (gpa < r->base)
			hi = mid - 1;
		else if (gpa - r->base >= r->len)
			lo = mid + 1;
		else {
			if (gpa - r->base + (uint64_t)size > r->len)
				break;	/* straddles the end: unhandled */
			res = r->fn(r->arg, gpa, size, write, val) == 0 ?
			    MMIO_OK : MMIO_ERROR;
			break;
		}
	}
	pthread_rwlock_unlock(&lock);
	if (res == MMIO_UNHANDLED && !write)
		*val = ~0ULL;
	return res;
}
