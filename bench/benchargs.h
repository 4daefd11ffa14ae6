/*
 * benchargs.h - the bench programs' number arguments.
 *
 * bench_arg_long parses one whole decimal number for option opt and
 * returns it when it lies in [lo, hi]; anything else (empty, trailing
 * bytes, out of range) prints "PROG: OPT: 'S' is not a whole number from
 * LO to HI" on stderr and exits 2, as a usage error.  Main-thread start-up
 * code only; no state.
 */
#ifndef TW_BENCH_BENCHARGS_H
#define TW_BENCH_BENCHARGS_H

long bench_arg_long(const char *prog, const char *opt, const char *s, long lo, long hi);

#endif /* TW_BENCH_BENCHARGS_H */
