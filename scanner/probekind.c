/*
 * probekind.c - the probe-kind table (see probekind.h).
 *
 * The grading HTTP connection of a grade based on MAIN, NO_SNI or WITH_SNI
 * uses WITH_SNI's row: the broad context without status_request (the HTTP
 * connection does not look at a staple), with the grader's own SNI.  A
 * grade based on a cipher or version probe keeps that probe's settings, the
 * only ones the server was seen to accept.
 */
#include <openssl/ssl.h>

#include "scanner/probekind.h"

static const struct tw_probe_kind_info probe_kinds[TW_PK__COUNT] = {
    [TW_PK_MAIN] = {"main", TW_PK_CTX_BROAD, TW_PK_SNI_TARGET, 1, TW_PK_WITH_SNI, 0, 0},
    [TW_PK_NO_SNI] = {"no_sni", TW_PK_CTX_BROAD, TW_PK_SNI_SWAP, 0, TW_PK_WITH_SNI, 0, 0},
    [TW_PK_WITH_SNI] = {"with_sni", TW_PK_CTX_BROAD, TW_PK_SNI_NAME, 0, TW_PK_WITH_SNI, 0, 0},
    [TW_PK_TLS10] = {"tls10", TW_PK_CTX_BROAD, TW_PK_SNI_TARGET, 0, TW_PK_TLS10, TLS1_VERSION,
                     TLS1_VERSION},
    [TW_PK_TLS11] = {"tls11", TW_PK_CTX_BROAD, TW_PK_SNI_TARGET, 0, TW_PK_TLS11, TLS1_1_VERSION,
                     TLS1_1_VERSION},
    [TW_PK_TLS12] = {"tls12", TW_PK_CTX_BROAD, TW_PK_SNI_TARGET, 0, TW_PK_TLS12, TLS1_2_VERSION,
                     TLS1_2_VERSION},
    [TW_PK_TLS13] = {"tls13", TW_PK_CTX_BROAD, TW_PK_SNI_TARGET, 0, TW_PK_TLS13, TLS1_3_VERSION,
                     TLS1_3_VERSION},
    [TW_PK_ALL_CIPHERS] = {"all_ciphers", TW_PK_CTX_ALL, TW_PK_SNI_TARGET, 0, TW_PK_ALL_CIPHERS, 0,
                           0},
    [TW_PK_MODERN] = {"modern", TW_PK_CTX_MODERN, TW_PK_SNI_TARGET, 0, TW_PK_MODERN, TLS1_2_VERSION,
                      TLS1_3_VERSION},
};

const struct tw_probe_kind_info *
tw_probe_kind_info(int k)
{
    return k >= 0 && k < TW_PK__COUNT ? &probe_kinds[k] : NULL;
}

const char *
tw_probe_kind_name(int k)
{
    const struct tw_probe_kind_info *pk = tw_probe_kind_info(k);

    return pk != NULL ? pk->name : "?";
}

const char *
tw_probe_kind_sni(int k, const char *target_sni, const char *name)
{
    const struct tw_probe_kind_info *pk = tw_probe_kind_info(k);

    switch (pk != NULL ? (enum tw_pk_sni)pk->sni : TW_PK_SNI_TARGET) {
    case TW_PK_SNI_SWAP:
        return target_sni != NULL ? NULL : name;
    case TW_PK_SNI_NAME:
        return name != NULL ? name : target_sni;
    case TW_PK_SNI_TARGET:
        break;
    }
    return target_sni;
}
