/* Copy-on-write range tables; locking in rangetab.h. */
#include "bus/rangetab.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static struct range_array *copy_array(const struct range_array *a,
    unsigned extra)
{
	unsigned n = a ? a->n : 0;
	struct range_array *b = malloc(sizeof(*b) +
	    (n + extra) * sizeof(struct range));

	if (b == NULL)
		return NULL;
	b->n = n;
	if (n)
		memcpy(b->r, a->r, n * sizeof(struct range));
	return b;
}

int rangetab_add(struct rangetab *t, uint64_t base, uint64_t len, void *fn,
    void *arg, const char *name)
{
	struct range_array *a, *b;
	unsigned i;
	int r = 0;

	if (len == 0 || base + len < base)
		return fail("%s: bad %s range 0x%llx+0x%llx", name, t->what,
		    (unsigned long long)base, (unsigned long long)len);
	pthread_mutex_lock(&t->wlock);
	a = atomic_load(&t->cur);
	for (i = 0; a && i < a->n; i++)
		if (base < a->r[i].base + a->r[i].len &&
		    a->r[i].base < base + len) {
			r = fail("%s: %s range 0x%llx+0x%llx overlaps %s", name,
			    t->what, (unsigned long long)base,
			    (unsigned long long)len, a->r[i].name);
			goto out;
		}
	if (a && a->n >= t->max) {
		r = fail("%s: too many %s ranges", name, t->what);
		goto out;
	}
	b = copy_array(a, 1);
	if (b == NULL) {
		r = fail("out of memory");
		goto out;
	}
	for (i = b->n; i > 0 && b->r[i - 1].base > base; i--)
		b->r[i] = b->r[i - 1];
	b->r[i] = (struct range){ base, len, fn, arg, name };
	b->n++;
	atomic_store(&t->cur, b);
	bus_rcu_retire(a);
out:
	pthread_mutex_unlock(&t->wlock);
	return r;
}

int rangetab_del(struct rangetab *t, uint64_t base)
{
	struct range_array *a, *b;
	int r = -1;

	pthread_mutex_lock(&t->wlock);
	a = atomic_load(&t->cur);
	for (unsigned i = 0; a && i < a->n; i++) {
		if (a->r[i].base != base)
			continue;
		b = copy_array(a, 0);
		if (b == NULL)
			break;
		memmove(&b->r[i], &b->r[i + 1],
		    (b->n - i - 1) * sizeof(struct range));
		b->n--;
		atomic_store(&t->cur, b);
		bus_rcu_retire(a);
		r = 0;
		break;
	}
	pthread_mutex_unlock(&t->wlock);
	return r;
}

void rangetab_clear(struct rangetab *t)
{
	pthread_mutex_lock(&t->wlock);
	bus_rcu_retire(atomic_exchange(&t->cur, NULL));
	pthread_mutex_unlock(&t->wlock);
}

const struct range *rangetab_lookup(struct rangetab *t, uint64_t addr)
{
	const struct range_array *a = atomic_load(&t->cur);
	int lo = 0, hi;

	if (a == NULL)
		return NULL;
	hi = (int)a->n - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		const struct range *r = &a->r[mid];
		if (addr < r->base)
			hi = mid - 1;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}
