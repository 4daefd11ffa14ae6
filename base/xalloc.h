/*
 * xalloc.h - allocation that aborts on exhaustion.
 *
 * tlsweep bounds its memory by design (STYLE G15): running out is a bug,
 * not an outcome, so these never return NULL.  tw_xstrndup copies at most
 * n bytes and always terminates.
 */
#ifndef TW_STORE_BASE_XALLOC_H
#define TW_STORE_BASE_XALLOC_H

#include <stddef.h>

void *tw_xmalloc(size_t n);
void *tw_xcalloc(size_t nmemb, size_t size);
void *tw_xrealloc(void *p, size_t n);
char *tw_xstrdup(const char *s);
char *tw_xstrndup(const char *s, size_t n);

/* Copy src into dst[dstlen], truncating; always NUL-terminates; returns strlen(dst). */
size_t tw_strlcpy(char *dst, const char *src, size_t dstlen);

#endif /* TW_STORE_BASE_XALLOC_H */
