/*
 * instance.h - one running lab and the directory it keeps its state in.
 *
 * `tlsweep lab up` starts an instance: the PKI, every server (servers.c),
 * then the files a scan and `lab down` need, written atomically into the
 * lab directory DIR: ca.pem (the trust bundle), targets.txt and hostile.txt
 * (tw_lab_write_targets), lab.env (read back by labenv.h) and lab.pid.
 * Stopping the instance stops the servers and removes lab.pid if it is
 * still ours.  Everything else about a lab process (daemonizing, signals,
 * what is printed, exit codes) belongs to its caller, cli/lab_cli.c.
 *
 * Threading: start and stop run on one thread, before the server threads
 * start and after they stop; the rest are pure file and /proc reads that
 * any thread may call.  Paths given to start must be absolute, since a
 * daemon changes its directory to "/".
 */
#ifndef TW_LAB_INSTANCE_H
#define TW_LAB_INSTANCE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

/* Where and how the servers listen (lab.h has the defaults). */
struct tw_lab_instance_opts {
    uint32_t base;     /* host byte order, e.g. 127.77.0.0 */
    unsigned port;     /* IPv4 endpoints; [::1] uses port + 1 */
    unsigned dns_port; /* the DNS responder, on BASE+1 */
    int n_threads;     /* server threads (event loops) */
};

struct tw_lab_instance;

/* dir/file into buf[len].  Returns 0, or -1 when it does not fit. */
int tw_lab_instance_path(char *buf, size_t len, const char *dir, const char *file);

/* The resolver "IP:PORT" of a lab on base with dns_port, into buf[len]. */
void tw_lab_instance_resolver(uint32_t base, unsigned dns_port, char *buf, size_t len);

/* Make dir (mode 0700) when missing and put its absolute path in abs.
 * Returns 0, or -1 with err. */
int tw_lab_instance_make_dir(const char *dir, char abs[PATH_MAX], char *err);

/*
 * Start a lab serving in dir (absolute): generate the PKI, start every
 * server, write ca.pem, targets.txt, hostile.txt, lab.env and lab.pid (this
 * process's pid).  On return 0 every listener accepts and *out owns it all.
 * Returns -1 with err, with nothing left running and no pid file of ours.
 * The caller blocks the signals it waits for before calling: the server
 * threads inherit the mask.
 */
int tw_lab_instance_start(const char *dir, const struct tw_lab_instance_opts *opts,
                          struct tw_lab_instance **out, char *err);

/* Stop the servers, free the PKI, and remove lab.pid when it still names
 * this process (a newer lab may have replaced it).  NULL is a no-op. */
void tw_lab_instance_stop(struct tw_lab_instance *lab);

/* The pid in dir/lab.pid, or 0 when there is none or it is not a pid. */
pid_t tw_lab_instance_read_pid(const char *dir);

/* 1 when pid is a live (not zombie) process whose command line holds
 * "lab up", else 0.  Reads /proc. */
int tw_lab_instance_is_lab(pid_t pid);

#endif /* TW_LAB_INSTANCE_H */
