/*
 * config.c - defaults for struct tw_config.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scanner/config.h"

void
tw_config_defaults(struct tw_config *cfg)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    memset(cfg, 0, sizeof(*cfg));
    cfg->db_path = "tlsweep.db";
    cfg->ports[0] = 443;
    cfg->n_ports = 1;
    cfg->concurrency = 1000;
    cfg->threads = cores > 0 ? (int)(cores > 64 ? 64 : cores) : 1;
    cfg->rate = 0;
    cfg->per_ip = 4;
    cfg->connect_timeout = TW_CFG_DEFAULT_CONNECT_TIMEOUT;
    cfg->handshake_timeout = TW_CFG_DEFAULT_HANDSHAKE_TIMEOUT;
    cfg->dns_timeout = TW_CFG_DEFAULT_DNS_TIMEOUT;
    cfg->dns_tries = TW_CFG_DEFAULT_DNS_TRIES;
    cfg->progress = -1;
}

int
tw_config_parse_rate(const char *s, double *out)
{
    char *end = NULL;
    double v;

    /* strtod alone would take "inf", "nan", hex floats and leading blanks. */
    if (s == NULL || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
        return -1;
    for (const char *p = s; *p != '\0' && *p != '/'; p++)
        if (!isdigit((unsigned char)*p) && *p != '.')
            return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(v))
        return -1;
    if (*end != '\0' && strcmp(end, "/s") != 0)
        return -1;
    if (v != 0 && (v < TW_CFG_RATE_MIN || v > TW_CFG_RATE_MAX))
        return -1;
    *out = v;
    return 0;
}
