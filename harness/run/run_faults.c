/* The fault timeline: resolve each fault's hosts before the run, inject and
 * heal on fl_loop timers, record the ground truth (when, and which client
 * addresses were cut) for the analysis. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "harness/scenario/predict.h"
#include "harness/scenario/profiles.h"
#include "harness/run/run_faults.h"
#include "harness/run/topology.h"

static int add_addr(fault_run *f, const char *addr)
{
    char **a = realloc(f->addrs, (f->naddrs + 1) * sizeof *a);
    if (!a)
        return -1;
    f->addrs = a;
    f->addrs[f->naddrs] = strdup(addr);
    return f->addrs[f->naddrs++] ? 0 : -1;
}

static void add_host_addrs(fault_run *f, fl_host *h)
{
    for (size_t i = 0; i < fl_host_addr_count(h); i++)
        add_addr(f, fl_host_addr(h, i));
}

int fl_run_faults_prepare(fl_run_faults *ft)
{
    fl_run_ctx *run = ft->run;
    const fl_scenario *sc = run->sc;
    ft->faults = calloc(sc->nfaults ? sc->nfaults : 1, sizeof *ft->faults);
    if (!ft->faults)
        return -1;
    for (size_t i = 0; i < sc->nfaults; i++) {
        fault_run *f = &ft->faults[i];
        f->owner = ft;
        f->spec = &sc->faults[i];
        f->index = i;
        f->nhosts = fl_fault_hosts(sc, f->spec, run->net, f->hosts, FL_MAX_FAULT_HOSTS);
        if (f->nhosts == 0) {
            fl_run_break(run, "fault %zu (%s %s): no such host in the topology", i, fl_fault_kind_name(f->spec->kind),
                            f->spec->label);
            return -1;
        }
        if (fl_host_kind_of(f->hosts[0]) == FL_HOST_NAT) {
            /* A NAT fault cuts every client host behind that NAT. */
            for (size_t g = 0; g < sc->ngroups; g++) {
                if (sc->groups[g].behind != f->spec->middlebox)
                    continue;
                for (unsigned h = 0; h < sc->groups[g].hosts; h++)
                    add_host_addrs(f, fl_netem_group_host(run->net, g, h));
            }
        } else {
            for (size_t h = 0; h < f->nhosts; h++)
                add_host_addrs(f, f->hosts[h]);
        }
        fl_model_config cfg;
        char err[200];
        if (fl_predict_config(sc, f->spec, &cfg) == 0) {
            if (fl_model_predict(&cfg, &f->model, err, sizeof err) == 0)
                f->have_model = true;
            else
                fl_progress_note(&run->progress, "model: fault %zu: %s", i, err);
        }
    }
    return 0;
}

/* The line's own "t" is when it is written; "at" is the ground truth. */
static void fault_line(fl_run_faults *ft, fault_run *f, const char *phase, uint64_t t_ns)
{
    fl_run_ctx *run = ft->run;
    fl_run_event(run, "fault", json_pack("{s:I, s:s, s:s, s:s, s:I}", "index", (json_int_t)f->index, "kind",
                                          fl_fault_kind_name(f->spec->kind), "target", f->spec->label, "phase",
                                          phase, "at", (json_int_t)t_ns));
}

/* Swarms on hosts a power loss killed: their exit is part of the fault. */
static void expect_swarm_deaths(fl_run_faults *ft, fault_run *f)
{
    for (size_t i = 0; i < ft->procs->nswarms; i++)
        for (size_t h = 0; h < f->nhosts; h++)
            if (ft->procs->swarms[i].host == f->hosts[h])
                ft->procs->swarms[i].expected_exit = true;
}

static void inject(fl_run_faults *ft, fault_run *f)
{
    fl_run_ctx *run = ft->run;
    char err[256] = "";
    uint64_t times[FL_MAX_FAULT_HOSTS] = { 0 };
    int rc = 0;
    size_t deleted = 0;
    switch (f->spec->kind) {
    case FL_FAULT_CABLE_PULL:
        rc = fl_fault_cable_pull(run->net, f->hosts, f->nhosts, times, err, sizeof err);
        break;
    case FL_FAULT_POWER_LOSS:
        expect_swarm_deaths(ft, f);
        rc = fl_fault_power_loss(run->net, f->hosts, f->nhosts, times, err, sizeof err);
        break;
    case FL_FAULT_PARTITION:
        rc = fl_fault_partition(run->net, f->hosts, f->nhosts, FL_DIR_BOTH, times, err, sizeof err);
        break;
    case FL_FAULT_EXPIRE_NOW:
        rc = fl_nat_expire_now(run->net, f->hosts[0], &deleted, times, err, sizeof err);
        break;
    case FL_FAULT_NAT_EXPIRY:
        /* The NAT's idle timeout does the cutting (its timeout is set when the
         * topology is built); this marks from when connections count as cut. */
        times[0] = fl_now_ns();
        break;
    case FL_FAULT_DEGRADE: {
        fl_degrade d;
        fl_link_to_degrade(&run->sc->links[f->spec->link], &d);
        rc = fl_fault_degrade(run->net, f->hosts, f->nhosts, &d, FL_DIR_BOTH, times, err, sizeof err);
        break;
    }
    }
    if (rc < 0) {
        f->failed = true;
        fl_run_break(run, "fault %zu (%s %s): %s", f->index, fl_fault_kind_name(f->spec->kind), f->spec->label, err);
        return;
    }
    /* Ground truth: the first host's traffic changed at times[0]. */
    f->inject_ns = times[0] ? times[0] : fl_now_ns();
    f->injected = true;
    ft->done++;
    if (run->phase && strcmp(run->phase, "steady") == 0) {
        run->phase = "faults";
        fl_run_event(run, "phase", json_pack("{s:s}", "phase", "faults"));
    }
    fault_line(ft, f, "inject", f->inject_ns);
    if (f->spec->kind == FL_FAULT_EXPIRE_NOW)
        fl_progress_note(&run->progress, "%s %s: %zu NAT mappings deleted", fl_fault_kind_name(f->spec->kind),
                         f->spec->label, deleted);
    else
        fl_progress_note(&run->progress, "%s %s injected (%zu host%s)", fl_fault_kind_name(f->spec->kind),
                         f->spec->label, f->nhosts, f->nhosts == 1 ? "" : "s");
    uint64_t after = f->spec->kind == FL_FAULT_POWER_LOSS ? f->spec->restore_after_ns : f->spec->duration_ns;
    if (after && f->spec->kind != FL_FAULT_EXPIRE_NOW && f->spec->kind != FL_FAULT_NAT_EXPIRY)
        fl_loop_timer_set(run->loop, &f->heal_timer, f->inject_ns + after);
}

/* A host's link for the whole run (its group's or the broker's) goes back on
 * once a degrade fault on it heals, or after a power cycle, whose link took
 * the qdiscs with it. */
static int restore_links(fl_run_faults *ft, fl_host *const *hosts, size_t n, char *err, size_t errlen)
{
    fl_run_ctx *run = ft->run;
    for (size_t i = 0; i < n; i++) {
        int g = fl_host_group(hosts[i]);
        int link = g >= 0 ? run->sc->groups[g].link
                          : fl_host_kind_of(hosts[i]) == FL_HOST_BROKER ? run->sc->broker.link : -1;
        if (link < 0)
            continue;
        fl_degrade d;
        fl_link_to_degrade(&run->sc->links[link], &d);
        fl_host *h = hosts[i];
        int rc = fl_fault_degrade(run->net, &h, 1, &d, FL_DIR_BOTH, NULL, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void heal(fl_run_faults *ft, fault_run *f)
{
    fl_run_ctx *run = ft->run;
    char err[256] = "";
    uint64_t times[FL_MAX_FAULT_HOSTS] = { 0 };
    int rc = 0;
    switch (f->spec->kind) {
    case FL_FAULT_CABLE_PULL:
        rc = fl_fault_cable_restore(run->net, f->hosts, f->nhosts, times, err, sizeof err);
        break;
    case FL_FAULT_POWER_LOSS:
        rc = fl_fault_power_restore(run->net, f->hosts, f->nhosts, times, err, sizeof err);
        break;
    case FL_FAULT_PARTITION:
        rc = fl_fault_partition_heal(run->net, f->hosts, f->nhosts, times, err, sizeof err);
        break;
    case FL_FAULT_DEGRADE:
        rc = fl_fault_degrade_heal(run->net, f->hosts, f->nhosts, times, err, sizeof err);
        break;
    default:
        return;
    }
    if (rc >= 0 && (f->spec->kind == FL_FAULT_DEGRADE || f->spec->kind == FL_FAULT_POWER_LOSS))
        rc = restore_links(ft, f->hosts, f->nhosts, err, sizeof err);
    if (rc < 0) {
        fl_run_break(run, "healing fault %zu (%s %s): %s", f->index, fl_fault_kind_name(f->spec->kind),
                        f->spec->label, err);
        return;
    }
    f->heal_ns = times[0] ? times[0] : fl_now_ns();
    f->healed = true;
    fault_line(ft, f, "heal", f->heal_ns);
    fl_progress_note(&run->progress, "%s %s %s", fl_fault_kind_name(f->spec->kind), f->spec->label,
                     f->spec->kind == FL_FAULT_POWER_LOSS ? "powered on again" : "healed");
    if (f->spec->kind == FL_FAULT_POWER_LOSS) {
        /* A rebooted host runs its clients again: fresh processes, no state. */
        for (size_t i = 0; i < ft->procs->nswarms; i++) {
            fl_proc *p = &ft->procs->swarms[i];
            for (size_t h = 0; h < f->nhosts; h++) {
                if (p->host != f->hosts[h])
                    continue;
                fl_proc_reap(p);
                if (fl_run_start_swarm(ft->procs, p) < 0)
                    return;
            }
        }
    }
}

static void on_inject_timer(fl_timer *t, uint64_t now_ns, void *arg)
{
    (void)t;
    (void)now_ns;
    fault_run *f = arg;
    inject(f->owner, f);
}

static void on_heal(fl_timer *t, uint64_t now_ns, void *arg)
{
    (void)t;
    (void)now_ns;
    fault_run *f = arg;
    heal(f->owner, f);
}

void fl_run_faults_arm(fl_run_faults *ft)
{
    fl_run_ctx *run = ft->run;
    for (size_t i = 0; i < run->sc->nfaults; i++) {
        fault_run *f = &ft->faults[i];
        fl_timer_init(&f->inject_timer, on_inject_timer, f);
        fl_timer_init(&f->heal_timer, on_heal, f);
        fl_loop_timer_set(run->loop, &f->inject_timer, run->steady_ns + f->spec->at_ns);
    }
}

void fl_run_faults_free(fl_run_faults *ft)
{
    fl_run_ctx *run = ft->run;
    for (size_t i = 0; ft->faults && i < run->sc->nfaults; i++) {
        fault_run *f = &ft->faults[i];
        fl_loop_timer_cancel(run->loop, &f->inject_timer);
        fl_loop_timer_cancel(run->loop, &f->heal_timer);
        for (size_t k = 0; k < f->naddrs; k++)
            free(f->addrs[k]);
        free(f->addrs);
    }
    free(ft->faults);
    ft->faults = NULL;
}
