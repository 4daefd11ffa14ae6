/*
 * lab_cli.c - `tlsweep lab up|down|targets|ca|status`.
 *
 * `up` makes the lab directory (0700), generates the PKI, binds every
 * listener, writes ca.pem, targets.txt, lab.env and lab.pid, and then
 * serves until SIGINT/SIGTERM.  With --daemon it forks first; the parent
 * waits on a pipe and returns only when the child says every listener is
 * ready (or passes back its error), so `lab up --daemon && tlsweep scan`
 * needs no sleep.  `down` stops the process named by lab.pid (after
 * checking it is a `lab up`), SIGTERM then a bounded wait.
 *
 * Signals: up blocks SIGINT/SIGTERM/SIGHUP before any thread starts and
 * waits for them with sigwait in the main thread, so the server threads
 * never see a signal and shutdown runs on ordinary code paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cli/cli.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "lab/lab.h"
#include "lab/lab_int.h"

#define LAB_STOP_WAIT_MS 10000 /* how long `down` waits after SIGTERM */

struct lab_args {
    const char *dir;
    int daemon;
    uint32_t base;
    unsigned port;
    int port_given;
    unsigned dns_port;
    int threads;
    int hostile;
};

static void
lab_usage(FILE *f)
{
    fprintf(f,
            "usage: tlsweep lab up [--dir DIR] [--daemon] [--base 127.77.0.0] [--port 8443]\n"
            "                      [--dns-port 8053] [--threads N]\n"
            "       tlsweep lab down [--dir DIR]\n"
            "       tlsweep lab targets [--dir DIR] [--port N] [--hostile]\n"
            "       tlsweep lab ca [--dir DIR]\n"
            "       tlsweep lab status [--dir DIR]\n"
            "\n"
            "A local estate of misconfigured TLS servers on 127.77.0.N (one per defect),\n"
            "with a DNS responder on 127.77.0.1:8053 for NAME.%s.\n"
            "DIR defaults to %s; lab.env there names the resolver, CA and targets.\n"
            "'status' exits 0 when the lab runs, 3 when it does not.\n"
            "'targets --hostile' prints the hostile-* group instead (servers that attack\n"
            "the scanner: huge chains, slow or endless records, hostile certificate text).\n"
            "Quick look: tlsweep lab up --daemon && tlsweep scan --lab && tlsweep report\n",
            TW_LAB_DOMAIN, TW_LAB_DEFAULT_DIR);
}

static int
lab_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < (long)lo || v > (long)hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Parse options after the verb.  Returns 0, or 2 (usage) after a message. */
static int
lab_parse(int argc, char **argv, struct lab_args *a)
{
    struct in_addr in;

    memset(a, 0, sizeof(*a));
    a->dir = TW_LAB_DEFAULT_DIR;
    inet_pton(AF_INET, TW_LAB_DEFAULT_BASE, &in);
    a->base = ntohl(in.s_addr);
    a->port = TW_LAB_DEFAULT_PORT;
    a->dns_port = TW_LAB_DEFAULT_DNS_PORT;
    a->threads = 2;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i], *val = NULL;
        unsigned u;

        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            lab_usage(stdout);
            exit(0);
        }
        if (strcmp(opt, "--daemon") == 0 || strcmp(opt, "-d") == 0) {
            a->daemon = 1;
            continue;
        }
        if (strcmp(opt, "--hostile") == 0) {
            a->hostile = 1;
            continue;
        }
        if (strcmp(opt, "--dir") != 0 && strcmp(opt, "--base") != 0 && strcmp(opt, "--port") != 0 &&
            strcmp(opt, "--dns-port") != 0 && strcmp(opt, "--threads") != 0) {
            fprintf(stderr, "tlsweep lab: unknown option '%s'\n", opt);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "tlsweep lab: %s needs a value\n", opt);
            return 2;
        }
        val = argv[++i];
        if (strcmp(opt, "--dir") == 0) {
            if (val[0] == '\0' || strlen(val) > 3000) {
                fprintf(stderr, "tlsweep lab: bad --dir\n");
                return 2;
            }
            a->dir = val;
        } else if (strcmp(opt, "--base") == 0) {
            if (inet_pton(AF_INET, val, &in) != 1 || (ntohl(in.s_addr) >> 24) != 127 ||
                (ntohl(in.s_addr) & 0xff) > 200) {
                fprintf(stderr, "tlsweep lab: --base must be a 127.x.y.z address with z <= 200 "
                                "(the lab is loopback only)\n");
                return 2;
            }
            a->base = ntohl(in.s_addr);
        } else if (strcmp(opt, "--port") == 0) {
            if (lab_parse_uint(val, 1, 65534, &a->port) < 0) {
                fprintf(stderr, "tlsweep lab: bad --port '%s'\n", val);
                return 2;
            }
            a->port_given = 1;
        } else if (strcmp(opt, "--dns-port") == 0) {
            if (lab_parse_uint(val, 1, 65535, &a->dns_port) < 0) {
                fprintf(stderr, "tlsweep lab: bad --dns-port '%s'\n", val);
                return 2;
            }
        } else {
            if (lab_parse_uint(val, 1, 16, &u) < 0) {
                fprintf(stderr, "tlsweep lab: bad --threads '%s' (1-16)\n", val);
                return 2;
            }
            a->threads = (int)u;
        }
    }
    return 0;
}

static int
lab_path(char *buf, size_t len, const char *dir, const char *file)
{
    return (size_t)snprintf(buf, len, "%s/%s", dir, file) < len ? 0 : -1;
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

/* Copy a (small) file to stdout.  Returns 0 or -1 with err. */
static int
lab_cat(const char *path, char *err)
{
    char buf[8192];
    FILE *f = fopen(path, "re");
    size_t n;
    int rc = 0;

    if (f == NULL) {
        tw_errf(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        if (fwrite(buf, 1, n, stdout) != n)
            rc = -1;
    if (ferror(f) || fflush(stdout) != 0)
        rc = -1;
    fclose(f);
    if (rc < 0)
        tw_errf(err, "%s: read/write error", path);
    return rc;
}

/* The pid in DIR/lab.pid, or 0 when none/unreadable/invalid. */
static pid_t
lab_read_pid(const char *dir)
{
    char path[PATH_MAX], buf[32];
    unsigned v;
    ssize_t n;
    int fd;

    if (lab_path(path, sizeof(path), dir, "lab.pid") < 0)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (lab_parse_uint(buf, 2, 0x3fffffff, &v) < 0)
        return 0;
    return (pid_t)v;
}

/* Is pid a live (not zombie) process whose command line is `... lab up`? */
static int
lab_pid_is_lab(pid_t pid)
{
    char path[64], buf[4096], state = '?';
    ssize_t n;
    int fd, saw_lab = 0;
    FILE *f;

    if (kill(pid, 0) < 0 && errno != EPERM)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (f != NULL) {
        /* "pid (comm) S ...": the state follows the last ')'. */
        n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        if (n > 0) {
            char *p;

            buf[n] = '\0';
            p = strrchr(buf, ')');
            if (p != NULL && p[1] == ' ')
                state = p[2];
        }
    }
    if (state == 'Z' || state == 'X')
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    for (ssize_t off = 0; off < n; off += (ssize_t)strlen(buf + off) + 1) {
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

    if (lab_path(path, sizeof(path), dir, "lab.pid") < 0) {
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
    if (lab_read_pid(dir) == getpid() && lab_path(path, sizeof(path), dir, "lab.pid") == 0)
        unlink(path);
}

static void
lab_resolver(uint32_t base, unsigned dns_port, char *buf, size_t len)
{
    struct in_addr in;
    char ip[INET_ADDRSTRLEN];

    in.s_addr = htonl(base + 1);
    inet_ntop(AF_INET, &in, ip, sizeof(ip));
    snprintf(buf, len, "%s:%u", ip, dns_port);
}

/* ca.pem, targets.txt and lab.env in the (absolute) dir. */
static int
lab_write_files(const char *dir, const struct lab_args *a, const struct tw_lab_pki *pki, char *err)
{
    char path[PATH_MAX], resolver[64], env[3 * PATH_MAX + 128];
    char *targets = NULL;
    size_t targets_len = 0;
    FILE *mem = NULL;
    int rc = -1;

    if (lab_path(path, sizeof(path), dir, "ca.pem") < 0 ||
        tw_lab_pki_write_pem(pki->root, path, err) < 0)
        goto out;
    mem = open_memstream(&targets, &targets_len);
    if (mem == NULL || tw_lab_write_targets(mem, a->port) < 0 || fclose(mem) != 0) {
        tw_errf(err, "targets: %s", strerror(errno));
        mem = NULL;
        goto out;
    }
    mem = NULL;
    if (lab_path(path, sizeof(path), dir, "targets.txt") < 0 ||
        lab_write_file(path, targets, err) < 0)
        goto out;
    free(targets);
    targets = NULL;
    mem = open_memstream(&targets, &targets_len);
    if (mem == NULL || tw_lab_write_hostile_targets(mem, a->port) < 0 || fclose(mem) != 0) {
        tw_errf(err, "hostile targets: %s", strerror(errno));
        mem = NULL;
        goto out;
    }
    mem = NULL;
    if (lab_path(path, sizeof(path), dir, "hostile.txt") < 0 ||
        lab_write_file(path, targets, err) < 0)
        goto out;
    lab_resolver(a->base, a->dns_port, resolver, sizeof(resolver));
    snprintf(
        env, sizeof(env),
        "TLSWEEP_LAB_RESOLVER=%s\nTLSWEEP_LAB_CA=%s/ca.pem\nTLSWEEP_LAB_TARGETS=%s/targets.txt\n",
        resolver, dir, dir);
    if (lab_path(path, sizeof(path), dir, "lab.env") < 0 || lab_write_file(path, env, err) < 0)
        goto out;
    rc = 0;
out:
    if (mem != NULL)
        fclose(mem);
    free(targets);
    return rc;
}

static void
lab_raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/*
 * Run the lab until a stop signal.  ready_fd >= 0 (daemon child): "ok\n"
 * or "error: ...\n" is written to it once, then it is closed.  Returns the
 * exit code.
 */
static int
lab_run(const char *dir, const struct lab_args *a, int ready_fd)
{
    struct tw_lab_pki pki;
    struct tw_lab_servers *servers = NULL;
    struct tw_lab_opts opts;
    char err[TW_ERRLEN] = "", resolver[64];
    sigset_t set;
    int sig = 0, rc = 3, have_pki = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by the server threads */
    signal(SIGPIPE, SIG_IGN);
    lab_raise_nofile();

    if (tw_lab_pki_init(&pki, err) < 0)
        goto out;
    have_pki = 1;
    memset(&opts, 0, sizeof(opts));
    opts.dir = dir;
    opts.base = a->base;
    opts.port = a->port;
    opts.dns_port = a->dns_port;
    opts.n_threads = a->threads;
    if (tw_lab_servers_start(&opts, &pki, &servers, err) < 0)
        goto out;
    if (lab_write_files(dir, a, &pki, err) < 0 || lab_write_pid(dir, err) < 0)
        goto out;

    lab_resolver(a->base, a->dns_port, resolver, sizeof(resolver));
    tw_info("lab", "up: pid %d, %zu targets, resolver %s, CA %s/ca.pem, targets %s/targets.txt",
            (int)getpid(), tw_lab_n_endpoints, resolver, dir, dir);
    if (ready_fd >= 0) {
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "ok %d\n", (int)getpid());

        if (write(ready_fd, msg, (size_t)n) < 0)
            tw_warn("lab", "ready pipe");
        close(ready_fd);
        ready_fd = -1;
    } else {
        printf("tlsweep lab: up (pid %d); Ctrl-C stops it\n"
               "  resolver %s   (--resolver)\n"
               "  CA       %s/ca.pem   (--ca-file)\n"
               "  targets  %s/targets.txt\n",
               (int)getpid(), resolver, dir, dir);
        fflush(stdout);
    }
    for (;;) {
        if (sigwait(&set, &sig) == 0)
            break;
    }
    tw_info("lab", "signal %d: stopping", sig);
    rc = 0;
out:
    if (rc != 0) {
        if (ready_fd >= 0) {
            char msg[TW_ERRLEN + 16];
            int n = snprintf(msg, sizeof(msg), "error: %s\n", err);

            if (n > 0 && write(ready_fd, msg, (size_t)n) < 0)
                tw_warn("lab", "ready pipe");
        }
        fprintf(stderr, "tlsweep lab: %s\n", err);
    }
    if (ready_fd >= 0)
        close(ready_fd);
    tw_lab_servers_stop(servers);
    if (have_pki)
        tw_lab_pki_cleanup(&pki);
    lab_remove_pid(dir);
    return rc;
}

/* Make dir (0700) when missing and return its absolute path in abs. */
static int
lab_make_dir(const char *dir, char abs[PATH_MAX], char *err)
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

static int
lab_up(const struct lab_args *a)
{
    char abs[PATH_MAX], err[TW_ERRLEN] = "", log_path[PATH_MAX + 16], msg[TW_ERRLEN + 32];
    int pfd[2] = {-1, -1};
    pid_t pid;
    size_t got = 0;

    if (lab_make_dir(a->dir, abs, err) < 0) {
        fprintf(stderr, "tlsweep lab: %s\n", err);
        return 3;
    }
    pid = lab_read_pid(abs);
    if (pid > 0 && lab_pid_is_lab(pid)) {
        fprintf(stderr, "tlsweep lab: already running in %s (pid %d); 'tlsweep lab down' first\n",
                abs, (int)pid);
        return 3;
    }
    if (!a->daemon)
        return lab_run(abs, a, -1);

    if (pipe2(pfd, O_CLOEXEC) < 0) {
        fprintf(stderr, "tlsweep lab: pipe: %s\n", strerror(errno));
        return 3;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "tlsweep lab: fork: %s\n", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return 3;
    }
    if (pid == 0) {
        int fd;

        close(pfd[0]);
        setsid();
        /* Every path we use is absolute: do not pin the caller's cwd. */
        if (chdir("/") < 0)
            _exit(3);
        /* Keep no inherited stdio: a test harness waits for its pipes. */
        fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, STDIN_FILENO);
            dup2(fd, STDOUT_FILENO);
            if (fd > STDERR_FILENO)
                close(fd);
        }
        snprintf(log_path, sizeof(log_path), "%s/lab.log", abs);
        fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            if (fd > STDERR_FILENO)
                close(fd);
        }
        _exit(lab_run(abs, a, pfd[1]));
    }
    close(pfd[1]);
    for (;;) {
        ssize_t n = read(pfd[0], msg + got, sizeof(msg) - 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got >= sizeof(msg) - 1)
            break;
    }
    close(pfd[0]);
    msg[got] = '\0';
    if (strncmp(msg, "ok ", 3) != 0) {
        char *nl = strchr(msg, '\n');

        if (nl != NULL)
            *nl = '\0';
        fprintf(stderr, "tlsweep lab: the lab did not start: %s\n",
                got > 0 ? msg : "it exited early (see lab.log)");
        return 3;
    }
    {
        char resolver[64];

        lab_resolver(a->base, a->dns_port, resolver, sizeof(resolver));
        printf("tlsweep lab: up (pid %d)\n"
               "  resolver %s   (--resolver)\n"
               "  CA       %s/ca.pem   (--ca-file)\n"
               "  targets  %s/targets.txt\n"
               "  env      %s/lab.env\n",
               (int)pid, resolver, abs, abs, abs);
    }
    return 0;
}

static int
lab_down(const struct lab_args *a)
{
    char path[PATH_MAX];
    pid_t pid = lab_read_pid(a->dir);
    int waited = 0;

    if (lab_path(path, sizeof(path), a->dir, "lab.pid") < 0) {
        fprintf(stderr, "tlsweep lab: --dir too long\n");
        return 2;
    }
    if (pid <= 0 || !lab_pid_is_lab(pid)) {
        unlink(path); /* stale */
        fprintf(stderr, "tlsweep lab: not running in %s\n", a->dir);
        return 0;
    }
    if (kill(pid, SIGTERM) < 0) {
        fprintf(stderr, "tlsweep lab: kill %d: %s\n", (int)pid, strerror(errno));
        return 3;
    }
    while (lab_pid_is_lab(pid) && waited < LAB_STOP_WAIT_MS) {
        struct timespec ts = {0, 50 * 1000 * 1000};

        nanosleep(&ts, NULL);
        waited += 50;
    }
    if (lab_pid_is_lab(pid)) {
        fprintf(stderr, "tlsweep lab: pid %d ignored SIGTERM for %d s; sending SIGKILL\n", (int)pid,
                LAB_STOP_WAIT_MS / 1000);
        (void)kill(pid, SIGKILL);
        for (waited = 0; lab_pid_is_lab(pid) && waited < 2000; waited += 50) {
            struct timespec ts = {0, 50 * 1000 * 1000};

            nanosleep(&ts, NULL);
        }
    }
    unlink(path);
    if (lab_pid_is_lab(pid)) {
        fprintf(stderr, "tlsweep lab: pid %d did not exit\n", (int)pid);
        return 3;
    }
    printf("tlsweep lab: stopped (pid %d)\n", (int)pid);
    return 0;
}

static int
lab_status(const struct lab_args *a)
{
    char resolver[128], ca[PATH_MAX], targets[PATH_MAX], err[TW_ERRLEN];
    pid_t pid = lab_read_pid(a->dir);

    if (pid <= 0 || !lab_pid_is_lab(pid)) {
        printf("not running (%s)\n", a->dir);
        return 3;
    }
    printf("running, pid %d\n", (int)pid);
    if (tw_lab_read_env(a->dir, resolver, sizeof(resolver), ca, sizeof(ca), targets,
                        sizeof(targets), err) == 0)
        printf("resolver %s   (tlsweep scan --resolver %s)\n"
               "ca       %s   (--ca-file)\n"
               "targets  %s\n",
               resolver, resolver, ca, targets);
    else
        printf("(%s)\n", err);
    return 0;
}

int
tw_lab_main(int argc, char **argv)
{
    struct lab_args a;
    char path[PATH_MAX], err[TW_ERRLEN];
    const char *verb;
    int rc;

    if (argc < 2) {
        lab_usage(stderr);
        return 2;
    }
    verb = argv[1];
    if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0) {
        lab_usage(stdout);
        return 0;
    }
    rc = lab_parse(argc, argv, &a);
    if (rc != 0)
        return rc;
    if (strcmp(verb, "up") == 0)
        return lab_up(&a);
    if (strcmp(verb, "down") == 0)
        return lab_down(&a);
    if (strcmp(verb, "status") == 0)
        return lab_status(&a);
    if (strcmp(verb, "ca") == 0) {
        if (lab_path(path, sizeof(path), a.dir, "ca.pem") < 0 || lab_cat(path, err) < 0) {
            fprintf(stderr, "tlsweep lab: no CA (%s); run 'tlsweep lab up' first\n", err);
            return 3;
        }
        return 0;
    }
    if (strcmp(verb, "targets") == 0) {
        if (a.hostile) {
            if (!a.port_given && lab_path(path, sizeof(path), a.dir, "hostile.txt") == 0 &&
                access(path, R_OK) == 0)
                return lab_cat(path, err) == 0 ? 0 : 3;
            return tw_lab_write_hostile_targets(stdout, a.port) == 0 ? 0 : 3;
        }
        if (!a.port_given && lab_path(path, sizeof(path), a.dir, "targets.txt") == 0 &&
            access(path, R_OK) == 0)
            return lab_cat(path, err) == 0 ? 0 : 3;
        return tw_lab_write_targets(stdout, a.port) == 0 ? 0 : 3;
    }
    fprintf(stderr, "tlsweep lab: unknown command '%s'\n\n", verb);
    lab_usage(stderr);
    return 2;
}
