#include "harness/run/options.h"

#include <stdlib.h>

const char *fl_run_tmpdir(void)
{
    const char *dir = getenv("TMPDIR");
    return dir && dir[0] == '/' ? dir : "/tmp";
}
