/* num.h: numbers in option values, parsed whole and within bounds. */
#ifndef CSA_NUM_H
#define CSA_NUM_H

#include <stdint.h>

/* A decimal integer in [lo, hi]: 0, or -1 when s is anything else. */
int num_parse_int64(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* A byte size: 1048576, 512K, 10M, 10MiB, 1G (powers of 1024). */
int num_parse_size(const char *s, int64_t *out);

#endif
