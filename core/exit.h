/* Exit codes: one table for every flatline program (flatline, flatline-broker,
 * flatline-swarm and the client adapters), so that a number means the same thing
 * whichever program returned it and the runner can pass a child's reason on.
 * docs/flatline.1, docs/broker.md and docs/swarm.md print this table. */
#ifndef FLATLINE_CORE_EXIT_H
#define FLATLINE_CORE_EXIT_H

enum fl_exit {
    FL_EXIT_OK = 0,          /* ran (or stopped when told), and every expectation held */
    FL_EXIT_EXPECTATION = 1, /* ran, and an expectation failed (flatline only) */
    FL_EXIT_USAGE = 2,       /* bad input or usage: the message names the flag, field or byte; nothing was created */
    FL_EXIT_MACHINE = 3,     /* this machine cannot do it: not root, no sch_netem, the open-files limit, the
                              * address cannot be bound; the message names the resource and the numbers */
    FL_EXIT_BROKEN = 4,      /* the run itself broke: a process died, the event loop failed, clients never connected */
};

#endif
