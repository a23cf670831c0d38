/* dtoa.h: decimal digits of doubles, from the C++ library. */
#ifndef CSA_DTOA_H
#define CSA_DTOA_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The fewest digits that read back as finite, non-zero x (the nearest
 * such when there are several) into digits[0..size) (size at least 18),
 * without sign, point or trailing zeros, such that |x| is 0.DIGITS x
 * 10^*point; returns how many.
 */
int dtoa_shortest(double x, char *digits, int size, int *point);

#ifdef __cplusplus
}
#endif

#endif
