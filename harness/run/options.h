/* What a run is asked to do beside its scenario (the command line's part),
 * and where runs keep their work directories. Apart from run.h so that the
 * runner's parts and the VM launcher read them without the runner itself. */
#ifndef FLATLINE_HARNESS_RUN_OPTIONS_H
#define FLATLINE_HARNESS_RUN_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct fl_run_options {
    const char *scenario_path;
    const char *report_path; /* -o; NULL: no JSON file */
    const char *events_path; /* --events; NULL: none */
    const char *pcap_dir;    /* --pcap; NULL: no capture */
    const char *bindir;      /* where flatline-broker and flatline-swarm are */
    bool keep_workdir;       /* keep configs and process logs even on success */
    /* The scenario text the report keeps (a sweep's cell); NULL: scenario_path's bytes. */
    const char *scenario_text;
    size_t scenario_len;
    /* Set: the finished report is handed over here (the caller frees it)
     * instead of being freed; NULL is left when no report was made. */
    struct fl_report **report_out;
} fl_run_options;

/* Where runs put their work directories (flatline-fl<pid>-XXXXXX): $TMPDIR
 * when it is an absolute path, else /tmp. `flatline cleanup` looks there too. */
const char *fl_run_tmpdir(void);

#endif
