/* Guest NUMA domains: the -n option, the domains.N.* variables and the
 * layout of RAM into domains. */
#include "platform/numa.h"
#include "config.h"
#include "options.h"
#include "util.h"
#include "vmm/mem.h"
#include "vmm/vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A CPU list such as "0-3,6" of vCPUs below `limit` into a mask. */
static int parse_cpus(const char *what, const char *s, unsigned limit,
    uint64_t *mask)
{
	unsigned char bits[VM_MAXCPU / 8 + 1];

	if (cpuset_parse(s, bits, limit) != 0)
		return fail("%s: invalid vCPU list '%s' (vCPUs 0 to %u)", what,
		    s, limit - 1);
	*mask = 0;
	for (unsigned c = 0; c < limit; c++)
		if (bits[c / 8] & (1u << (c % 8)))
			*mask |= 1ULL << c;
	return 0;
}

static int set_value(unsigned id, const char *key, const char *v)
{
	return config_setf(v, "domains.%u.%s", id, key);
}

int numa_parse_option(const char *opt)
{
	char *copy = strdup(opt), *save = NULL, *tok;
	char cpus[256] = "";
	const char *size = NULL, *policy = NULL;
	bool in_cpus = false, have_id = false, have_cpus = false;
	unsigned id = 0;
	uint64_t sz, mask;
	char node[32];
	int r = 0;

	if (copy == NULL)
		return fail("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && r == 0;
	    tok = strtok_r(NULL, ",", &save)) {
		if (strchr(tok, '=') == NULL && in_cpus) {
			/* "cpus=0,2": the list goes on */
			if (strlen(cpus) + strlen(tok) + 2 > sizeof(cpus))
				r = fail("invalid NUMA configuration '%s': "
				    "cpus list too long", opt);
			else {
				strcat(cpus, ",");
				strcat(cpus, tok);
			}
			continue;
		}
		in_cpus = false;
		if (strncmp(tok, "id=", 3) == 0) {
			if (parse_uint_range(tok + 3, 0, 255, &id) != 0)
				r = fail("invalid NUMA domain id '%s' in '%s'",
				    tok + 3, opt);
			else if (id >= NUMA_MAX_DOMAINS)
				r = fail("NUMA domain id %u in '%s': at most "
				    "%d domains (ids 0 to %d)", id, opt,
				    NUMA_MAX_DOMAINS, NUMA_MAX_DOMAINS - 1);
			have_id = true;
		} else if (strncmp(tok, "size=", 5) == 0) {
			size = tok + 5;
			if (parse_memsize(size, &sz) != 0)
				r = fail("invalid NUMA domain size '%s' in "
				    "'%s'", size, opt);
		} else if (strncmp(tok, "cpus=", 5) == 0) {
			if (strlen(tok + 5) >= sizeof(cpus))
				r = fail("invalid NUMA configuration '%s': "
				    "cpus list too long", opt);
			else {
				strcpy(cpus, tok + 5);
				in_cpus = have_cpus = true;
			}
		} else if (strncmp(tok, "domain_policy=", 14) == 0) {
			policy = tok + 14;
		} else {
			r = fail("invalid NUMA configuration '%s': unknown "
			    "setting '%s' (id=, size=, cpus=, domain_policy=)",
			    opt, tok);
		}
	}
	if (r == 0 && !have_id)
		r = fail("missing NUMA domain ID in '%s'", opt);
	if (r == 0 && have_cpus &&
	    parse_cpus("invalid NUMA configuration", cpus, VM_MAXCPU,
	    &mask) != 0)
		r = -1;
	snprintf(node, sizeof(node), "domains.%u", id);
	if (r == 0 && config_is_node(node))
		r = fail("NUMA domain %u given twice ('%s')", id, opt);
	if (r == 0 && size != NULL)
		r = set_value(id, "size", size);
	if (r == 0 && policy != NULL)
		r = set_value(id, "domain_policy", policy);
	/* The node exists even with only an id (cpus may follow in -o). */
	if (r == 0 && (have_cpus || (size == NULL && policy == NULL)))
		r = set_value(id, "cpus", cpus);
	free(copy);
	return r;
}

int numa_read(struct numa_config *nc, uint64_t memsize, unsigned ncpu)
{
	char names[NUMA_MAX_DOMAINS * 4][32];
	int nchild = config_children("domains", names, NUMA_MAX_DOMAINS * 4);
	uint64_t seen = 0, total = 0;
	bool need_split = false;

	memset(nc, 0, sizeof(*nc));
	if (config_get_raw("domains") != NULL)
		return fail("invalid variable 'domains': use domains.N.size "
		    "and domains.N.cpus");
	if (nchild <= 0)
		return 0;
	for (int i = 0; i < nchild; i++) {
		unsigned id;
		if (parse_uint_range(names[i], 0, 255, &id) != 0)
			return fail("invalid NUMA domain 'domains.%s' (ids are "
			    "0 to %d)", names[i], NUMA_MAX_DOMAINS - 1);
		if (id >= NUMA_MAX_DOMAINS)
			return fail("NUMA domain 'domains.%s': at most %d "
			    "domains (ids 0 to %d)", names[i],
			    NUMA_MAX_DOMAINS, NUMA_MAX_DOMAINS - 1);
		if (id >= nc->n)
			nc->n = id + 1;
	}
	for (unsigned i = 0; i < nc->n; i++) {
		struct numa_domain *d = &nc->d[i];
		const char *v;
		char what[48];

		snprintf(what, sizeof(what), "domains.%u", i);
		if (!config_is_node(what))
			return fail("NUMA domain %u is missing: domains are "
			    "numbered from 0 without gaps", i);
		if (config_getf("domains.%u.domain_policy", i) != NULL)
			return fail("domains.%u.domain_policy: host memory "
			    "policies for NUMA domains are not implemented "
			    "yet", i);
		v = config_getf("domains.%u.size", i);
		if (v == NULL)
			need_split = true;
		else if (parse_memsize(v, &d->size) != 0 ||
		    (d->size & 0xfff) != 0)
			return fail("invalid memsize for NUMA domain %u: '%s' "
			    "(a multiple of 4K)", i, v);
		else
			total += d->size;
		v = config_getf("domains.%u.cpus", i);
		if (v == NULL || *v == '\0')
			return fail("NUMA domain %u has no vCPUs (set "
			    "domains.%u.cpus)", i, i);
		snprintf(what, sizeof(what), "domains.%u.cpus", i);
		if (parse_cpus(what, v, VM_MAXCPU, &d->cpus) != 0)
			return -1;
		for (unsigned c = 0; c < VM_MAXCPU; c++) {
			if (!(d->cpus & (1ULL << c)))
				continue;
			if (c >= ncpu)
				return fail("domains.%u.cpus '%s': vCPU %u "
				    "does not exist (the VM has %u)", i, v,
				    c, ncpu);
			if (seen & (1ULL << c))
				return fail("domains.%u.cpus '%s': vCPU %u is "
				    "already in another NUMA domain", i, v,
				    c);
		}
		seen |= d->cpus;
	}
	for (unsigned c = 0; c < ncpu; c++)
		if (!(seen & (1ULL << c)))
			return fail("vCPU %u is in no NUMA domain (domains.N."
			    "cpus)", c);
	if (need_split) {
		/* As FreeBSD: without every size, split memory evenly. */
		uint64_t each = (memsize / nc->n) & ~0xfffULL;
		for (unsigned i = 0; i < nc->n; i++)
			nc->d[i].size = i + 1 < nc->n ? each :
			    memsize - each * (nc->n - 1);
		if (each == 0)
			return fail("memory.size is too small for %u NUMA "
			    "domains", nc->n);
	} else if (total != memsize) {
		return fail("NUMA domain sizes add up to %llu MiB but "
		    "memory.size is %llu MiB", (unsigned long long)(total >> 20),
		    (unsigned long long)(memsize >> 20));
	}
	return 0;
}

int numa_ranges(const struct numa_config *nc, uint64_t lowmem,
    uint64_t highmem, struct numa_range *r, int max)
{
	const struct { uint64_t base, size; } ram[2] = {
		{ 0, lowmem }, { HIGHMEM_BASE, highmem },
	};
	unsigned region = 0;
	uint64_t off = 0;	/* within ram[region] */
	int n = 0;

	for (unsigned i = 0; i < nc->n; i++) {
		uint64_t left = nc->d[i].size;
		while (left > 0 && region < 2) {
			uint64_t take = ram[region].size - off;
			if (take > left)
				take = left;
			if (take > 0) {
				if (n == max)
					return n;
				r[n++] = (struct numa_range){ i,
				    ram[region].base + off, take };
			}
			off += take;
			left -= take;
			if (off == ram[region].size) {
				region++;
				off = 0;
			}
		}
	}
	return n;
}
