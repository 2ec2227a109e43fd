/* The configuration tree (bhyve_config(5)): dotted variable names such as
 * "pci.0.3.0.device", string values, %(name) references expanded on read.
 * Options and -k files write it; after config_freeze() it is read-only and
 * is the only input to building the VM. */
#ifndef BHYVE_CONFIG_H
#define BHYVE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

void config_init(void);
void config_reset(void);	/* drop everything (tests) */

/* Set name=value; later settings win.  Fails when a name would be both a
 * variable and a node ("a.b" and "a.b.c"), or is malformed. */
int config_set(const char *name, const char *value);
int config_setf(const char *value, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void config_unset(const char *name);

/* Value with %(var) references expanded, or NULL when unset.  The string
 * stays valid until the next config_set. */
const char *config_get(const char *name);
const char *config_getf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Unexpanded value. */
const char *config_get_raw(const char *name);
bool config_is_node(const char *name);

/* Typed getters: return 0 and the default when unset, -1 (with an error
 * message naming the variable) when the value is malformed. */
int config_get_bool(const char *name, bool def, bool *out);
int config_get_uint(const char *name, unsigned def, unsigned lo, unsigned hi,
    unsigned *out);

/* Parse a -k file: NAME=VALUE lines, '#' comments, blank lines. */
int config_parse_file(const char *path);
/* Parse one "NAME=VALUE" (for -o). */
int config_parse_assignment(const char *s);

/* Check every value expands (no undefined or looping references) and
 * freeze the tree. */
int config_freeze(void);
bool config_frozen(void);

void config_dump(FILE *f);

/* Iterate over the direct children of a node ("pci.0" -> "3", "4", ...),
 * in sorted order.  Returns the number of children written. */
int config_children(const char *node, char names[][32], int max);

#endif
