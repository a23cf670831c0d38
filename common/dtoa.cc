// dtoa.cc: decimal digits of doubles (see dtoa.h), from the C++ library's
// std::to_chars, whose shortest form is the one that reads back.
#include <config.h>

#include <charconv>

#include "dtoa.h"

extern "C" int
dtoa_shortest(double x, char *digits, int size, int *point)
{
	// Scientific form: [-]D[.DDD]e[+-]XX, at most 17 digits, no trailing zeros.
	char text[48];
	const char *p = text, *end;
	int n = 0, exp = 0, sign = 1;

	end = std::to_chars(text, text + sizeof(text), x, std::chars_format::scientific).ptr;
	if (*p == '-')
		p++;
	for (; p < end && *p != 'e'; p++)
		if (*p != '.' && n < size)
			digits[n++] = *p;
	if (p < end)
		p++;
	if (p < end && (*p == '-' || *p == '+'))
		sign = *p++ == '-' ? -1 : 1;
	for (; p < end; p++)
		exp = exp * 10 + (*p - '0');
	*point = sign * exp + 1;
	return n;
}
