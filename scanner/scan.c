/* scan.c - placeholder for the scan orchestration (engine issue). */
#include "store/base/log.h"
#include "scanner/scan.h"

int
tw_scan_run(const struct tw_config *cfg, char *err)
{
    (void)cfg;
    tw_errf(err, "the scan engine is not built yet");
    return 3;
}
