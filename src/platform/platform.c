/* The platform-device registry (platform.h). */
#include "platform/platform.h"
#include "util.h"

#include <stdbool.h>
#include <string.h>

extern const struct platform_dev *const __start_set_platform_dev[];
extern const struct platform_dev *const __stop_set_platform_dev[];

#define PLATFORM_MAX 32

static const struct platform_dev *sorted[PLATFORM_MAX];
static unsigned nsorted;

static void sort_once(void)
{
	size_t n = (size_t)(__stop_set_platform_dev -
	    __start_set_platform_dev);

	if (nsorted != 0)
		return;
	for (size_t i = 0; i < n && nsorted < PLATFORM_MAX; i++) {
		const struct platform_dev *d = __start_set_platform_dev[i];
		unsigned j = nsorted++;

		/* insertion by order, then name: independent of link order */
		while (j > 0 && (sorted[j - 1]->order > d->order ||
		    (sorted[j - 1]->order == d->order &&
		    strcmp(sorted[j - 1]->name, d->name) > 0))) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = d;
	}
}

const struct platform_dev *platform_dev_at(unsigned i)
{
	sort_once();
	return i < nsorted ? sorted[i] : NULL;
}

/* Every registered device's init (start false) or start hook, in order. */
static int run_hooks(struct vm *vm, bool start)
{
	for (unsigned i = 0; i < nsorted; i++) {
		int (*hook)(struct vm *) = start ? sorted[i]->start :
		    sorted[i]->init;

		if (hook != NULL && hook(vm) != 0)
			return -1;
	}
	return 0;
}

int platform_init(struct vm *vm)
{
	sort_once();
	if ((size_t)(__stop_set_platform_dev - __start_set_platform_dev) >
	    PLATFORM_MAX)
		return fail("more than %d platform devices registered",
		    PLATFORM_MAX);
	return run_hooks(vm, false);
}

int platform_start(struct vm *vm)
{
	sort_once();
	return run_hooks(vm, true);
}

void platform_dump(void)
{
	sort_once();
	for (unsigned i = 0; i < nsorted; i++)
		if (sorted[i]->dump != NULL)
			sorted[i]->dump();
}

void platform_fini(void)
{
	sort_once();
	for (unsigned i = nsorted; i-- > 0;)
		if (sorted[i]->teardown != NULL)
			sorted[i]->teardown();
}
