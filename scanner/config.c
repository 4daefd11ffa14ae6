/*
 * config.c - defaults for struct tw_config.
 */
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
