/*
 * lab_cli.c - `tlsweep lab up|down|targets|ca|status`: options, help, exit
 * codes and the process around a lab (lab/instance.h runs the lab itself).
 *
 * `up` makes the lab directory (0700) and starts an instance there, which
 * generates the PKI, binds every listener and writes ca.pem, targets.txt,
 * lab.env and lab.pid; then it serves until SIGINT/SIGTERM.  With --daemon
 * it forks first; the parent waits on a pipe and returns only when the
 * child says every listener is ready (or passes back its error), so
 * `lab up --daemon && tlsweep scan` needs no sleep.  `down` stops the
 * process named by lab.pid (after checking it is a `lab up`), SIGTERM then
 * a bounded wait.
 *
 * Why the daemon, the signals and `down` live here and not in lab/: they
 * are about this process (fork, setsid, stdio, the exit code the parent
 * returns) and what the user sees, not about the estate; lab/ can be run
 * by a test or a bench without them.
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
#include <sys/types.h>

#include "cli/cli.h"
#include "base/log.h"
#include "lab/instance.h"
#include "lab/lab.h"

#define LAB_STOP_WAIT_MS 10000 /* how long `down` waits after SIGTERM */
#define LAB_KILL_WAIT_MS 2000  /* and then after SIGKILL */

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
            "The IPv4 servers listen on --port (default 8443); valid-ipv6 listens on\n"
            "[::1] at --port + 1 (default 8444): 'tlsweep lab targets' prints it as\n"
            "[::1]:8444.\n"
            "DIR defaults to %s; lab.env there names the resolver, CA and targets.\n"
            "'status' exits 0 when the lab runs, 3 when it does not.\n"
            "'targets --hostile' prints the hostile-* group instead (servers that attack\n"
            "the scanner: huge chains, slow or endless records, hostile certificate text);\n"
            "'tlsweep scan --lab --hostile' scans both groups.\n"
            "Quick look: tlsweep lab up --daemon && tlsweep scan --lab && tlsweep report\n",
            TW_LAB_DOMAIN, TW_LAB_DEFAULT_DIR);
}

/* A whole number in [lo, hi] (cli.h's syntax).  Returns 0 or -1. */
static int
lab_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    int64_t v;

    if (tw_cli_parse_int64(s, lo, hi, &v) < 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Parse options after the verb.  Returns TW_EXIT_OK, or TW_EXIT_USAGE after a
 * message. */
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
            return TW_EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "tlsweep lab: %s needs a value\n", opt);
            return TW_EXIT_USAGE;
        }
        val = argv[++i];
        if (strcmp(opt, "--dir") == 0) {
            if (val[0] == '\0' || strlen(val) > 3000) {
                fprintf(stderr, "tlsweep lab: bad --dir\n");
                return TW_EXIT_USAGE;
            }
            a->dir = val;
        } else if (strcmp(opt, "--base") == 0) {
            if (inet_pton(AF_INET, val, &in) != 1 || (ntohl(in.s_addr) >> 24) != 127 ||
                (ntohl(in.s_addr) & 0xff) > 200) {
                fprintf(stderr, "tlsweep lab: --base must be a 127.x.y.z address with z <= 200 "
                                "(the lab is loopback only)\n");
                return TW_EXIT_USAGE;
            }
            a->base = ntohl(in.s_addr);
        } else if (strcmp(opt, "--port") == 0) {
            if (lab_parse_uint(val, 1, 65534, &a->port) < 0) {
                fprintf(stderr, "tlsweep lab: bad --port '%s'\n", val);
                return TW_EXIT_USAGE;
            }
            a->port_given = 1;
        } else if (strcmp(opt, "--dns-port") == 0) {
            if (lab_parse_uint(val, 1, 65535, &a->dns_port) < 0) {
                fprintf(stderr, "tlsweep lab: bad --dns-port '%s'\n", val);
                return TW_EXIT_USAGE;
            }
        } else {
            if (lab_parse_uint(val, 1, 16, &u) < 0) {
                fprintf(stderr, "tlsweep lab: bad --threads '%s' (1-16)\n", val);
                return TW_EXIT_USAGE;
            }
            a->threads = (int)u;
        }
    }
    return TW_EXIT_OK;
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
    struct tw_lab_instance *lab = NULL;
    struct tw_lab_instance_opts opts;
    char err[TW_ERRLEN] = "", resolver[64];
    sigset_t set;
    int sig = 0, rc = TW_EXIT_RUNTIME;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by the server threads */
    signal(SIGPIPE, SIG_IGN);
    lab_raise_nofile();

    memset(&opts, 0, sizeof(opts));
    opts.base = a->base;
    opts.port = a->port;
    opts.dns_port = a->dns_port;
    opts.n_threads = a->threads;
    if (tw_lab_instance_start(dir, &opts, &lab, err) < 0)
        goto out;

    tw_lab_instance_resolver(a->base, a->dns_port, resolver, sizeof(resolver));
    tw_info("lab", "up: pid %d, %zu targets, resolver %s, CA %s/ca.pem, targets %s/targets.txt",
            (int)getpid(), tw_lab_count_targets(TW_LAB_G_MAIN), resolver, dir, dir);
    if (ready_fd >= 0) {
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "ok %d\n", (int)getpid());

        if (write(ready_fd, msg, (size_t)n) < 0)
            fprintf(stderr, "tlsweep lab: ready pipe: %s\n", strerror(errno));
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
    rc = TW_EXIT_OK;
out:
    if (rc != TW_EXIT_OK) {
        if (ready_fd >= 0) {
            char msg[TW_ERRLEN + 16];
            int n = snprintf(msg, sizeof(msg), "error: %s\n", err);

            if (n > 0 && write(ready_fd, msg, (size_t)n) < 0)
                fprintf(stderr, "tlsweep lab: ready pipe: %s\n", strerror(errno));
        }
        fprintf(stderr, "tlsweep lab: %s\n", err);
    }
    if (ready_fd >= 0)
        close(ready_fd);
    tw_lab_instance_stop(lab);
    return rc;
}

static int
lab_up(const struct lab_args *a)
{
    char abs[PATH_MAX], err[TW_ERRLEN] = "", log_path[PATH_MAX + 16], msg[TW_ERRLEN + 32];
    int pfd[2] = {-1, -1};
    pid_t pid;
    size_t got = 0;

    if (tw_lab_instance_make_dir(a->dir, abs, err) < 0) {
        fprintf(stderr, "tlsweep lab: %s\n", err);
        return TW_EXIT_RUNTIME;
    }
    pid = tw_lab_instance_read_pid(abs);
    if (pid > 0 && tw_lab_instance_is_lab(pid)) {
        fprintf(stderr, "tlsweep lab: already running in %s (pid %d); 'tlsweep lab down' first\n",
                abs, (int)pid);
        return TW_EXIT_RUNTIME;
    }
    if (!a->daemon)
        return lab_run(abs, a, -1);

    if (pipe2(pfd, O_CLOEXEC) < 0) {
        fprintf(stderr, "tlsweep lab: pipe: %s\n", strerror(errno));
        return TW_EXIT_RUNTIME;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "tlsweep lab: fork: %s\n", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return TW_EXIT_RUNTIME;
    }
    if (pid == 0) {
        int fd;

        close(pfd[0]);
        setsid();
        /* Every path we use is absolute: do not pin the caller's cwd. */
        if (chdir("/") < 0)
            _exit(TW_EXIT_RUNTIME);
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
        return TW_EXIT_RUNTIME;
    }
    {
        char resolver[64];

        tw_lab_instance_resolver(a->base, a->dns_port, resolver, sizeof(resolver));
        printf("tlsweep lab: up (pid %d)\n"
               "  resolver %s   (--resolver)\n"
               "  CA       %s/ca.pem   (--ca-file)\n"
               "  targets  %s/targets.txt\n"
               "  env      %s/lab.env\n",
               (int)pid, resolver, abs, abs, abs);
    }
    return TW_EXIT_OK;
}

/* Poll every 50 ms, for at most ms, until pid is no longer a lab.
 * Returns 1 when it is gone, 0 when it is still there. */
static int
lab_wait_exit(pid_t pid, int ms)
{
    for (int waited = 0; tw_lab_instance_is_lab(pid) && waited < ms; waited += 50) {
        struct timespec ts = {0, 50 * 1000 * 1000};

        nanosleep(&ts, NULL);
    }
    return !tw_lab_instance_is_lab(pid);
}

static int
lab_down(const struct lab_args *a)
{
    char path[PATH_MAX];
    pid_t pid = tw_lab_instance_read_pid(a->dir);

    if (tw_lab_instance_path(path, sizeof(path), a->dir, "lab.pid") < 0) {
        fprintf(stderr, "tlsweep lab: --dir too long\n");
        return TW_EXIT_USAGE;
    }
    if (pid <= 0 || !tw_lab_instance_is_lab(pid)) {
        unlink(path); /* stale */
        fprintf(stderr, "tlsweep lab: not running in %s\n", a->dir);
        return TW_EXIT_OK;
    }
    if (kill(pid, SIGTERM) < 0) {
        fprintf(stderr, "tlsweep lab: kill %d: %s\n", (int)pid, strerror(errno));
        return TW_EXIT_RUNTIME;
    }
    if (!lab_wait_exit(pid, LAB_STOP_WAIT_MS)) {
        fprintf(stderr, "tlsweep lab: pid %d ignored SIGTERM for %d s; sending SIGKILL\n", (int)pid,
                LAB_STOP_WAIT_MS / 1000);
        (void)kill(pid, SIGKILL);
        (void)lab_wait_exit(pid, LAB_KILL_WAIT_MS);
    }
    unlink(path);
    if (tw_lab_instance_is_lab(pid)) {
        fprintf(stderr, "tlsweep lab: pid %d did not exit\n", (int)pid);
        return TW_EXIT_RUNTIME;
    }
    printf("tlsweep lab: stopped (pid %d)\n", (int)pid);
    return TW_EXIT_OK;
}

static int
lab_status(const struct lab_args *a)
{
    char resolver[128], ca[PATH_MAX], targets[PATH_MAX], err[TW_ERRLEN];
    pid_t pid = tw_lab_instance_read_pid(a->dir);

    if (pid <= 0 || !tw_lab_instance_is_lab(pid)) {
        printf("not running (%s)\n", a->dir);
        return TW_EXIT_RUNTIME;
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
    return TW_EXIT_OK;
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
        return TW_EXIT_USAGE;
    }
    verb = argv[1];
    if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0) {
        lab_usage(stdout);
        return TW_EXIT_OK;
    }
    rc = lab_parse(argc, argv, &a);
    if (rc != TW_EXIT_OK)
        return rc;
    if (strcmp(verb, "up") == 0)
        return lab_up(&a);
    if (strcmp(verb, "down") == 0)
        return lab_down(&a);
    if (strcmp(verb, "status") == 0)
        return lab_status(&a);
    if (strcmp(verb, "ca") == 0) {
        if (tw_lab_instance_path(path, sizeof(path), a.dir, "ca.pem") < 0 ||
            lab_cat(path, err) < 0) {
            fprintf(stderr, "tlsweep lab: no CA (%s); run 'tlsweep lab up' first\n", err);
            return TW_EXIT_RUNTIME;
        }
        return TW_EXIT_OK;
    }
    if (strcmp(verb, "targets") == 0) {
        if (a.hostile) {
            if (!a.port_given &&
                tw_lab_instance_path(path, sizeof(path), a.dir, "hostile.txt") == 0 &&
                access(path, R_OK) == 0)
                return lab_cat(path, err) == 0 ? TW_EXIT_OK : TW_EXIT_RUNTIME;
            return tw_lab_write_hostile_targets(stdout, a.port) == 0 ? TW_EXIT_OK : TW_EXIT_RUNTIME;
        }
        if (!a.port_given && tw_lab_instance_path(path, sizeof(path), a.dir, "targets.txt") == 0 &&
            access(path, R_OK) == 0)
            return lab_cat(path, err) == 0 ? TW_EXIT_OK : TW_EXIT_RUNTIME;
        return tw_lab_write_targets(stdout, a.port) == 0 ? TW_EXIT_OK : TW_EXIT_RUNTIME;
    }
    fprintf(stderr, "tlsweep lab: unknown command '%s'\n\n", verb);
    lab_usage(stderr);
    return TW_EXIT_USAGE;
}
