/* Monitor mode (-M, monitor=true): FreeBSD bhyve's split into a monitor
 * process that keeps its PID and a VM process it forks; when the guest
 * reboots (VM status 0) the monitor starts the VM again, and it ends only
 * with the guest's final outcome (1 powered off, 2 halted, 3 triple fault,
 * 4 error).  SIGTERM, SIGINT and SIGHUP sent to the monitor are passed on
 * to the VM process. */
#ifndef BHYVE_MONITOR_H
#define BHYVE_MONITOR_H

/* Called by main with SIGTERM/SIGINT/SIGHUP blocked.  Returns -1 in a
 * forked VM process, which goes on to build and run the VM; in the monitor
 * it returns the final exit status, or re-raises the signal that ended
 * the VM process (SIGINT, SIGHUP), as bhyve without -M ends. */
int monitor_run(void);

/* Check the monitor's variables (rundir) before anything starts. */
int monitor_check_config(void);

#endif
