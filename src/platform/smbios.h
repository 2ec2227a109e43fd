/* SMBIOS (DMI) tables at SMBIOS_ADDR: a 2.x entry point ("_SM_" with the
 * "_DMI_" intermediate anchor, as bhyve writes) and the structures bhyve
 * generates: BIOS (0), system with UUID (1), baseboard (2), chassis (3),
 * one processor per socket (4), physical memory array (16), memory devices
 * (17), memory array mapped addresses (19), boot information (32), end (127).
 * The strings come from bhyve's configuration variables (bios.vendor,
 * system.product_name, ...), the UUID from `uuid` (-U) or, by default, from
 * an MD5 hash of the VM name and the host name. */
#ifndef BHYVE_SMBIOS_H
#define BHYVE_SMBIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/cpuid.h"

/* The string variables of bhyve's smbiostbl.c, in this order. */
enum smbios_str {
	SMB_BIOS_VENDOR, SMB_BIOS_VERSION, SMB_BIOS_RELEASE_DATE,
	SMB_SYS_MANUFACTURER, SMB_SYS_PRODUCT, SMB_SYS_VERSION,
	SMB_SYS_SERIAL, SMB_SYS_SKU, SMB_SYS_FAMILY,
	SMB_BOARD_MANUFACTURER, SMB_BOARD_PRODUCT, SMB_BOARD_VERSION,
	SMB_BOARD_SERIAL, SMB_BOARD_ASSET, SMB_BOARD_LOCATION,
	SMB_CHASSIS_MANUFACTURER, SMB_CHASSIS_VERSION, SMB_CHASSIS_SERIAL,
	SMB_CHASSIS_ASSET, SMB_CHASSIS_SKU,
	SMB_NSTR
};

struct smbios_var {
	const char *name;	/* configuration variable */
	const char *def;	/* bhyve's default */
};
extern const struct smbios_var smbios_vars[SMB_NSTR];

struct smbios_info {
	const char *str[SMB_NSTR];	/* "" = no string */
	uint8_t uuid[16];		/* as stored in the type 1 structure */
	struct cpu_topology topo;
	uint32_t cpu_signature;		/* CPUID leaf 1 EAX of the vCPUs */
	uint32_t cpu_features;		/* CPUID leaf 1 EDX */
	uint64_t lowmem, highmem;	/* RAM at 0 and at 4 GiB, bytes */
	bool compact;			/* processors: only the socket name */
};

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into the SMBIOS byte order
 * (first three fields little-endian).  -1 with a message naming it. */
int smbios_uuid_parse(const char *s, uint8_t out[16]);
/* bhyve's default: MD5 over the VM name and the host name (padded with
 * NULs to 256 bytes, FreeBSD's MAXHOSTNAMELEN buffer), with the version 3
 * and RFC 4122 variant bits set; stored like a -U UUID. */
void smbios_uuid_default(const char *vmname, const char *hostname,
    uint8_t out[16]);

/* Build entry point + structure table for placement at guest address
 * `gpa` into buf.  Returns the length, or -1 (with a message) when it does
 * not fit in cap bytes. */
int smbios_build(uint8_t *buf, size_t cap, uint32_t gpa,
    const struct smbios_info *info);
/* The same with the structure table apart from the entry point: the
 * 31-byte entry point into ep, the table into tbuf (for guest address
 * tgpa).  Returns the table's length or -1. */
int smbios_build_split(uint8_t ep[31], uint8_t *tbuf, size_t tcap,
    uint32_t tgpa, const struct smbios_info *info);

struct vm;
/* Check the SMBIOS variables before the VM is built: the UUID, and that
 * the tables fit for this topology (long strings, many sockets). */
int smbios_check_config(const struct cpu_topology *topo);
/* Read the configuration and write the tables into guest memory. */
int smbios_init(struct vm *vm);

#endif
