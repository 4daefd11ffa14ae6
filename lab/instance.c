/*
 * instance.c - start and stop one lab, and keep its directory (see
 * instance.h).
 *
 * Every file is written to a temporary name and renamed, so a scan that
 * reads lab.env or targets.txt while a lab starts sees the old file or the
 * new one, never half of one.  The pid file is what `lab down` and `lab
 * status` trust, so a pid is believed only while /proc says that process
 * is a live `... lab up`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <signal.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "lab/instance.h"
#include "lab/lab.h"
#include "lab/lab_int.h"

#define LAB_PID_MAX 0x3fffffff /* above any pid_max Linux allows */

struct tw_lab_instance {
    char dir[PATH_MAX]; /* absolute */
    struct tw_lab_pki pki;
    int has_pki;
    struct tw_lab_servers *servers;
};

int
tw_lab_instance_path(char *buf, size_t len, const char *dir, const char *file)
{
    return (size_t)snprintf(buf, len, "%s/%s", dir, file) < len ? 0 : -1;
}

void
tw_lab_instance_resolver(uint32_t base, unsigned dns_port, char *buf, size_t len)
{
    struct in_addr in;
    char ip[INET_ADDRSTRLEN];

    in.s_addr = htonl(base + 1);
    inet_ntop(AF_INET, &in, ip, sizeof(ip));
    snprintf(buf, len, "%s:%u", ip, dns_port);
}

int
tw_lab_instance_make_dir(const char *dir, char abs[PATH_MAX], char *err)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        tw_errf(err, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (realpath(dir, abs) == NULL) {
        tw_errf(err, "%s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Write text to path atomically (temp file + rename), mode 0644. */
static int
lab_write_file(const char *path, const char *text, char *err)
{
    char tmp[PATH_MAX + 16];
    size_t len = strlen(text);
    int fd = -1, rc = -1;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        tw_errf(err, "%s: path too long", path);
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
        tw_errf(err, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        tw_errf(err, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* One read(2) of at most len - 1 bytes of path into buf, NUL-terminated.
 * Returns the bytes read, or 0 when the file is missing, unreadable or empty. */
static size_t
lab_read_small(const char *path, char *buf, size_t len)
{
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return (size_t)n;
}

pid_t
tw_lab_instance_read_pid(const char *dir)
{
    char path[PATH_MAX], buf[32];
    char *end = NULL;
    long v;
    size_t n;

    if (tw_lab_instance_path(path, sizeof(path), dir, "lab.pid") < 0)
        return 0;
    n = lab_read_small(path, buf, sizeof(buf));
    if (n == 0)
        return 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    errno = 0;
    v = strtol(buf, &end, 10);
    if (errno != 0 || end == buf || *end != '\0' || v < 2 || v > LAB_PID_MAX)
        return 0;
    return (pid_t)v;
}

int
tw_lab_instance_is_lab(pid_t pid)
{
    char path[64], buf[4096], state = '?';
    const char *p;
    size_t n;
    int saw_lab = 0;

    if (kill(pid, 0) < 0 && errno != EPERM)
        return 0;
    /* "pid (comm) S ...": the state follows the last ')'. */
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (lab_read_small(path, buf, sizeof(buf)) > 0) {
        p = strrchr(buf, ')');
        if (p != NULL && p[1] == ' ')
            state = p[2];
    }
    if (state == 'Z' || state == 'X')
        return 0;
    /* The arguments, each NUL-terminated: look for "lab" then "up". */
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    n = lab_read_small(path, buf, sizeof(buf));
    for (size_t off = 0; off < n; off += strlen(buf + off) + 1) {
        if (saw_lab && strcmp(buf + off, "up") == 0)
            return 1;
        saw_lab = strcmp(buf + off, "lab") == 0;
    }
    return 0;
}

static int
lab_write_pid(const char *dir, char *err)
{
    char path[PATH_MAX], text[32];

    if (tw_lab_instance_path(path, sizeof(path), dir, "lab.pid") < 0) {
        tw_errf(err, "path too long");
        return -1;
    }
    snprintf(text, sizeof(text), "%d\n", (int)getpid());
    return lab_write_file(path, text, err);
}

static void
lab_remove_pid(const char *dir)
{
    char path[PATH_MAX];

    /* Only our own pid file: a newer lab may have replaced it. */
    if (tw_lab_instance_read_pid(dir) == getpid() &&
        tw_lab_instance_path(path, sizeof(path), dir, "lab.pid") == 0)
        unlink(path);
}

/* A target list (tw_lab_write_targets or its hostile twin) into path. */
static int
lab_write_list(const char *dir, const char *file, const char *what,
               int (*write_list)(FILE *, unsigned), unsigned port, char *err)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = NULL;
    int wrote, e;
    int rc = -1;

    mem = open_memstream(&text, &text_len);
    if (mem == NULL) {
        tw_errf(err, "%s: %s", what, strerror(errno));
        goto out;
    }
    wrote = write_list(mem, port);
    e = errno;
    if (fclose(mem) != 0 && wrote == 0) {
        wrote = -1;
        e = errno;
    }
    if (wrote < 0) {
        tw_errf(err, "%s: %s", what, strerror(e));
        goto out;
    }
    if (tw_lab_instance_path(path, sizeof(path), dir, file) < 0 ||
        lab_write_file(path, text, err) < 0)
        goto out;
    rc = 0;
out:
    free(text);
    return rc;
}

/* ca.pem, targets.txt, hostile.txt and lab.env in the (absolute) dir. */
static int
lab_write_files(const char *dir, const struct tw_lab_instance_opts *o, const struct tw_lab_pki *pki,
                char *err)
{
    char path[PATH_MAX], resolver[64], env[3 * PATH_MAX + 128];

    if (tw_lab_instance_path(path, sizeof(path), dir, "ca.pem") < 0 ||
        tw_lab_pki_write_pem(pki->root, path, err) < 0)
        return -1;
    if (lab_write_list(dir, "targets.txt", "targets", tw_lab_write_targets, o->port, err) < 0 ||
        lab_write_list(dir, "hostile.txt", "hostile targets", tw_lab_write_hostile_targets, o->port,
                       err) < 0)
        return -1;
    tw_lab_instance_resolver(o->base, o->dns_port, resolver, sizeof(resolver));
    snprintf(
        env, sizeof(env),
        "TLSWEEP_LAB_RESOLVER=%s\nTLSWEEP_LAB_CA=%s/ca.pem\nTLSWEEP_LAB_TARGETS=%s/targets.txt\n",
        resolver, dir, dir);
    if (tw_lab_instance_path(path, sizeof(path), dir, "lab.env") < 0 ||
        lab_write_file(path, env, err) < 0)
        return -1;
    return 0;
}

int
tw_lab_instance_start(const char *dir, const struct tw_lab_instance_opts *opts,
                      struct tw_lab_instance **out, char *err)
{
    struct tw_lab_instance *lab = NULL;
    struct tw_lab_opts so;
    int rc = -1;

    *out = NULL;
    if (strlen(dir) >= sizeof(lab->dir)) {
        tw_errf(err, "%s: path too long", dir);
        goto out;
    }
    lab = tw_xcalloc(1, sizeof(*lab));
    memcpy(lab->dir, dir, strlen(dir) + 1);
    if (tw_lab_pki_init(&lab->pki, err) < 0)
        goto out;
    lab->has_pki = 1;
    memset(&so, 0, sizeof(so));
    so.dir = lab->dir;
    so.base = opts->base;
    so.port = opts->port;
    so.dns_port = opts->dns_port;
    so.n_threads = opts->n_threads;
    if (tw_lab_servers_start(&so, &lab->pki, &lab->servers, err) < 0)
        goto out;
    if (lab_write_files(lab->dir, opts, &lab->pki, err) < 0 || lab_write_pid(lab->dir, err) < 0)
        goto out;
    *out = lab;
    lab = NULL; /* ownership moved to the caller */
    rc = 0;
out:
    tw_lab_instance_stop(lab); /* NULL-safe; removes a pid file we wrote */
    return rc;
}

void
tw_lab_instance_stop(struct tw_lab_instance *lab)
{
    if (lab == NULL)
        return;
    tw_lab_servers_stop(lab->servers);
    if (lab->has_pki)
        tw_lab_pki_cleanup(&lab->pki);
    lab_remove_pid(lab->dir);
    free(lab);
}
