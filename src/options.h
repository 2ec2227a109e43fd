/* bhyve(8)'s command line to configuration variables. */
#ifndef BHYVE_OPTIONS_H
#define BHYVE_OPTIONS_H

/* Exit statuses of option errors, as bhyve uses them. */
#define EXIT_USAGE	1	/* bad option, missing vmname */
#define EXIT_EX_USAGE	64	/* bad value of an option (EX_USAGE) */
#define EXIT_VMERROR	4	/* bad -s, and every later error */

/* Set bhyve's defaults in the tree. */
int options_defaults(void);
/* Parse argv into the tree.  Returns -1 to go on building the VM, or an
 * exit status: 0 after -h / -s help / -l help (already printed), else an
 * error whose message last_error() holds (empty message: print usage). */
int options_parse(int argc, char **argv);
void options_usage(void);

/* -c: "[[cpus=]n][,sockets=n][,cores=n][,threads=n]" into the tree. */
int topology_parse(const char *opt);
/* -p: "vcpu:hostcpu" appended to vcpu.N.cpuset. */
int pincpu_parse(const char *opt);
/* -G: "[w][addr:]port" into gdb.* */
int gdb_parse(const char *opt);
/* Parse a cpuset list such as "0,2-3" (each < 1024) into a bitmap. */
int cpuset_parse(const char *s, unsigned char *bits, unsigned nbits);

#endif
