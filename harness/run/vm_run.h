/* Virtual-time runs (docs/virtual-time.md): `flatline run --virtual-time` boots
 * the qemu VM of tests/vm/ under -icount, runs the whole scenario inside it
 * (tests/vm/vtime-guest) with the guest's clock jumping over idle time, and
 * brings the report out, stamped with the clock it ran on. */
#ifndef FLATLINE_HARNESS_VM_RUN_H
#define FLATLINE_HARNESS_VM_RUN_H

#include <stdbool.h>

typedef struct fl_vm_run_options {
    const char *scenario_path; /* the scenario file, checked by the caller */
    const char *report_path;   /* -o, or NULL */
    const char *events_path;   /* --events, or NULL */
    const char *bindir;        /* where flatline, flatline-broker, flatline-swarm are */
    double duration_s;         /* the scenario's duration: sizes the timeouts */
    bool keep;                 /* --keep: leave the scratch dir (guest outputs) */
} fl_vm_run_options;

/* True inside the VM, where `run --virtual-time` runs the scenario right
 * here (vtime-guest sets FLATLINE_VTIME_GUEST=1). */
bool fl_vm_is_guest(void);

/* In the guest: the model's timer slack follows the guest kernel's HZ
 * (FLATLINE_KERNEL_HZ, from its config, set by vtime-guest). */
void fl_vm_guest_setup(void);

/* Runs the scenario in the VM; returns flatline's exit code (FL_EXIT_*):
 * the guest run's own, 3 when the VM cannot start here (no qemu, no kernel),
 * 4 when the VM broke or its host-side timeout killed it. */
int fl_vm_run(const fl_vm_run_options *o);

/* `flatline cleanup`: kills the qemu of a killed virtual-time run whose
 * scratch dir is dir (its pid is in dir/qemu.pid); returns 1 if it did. */
int fl_vm_kill_stale(const char *dir);

#endif
