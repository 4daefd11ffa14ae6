/*
 * lab.h - `tlsweep lab up|down|targets|ca`: a local estate of TLS endpoints,
 * each broken in one known way (DESIGN §2, issue 4).
 *
 * tw_lab_main takes the subcommand's argv (argv[0] = "lab") and returns the
 * exit code (0 ok, 2 usage, 3 runtime failure).
 */
#ifndef TW_TESTS_LAB_LAB_H
#define TW_TESTS_LAB_LAB_H

int tw_lab_main(int argc, char **argv);

#endif /* TW_TESTS_LAB_LAB_H */
