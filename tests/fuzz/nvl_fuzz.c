/* libFuzzer target for libNV list unpacking (src/nvlist.c), what the
 * control socket reads from its clients.  Every accepted list must have
 * its items inside the input, names and strings NUL-terminated there;
 * ASan/UBSan catch the rest.  Run bounded: make fuzz FUZZ_SECONDS=60 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nvlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nvl l;
	uint8_t *copy;

	/* An exact-size copy, so reading past the end is caught. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	if (nvl_unpack(copy, size, &l) == 0) {
		for (unsigned i = 0; i < l.n; i++) {
			const struct nvl_item *it = &l.it[i];
			if (it->data < copy || it->data + it->size > copy + size ||
			    strlen(it->name) >= NVL_NAME_MAX)
				abort();
			if (it->type == NV_TYPE_STRING &&
			    strlen((const char *)it->data) + 1 != it->size)
				abort();
		}
		(void)nvl_get_string(&l, "cmd");
	}
	free(copy);
	return 0;
}
