/* Guest NUMA domains (-n id=N,size=S,cpus=LIST; domains.N.size and
 * domains.N.cpus), described to the guest in the ACPI SRAT and SLIT. */
#ifndef BHYVE_NUMA_H
#define BHYVE_NUMA_H

#include <stdint.h>

#define NUMA_MAX_DOMAINS	8	/* FreeBSD's VM_MAXMEMDOM */
#define NUMA_MAX_RANGES		(NUMA_MAX_DOMAINS + 1)

struct numa_domain {
	uint64_t size;		/* bytes of RAM */
	uint64_t cpus;		/* bit i: vCPU i */
};

struct numa_config {
	unsigned n;		/* 0: no domains configured */
	struct numa_domain d[NUMA_MAX_DOMAINS];
};

/* A piece of guest-physical RAM and the domain it belongs to. */
struct numa_range {
	unsigned domain;
	uint64_t base, size;
};

/* -n: "id=N[,size=S][,cpus=LIST][,domain_policy=P]" into domains.N.*;
 * bare tokens after cpus= continue its list ("cpus=0,2"). */
int numa_parse_option(const char *opt);

/* Read and check the frozen tree's domains for a VM of `memsize` bytes
 * and `ncpu` vCPUs.  Domains are numbered 0..n-1 without gaps; when no
 * domain gives a size, memory is split evenly (as FreeBSD does). */
int numa_read(struct numa_config *nc, uint64_t memsize, unsigned ncpu);

/* Split RAM (lowmem at 0, highmem at 4 GiB) into the domains in
 * guest-physical order.  Returns the number of ranges written. */
int numa_ranges(const struct numa_config *nc, uint64_t lowmem,
    uint64_t highmem, struct numa_range *r, int max);

#endif
