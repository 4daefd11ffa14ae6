#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"

static void
xalloc_die(size_t n)
{
    char msg[96];
    int len = snprintf(msg, sizeof(msg), "tlsweep: out of memory (%zu bytes)\n", n);

    if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0) {
        /* nothing sensible to do */
    }
    abort();
}

void *
tw_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        xalloc_die(n);
    return p;
}

void *
tw_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (p == NULL)
        xalloc_die(nmemb * size);
    return p;
}

void *
tw_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL)
        xalloc_die(n);
    return q;
}

char *
tw_xstrdup(const char *s)
{
    return tw_xstrndup(s, strlen(s));
}

char *
tw_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = tw_xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

size_t
tw_strlcpy(char *dst, const char *src, size_t dstlen)
{
    size_t len = strlen(src);

    if (dstlen == 0)
        return 0;
    if (len >= dstlen)
        len = dstlen - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return len;
}
